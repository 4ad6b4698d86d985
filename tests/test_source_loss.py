"""A network camera that drops comes back by itself, and its viewers resume."""

from __future__ import annotations

import socket
import time

import pytest

from camera.demo import latency_ms, read_stamp
from tests.conftest import free_port, wait_until
from tests.feeds import UdpFeed
from tests.whep_client import connect, hang_up


def feed_config(port: int, encoder: str) -> dict[str, object]:
    return {
        "webrtc": {"ice_addresses": ["127.0.0.1"]},
        "cameras": [
            {
                "id": "feed",
                "source": f"udp://127.0.0.1:{port}",
                "encoder": encoder,
                "width": 640,
                "height": 360,
            }
        ],
    }


async def frame_made_after(viewer, wall_ms: int) -> bool:
    """Whether the next frame the viewer gets was captured at or after ``wall_ms``."""
    frame = await viewer.next_video_frame(timeout=15)
    age = latency_ms(read_stamp(frame.to_ndarray(format="gray")), int(time.time() * 1000))
    return int(time.time() * 1000) - age >= wall_ms


@pytest.mark.parametrize("encoder", ["libx264", "copy"])
async def test_udp_feed_that_stops_and_restarts_is_picked_up(start_server, encoder):
    port = free_port(socket.SOCK_DGRAM)
    feed = UdpFeed(port).start()
    try:
        server = await start_server(feed_config(port, encoder))
        camera = server.camera("feed")
        await server.wait_online("feed")
        connected_ms = int(time.time() * 1000)
        viewer = await connect(server.client, "feed", audio=False)
        # Live pictures, not a backlog (how fresh is a bench figure, not a test threshold).
        await wait_until(lambda: frame_made_after(viewer, connected_ms), 20, "a live frame")

        feed.stop()
        await wait_until(lambda: camera.status == "offline", 20, "camera offline")
        listed = (await server.client.get("/api/cameras/feed")).json()
        assert listed["status"] == "offline"
        assert listed["error"]

        restarted_ms = int(time.time() * 1000)
        feed.start()
        await wait_until(lambda: camera.status == "online", 30, "camera back online")
        # The same viewer session carries on with pictures made after the restart.
        await wait_until(
            lambda: frame_made_after(viewer, restarted_ms), 20, "a frame made after the restart"
        )
        await hang_up(server.client, viewer)
    finally:
        feed.stop()


async def test_camera_that_never_appears_is_offline_with_reason(start_server):
    port = free_port(socket.SOCK_DGRAM)
    server = await start_server(feed_config(port, "libx264"))
    camera = server.camera("feed")
    await wait_until(lambda: camera.status == "offline", 30, "camera offline")
    listed = (await server.client.get("/api/cameras/feed")).json()
    assert listed["error"]
    snapshot = await server.client.get("/api/cameras/feed/snapshot.jpg")
    assert snapshot.status_code == 503
    # And it comes up as soon as the feed starts, with no restart of anything.
    feed = UdpFeed(port).start()
    try:
        await wait_until(lambda: camera.status == "online", 30, "camera online")
    finally:
        feed.stop()


async def test_missing_device_is_offline_not_fatal(start_server, tmp_path):
    server = await start_server(
        {
            "webrtc": {"ice_addresses": ["127.0.0.1"]},
            "cameras": [
                {"id": "gone", "source": str(tmp_path / "nothing.mp4")},
                {"id": "demo", "source": "demo", "width": 320, "height": 180},
            ],
        }
    )
    await server.wait_online("demo")
    gone = server.camera("gone")
    await wait_until(lambda: gone.status == "offline", 10, "missing file offline")
    assert "No such file" in (gone.error or "")
    health = (await server.client.get("/api/health")).json()
    assert (health["cameras_online"], health["cameras_total"]) == (1, 2)
