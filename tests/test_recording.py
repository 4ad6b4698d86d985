"""Event clips and continuous segments from a synthetic camera with known timing.

The demo camera stamps each frame with its capture time (camera/demo.py), so a clip read
back says exactly when its first and last pictures were taken.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import time
from datetime import datetime, timedelta
from typing import Any

import pytest

from camera.analysis import Observation
from camera.demo import STAMP_MODULO
from camera.encoder import OPUS_HEAD, AudioEncoder
from camera.mp4 import parameter_sets
from tests.conftest import demo_config
from tests.recordings import read_clip
from tests.waiting import wait_until

PRE_ROLL = 2.0
POST_ROLL = 1.5


def recording_config(**recording: Any) -> dict[str, Any]:
    settings = {"pre_roll_seconds": PRE_ROLL, "post_roll_seconds": POST_ROLL}
    settings.update(recording)
    # Motion detection off: the test decides when events begin and end.
    return demo_config(
        gop_seconds=1.0,
        motion={"enabled": False},
        sound={"enabled": False},
        recording=settings,
    )


def pre_roll_span(server: Any) -> float:
    return float(server.services.recordings.recorders["demo"].pre_roll_seconds)


async def wait_camera_time(server: Any, wall: float, camera_id: str = "demo") -> None:
    """Wait until the camera has published a frame captured at or after ``wall``."""
    camera = server.camera(camera_id)
    target = camera.capture_pts(wall)
    recorder = server.services.recordings.recorders[camera_id]
    await wait_until(lambda: (recorder.latest_video_pts or -1) >= target, 15, "camera time")


async def complete(server: Any, recording_id: int, timeout: float = 20) -> dict[str, Any]:
    """Poll the API until the recording is no longer being written."""
    body: dict[str, Any] = {}

    async def finished() -> dict[str, Any] | None:
        nonlocal body
        response = await server.client.get(f"/api/recordings/{recording_id}")
        body = response.json()
        return body if response.status_code == 200 and body["state"] != "recording" else None

    def never() -> str:
        return f"recording {recording_id} to complete (last: {body})"

    return await wait_until(finished, timeout, never, interval=0.05)


def ms_before(a_ms: int, b_ms: int) -> int:
    """b - a in milliseconds across the stamp's wrap."""
    return (b_ms - a_ms) % STAMP_MODULO


def test_opus_head_matches_the_encoder() -> None:
    assert AudioEncoder().extradata == OPUS_HEAD


def test_parameter_sets_come_from_a_keyframe() -> None:
    sps = b"\x67\x42\xc0\x1e\xaa"
    pps = b"\x68\xce\x3c\x80"
    idr = b"\x65\x88\x84\x00\x00\x03\x00"
    unit = b"\x00\x00\x00\x01" + sps + b"\x00\x00\x00\x01" + pps + b"\x00\x00\x01" + idr
    assert parameter_sets(unit) == b"\x00\x00\x00\x01" + sps + b"\x00\x00\x00\x01" + pps
    assert parameter_sets(b"\x00\x00\x01" + idr) is None


@pytest.fixture
async def server(start_server):
    running = await start_server(recording_config())
    await running.wait_online("demo")
    await wait_until(lambda: pre_roll_span(running) >= PRE_ROLL + 1.0, 20, "pre-roll filled")
    return running


async def test_event_clip_has_pre_roll_post_roll_and_audio(server):
    observe = server.services.events.observe
    started = time.time()
    observe(Observation("demo", "motion", "start", started, score=0.3))
    await wait_camera_time(server, started + 1.0)
    ended = time.time()
    observe(Observation("demo", "motion", "end", ended, score=0.3))

    events = (await server.client.get("/api/events", params={"camera": "demo"})).json()
    event = events["events"][0]
    clip_id = event["clip"]["id"]
    assert event["links"]["clip"] == f"/api/recordings/{clip_id}"
    sent = await server.services.events.store.messages(0, server.services.live.last_id)
    announced = [
        stored
        for _, stored in sent
        if stored["type"] == "recording" and stored["recording"]["id"] == clip_id
    ]
    assert announced[0]["phase"] == "start"
    assert announced[0]["recording"]["events"] == [event["id"]]
    # The event and its alert are announced before the clip the event opened.
    order = [
        (stored["type"], stored.get("phase"))
        for _, stored in sent
        if stored.get("event", {}).get("id") == event["id"]
        or stored.get("recording", {}).get("id") == clip_id
    ]
    assert order.index(("recording", "start")) > order.index(("event", "start"))
    if ("alert", None) in order:
        assert order.index(("recording", "start")) > order.index(("alert", None))
    recording = await complete(server, clip_id)
    assert recording["state"] == "complete"
    assert recording["kind"] == "clip"
    assert recording["events"] == [event["id"]]
    assert recording["audio"] is True

    response = await server.client.get(recording["links"]["download"])
    assert response.status_code == 200
    data = response.content
    digest = hashlib.sha256(data).hexdigest()
    assert response.headers["x-content-sha256"] == digest == recording["sha256"]
    assert response.headers["repr-digest"] == (
        "sha-256=:" + base64.b64encode(bytes.fromhex(digest)).decode() + ":"
    )
    assert "attachment" in response.headers["content-disposition"]
    event = (await server.client.get(f"/api/events/{event['id']}")).json()
    assert event["clip"]["sha256"] == digest

    report = read_clip(data)
    assert report.first_keyframe
    assert (report.width, report.height) == (640, 360)
    started_ms, ended_ms = int(started * 1000), int(ended * 1000)
    # At least the pre-roll before the event, and not more than a GOP (1 s) beyond it
    # plus the detection margin kept in the ring.
    lead = ms_before(report.first_stamp_ms, started_ms)
    assert PRE_ROLL * 1000 <= lead <= (PRE_ROLL + 1.0 + 1.5) * 1000, lead
    # Ends one post-roll after the event, within a couple of frames.
    tail = ms_before(ended_ms, report.last_stamp_ms)
    assert (POST_ROLL - 0.1) * 1000 <= tail <= (POST_ROLL + 0.3) * 1000, tail
    assert report.video_seconds == pytest.approx(recording["duration"], abs=0.05)
    # Audio all along (20 ms Opus packets).
    assert report.audio_packets >= report.video_seconds * 40
    assert report.audio_seconds == pytest.approx(report.video_seconds, abs=0.1)
    # Sound stops with the last picture (not the audio the encoder had ready before it).
    assert -0.1 <= report.audio_end - report.video_end <= 0.06


