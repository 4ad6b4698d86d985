"""The ``sentrycam`` command as a user runs it: a real process, real signals."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import PASSWORD, free_port
from tests.waiting import wait_until
from tests.whep_client import connect

SENTRYCAM = [sys.executable, "-m", "api.cli"]


def cli(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SENTRYCAM, *args, "--data-dir", str(tmp_path / "data"), "--config", os.devnull],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def make_admin_token(tmp_path: Path) -> str:
    added = cli(tmp_path, "user", "add", "admin", "--role", "admin", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    created = cli(tmp_path, "token", "create", "script", "--user", "admin", "--expires", "30d")
    assert created.returncode == 0, created.stderr
    return created.stdout.strip()


def run_serve(tmp_path: Path, config: str, port: int) -> subprocess.Popen[str]:
    config_path = tmp_path / "config.yaml"
    config_path.write_text(config)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [
            *SENTRYCAM,
            "serve",
            "--config",
            str(config_path),
            "--data-dir",
            str(tmp_path / "data"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


async def test_serve_runs_and_shuts_down_gracefully_on_sigterm(tmp_path):
    port = free_port()
    config = (
        "webrtc:\n  ice_addresses: ['127.0.0.1']\n"
        "cameras:\n  - id: demo\n    source: demo\n    width: 320\n    height: 180\n"
        "  - id: porch\n    source: 'rtsp://admin:hunter2@127.0.0.1:9/stream'\n"
    )
    token = make_admin_token(tmp_path)
    process = run_serve(tmp_path, config, port)
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            timeout=5,
            headers={"Authorization": f"Bearer {token}"},
        ) as client:

            async def online() -> bool:
                try:
                    health = (await client.get("/api/health")).json()
                except httpx.TransportError:
                    return False
                return bool(health["cameras_online"] == 1)

            async def up() -> bool:
                if await online():
                    return True
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                return False

            await wait_until(up, 30, "the server to come up", interval=0.1)
            cameras = (await client.get("/api/cameras")).json()["cameras"]
            porch = next(c for c in cameras if c["id"] == "porch")
            assert "hunter2" not in str(cameras)
            # What start-up made is frozen out of the collector's full collections, and
            # those are timed (the freeze's own collection is the first).
            metrics = {
                sample.name: sample.value
                for family in text_string_to_metric_families((await client.get("/metrics")).text)
                for sample in family.samples
            }
            assert metrics["sentrycam_python_frozen_objects"] > 10_000
            assert metrics["sentrycam_python_full_gc_seconds_count"] >= 1
            viewer = await connect(client, "demo", audio=False)
            await viewer.next_video_frame()
            process.send_signal(signal.SIGTERM)
            output, _ = await asyncio.to_thread(process.communicate, timeout=30)
            await viewer.pc.close()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output
    # The lifespan's shutdown ran to its end: "stopped" is logged after the server returns
    # (uvicorn's own INFO lines are silenced at the default level, api.logs).
    assert "INFO sentrycam: stopped" in output
    assert "hunter2" not in output  # the camera URL's password never reaches the log
    assert porch["source_kind"] == "url"


def test_bad_config_fails_startup_with_a_clear_message(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("cameras:\n  - id: porch\n    source: demo\n    fps: 500\n")
    result = subprocess.run(
        [*SENTRYCAM, "serve", "--config", str(config), "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert str(config) in result.stderr
    assert "cameras.0.fps" in result.stderr
    assert "500" in result.stderr


def test_user_and_token_commands(tmp_path):
    weak = cli(tmp_path, "user", "add", "bob", stdin="password123\n")
    assert weak.returncode == 1
    assert "common passwords" in weak.stderr
    ok = cli(tmp_path, "user", "add", "bob", "--cameras", "porch,garage", stdin=PASSWORD + "\n")
    assert ok.returncode == 0, ok.stderr
    again = cli(tmp_path, "user", "add", "bob", stdin=PASSWORD + "\n")
    assert again.returncode == 1
    assert "exists" in again.stderr
    listing = cli(tmp_path, "user", "list")
    assert "bob\tviewer\tporch,garage" in listing.stdout

    created = cli(tmp_path, "token", "create", "ha", "--user", "bob", "--expires", "12h")
    token = created.stdout.strip()
    assert token.startswith("sc_")
    assert "not shown again" in created.stderr
    tokens = cli(tmp_path, "token", "list")
    assert token not in tokens.stdout  # only a prefix is ever shown again
    assert "bob\tha\t" in tokens.stdout
    token_id = tokens.stdout.split("\t")[0]
    assert cli(tmp_path, "token", "revoke", token_id).returncode == 0
    assert "revoked" in cli(tmp_path, "token", "list").stdout
    bad_expiry = cli(tmp_path, "token", "create", "x", "--user", "bob", "--expires", "soon")
    assert bad_expiry.returncode == 1

    changed = cli(tmp_path, "user", "passwd", "bob", stdin="another-long-secret-7\n")
    assert changed.returncode == 0, changed.stderr
    assert cli(tmp_path, "user", "remove", "bob").returncode == 0
    assert cli(tmp_path, "user", "remove", "bob").returncode == 1
