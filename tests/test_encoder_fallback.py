"""``encoder: auto``: the Pi 4's hardware encoder, and a fallback to libx264 that holds.

Failures are injected: the hardware encoder is "present" (``pi_encoder_present``) and
fails to open (it really does here: no /dev/video11), or it is stood in for by libx264
under its name and made to fail or stall mid-stream. The light stream's encoder
(``camera.substream``) fails alone: the main stream goes on.
"""

from __future__ import annotations

import threading
from typing import Any

import av.error
import pytest

from camera import encoder as encoder_module
from camera.config import CameraConfig
from camera.encoder import HARDWARE_CODEC, EncoderChoice, VideoEncoder
from tests.conftest import demo_config
from tests.test_substream import connect_quality
from tests.waiting import wait_until
from tests.whep_client import connect, hang_up

SMALL = {"width": 320, "height": 180, "fps": 15, "recording": {"events": False}}


def test_choice_falls_back_once_and_only_for_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encoder_module, "pi_encoder_present", lambda: True)
    auto = EncoderChoice(CameraConfig(id="a", source="demo"))
    assert auto.codec() == HARDWARE_CODEC
    assert auto.fall_back(HARDWARE_CODEC, "failed mid-stream (boom)")
    assert auto.codec() == "libx264"
    assert auto.fallback == "h264_v4l2m2m failed mid-stream (boom); using libx264"
    assert not auto.fall_back("libx264", "failed")  # nothing left to fall back to
    explicit = EncoderChoice(CameraConfig(id="b", source="demo", encoder=HARDWARE_CODEC))
    assert not explicit.fall_back(HARDWARE_CODEC, "failed")
    monkeypatch.setattr(encoder_module, "pi_encoder_present", lambda: False)
    assert EncoderChoice(CameraConfig(id="c", source="demo")).codec() == "libx264"


async def encoder_alerts(server: Any) -> list[str]:
    await server.services.events.flush()
    events = (await server.client.get("/api/events?kind=encoder")).json()["events"]
    return [event["detail"] for event in events]


async def watch_until_switched(server: Any, starts: int) -> None:
    camera = server.camera("demo")
    viewer = await connect(server.client, "demo", audio=False)
    try:
        await wait_until(lambda: camera.encoder_starts >= starts, 20, "the fallback encoder")
        for _ in range(45):  # three more seconds of pictures: the viewer goes on watching
            await viewer.next_video_frame()
    finally:
        await hang_up(server.client, viewer)