async def test_recording_keeps_the_encoder_on_for_the_pre_roll(server):
    # Nobody watches, yet encoded packets flow: the pre-roll needs them.
    assert server.camera("demo").video.subscriber_count == 1
    assert server.camera("demo").encoding


async def test_overlapping_events_extend_one_clip(server):
    observe = server.services.events.observe
    first_start = time.time()
    observe(Observation("demo", "motion", "start", first_start, score=0.3))
    await wait_camera_time(server, first_start + 0.5)
    observe(Observation("demo", "sound", "start", time.time(), score=-20.0))
    # While it is written, the clip already lists both events.
    clip_id = server.services.recordings.recorders["demo"].recording["clip"]
    writing = (await server.client.get(f"/api/recordings/{clip_id}")).json()
    assert writing["state"] == "recording"
    assert len(writing["events"]) == 2
    await wait_camera_time(server, first_start + 1.0)
    observe(Observation("demo", "motion", "end", time.time(), score=0.3))
    # The motion event is over, the sound goes on: the clip must not end after the
    # post-roll of the first event.
    await wait_camera_time(server, time.time() + POST_ROLL + 0.5)
    last_end = time.time()
    observe(Observation("demo", "sound", "end", last_end, score=-20.0))

    events = (await server.client.get("/api/events", params={"camera": "demo"})).json()
    sound, motion = events["events"][:2]
    assert (motion["kind"], sound["kind"]) == ("motion", "sound")
    assert motion["clip"]["id"] == sound["clip"]["id"]
    recording = await complete(server, motion["clip"]["id"])
    assert recording["events"] == [motion["id"], sound["id"]]
    report = read_clip((await server.client.get(recording["links"]["video"])).content)
    lead = ms_before(report.first_stamp_ms, int(first_start * 1000))
    assert lead >= PRE_ROLL * 1000
    tail = ms_before(int(last_end * 1000), report.last_stamp_ms)
    assert (POST_ROLL - 0.1) * 1000 <= tail <= (POST_ROLL + 0.3) * 1000, tail

    # Once that clip is closed, a new event gets a new clip.
    later = time.time()
    observe(Observation("demo", "motion", "start", later, score=0.3))
    await wait_camera_time(server, later + 0.3)
    observe(Observation("demo", "motion", "end", time.time(), score=0.3))
    newest = (await server.client.get("/api/events", params={"camera": "demo"})).json()
    assert newest["events"][0]["clip"]["id"] != recording["id"]
    await complete(server, newest["events"][0]["clip"]["id"])
    listed = await server.client.get(
        "/api/recordings", params={"camera": "demo", "kind": "clip", "event": sound["id"]}
    )
    assert [r["id"] for r in listed.json()["recordings"]] == [recording["id"]]


async def test_continuous_segments_are_contiguous(start_server):
    server = await start_server(recording_config(events=False, continuous=True, segment_seconds=2))
    await server.wait_online("demo")

    async def complete_segments() -> list[dict[str, Any]]:
        response = await server.client.get(
            "/api/recordings", params={"kind": "continuous", "order": "oldest"}
        )
        rows = response.json()["recordings"]
        return [r for r in rows if r["state"] == "complete"]

    async def three_segments() -> list[dict[str, Any]] | None:
        found = await complete_segments()
        return found if len(found) >= 3 else None

    segments = await wait_until(three_segments, 30, "three complete segments", interval=0.2)
    reports = []
    for segment in segments[:3]:
        assert segment["duration"] >= 1.9, segment
        data = (await server.client.get(segment["links"]["video"])).content
        assert hashlib.sha256(data).hexdigest() == segment["sha256"]
        reports.append(read_clip(data))
    for report in reports:
        assert -0.1 <= report.audio_end - report.video_end <= 0.06
        # Cut at the first keyframe 2 s (segment_seconds) in: every keyframe in a segment
        # lies before that. (In wall time a GOP stretches when a loaded machine drops frames,
        # so the length itself has no upper bound here.)
        assert report.keyframes[0] == 0.0
        assert all(k < 2.0 for k in report.keyframes), report.keyframes
    for before, after in itertools.pairwise(reports):
        assert after.first_keyframe
        # The next segment starts with the very next frame: no gap, no overlap.
        gap = ms_before(before.last_stamp_ms, after.first_stamp_ms)
        assert 1 <= gap <= 100, gap
    # A time range selects the segments overlapping it (the timeline's query).
    second = segments[1]
    inside = datetime.fromisoformat(second["start"]) + timedelta(seconds=0.5)
    response = await server.client.get(
        "/api/recordings",
        params={
            "kind": "continuous",
            "since": inside.isoformat(),
            "until": (inside + timedelta(seconds=0.2)).isoformat(),
        },
    )
    assert [r["id"] for r in response.json()["recordings"]] == [second["id"]]
