"""The tools behind the settings pages: the motion tuner, arming schedules, trying a source."""

from __future__ import annotations

import asyncio
import base64
import time
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest
from httpx_ws import WebSocketDisconnect, aconnect_ws

from camera.demo import DemoScene
from tests.conftest import free_port, wait_until
from tests.test_file_source import write_clip

SMALL = {"width": 320, "height": 180, "fps": 10}


def demo(**camera: Any) -> dict[str, Any]:
    return {
        "webrtc": {"ice_addresses": ["127.0.0.1"]},
        "cameras": [{"id": "demo", "source": "demo", **SMALL, **camera}],
    }


# ----- the motion tuner ------------------------------------------------------------------


async def frame_report(ws: Any) -> dict[str, Any]:
    while True:
        message = await ws.receive_json(timeout=10)
        if message["type"] == "frame":
            return message  # type: ignore[no-any-return]


async def test_the_tuner_shows_what_trial_settings_would_see(start_server):
    server = await start_server(demo(motion={"threshold": 25}))
    await server.wait_online("demo")
    camera = server.camera("demo")
    url = server.base_url + "/api/cameras/demo/tuner"
    async with aconnect_ws(url, server.client) as ws:
        hello = await ws.receive_json(timeout=10)
        assert hello["type"] == "hello"
        assert hello["motion"]["threshold"] == 25
        assert camera.tuners == 1
        report = await frame_report(ws)
        for key in ("score", "min_area", "effective_threshold", "regions", "streak", "saved"):
            assert key in report
        assert (report["width"], report["height"]) == (256, 144)
        # A huge min_area and threshold see nothing move.
        await ws.send_json({"type": "trial", "motion": {"min_area": 0.9, "threshold": 200}})
        await wait_until(
            lambda: _report_matches(ws, lambda r: r["threshold"] == 200), 10, "trial applied"
        )
        report = await frame_report(ws)
        assert (report["min_area"], report["motion"], report["would_start"]) == (0.9, False, False)
        changed = np.unpackbits(np.frombuffer(base64.b64decode(report["changed"]), np.uint8))
        assert changed.size == 256 * 144
        await ws.send_json({"type": "trial", "motion": {"threshold": 0}})
        error = await _next_of(ws, "error")
        assert error["errors"][0]["field"] == "threshold"
        await ws.send_text("not json")
        assert "trial" in (await _next_of(ws, "error"))["detail"]
        # The real detector never saw the trial settings.
        assert camera.config.motion.threshold == 25
        assert report["saved"] is not None
    await wait_until(lambda: camera.tuners == 0, 10, "the tuner detached")


async def _report_matches(ws: Any, check: Any) -> bool:
    return bool(check(await frame_report(ws)))


async def _next_of(ws: Any, kind: str) -> dict[str, Any]:
    while True:
        message = await ws.receive_json(timeout=10)
        if message["type"] == kind:
            return message  # type: ignore[no-any-return]


async def test_the_tuner_is_for_admins_and_ends_when_the_camera_restarts(start_server):
    server = await start_server(demo())
    await server.add_user("viewer")
    viewer = await server.client_for("viewer")
    url = server.base_url + "/api/cameras/demo/tuner"
    async with aconnect_ws(url, viewer) as ws:
        with pytest.raises(WebSocketDisconnect) as refused:
            await read_until_closed(ws)
    assert refused.value.code == 4403
    async with aconnect_ws(server.base_url + "/api/cameras/nope/tuner", server.client) as ws:
        with pytest.raises(WebSocketDisconnect) as unknown:
            await read_until_closed(ws)
    assert unknown.value.code == 4404
    await server.wait_online("demo")
    async with aconnect_ws(url, server.client) as ws:
        await frame_report(ws)
        await server.client.patch("/api/cameras/demo", json={"fps": 8})
        with pytest.raises(WebSocketDisconnect) as changed:
            await read_until_closed(ws)
    assert changed.value.code == 4410


async def read_until_closed(ws: Any) -> None:
    for _ in range(100):
        await ws.receive_json(timeout=10)


# ----- arming schedules ------------------------------------------------------------------


def around(now: datetime, before: int, after: int) -> dict[str, str]:
    start, end = now - timedelta(minutes=before), now + timedelta(minutes=after)
    return {"start": f"{start:%H:%M}", "end": f"{end:%H:%M}"}


