"""Changes at run time touch only what they change: another camera's viewer, recorder and
source carry on without a glitch (every frame published reaches the viewer)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiortc.mediastreams import MediaStreamError

from tests.conftest import wait_until
from tests.whep_client import connect, hang_up

SMALL = {"width": 320, "height": 180, "fps": 10}


class FrameCounter:
    """Decodes a viewer's video continuously and counts the frames."""

    def __init__(self, viewer: Any) -> None:
        self.viewer = viewer
        self.frames = 0
        self.task = asyncio.create_task(self._run(), name="count-frames")

    async def _run(self) -> None:
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                await self.viewer.next_video_frame(timeout=30)
                self.frames += 1

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def test_cameras_come_and_go_while_another_is_watched(start_server):
    cfg = {
        "webrtc": {"ice_addresses": ["127.0.0.1"]},
        "cameras": [
            {"id": "watched", "source": "demo", **SMALL},
            {"id": "other", "source": "demo", **SMALL},
        ],
    }
    server = await start_server(cfg)
    await server.wait_online("watched")
    watched = server.camera("watched")
    recorder = server.services.recordings.recorders["watched"]
    viewer = await connect(server.client, "watched", audio=False)
    counter = FrameCounter(viewer)
    other_viewer = await connect(server.client, "other", audio=False)
    await wait_until(lambda: counter.frames >= 5, 20, "the watched camera's first frames")
    session = next(iter(server.services.webrtc._sessions))  # the one viewer of "watched"
    hub = watched.video.stats
    published, received, dropped = hub.packets, counter.frames, hub.dropped
    encoders = watched.encoder_starts

    client = server.client
    added = await client.post("/api/cameras", json={"id": "new", "source": "demo", **SMALL})
    assert added.status_code == 201
    await server.wait_online("new")
    await client.patch("/api/cameras/new", json={"motion": {"threshold": 50}})
    await client.patch("/api/cameras/other", json={"fps": 8})  # restarts "other"
    await server.wait_online("other")
    # The watched camera's own detectors and recording change in place.
    await client.patch(
        "/api/cameras/watched",
        json={"motion": {"min_area": 0.01}, "recording": {"pre_roll_seconds": 2}},
    )
    await client.delete("/api/cameras/new")
    await client.patch("/api/config/events", json={"cooldown_seconds": 1})

    # Watch a few seconds' worth of frames past the changes (the restarts settle).
    await wait_until(lambda: hub.packets - published >= 40, 20, "40 more frames")
    during = hub.packets - published
    await wait_until(
        lambda: counter.frames - received >= during - 2,
        20,
        lambda: f"{counter.frames - received} of {during} frames",
    )
    assert hub.dropped == dropped
    assert server.camera("watched") is watched
    assert watched.restarts == 0
    assert watched.encoder_starts == encoders
    assert session in server.services.webrtc._sessions
    # Its recorder was restarted for the new pre-roll; its stream was not.
    assert server.services.recordings.recorders["watched"] is not recorder
    # The restarted camera's viewer was hung up (a dashboard reconnects by itself).
    assert server.services.webrtc.viewers("other") == 0
    await counter.stop()
    await hang_up(client, viewer)
    await other_viewer.pc.close()


async def test_a_removed_camera_closes_its_files_and_keeps_its_recordings(start_server):
    cfg = {
        "webrtc": {"ice_addresses": ["127.0.0.1"]},
        "cameras": [{"id": "gone", "source": "demo", **SMALL, "recording": {"continuous": True}}],
    }
    server = await start_server(cfg)
    await server.wait_online("gone")
    recorder = server.services.recordings.recorders["gone"]
    await wait_until(lambda: recorder.recording["continuous"] is not None, 20, "a segment")
    response = await server.client.delete("/api/cameras/gone")
    assert response.status_code == 200
    kept = response.json()["kept"]["recordings"]
    assert kept >= 1
    listed = (await server.client.get("/api/recordings", params={"camera": "gone"})).json()
    # Every file is closed. There may be more than one: a camera that stalled under load
    # goes offline for a moment, and a continuous segment ends at such a gap.
    assert [r["state"] for r in listed["recordings"]] == ["complete"] * kept
    assert "gone" not in server.services.recordings.recorders
