"""Make the data dir of a previous release, for tests/test_upgrade.py.

    .venv/bin/python -m tests.upgrade.make_fixture [COMMIT]     (default: RELEASE below)

Exports COMMIT with ``git archive``, runs *its* ``sentrycam`` (with this venv's
libraries) to create users and a token, serves a demo camera until motion events, a
finished clip and an ack exist, disarms the camera, stops it, and stores what it left in
``tests/data/release-<commit>/``: the database as SQL text (``sentrycam.sql``, diffable),
the config, event snapshots, recordings, and ``fixture.json`` (the secrets and counts the
test checks). Run it again when a release changes the schema, and point RELEASE at it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

RELEASE = "f518aef"  # main before issue 13: schema 0003
REPO = Path(__file__).resolve().parents[2]
PASSWORD = "release-password-2026"
TABLES = (
    "users",
    "api_tokens",
    "events",
    "recordings",
    "live_messages",
    "camera_settings",
    "audit_log",
)
CONFIG = """\
webrtc: {ice_addresses: ["127.0.0.1"]}
cameras:
  - id: porch
    source: demo
    audio: demo
    width: 320
    height: 180
    fps: 10
    recording: {pre_roll_seconds: 1, post_roll_seconds: 1}
    motion:
      zones: [{name: left-edge, points: [[0, 0.1], [0.05, 0.1], [0.05, 0.8], [0, 0.8]]}]
      quiet_seconds: 0.5
"""


def cli(tree: Path, data: Path, *args: str, stdin: str = "") -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "api.cli",
            *args,
            "--data-dir",
            str(data),
            "--config",
            str(data.parent / "config.yaml"),
        ],
        cwd=tree,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(tree)},
    )
    if done.returncode != 0:
        raise SystemExit(done.stdout + done.stderr)
    return done.stdout.strip()


def wait(predicate, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if value := predicate():
                return value
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"timed out waiting for {what}")


def main() -> None:
    commit = sys.argv[1] if len(sys.argv) > 1 else RELEASE
    with tempfile.TemporaryDirectory() as scratch:
        tree, data = Path(scratch) / "tree", Path(scratch) / "run" / "data"
        tree.mkdir()
        data.parent.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", commit], capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
        (data.parent / "config.yaml").write_text(CONFIG)
        cli(tree, data, "user", "add", "admin", "--role", "admin", stdin=PASSWORD + "\n")
        cli(tree, data, "user", "add", "porch-viewer", "--cameras", "porch", stdin=PASSWORD + "\n")
        token = cli(tree, data, "token", "create", "ha", "--user", "admin", "--expires", "never")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "api.cli",
                "serve",
                "--config",
                str(data.parent / "config.yaml"),
                "--data-dir",
                str(data),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=tree,
            env={**os.environ, "PYTHONPATH": str(tree)},
        )
        try:
            client = httpx.Client(
                base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}
            )
            wait(lambda: client.get("/api/health").status_code == 200, 60, "the server")

            def clips() -> list:
                page = client.get("/api/recordings", params={"state": "complete"}).json()
                return [r for r in page["recordings"] if r["state"] == "complete"]

            wait(lambda: len(clips()) >= 1, 120, "a finished clip")
            events = client.get("/api/events").json()["events"]
            client.post(f"/api/events/{events[-1]['id']}/ack")
            client.put("/api/cameras/porch/arm", json={"armed": False})
            time.sleep(1.5)  # the event store writes once a second
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
        out = REPO / "tests" / "data" / f"release-{commit}"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        with sqlite3.connect(data / "sentrycam.db") as db:
            (out / "sentrycam.sql").write_text("\n".join(db.iterdump()) + "\n")
            counts = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
        shutil.copy(data.parent / "config.yaml", out / "config.yaml")
        for sub in ("snapshots", "recordings"):
            if (data / sub).exists():
                shutil.copytree(data / sub, out / sub)
        fixture = {"commit": commit, "password": PASSWORD, "token": token, "counts": counts}
        (out / "fixture.json").write_text(json.dumps(fixture, indent=1) + "\n")
        print(f"{out}: {counts}")


if __name__ == "__main__":
    main()
