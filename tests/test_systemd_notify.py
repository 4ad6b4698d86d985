"""systemd integration: the notify protocol played from systemd's side of the socket.

The server runs as ``sentrycam serve`` in a real process with ``NOTIFY_SOCKET`` and
``WATCHDOG_USEC`` set, as systemd starts a ``Type=notify`` unit with ``WatchdogSec=``;
hangs are injected in-process (an encoder, a recorder's writer, the event loop) and the
watchdog pings must stop while they last.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.sdnotify import Notifier
from camera.encoder import VideoEncoder
from camera.mp4 import Mp4File
from camera.progress import Progress
from tests.conftest import demo_config, free_port
from tests.fake_systemd import FakeSystemd
from tests.test_cli import SENTRYCAM
from tests.waiting import wait_until, wait_until_blocking

SMALL = {"width": 320, "height": 180, "fps": 10}


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[FakeSystemd]:
    fake = FakeSystemd(tmp_path)
    yield fake
    fake.close()


# ----- the protocol --------------------------------------------------------------------------


def test_notifier_sends_lines_to_a_path_socket(systemd: FakeSystemd) -> None:
    notifier = Notifier.from_env({"NOTIFY_SOCKET": systemd.path})
    assert notifier.enabled
    assert notifier.watchdog_usec is None
    assert notifier.notify(READY=1, STATUS="2 of 2 cameras online\nrecording")
    fields = wait_for_message(systemd, "READY")
    assert fields == {"READY": "1", "STATUS": "2 of 2 cameras online recording"}
    notifier.close()


def test_notifier_abstract_socket_and_watchdog_env() -> None:
    import socket

    name = f"sentrycam-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(b"\0" + name.encode())
        env = {"NOTIFY_SOCKET": "@" + name, "WATCHDOG_USEC": "30000000"}
        notifier = Notifier.from_env(env)
        assert notifier.watchdog_usec == 30_000_000
        assert notifier.notify(WATCHDOG=1)
        assert server.recv(100) == b"WATCHDOG=1\n"
        notifier.close()
    # The watchdog belongs to another process, or the value is junk: not ours to ping.
    assert Notifier.from_env({"WATCHDOG_USEC": "5", "WATCHDOG_PID": "1"}).watchdog_usec is None
    assert Notifier.from_env({"WATCHDOG_USEC": "soon"}).watchdog_usec is None
    assert not Notifier.from_env({}).enabled
    assert not Notifier(None).notify(READY=1)


def test_notifier_survives_a_gone_manager(tmp_path: Path, caplog: Any) -> None:
    notifier = Notifier(str(tmp_path / "nobody.sock"))
    assert not notifier.notify(READY=1)
    assert not notifier.notify(WATCHDOG=1)  # no exception, and one warning only
    assert sum("cannot notify systemd" in r.message for r in caplog.records) == 1
    notifier.close()


def test_progress_idle_is_not_stuck() -> None:
    progress = Progress("worker")
    assert progress.stuck_for() == 0.0
    progress.begin()
    now = time.monotonic()
    assert progress.busy
    assert progress.stuck_for(now + 5) >= 5
    progress.tick()
    assert progress.stuck_for(time.monotonic()) < 5
    progress.end()
    assert not progress.busy
    assert progress.stuck_for(now + 100) == 0.0


# ----- the real command ----------------------------------------------------------------------


def test_serve_tells_systemd_ready_status_watchdog_and_stopping(
    tmp_path: Path, systemd: FakeSystemd
) -> None:
    port = free_port()
    config = tmp_path / "config.yaml"
    config.write_text(
        "cameras:\n  - {id: porch, source: demo, width: 320, height: 180, fps: 10}\n"
        "  - {id: gone, source: /dev/video-not-there}\n"
    )
    env = dict(os.environ, NOTIFY_SOCKET=systemd.path, WATCHDOG_USEC="900000")
    args = ["serve", "--config", str(config), "--data-dir", str(tmp_path / "data")]
    process = subprocess.Popen(
        [*SENTRYCAM, *args, "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        ready = wait_for_message(systemd, "READY", timeout=60)
        # Ready means the dashboard answers, and every camera has said how it is.
        health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=5).json()
        assert health["cameras_total"] == 2
        assert ready["READY"] == "1"
        assert ready["STATUS"] == "1 of 2 cameras online, 0 viewers, ready to record"
        # Pings come every third of WatchdogSec while all is well.
        wait_until_blocking(lambda: len(systemd.seen("WATCHDOG", "1")) >= 3, 20, "watchdog pings")
        assert not systemd.seen("STOPPING")
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, output
    # The default log level is quiet: no library chatter (Alembic, uvicorn, aiortc) at INFO.
    info = [line.split(" ", 4)[3] for line in output.splitlines() if " INFO " in line]
    assert info
    assert {name.rstrip(":").split(".")[0] for name in info} <= {"sentrycam", "api", "camera"}, info
    stopping = systemd.seen("STOPPING", "1")
    assert stopping
    assert stopping[0][1]["STATUS"] == "stopping"
    assert stopping[0][0] > systemd.seen("READY")[0][0]


# ----- hangs stop the pings ------------------------------------------------------------------


async def test_a_hung_encoder_or_writer_or_loop_stops_the_watchdog(
    start_server: Any, systemd: FakeSystemd, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    hang: dict[str, bool] = {"encoder": False, "writer": False}
    encode, write = VideoEncoder.encode, Mp4File.write_video

    def hung_encode(self: VideoEncoder, *args: Any) -> Any:
        if hang["encoder"]:
            release.wait(30)
        return encode(self, *args)

    def hung_write(self: Mp4File, *args: Any) -> Any:
        if hang["writer"]:
            release.wait(30)
        return write(self, *args)

    monkeypatch.setattr(VideoEncoder, "encode", hung_encode)
    monkeypatch.setattr(Mp4File, "write_video", hung_write)
    notifier = Notifier(systemd.path, watchdog_usec=300_000)  # a ping every 0.1 s
    config = demo_config(**SMALL, recording={"continuous": True, "segment_seconds": 60})
    server = await start_server(config, notifier=notifier)
    watchdog = server.services.systemd
    watchdog.stuck_after_s = 2.0  # far above any healthy encode or write, even under load
    watchdog.http_started()
    await server.wait_online("demo")
    await wait_until(lambda: systemd.seen("READY"), 20, "READY=1")
    await wait_until(lambda: server.services.recordings.recorders["demo"].recording["continuous"])

    for part in ("encoder", "writer"):
        hang[part] = True
        release.clear()
        expected = "encoder" if part == "encoder" else "recorder"
        # The camera's reader (whose thread the encoder runs in) may be reported a moment
        # before the part that hangs: wait for that part, whatever else is reported.
        await wait_until(
            lambda e=expected: any(e in problem for problem in watchdog.stuck()),
            10,
            lambda p=part: f"the {p} to be seen stuck (stuck: {watchdog.stuck()})",
        )
        pings = len(systemd.seen("WATCHDOG"))
        await wait_until(lambda: "STUCK" in (systemd.last("STATUS") or ""), 10, "a STUCK status")
        assert len(systemd.seen("WATCHDOG")) == pings  # not one ping while stuck
        hang[part] = False
        release.set()
        await wait_until(lambda n=pings: len(systemd.seen("WATCHDOG")) > n + 2, 10, "pings again")
        assert "STUCK" not in (systemd.last("STATUS") or "")

    # A blocked event loop sends nothing at all.
    before = len(systemd.seen("WATCHDOG"))
    blocked_at = time.monotonic()
    time.sleep(1.0)  # noqa: ASYNC251 - blocking the loop on purpose: the hang under test
    unblocked_at = time.monotonic()
    await wait_until(lambda: len(systemd.seen("WATCHDOG")) > before, 10, "pings after")
    during = [at for at, _ in systemd.seen("WATCHDOG") if blocked_at + 0.05 < at < unblocked_at]
    assert during == []


def wait_for_message(systemd: FakeSystemd, key: str, timeout: float = 10) -> dict[str, str]:
    wait_until_blocking(lambda: systemd.seen(key), timeout, f"{key}= from the service")
    return systemd.seen(key)[0][1]
