"""Forced drops of a real file camera and network camera: each comes back (issue 14).

The figures (100 drops each, recovery time after the source returns) come from
``bench/source_recovery.py``; here a few drops of each prove the path works end to end.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

import camera.supervisor
from tests.conftest import free_port, wait_until
from tests.faults import SourceFaults
from tests.feeds import UdpFeed
from tests.test_file_source import write_clip

DROPS = 2


def one_camera(source: str) -> dict[str, Any]:
    camera = {"id": "cam", "source": source, "width": 320, "height": 180, "fps": 15}
    return {
        "webrtc": {"ice_addresses": ["127.0.0.1"]},
        "cameras": [{**camera, "motion": {"enabled": False}, "recording": {"events": False}}],
    }


@pytest.fixture(autouse=True)
def short_healthy_period(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every drop counts as a drop of a healthy source (quick retry), not a flap (backoff,
    # tested in tests/test_supervisor.py), however soon after the last one it comes.
    monkeypatch.setattr(camera.supervisor, "HEALTHY_AFTER_S", 0.0)


async def drop_and_recover(server: Any, faults: SourceFaults) -> None:
    camera = server.camera("cam")
    for _ in range(DROPS):
        await server.wait_online("cam")
        faults.drop()
        await wait_until(lambda: camera.status == "offline", 10, "the drop noticed")
        refused = faults.refused
        await wait_until(lambda r=refused: faults.refused > r, 10, "a retry while it is away")
        faults.restore()
        await wait_until(lambda: camera.status == "online", 10, "back online")


async def test_a_file_camera_recovers_from_every_drop(
    start_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip = write_clip(tmp_path / "porch.mp4", seconds=2)
    faults = SourceFaults(str(clip)).install(monkeypatch)
    server = await start_server(one_camera(str(clip)))
    await drop_and_recover(server, faults)
    assert faults.opens == DROPS + 1


async def test_a_network_camera_recovers_from_every_drop(
    start_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port(socket.SOCK_DGRAM)
    feed = UdpFeed(port, width=320, height=180, fps=15).start()
    try:
        faults = SourceFaults(f"udp://127.0.0.1:{port}").install(monkeypatch)
        server = await start_server(one_camera(f"udp://127.0.0.1:{port}"))
        await drop_and_recover(server, faults)
        assert faults.opens == DROPS + 1
    finally:
        feed.stop()
