"""The light second encoding: its size and rate, one encoder per layer, switching viewers."""

from __future__ import annotations

import asyncio
import itertools
import random
import statistics
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiortc import RTCPeerConnection
from aiortc.rtp import RTCP_RTPFB_NACK, RtcpReceiverInfo, RtcpRrPacket, RtcpRtpfbPacket

from camera.adapt import AdaptConfig, AdaptState, LinkSample, initial_layer, step
from camera.link import LinkMonitor
from tests.conftest import demo_config, wait_until
from tests.whep_client import Viewer, connect, hang_up

pytestmark = pytest.mark.timeout(120)

LIGHT = {"width": 320, "height": 180, "fps": 10, "bitrate_kbps": 150}


def light_config(**camera: Any) -> dict[str, Any]:
    config = demo_config(audio=None, substream=LIGHT, **camera)
    config["webrtc"]["max_viewers"] = 4
    return config


async def frame_sizes(viewer: Viewer, count: int) -> list[tuple[int, int]]:
    return [
        (frame.width, frame.height)
        for frame in [await viewer.next_video_frame() for _ in range(count)]
    ]


# ----- the pure step ------------------------------------------------------------------------

CONFIG = AdaptConfig(bad_samples_down=2, good_up_s=10, hold_s=5)
BAD = LinkSample(loss=0.1, rtt_s=0.05, estimate_kbps=None)
GOOD = LinkSample(loss=0.0, rtt_s=0.05, estimate_kbps=None)
NONE = LinkSample(loss=None, rtt_s=None, estimate_kbps=None)


def run(state: AdaptState, samples: list[LinkSample], start: float = 100.0) -> list[str]:
    layers = []
    for second, sample in enumerate(samples):
        state = step(state, sample, start + second, CONFIG)
        layers.append(state.layer)
    return layers


def test_goes_down_after_two_bad_samples_and_up_after_a_long_good_stretch() -> None:
    layers = run(AdaptState("high", 2000), [BAD, BAD] + [GOOD] * 12)
    assert layers[:2] == ["high", "low"]
    # Up only once ten good seconds have passed (the good stretch starts at the 3rd).
    assert layers.index("high", 2) == 12


def test_one_bad_sample_or_silence_changes_nothing() -> None:
    assert run(AdaptState("high", 2000), [BAD, GOOD, BAD, GOOD, NONE, BAD]) == ["high"] * 6
    # No reports at all is no evidence of a good link either.
    assert run(AdaptState("low", 2000), [NONE] * 30) == ["low"] * 30


def test_a_missing_report_neither_starts_nor_breaks_a_good_stretch() -> None:
    # A busy receiver skips a report now and then: the stretch goes on through the gaps...
    layers = run(AdaptState("low", 2000), ([GOOD] * 3 + [NONE]) * 4)
    assert layers.index("high") == 10
    # ...but only a good report completes it, and silence alone never starts one.
    assert run(AdaptState("low", 2000), [GOOD] + [NONE] * 20) == ["low"] * 21
    # A bad report still ends it.
    assert "high" not in run(AdaptState("low", 2000), [GOOD] * 8 + [BAD] + [GOOD] * 8)


def test_hold_time_stops_flapping() -> None:
    state = AdaptState("low", 2000, last_switch=100.0)
    # Bad twice right after a switch up: stays until the hold time has passed.
    up = step(AdaptState("low", 2000, good_since=80.0), GOOD, 100.0, CONFIG)
    assert up.layer == "high"
    layers = run(up, [BAD, BAD, BAD, BAD, BAD, BAD], start=101.0)
    assert layers[:4] == ["high"] * 4
    assert "low" in layers
    assert state.layer == "low"


