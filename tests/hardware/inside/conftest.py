"""Fixtures for the checks that run inside the QEMU guest (tests/hardware/README.md).

Everything here runs as root in the guest: kernel modules are loaded and unloaded, device
nodes come and go. The data dirs were prepared on the host (Argon2 takes ~40 s per hash
in the emulated guest) and are copied to the guest's own /tmp (SQLite's WAL fails on 9p).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn

from api.app import create_app
from api.cli import uvicorn_config
from api.services import Services
from api.settings import LoadedConfig, load_config, parse_settings
from camera.v4l2 import V4L2
from tests.conftest import RunningServer, free_port
from tests.waiting import wait_until

SHARE = Path(os.environ.get("SENTRYCAM_GUEST_SHARE", "/nonexistent"))
SPEAKER = "hw:Loopback,0,1"  # the mjpeg camera's speaker ...
SPEAKER_CAPTURED_AT = "hw:Loopback,1,1"  # ... and where its sound comes out
LOSSY_CAMERA = {
    "id": "lossy",
    "source": "demo",
    "audio": None,
    "width": 320,
    "height": 240,
    "fps": 10,
    "bitrate_kbps": 300,
    "substream": {"width": 160, "height": 90, "fps": 5, "bitrate_kbps": 60},
}
MEASURED: dict[str, Any] = {}


def sh(command: str, check: bool = True, timeout: float = 60) -> str:
    done = subprocess.run(
        command, shell=True, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and done.returncode != 0:
        raise AssertionError(f"{command!r} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def measured(name: str, value: float) -> None:
    """Keep a figure for the report (written to the share as measurements.json)."""
    MEASURED[name] = round(value, 2)
    (SHARE / "measurements.json").write_text(json.dumps(MEASURED, indent=1))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Each outcome goes to the share at once (results.jsonl): a crash or a time-out of the
    guest loses nothing already known."""
    if report.when != "call" and report.passed:
        return
    line = {
        "name": report.nodeid.split("::")[-1],
        "when": report.when,
        "outcome": report.outcome,
        "detail": report.longreprtext[-3000:] if report.failed else "",
    }
    with (SHARE / "results.jsonl").open("a", encoding="utf-8") as results:
        results.write(json.dumps(line) + "\n")


@pytest.fixture(scope="session", autouse=True)
def server_log() -> None:
    """Sentrycam's log goes to the share (guest-server.log) for the report of a failure."""
    handler = logging.FileHandler(SHARE / "guest-server.log")
    handler.setFormatter(
        logging.Formatter("%(relativeCreated)8.0f %(name)s %(levelname)s %(message)s")
    )
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)


# Emulation is slow: ICE and DTLS over loopback take seconds, not milliseconds.
WEBRTC = {"ice_addresses": ["127.0.0.1"], "connect_timeout_s": 120}


@pytest.fixture(scope="session")
def drivers() -> None:
    sh("modprobe vivid n_devs=1 node_types=0x1")  # one webcam node: video capture only
    sh("modprobe snd-aloop")


class Guest:
    """A Sentrycam server running in this process, on loopback, with an admin token."""

    def __init__(self, server: RunningServer, uvicorn_server: uvicorn.Server, task: Any) -> None:
        self.server = server
        self.uvicorn = uvicorn_server
        self.task = task
        self.messages: list[dict[str, Any]] = []
        server.services.events.add_listener(lambda message, camera: self.messages.append(message))

    async def stop(self) -> None:
        if self.task.done():
            return
        await self.server.client.aclose()
        self.uvicorn.should_exit = True
        await asyncio.wait_for(self.task, 60)


