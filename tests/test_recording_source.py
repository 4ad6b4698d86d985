"""Recording an IP camera's own H.264 (copy), through an outage and back, and long events."""

from __future__ import annotations

import socket
import time
from typing import Any

import httpx
import pytest

from camera.analysis import Observation
from tests.conftest import free_port
from tests.feeds import UdpFeed
from tests.recordings import read_clip
from tests.test_recording import complete, recording_config
from tests.waiting import wait_until


def feed_config(port: int) -> dict[str, Any]:
    return {
        "webrtc": {"ice_addresses": ["127.0.0.1"]},
        "cameras": [
            {
                "id": "feed",
                "source": f"udp://127.0.0.1:{port}",
                "encoder": "copy",
                "width": 640,
                "height": 360,
                "motion": {"enabled": False},
                "health": {"frozen_seconds": 0, "tamper": False},
                "recording": {
                    "pre_roll_seconds": 2,
                    "post_roll_seconds": 1,
                    "continuous": True,
                    "segment_seconds": 60,
                },
            }
        ],
    }


async def test_copy_camera_recording_survives_an_outage(start_server):
    port = free_port(socket.SOCK_DGRAM)
    feed = UdpFeed(port).start()
    try:
        server = await start_server(feed_config(port))
        camera = server.camera("feed")
        recorder = server.services.recordings.recorders["feed"]
        await server.wait_online("feed")
        await wait_until(lambda: recorder.pre_roll_seconds >= 2.0, 20, "pre-roll (2 GOPs)")
        first_segment = recorder.recording["continuous"]
        assert first_segment is not None

        observe = server.services.events.observe
        observe(Observation("feed", "motion", "start", time.time(), score=0.3))
        clip_id = recorder.recording["clip"]
        assert clip_id is not None
        # The camera goes away in the middle of the event.
        feed.stop()
        await wait_until(lambda: camera.status == "offline", 30, "camera offline")
        # The segment ends at the gap.
        segment = await complete(server, first_segment)
        assert segment["state"] == "complete"
        # The event ends while the camera is away: no packet will pass the post-roll, the
        # clip is closed by its timer.
        observe(Observation("feed", "motion", "end", time.time(), score=0.3))
        clip = await complete(server, clip_id)
        assert clip["state"] == "complete"
        for recording in (segment, clip):
            data = (await server.client.get(recording["links"]["video"])).content
            report = read_clip(data)
            assert report.first_keyframe
            assert (report.width, report.height) == (640, 360)
            assert report.audio_packets == 0

        # Back online: recording resumes in a new segment by itself, and the file being
        # written can already be played.
        feed.start()
        await wait_until(lambda: camera.status == "online", 30, "camera back")
        await wait_until(
            lambda: (recorder.recording["continuous"] or 0) > first_segment, 20, "new segment"
        )
        current = recorder.recording["continuous"]

        async def grown() -> httpx.Response | None:
            response = await server.client.get(f"/api/recordings/{current}/video.mp4")
            return (
                response if response.status_code == 200 and len(response.content) > 50_000 else None
            )

        response = await wait_until(grown, 20, "the segment being written to grow", interval=0.1)
        partial = read_clip(response.content)
        assert partial.first_keyframe
        assert partial.video_packets >= 15
        assert (await server.client.get(f"/api/recordings/{current}")).json()[
            "state"
        ] == "recording"
    finally:
        feed.stop()


@pytest.mark.parametrize("max_clip", [10])
async def test_an_event_longer_than_max_clip_continues_in_a_new_clip(start_server, max_clip):
    server = await start_server(recording_config(max_clip_seconds=max_clip))
    await server.wait_online("demo")
    recorder = server.services.recordings.recorders["demo"]
    await wait_until(lambda: recorder.pre_roll_seconds >= 2.0, 20, "pre-roll (2 GOPs)")
    observe = server.services.events.observe
    observe(Observation("demo", "motion", "start", time.time(), score=0.3))
    first = recorder.recording["clip"]
    await wait_until(lambda: recorder.recording["clip"] != first, max_clip + 10, "the cut")
    second = recorder.recording["clip"]
    observe(Observation("demo", "motion", "end", time.time(), score=0.3))
    one = await complete(server, first)
    two = await complete(server, second)
    # Cut at the first keyframe from max_clip on: the clip's last frame is the one before.
    assert max_clip - 0.1 <= one["duration"] <= max_clip + 1.1
    event_id = one["events"][0]
    assert two["events"] == [event_id]
    # The event's clip is where it starts (with its pre-roll); both are listed for it.
    event = (await server.client.get(f"/api/events/{event_id}")).json()
    assert event["clip"]["id"] == first
    listed = await server.client.get("/api/recordings", params={"event": event_id})
    assert {r["id"] for r in listed.json()["recordings"]} == {first, second}
    a = read_clip((await server.client.get(one["links"]["video"])).content)
    b = read_clip((await server.client.get(two["links"]["video"])).content)
    assert b.first_keyframe
    gap = (b.first_stamp_ms - a.last_stamp_ms) % (1 << 40)
    assert 1 <= gap <= 100, gap