def test_rtt_and_estimate_count_too() -> None:
    slow = LinkSample(loss=0.0, rtt_s=0.6, estimate_kbps=None)
    assert run(AdaptState("high", 2000), [slow, slow])[-1] == "low"
    # A low estimate alone is a receiver still ramping up: not a reason to go down...
    ramping = LinkSample(loss=0.0, rtt_s=0.02, estimate_kbps=300)
    assert run(AdaptState("high", 2000), [ramping] * 5)[-1] == "high"
    # ... but with some loss it is.
    narrow = LinkSample(loss=0.02, rtt_s=0.02, estimate_kbps=1200)
    assert run(AdaptState("high", 2000), [narrow, narrow])[-1] == "low"
    # On the light stream the estimate follows its rate: up goes by loss and round trip.
    light = LinkSample(loss=0.0, rtt_s=0.02, estimate_kbps=250)
    assert run(AdaptState("low", 2000), [light] * 20)[-1] == "high"


def test_auto_starts_low_off_the_lan() -> None:
    assert initial_layer(True) == "low"
    assert initial_layer(False) == "high"


class FakeSender:
    """What LinkMonitor reads of an aiortc sender: its SSRC, RTCP hook and stats."""

    _ssrc = 1234

    def __init__(self) -> None:
        self.sent = 0
        self.handled: list[Any] = []

    async def _handle_rtcp_packet(self, packet: Any) -> None:
        self.handled.append(packet)

    async def getStats(self) -> dict[str, Any]:
        return {"out": SimpleNamespace(type="outbound-rtp", packetsSent=self.sent)}


async def test_packets_asked_for_again_count_as_loss() -> None:
    """A receiver that repairs loss with NACKs reports ~0 lost: the NACKs say what the
    wire lost (each sequence number once, however often it is asked for)."""
    sender = FakeSender()
    monitor = LinkMonitor(sender)  # type: ignore[arg-type]
    assert (await monitor.sample()).loss is None  # nothing heard yet
    sender.sent = 100

    def nack(*lost: int, media_ssrc: int = 1234) -> RtcpRtpfbPacket:
        return RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=9, media_ssrc=media_ssrc, lost=list(lost))

    for packet in (nack(5, 6), nack(5, 6, 9), nack(7, media_ssrc=4321)):
        await sender._handle_rtcp_packet(packet)  # the wrapped hook
    assert len(sender.handled) == 3  # aiortc still sees every packet (retransmits)
    assert (await monitor.sample()).loss == pytest.approx(0.03)
    # A receiver report saying more wins; nothing heard is no evidence either way.
    sender.sent = 200
    report = RtcpReceiverInfo(
        ssrc=1234, fraction_lost=26, packets_lost=9, highest_sequence=200, jitter=0, lsr=0, dlsr=0
    )
    await sender._handle_rtcp_packet(RtcpRrPacket(ssrc=9, reports=[report]))
    await sender._handle_rtcp_packet(nack(9, 40))
    assert (await monitor.sample()).loss == pytest.approx(26 / 256)
    sender.sent = 300
    assert (await monitor.sample()).loss is None


# ----- the real thing ------------------------------------------------------------------------


async def test_light_stream_size_rate_and_one_encoder_per_layer(start_server: Any) -> None:
    server = await start_server(light_config())
    await server.wait_online("demo")
    camera = server.camera("demo")
    assert not camera.light.encoding  # nobody watches it yet
    low = [await connect_quality(server, "low") for _ in range(2)]
    high = await connect(server.client, "demo", audio=False)
    assert [await frame_sizes(viewer, 5) for viewer in low] == [[(320, 180)] * 5] * 2
    assert (await high.next_video_frame()).width == 640
    # The light stream's own rate: packets 1/10 s apart on the capture clock.
    stats = camera.light.hub.stats
    first = stats.packets
    pts: list[int] = []
    sub = camera.light.hub.subscribe(50)
    while len(pts) < 12:
        pts.append((await asyncio.wait_for(sub.get(), 5)).pts)
    sub.close()
    assert stats.packets > first
    step_ticks = statistics.median(b - a for a, b in itertools.pairwise(pts))
    assert 90000 / 10 * 0.8 <= step_ticks <= 90000 / 10 * 1.25, step_ticks
    # Three viewers, two layers: one encoder each, opened once.
    assert (camera.encoder_starts, camera.light.starts) == (1, 1)
    for viewer in [*low, high]:
        assert await hang_up(server.client, viewer) == 204


