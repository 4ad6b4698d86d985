"""Dashboard changes under the hardened unit: /etc read-only, changes in the data dir.

The real ``sentrycam serve`` runs in a mount namespace where the config file's directory
is bind-mounted read-only, as ``ProtectSystem=strict`` makes /etc for the systemd unit.
Changes made through the API land in ``<data>/settings.yaml``, survive a restart, leave the
admin's file untouched, and ``sentrycam config show`` says where each value comes from.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import yaml

from tests.conftest import PASSWORD, free_port, unavailable
from tests.waiting import wait_until_blocking

SENTRYCAM = [sys.executable, "-m", "api.cli"]
CONFIG = """\
webrtc:
  ice_addresses: [127.0.0.1]
cameras:
  - {id: front, source: demo, width: 320, height: 180, fps: 10}
"""


def _can_mount_read_only() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount --bind /tmp /tmp && mount -o remount,bind,ro /tmp"],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


@contextmanager
def serving(etc: Path, data: Path, port: int) -> Iterator[httpx.Client]:
    """``sentrycam serve`` with ``etc`` read-only (its own mount namespace)."""
    command = " ".join(
        [
            f"mount --bind {etc} {etc} && mount -o remount,bind,ro {etc} {etc} &&",
            f"touch {etc}/written 2>/dev/null && exit 9;",  # really read-only
            "exec",
            *SENTRYCAM,
            "serve",
            f"--config {etc}/config.yaml --data-dir {data} --host 127.0.0.1 --port {port}",
        ]
    )
    process = subprocess.Popen(
        ["unshare", "-m", "sh", "-c", command],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=15) as client:

            def up() -> bool:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                try:
                    return client.get("/api/health").status_code == 200
                except httpx.TransportError:
                    return False

            wait_until_blocking(up, 30, "the server to start", interval=0.1)
            yield client
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0]
        assert process.returncode == 0, output
        assert "Traceback" not in output, output


def cli(data: Path, *args: str, stdin: str = "") -> str:
    result = subprocess.run(
        [*SENTRYCAM, *args, "--data-dir", str(data)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def test_changes_go_to_the_data_dir_survive_a_restart_and_never_touch_etc(tmp_path):
    if not _can_mount_read_only():
        unavailable("needs unshare -m and a read-only bind mount (root, as tests/run.sh runs)")
    etc, data = tmp_path / "etc", tmp_path / "data"
    etc.mkdir()
    (etc / "config.yaml").write_text(CONFIG)
    cli(data, "user", "add", "admin", "--role", "admin", stdin=PASSWORD + "\n")
    token = cli(data, "token", "create", "t", "--user", "admin").strip()
    headers = {"Authorization": f"Bearer {token}"}
    port = free_port()
    with serving(etc, data, port) as client:
        client.headers.update(headers)
        added = client.post("/api/cameras", json={"id": "yard", "source": "demo", "fps": 5})
        assert added.status_code == 201, added.text
        changed = client.patch("/api/cameras/front", json={"motion": {"threshold": 42}})
        assert changed.status_code == 200, changed.text
    assert (etc / "config.yaml").read_text() == CONFIG
    assert sorted(p.name for p in etc.iterdir()) == ["config.yaml"]
    overlay = data / "settings.yaml"
    assert overlay.stat().st_mode & 0o777 == 0o600
    assert yaml.safe_load(overlay.read_text())["cameras"]["front"] == {"motion": {"threshold": 42}}
    first = overlay.read_text()

    with serving(etc, data, port) as client:
        client.headers.update(headers)
        body = client.get("/api/config").json()
        assert [c["id"] for c in body["settings"]["cameras"]] == ["front", "yard"]
        assert body["settings"]["cameras"][0]["motion"]["threshold"] == 42
        assert body["file"] == str(etc / "config.yaml")
        removed = client.delete("/api/cameras/yard")
        assert removed.status_code == 200
    assert (data / "settings.yaml.prev").read_text() == first

    shown = subprocess.run(
        [
            *SENTRYCAM,
            "config",
            "show",
            "--config",
            str(etc / "config.yaml"),
            "--data-dir",
            str(data),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=dict(os.environ),
    ).stdout
    lines = [line for line in shown.splitlines() if line.strip().startswith("threshold:")]
    assert lines == [lines[0]]
    assert lines[0].endswith("# dashboard")
    assert "yard" not in shown
    assert any(
        line.strip().startswith("source: demo") and "# file" in line for line in shown.splitlines()
    )