async def test_hardware_encoder_that_cannot_open(
    start_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(encoder_module, "pi_encoder_present", lambda: True)
    server = await start_server(demo_config(**SMALL))
    await server.wait_online("demo")
    await watch_until_switched(server, 1)
    camera = server.camera("demo")
    assert camera.info().encoder == "libx264"
    assert camera.encoder_starts == 1
    assert camera.restarts == 0
    details = await wait_until(lambda: encoder_alerts(server), 10, "an encoder alert")
    assert details == ["camera demo: h264_v4l2m2m cannot open (" + details[0].split("(", 1)[1]]
    assert "using libx264" in details[0]


def hardware_standin(monkeypatch: pytest.MonkeyPatch, fail: str, after: int = 20) -> None:
    """libx264 posing as the hardware encoder, failing (or giving nothing) after
    ``after`` frames."""
    monkeypatch.setattr(encoder_module, "pi_encoder_present", lambda: True)
    original_open, original_encode = VideoEncoder._open, VideoEncoder.encode
    frames: dict[int, int] = {}

    def open_(self: VideoEncoder, codec_name: str) -> Any:
        return original_open(self, "libx264")

    def encode(self: VideoEncoder, frame: Any, pts: int) -> Any:
        if self.codec_name != HARDWARE_CODEC:
            return original_encode(self, frame, pts)
        frames[id(self)] = frames.get(id(self), 0) + 1
        if frames[id(self)] > after:
            if fail == "raise":
                raise av.error.ExternalError(-32, "injected: the encoder died")
            self._frames_without_output += 1  # frames go in, nothing comes out
            return []
        return original_encode(self, frame, pts)

    monkeypatch.setattr(VideoEncoder, "_open", open_)
    monkeypatch.setattr(VideoEncoder, "encode", encode)


@pytest.mark.parametrize("fail", ["raise", "stall"])
async def test_hardware_encoder_failing_mid_stream_falls_back_for_good(
    start_server: Any, monkeypatch: pytest.MonkeyPatch, fail: str
) -> None:
    hardware_standin(monkeypatch, fail)
    server = await start_server(demo_config(**SMALL))
    await server.wait_online("demo")
    camera = server.camera("demo")
    await watch_until_switched(server, 2)
    assert camera.info().encoder == "libx264"
    assert camera.restarts == 0  # the source never stopped: only the encoder changed
    details = await wait_until(lambda: encoder_alerts(server), 10, "an encoder alert")
    assert len(details) == 1
    expected = "failed mid-stream" if fail == "raise" else "gives no pictures"
    assert f"camera demo: h264_v4l2m2m {expected}" in details[0]
    # No flapping: a second viewer, later, still gets libx264 and no new encoder opens
    # beyond the one the linger rule allows.
    await watch_until_switched(server, 2)
    assert camera.info().encoder == "libx264"
    assert camera.encoder_starts <= 3
    assert len(await encoder_alerts(server)) == 1


# ----- the light stream's encoder (camera.substream) ------------------------------------------

LIGHT = {"width": 160, "height": 90, "fps": 10, "bitrate_kbps": 100}


def light_camera(**camera: Any) -> dict[str, Any]:
    return demo_config(audio=None, substream=LIGHT, **camera)


def is_light(encoder: VideoEncoder) -> bool:
    return bool(encoder._config.height == LIGHT["height"])


async def test_a_failing_light_encoder_rests_and_the_main_stream_goes_on(
    start_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = {"light": True}
    original_encode = VideoEncoder.encode

    def encode(self: VideoEncoder, frame: Any, pts: int) -> Any:
        if failing["light"] and is_light(self):
            raise av.error.ExternalError(-32, "injected: the light encoder died")
        return original_encode(self, frame, pts)

    monkeypatch.setattr(VideoEncoder, "encode", encode)
    server = await start_server(light_camera(encoder="libx264"))
    await server.wait_online("demo")
    camera = server.camera("demo")
    main = await connect_quality(server, "high")
    light = await connect_quality(server, "low")
    try:
        await wait_until(lambda: camera.light.failures >= 1, 20, "the light encoder failing")
        for _ in range(30):  # three seconds of the main stream: the reader never stopped
            frame = await main.next_video_frame()
        assert (frame.width, frame.height) == (640, 360)
        assert (camera.restarts, camera.status) == (0, "online")
        # The fault goes away: after its rest the light stream comes back by itself.
        failing["light"] = False
        frame = await light.next_video_frame(timeout=30)
        assert (frame.width, frame.height) == (160, 90)
        assert camera.light.encoding
    finally:
        await hang_up(server.client, main)
        await hang_up(server.client, light)


async def test_the_light_streams_hardware_fallback_raises_the_encoder_alert(
    start_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # libx264 posing as the hardware encoder for both streams; the light one dies.
    monkeypatch.setattr(encoder_module, "pi_encoder_present", lambda: True)
    original_open, original_encode = VideoEncoder._open, VideoEncoder.encode
    monkeypatch.setattr(VideoEncoder, "_open", lambda self, name: original_open(self, "libx264"))

    def encode(self: VideoEncoder, frame: Any, pts: int) -> Any:
        if self.codec_name == HARDWARE_CODEC and is_light(self):
            raise av.error.ExternalError(-32, "injected: the encoder died")
        return original_encode(self, frame, pts)

    monkeypatch.setattr(VideoEncoder, "encode", encode)
    server = await start_server(light_camera())
    await server.wait_online("demo")
    camera = server.camera("demo")
    light = await connect_quality(server, "low")
    try:
        await wait_until(lambda: camera.light.starts >= 2, 20, "the light stream on libx264")
        for _ in range(20):
            frame = await light.next_video_frame()
        assert (frame.width, frame.height) == (160, 90)
    finally:
        await hang_up(server.client, light)
    assert camera.light.codec == "libx264"
    assert camera.light.failures == 0  # a fallback, not a failure: it never rested
    details = await wait_until(lambda: encoder_alerts(server), 10, "an encoder alert")
    assert len(details) == 1
    assert details[0].startswith("camera demo: light stream: h264_v4l2m2m failed mid-stream")


async def test_a_hung_light_encoder_is_seen_by_the_watchdog(
    start_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    original_encode = VideoEncoder.encode

    def encode(self: VideoEncoder, frame: Any, pts: int) -> Any:
        if is_light(self):
            release.wait(30)
        return original_encode(self, frame, pts)

    monkeypatch.setattr(VideoEncoder, "encode", encode)
    server = await start_server(light_camera())
    watchdog = server.services.systemd
    watchdog.stuck_after_s = 2.0
    await server.wait_online("demo")
    camera = server.camera("demo")
    assert camera.light.progress in camera.progress()
    light = await connect_quality(server, "low")
    try:
        stuck = await wait_until(
            lambda: [p for p in watchdog.stuck() if "light encoder" in p], 20, "seen stuck"
        )
        assert stuck[0].startswith("camera demo light encoder stuck for")
    finally:
        release.set()
        await hang_up(server.client, light)
    await wait_until(lambda: not watchdog.stuck(), 20, "unstuck once the encoder returns")