async def test_quality_low_from_the_offer_and_switching_without_renegotiation(
    start_server: Any,
) -> None:
    server = await start_server(light_config())
    await server.wait_online("demo")
    viewer = await connect_quality(server, "low")
    assert (await viewer.next_video_frame()).width == 320
    response = await server.client.put(viewer.location + "/quality", json={"quality": "high"})
    assert response.json() == {"quality": "high", "layer": "high"}
    sizes = await frames_until(viewer, (640, 360))
    assert (320, 180) in sizes  # it went on playing the light stream until the keyframe
    bad = await server.client.put(viewer.location + "/quality", json={"quality": "best"})
    assert bad.status_code == 422
    assert (await server.client.post("/api/cameras/demo/whep?quality=best")).status_code == 422
    await hang_up(server.client, viewer)


async def connect_quality(server: Any, quality: str, camera: str = "demo") -> Viewer:
    """A video-only WHEP viewer of ``camera`` asking for ``?quality=``."""
    original = server.client.post

    async def post(url: str, **kwargs: Any) -> Any:
        return await original(f"{url}?quality={quality}", **kwargs)

    server.client.post = post
    try:
        return await connect(server.client, camera, audio=False)
    finally:
        server.client.post = original


async def frames_until(
    viewer: Viewer, size: tuple[int, int], gaps: list[float] | None = None
) -> list[tuple[int, int]]:
    sizes: list[tuple[int, int]] = []
    last = time.monotonic()
    while not sizes or sizes[-1] != size:
        frame = await viewer.next_video_frame()
        now = time.monotonic()
        if gaps is not None:
            gaps.append(now - last)
        last = now
        sizes.append((frame.width, frame.height))
        assert len(sizes) < 600, "never reached the layer"
    return sizes


def drop_outgoing_rtp(pc: RTCPeerConnection, loss: list[float]) -> None:
    """Lose a fraction ``loss[0]`` of the RTP packets this peer sends (seeded): the wire
    loses them, the receiver's reports say so. (This host's kernel has no netem; the
    guest check does the same with ``tc qdisc ... netem loss``.)"""
    transport = pc.getTransceivers()[0].sender.transport
    original = transport._send_rtp
    chance = random.Random(7)

    async def send(data: bytes) -> None:
        if chance.random() >= loss[0]:
            await original(data)

    transport._send_rtp = send


PLAY_AUTO = """async () => {
  const { WhepSession, rtcConfiguration } = await import('/whep.js');
  const session = new WhepSession('/api/cameras/demo/whep?quality=auto', await rtcConfiguration());
  const video = document.createElement('video');
  video.muted = true;
  document.body.append(video);
  const shown = [];
  const onFrame = (now, meta) => {
    shown.push([now, meta.width]);
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  video.srcObject = await session.start();
  await video.play();
  window.__auto = { session, video, shown };
}"""


