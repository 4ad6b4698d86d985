"""Publishing the shared encoding to a media server: Debian's Janus (Streaming plugin, an
rtp mountpoint) receives the camera's H.264 and Opus, and a WebRTC viewer plays it there;
the section's validation."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import uvicorn
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from starlette.requests import Request
from starlette.responses import Response

from api.settings import parse_settings
from camera.demo import latency_ms, read_stamp
from camera.errors import ConfigError
from tests.conftest import demo_config, free_port, wait_until
from tests.janus import Janus, JanusClient, janus_gateway

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def janus(tmp_path: Path) -> AsyncIterator[Janus]:
    async with janus_gateway(tmp_path / "janus") as gateway:
        yield gateway


def _publish_to(janus: Janus) -> dict[str, Any]:
    config = demo_config()
    config["publish"] = [
        {
            "camera": "demo",
            "kind": "rtp",
            "rtp": {
                "host": "127.0.0.1",
                "video_port": janus.video_port,
                "audio_port": janus.audio_port,
            },
        }
    ]
    return config


async def test_janus_receives_the_published_camera(janus: Janus, start_server: Any) -> None:
    server = await start_server(_publish_to(janus))
    await server.wait_online("demo")
    client = JanusClient(janus)
    try:
        await client.attach()

        async def both_flowing() -> bool:
            media = (await client.mountpoint()).get("media", [])
            return len(media) == 2 and all("age_ms" in m for m in media)

        # Janus only reports a packet age once it has parsed RTP on that port.
        await wait_until(both_flowing, 30, "video and audio at Janus")
        media = {m["type"]: m for m in (await client.mountpoint())["media"]}
        assert media["video"]["codec"] == "h264"
        assert media["audio"]["codec"] == "opus"
    finally:
        await client.close()
    # Janus got the shared encoding: one encoder, and no viewer here.
    camera = server.camera("demo")
    assert camera.encoder_starts == 1
    assert server.services.webrtc.viewers("demo") == 0
    assert all(s.packets_sent > 0 for s in server.services.publish.streams["demo"])


async def test_a_viewer_plays_the_published_camera_through_janus(
    janus: Janus, start_server: Any
) -> None:
    server = await start_server(_publish_to(janus))
    await server.wait_online("demo")
    client = JanusClient(janus)
    viewer = None
    try:
        await client.attach()
        began = time.monotonic()
        viewer = await client.watch()
        answered_s = time.monotonic() - began  # watch, offer, answer, start
        # Janus offers only loopback candidates (tests/janus_loopback.c), never eth0's.
        candidates = [line for line in viewer.offer.splitlines() if "a=candidate" in line]
        assert candidates
        assert all(" 127.0.0.1 " in line for line in candidates), candidates
        await wait_until(lambda: set(viewer.tracks) == {"video", "audio"}, 10, "both tracks")
        frame = await viewer.next_video_frame(30)
        first_frame_s = time.monotonic() - began
        assert (frame.width, frame.height) == (640, 360)
        # Live, not a still: the demo picture's capture stamp rises frame after frame, from
        # the very first picture (the mountpoint has videobufferkf off, so the first frame
        # decoded is the camera's next keyframe, not a stale buffered one; see
        # docs/remote-viewing.md).
        stamps = [read_stamp(frame.to_ndarray(format="gray"))]
        for _ in range(14):
            stamps.append(read_stamp((await viewer.next_video_frame()).to_ndarray(format="gray")))
        assert stamps == sorted(set(stamps)), str([s - stamps[0] for s in stamps])
        age_ms = latency_ms(stamps[-1], int(time.time() * 1000))
        print(
            f"Janus viewer: answered {answered_s:.2f} s, first frame {first_frame_s:.2f} s "
            f"after 'watch', picture age {age_ms} ms"
        )
        audio = await viewer.next_audio_frame()
        assert audio.sample_rate == 48000
        assert np.abs(audio.to_ndarray()).max() > 200  # the demo tone, not silence
        assert viewer.pc.iceConnectionState == "completed"
    finally:
        if viewer is not None:
            await viewer.pc.close()
        await client.close()
    # Janus served the viewer; Sentrycam still encodes once and serves nobody itself.
    assert server.camera("demo").encoder_starts == 1
    assert server.services.webrtc.viewers("demo") == 0


@pytest.mark.parametrize(
    ("target", "fragment"),
    [
        ({"camera": "demo", "kind": "rtp"}, "needs its 'rtp:'"),
        (
            {"camera": "demo", "kind": "whip", "rtp": {"host": "127.0.0.1", "video_port": 5}},
            "needs its 'whip:'",
        ),
        ({"camera": "demo", "kind": "rtp", "rtp": {"host": "janus", "video_port": 5}}, "IP"),
        ({"camera": "demo", "kind": "whip", "whip": {"url": "ftp://x"}}, "pattern"),
    ],
)
def test_bad_publish_targets_are_refused(target: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        parse_settings({"publish": [target]})


class WhipStandIn:
    """A WHIP endpoint (RFC 9725's ingest side) made of aiortc: answers one offer with a
    receive-only peer and keeps what arrives. Stands in for MediaMTX or LiveKit ingress,
    which the package registries here do not have."""

    def __init__(self) -> None:
        self.pcs: list[RTCPeerConnection] = []
        self.frames: dict[str, list[Any]] = {"video": [], "audio": []}
        self.authorization: list[str | None] = []
        self.deleted = 0
        self._tasks: list[asyncio.Task[None]] = []

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        if request.method == "DELETE":
            self.deleted += 1
            await Response(status_code=200)(scope, receive, send)
            return
        self.authorization.append(request.headers.get("authorization"))
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pcs.append(pc)

        @pc.on("track")
        def on_track(track: Any) -> None:
            self._tasks.append(asyncio.create_task(self._keep(track), name="whip-keep"))

        offer = (await request.body()).decode()
        await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        response = Response(
            pc.localDescription.sdp,
            status_code=201,
            media_type="application/sdp",
            headers={"Location": "/whip/session-1"},
        )
        await response(scope, receive, send)

    async def _keep(self, track: Any) -> None:
        with contextlib.suppress(Exception):
            while True:
                self.frames[track.kind].append(await track.recv())


async def test_whip_publishes_the_shared_encoding(start_server: Any) -> None:
    stand_in = WhipStandIn()
    port = free_port()
    whip_server = uvicorn.Server(
        uvicorn.Config(stand_in.app, "127.0.0.1", port, log_level="error", interface="asgi3")
    )
    whip_server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(whip_server.serve(), name="whip-stand-in")
    try:
        await wait_until(lambda: whip_server.started, 10, "the WHIP stand-in")
        settings = demo_config()
        settings["publish"] = [
            {
                "camera": "demo",
                "kind": "whip",
                "whip": {"url": f"http://127.0.0.1:{port}/whip", "bearer_token": "s3cret"},
            }
        ]
        server = await start_server(settings)
        await wait_until(lambda: len(stand_in.frames["video"]) > 5, 30, "video at WHIP")
        await wait_until(lambda: len(stand_in.frames["audio"]) > 5, 30, "audio at WHIP")
        frame = stand_in.frames["video"][-1]
        assert (frame.width, frame.height) == (640, 360)
        assert stand_in.authorization == ["Bearer s3cret"]
        assert server.camera("demo").encoder_starts == 1
        await server.services.publish.stop()
        assert stand_in.deleted == 1  # the session was hung up with DELETE
    finally:
        for pc in stand_in.pcs:
            await pc.close()
        whip_server.should_exit = True
        await asyncio.wait_for(task, 10)