async def test_schedules_arm_and_a_manual_choice_lasts_until_the_next_change(start_server):
    server = await start_server(demo(motion={"enabled": False}))
    now = datetime.now(UTC)
    inside = {"mode": "weekly", "timezone": "UTC", "periods": [around(now, 60, 60)]}
    response = await server.client.patch("/api/cameras/demo", json={"schedule": inside})
    assert response.status_code == 200, response.text
    state = (await server.client.get("/api/cameras/demo/arm")).json()
    assert (state["armed"], state["mode"], state["scheduled"], state["override"]) == (
        True,
        "weekly",
        True,
        False,
    )
    assert state["timezone"] == "UTC"
    assert state["next_armed"] is False
    end = datetime.fromisoformat(state["next_change"])
    assert timedelta(minutes=58) < end - now < timedelta(minutes=62)
    # Disarmed by hand: until the period ends, then the schedule takes over again.
    manual = (await server.client.put("/api/cameras/demo/arm", json={"armed": False})).json()
    assert (manual["armed"], manual["override"]) == (False, True)
    assert server.services.events.armed("demo") is False
    arming = server.services.arming
    arming.clock = lambda: time.time() + 2 * 3600  # two hours on: the period is over
    arming.poke()
    await wait_until(lambda: arming.state("demo").override is False, 10, "the override ends")
    arming.clock = time.time
    # A new schedule applies at once and drops the manual choice.
    outside = {"mode": "weekly", "timezone": "UTC", "periods": [around(now, -60, 120)]}
    await server.client.put("/api/cameras/demo/arm", json={"armed": True})
    await server.client.patch("/api/cameras/demo", json={"schedule": outside})
    state = (await server.client.get("/api/cameras/demo/arm")).json()
    assert (state["armed"], state["override"], state["next_armed"]) == (False, False, True)
    assert server.services.events.armed("demo") is False


async def test_the_schedule_arms_on_time(start_server):
    server = await start_server(demo(motion={"enabled": False}))
    now = datetime.now(UTC)
    soon = {"mode": "weekly", "timezone": "UTC", "periods": [around(now, -1, 30)]}
    await server.client.patch("/api/cameras/demo", json={"schedule": soon})
    assert server.services.events.armed("demo") is False
    arming = server.services.arming
    arming.clock = lambda: time.time() + 120  # the period has begun
    arming.poke()
    await wait_until(lambda: server.services.events.armed("demo"), 10, "armed by the schedule")


# ----- trying a source before saving it ------------------------------------------------


async def test_sources_are_tried_with_a_picture_or_the_exact_error(start_server, tmp_path):
    server = await start_server(demo())
    await server.add_user("viewer")
    viewer = await server.client_for("viewer")
    assert (await viewer.post("/api/sources/test", json={"source": "demo"})).status_code == 403

    async def attempt(**camera: Any) -> dict[str, Any]:
        response = await server.client.post("/api/sources/test", json=camera)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    good = await attempt(source=str(write_clip(tmp_path / "good.mp4")), encoder="copy")
    assert (good["ok"], good["codec"], good["width"], good["height"]) == (True, "h264", 320, 180)
    jpeg = base64.b64decode(good["snapshot"].removeprefix("data:image/jpeg;base64,"))
    picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert picture.shape[:2] == (180, 320)

    mpeg4 = await attempt(source=str(write_mpeg4(tmp_path / "old.avi")), encoder="copy")
    assert not mpeg4["ok"]
    assert "H.264" in mpeg4["error"]
    assert "mpeg4" in mpeg4["error"]
    assert (await attempt(source=str(tmp_path / "old.avi")))["ok"]  # fine when re-encoded

    refused = await attempt(source=f"rtsp://cam:pw@127.0.0.1:{free_port()}/stream")
    assert "connection refused" in refused["error"]
    assert "pw" not in refused["error"]

    async with http_401() as port:
        wrong = await attempt(source=f"http://cam:wrong@127.0.0.1:{port}/video.ts")
    assert "user name or password" in wrong["error"]
    assert "wrong" not in str(wrong)

    missing = await attempt(source=str(tmp_path / "nothing.mp4"))
    assert "no such file" in missing["error"]
    tone = await attempt(source="demo", audio="demo")
    assert (tone["ok"], tone["audio"]) == (True, True)
    invalid = await server.client.post("/api/sources/test", json={"source": "demo", "fps": 0})
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["field"] == "fps"


def write_mpeg4(path: Path) -> Path:
    """MPEG-4 part 2 in AVI: a camera that does not send H.264."""
    scene = DemoScene(320, 180)
    with av.open(str(path), "w") as output:
        stream = output.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        for index in range(10):
            frame = scene.video_frame(1_700_000_000 + index / 10)
            frame.pts, frame.time_base = index, Fraction(1, 10)
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return path


class http_401:
    """A loopback HTTP server that refuses every request with 401."""

    async def __aenter__(self) -> int:
        async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(
                b'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm="cam"\r\n'
                b"Content-Length: 0\r\nConnection: close\r\n\r\n"
            )
            await writer.drain()
            writer.close()

        self.server = await asyncio.start_server(refuse, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        await self.server.wait_closed()