@pytest.mark.browser
async def test_auto_goes_low_under_loss_and_back_without_freezing(
    start_server: Any, browser: Any
) -> None:
    from tests.browser import logged_in_context, wait_js

    server = await start_server(light_config(width=1280, height=720))
    webrtc = server.services.webrtc
    webrtc.adapt_config = AdaptConfig(good_up_s=3, hold_s=2)
    await server.wait_online("demo")
    context = await logged_in_context(server, browser)
    page = await context.new_page()
    await page.goto(server.base_url + "/login.html")
    await page.evaluate(PLAY_AUTO)
    await wait_until(lambda: webrtc.viewers("demo") == 1, 10, "a viewer")
    session = next(s for s in webrtc.sessions() if s.quality == "auto")
    track = webrtc.video_track(session)
    await wait_js(page, "window.__auto.shown.length > 20")
    assert await page.evaluate("window.__auto.video.videoWidth") == 1280  # loopback: high
    loss = [0.0]
    drop_outgoing_rtp(session.pc, loss)
    loss[0] = 0.15
    await wait_until(lambda: track.layer == "low", 20, "the light stream under loss")
    await wait_js(page, "window.__auto.video.videoWidth === 320")
    loss[0] = 0.0
    await wait_until(lambda: track.layer == "high", 20, "the main stream again")
    await wait_js(page, "window.__auto.video.videoWidth === 1280")
    shown = await page.evaluate("window.__auto.shown")
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(shown)]
    # Pictures kept coming through loss and both switches: no frozen second.
    assert max(gaps) < 1000, sorted(gaps)[-5:]
    assert {width for _, width in shown} >= {1280, 320}
    assert track.switches == 2
    await context.close()


async def test_light_stream_off_means_main_for_everyone(start_server: Any) -> None:
    config = light_config()
    config["cameras"][0]["substream"] = {"enabled": False}
    server = await start_server(config)
    await server.wait_online("demo")
    viewer = await connect_quality(server, "low")
    assert (await viewer.next_video_frame()).width == 640
    assert server.camera("demo").light is None
    response = await server.client.put(viewer.location + "/quality", json={"quality": "low"})
    assert response.json() == {"quality": "low", "layer": "high"}
    await hang_up(server.client, viewer)
    await wait_until(lambda: server.services.webrtc.viewers("demo") == 0, 10, "hung up")


@pytest.mark.browser
async def test_phone_grid_plays_light_streams_and_full_view_the_main_one(
    start_server: Any, browser: Any
) -> None:
    from tests.browser import PHONE, logged_in_context, wait_js

    config = light_config()
    config["cameras"].append({**config["cameras"][0], "id": "yard"})
    server = await start_server(config)
    await server.wait_online("demo")
    context = await logged_in_context(server, browser, viewport=PHONE)
    page = await context.new_page()
    await page.goto(server.base_url + "/")
    width = "document.querySelector('[data-testid=video-{}]').videoWidth"
    await wait_js(page, f"{width.format('demo')} === 320 && {width.format('yard')} === 320")
    webrtc = server.services.webrtc
    assert sorted(s.quality for s in webrtc.sessions()) == ["low", "low"]
    demo_session = next(s for s in webrtc.sessions() if s.camera_id == "demo")
    await page.goto(server.base_url + "/#/camera/demo")
    await wait_js(page, f"{width.format('demo')} === 640")
    # The same session moved to the main stream: no new offer, no renegotiation.
    assert [s.id for s in webrtc.sessions() if s.camera_id == "demo"] == [demo_session.id]
    assert demo_session.quality == "auto"
    assert server.camera("demo").light.starts == 1
    await context.close()


async def test_a_copy_camera_decodes_for_its_light_stream(
    start_server: Any, tmp_path: Path
) -> None:
    from tests.test_file_source import write_clip

    clip = write_clip(tmp_path / "clip.mp4")
    config = demo_config()
    config["cameras"] = [
        {
            "id": "demo",
            "source": str(clip),
            "encoder": "copy",
            "width": 320,
            "height": 180,
            "fps": 15,
            "substream": {"width": 160, "height": 90, "fps": 5, "bitrate_kbps": 60},
        }
    ]
    server = await start_server(config)
    await server.wait_online("demo")
    light = await connect_quality(server, "low")
    main = await connect(server.client, "demo", audio=False)
    assert await frame_sizes(light, 3) == [(160, 90)] * 3
    assert (await main.next_video_frame()).width == 320  # the camera's own H.264
    camera = server.camera("demo")
    assert (camera.encoder_starts, camera.light.starts) == (0, 1)  # copy: no main encoder
    await hang_up(server.client, light)
    await hang_up(server.client, main)