async def start_guest_server(loaded: LoadedConfig, name: str) -> Guest:
    data_dir = Path("/tmp") / name
    shutil.rmtree(data_dir, ignore_errors=True)
    shutil.copytree(SHARE / "data", data_dir)
    services = Services(loaded, data_dir)
    port = free_port()
    server = uvicorn.Server(uvicorn_config(create_app(services), "127.0.0.1", port, None))
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve(), name=f"uvicorn-{name}")
    await wait_until(lambda: server.started or task.done(), 120, "uvicorn start")
    base = f"http://127.0.0.1:{port}"
    token = (SHARE / "token").read_text().strip()
    # No kept-alive connections: under emulation the server's keep-alive expiry (5 s) races
    # with the client's reuse of the connection (httpx.ReadError on a POST).
    client = httpx.AsyncClient(
        base_url=base,
        timeout=60,
        headers={"Authorization": f"Bearer {token}"},
        limits=httpx.Limits(max_keepalive_connections=0),
    )
    return Guest(RunningServer(None, services, base, client), server, task)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def autodetected(drivers: None) -> AsyncIterator[Guest]:
    """Sentrycam with a config file that lists no cameras: it finds the vivid webcam by
    itself, exactly as without a file (the file only gives WebRTC time to connect)."""
    path = Path("/tmp/autodetect.yaml")
    path.write_text(json.dumps({"webrtc": WEBRTC}))
    loaded = load_config(path)
    assert loaded.source == "autodetect-v4l2"
    guest = await start_guest_server(loaded, "autodetect")
    yield guest
    await guest.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def configured(autodetected: Guest) -> AsyncIterator[Guest]:
    """Sentrycam with a config: an MJPEG and an H.264 webcam (v4l2loopback fed by ffmpeg),
    the MJPEG one with the ALSA loopback card as its microphone and speaker; and a small
    synthetic camera with a light stream for the lossy link. The first server is
    stopped first: two of them share the emulated CPUs (and this process's GIL) badly."""
    await autodetected.stop()
    feeds = []
    # MPEG-TS holds H.264 as Annex B, what a V4L2 H.264 node carries: no bitstream filter
    # (h264_mp4toannexb stops the feed at the first loop: "packet sent after an EOF").
    nodes = {"/dev/video0": SHARE / "feed-mjpeg.mkv", "/dev/video1": SHARE / "feed-h264.ts"}
    for node, feed in nodes.items():
        command = ["ffmpeg", "-loglevel", "fatal", "-re", "-stream_loop", "-1", "-i", str(feed)]
        feeds.append(
            subprocess.Popen([*command, "-c", "copy", "-f", "v4l2", node], stdin=subprocess.DEVNULL)
        )

    def feeding() -> bool:  # both nodes offer their format: the feeds are running
        return all((found := V4L2().describe(node)) and found.modes for node in nodes)

    await wait_until(feeding, 60, "the ffmpeg feeds in the v4l2loopback nodes")
    # Only what these checks need runs: no motion or picture health (they would decode
    # every H.264 frame), no recording (it would keep the encoders on).
    camera = {
        "fps": 15,
        "motion": {"enabled": False},
        "health": {"frozen_seconds": 0, "tamper": False},
        "recording": {"events": False},
    }
    config = {
        "webrtc": WEBRTC,
        "cameras": [
            {
                "id": "mjpeg",
                "source": "v4l2:platform:v4l2loopback-000",
                "audio": "hw:CARD=Loopback,DEV=1",
                "sound": {"threshold_dbfs": -40},
                # A speaker for talk-back: playback subdevice 1 of the loopback card, heard
                # at capture subdevice 1 (the microphone above holds subdevice 0).
                "speaker": SPEAKER,
                **camera,
            },
            {"id": "h264", "source": "v4l2:platform:v4l2loopback-001", **camera},
            # For the lossy-link check: small, so that the emulated guest keeps up with both
            # ends of it (the viewer decodes in this same process; see that check).
            {**camera, **LOSSY_CAMERA},
        ],
    }
    guest = await start_guest_server(
        LoadedConfig(parse_settings(config), "file", None), "configured"
    )
    yield guest
    await guest.stop()
    for process in feeds:
        process.terminate()
        process.wait(10)
