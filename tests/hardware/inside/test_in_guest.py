"""Checks on real kernel drivers, run inside the QEMU guest in this order (one boot).

vivid is the webcam found without config; it is disconnected with its own control, then
unplugged (unbound), unloaded and loaded again after v4l2loopback has taken its node
number. v4l2loopback carries MJPEG and H.264 from ffmpeg; snd-aloop is the microphone and
the speaker (talk-back). Last, loopback's media becomes a lossy, slow link (netem).
Each test's name is listed in tests/hardware/test_guest_bed.py, which reports it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.hardware.inside.conftest import (
    LOSSY_CAMERA,
    SHARE,
    SPEAKER_CAPTURED_AT,
    Guest,
    measured,
    sh,
)
from tests.test_substream import connect_quality
from tests.test_talk import TONE_HZ, peak_hz, talk
from tests.waiting import WaitTimeout, wait_until
from tests.whep_client import Viewer, connect, hang_up

pytestmark = pytest.mark.asyncio(loop_scope="session")

WEBCAM = "vivid"  # the id Sentrycam gives the vivid webcam (from its card name)


def unload(module: str) -> bool:
    """rmmod succeeds once nobody holds the module's devices open any more."""
    return subprocess.run(["rmmod", module], capture_output=True, check=False).returncode == 0


def vivid_node() -> str:
    for entry in sorted(Path("/sys/class/video4linux").iterdir()):
        if (entry / "name").read_text().startswith("vivid"):
            return f"/dev/{entry.name}"
    raise AssertionError("no vivid node")


async def test_devices_are_listed_with_their_modes(autodetected: Guest):
    listing = (await autodetected.server.client.get("/api/devices")).json()
    (vivid,) = [d for d in listing["video"] if d["driver"] == "vivid"]
    assert vivid["identity"] == "platform:vivid-000"
    assert vivid["camera"] == WEBCAM
    assert vivid["in_use"]
    assert vivid["by_path"]
    assert vivid["by_path"].startswith("/dev/v4l/by-path/")
    yuyv = next(f for f in vivid["formats"] if f["fourcc"] == "YUYV")
    assert {(s["width"], s["height"]) for s in yuyv["sizes"]} >= {(640, 480), (1280, 720)}
    assert all(s["fps"] for s in yuyv["sizes"])
    loopback = [a for a in listing["audio"] if a["card_id"] == "Loopback"]
    assert {a["device"] for a in loopback} == {0, 1}
    assert listing["alsa_capture"] is True


async def test_autodetected_webcam_opens_in_an_offered_mode_and_streams(autodetected: Guest):
    camera = autodetected.server.camera(WEBCAM)
    await wait_until(
        lambda: camera.status == "online", 120, lambda: f"vivid online, not {camera.error}"
    )
    info = (await autodetected.server.client.get(f"/api/cameras/{WEBCAM}")).json()
    mode = info["mode"]
    assert info["source_kind"] == "v4l2"
    assert info["device"]["identity"] == "platform:vivid-000"
    assert mode["reason"].startswith("wanted 1280x720 at 30 fps")
    viewer = await connect(autodetected.server.client, WEBCAM, audio=False)
    try:
        frame = await viewer.next_video_frame(timeout=90)
        assert (frame.width, frame.height) == (mode["width"], mode["height"])
    finally:
        await hang_up(autodetected.server.client, viewer)


async def test_control_set_through_the_api_reads_back_from_the_driver(autodetected: Guest):
    client = autodetected.server.client
    listed = (await client.get(f"/api/cameras/{WEBCAM}/controls")).json()
    brightness = next(c for c in listed["controls"] if c["name"] == "brightness")
    assert brightness["type"] == "integer"
    changed = await client.patch(f"/api/cameras/{WEBCAM}/controls", json={"brightness": 200})
    assert changed.status_code == 200, changed.text
    assert "brightness: 200" in sh(f"v4l2-ctl -d {vivid_node()} --get-ctrl brightness")
    refused = await client.patch(f"/api/cameras/{WEBCAM}/controls", json={"brightness": 9999})
    assert refused.status_code == 400
    assert "outside" in refused.json()["detail"]
    saved = json.loads(Path("/tmp/autodetect/controls.json").read_text())
    assert saved[WEBCAM] == {"brightness": 200}


async def test_simulated_disconnect_goes_offline_and_comes_back(autodetected: Guest):
    camera = autodetected.server.camera(WEBCAM)
    await wait_until(lambda: camera.status == "online", 60, "vivid online")
    sh(f"v4l2-ctl -d {vivid_node()} --set-ctrl disconnect=1")
    pressed = time.monotonic()
    await wait_until(lambda: camera.status == "offline", 30, "offline after disconnect")
    measured("disconnect_to_offline_s", time.monotonic() - pressed)
    await wait_until(lambda: camera.status == "online", 60, "online again")
    measured("disconnect_to_online_s", time.monotonic() - pressed)
    assert camera.id == WEBCAM


async def test_unplug_and_replug_that_renumbers_keeps_the_camera(autodetected: Guest):
    camera = autodetected.server.camera(WEBCAM)
    await wait_until(lambda: camera.status == "online", 60, "vivid online")
    old_node = camera.device.path
    sh("echo vivid.0 > /sys/bus/platform/drivers/vivid/unbind")  # the cable is pulled
    pulled = time.monotonic()
    await wait_until(lambda: camera.status == "offline", 30, "offline after unplug")
    measured("unplug_to_offline_s", time.monotonic() - pulled)
    assert "unplugged" in (camera.error or "") or camera.error
    await wait_until(lambda: unload("vivid"), 60, "vivid unloaded")
    # Another webcam arrives first and takes the old node number ...
    sh('modprobe v4l2loopback devices=2 exclusive_caps=0,0 card_label="Loop MJPEG,Loop H264"')
    # ... then the camera comes back, renumbered.
    sh("modprobe vivid n_devs=1 node_types=0x1")
    back = time.monotonic()
    new_node = vivid_node()
    assert new_node != old_node
    await wait_until(lambda: camera.status == "online", 60, "online after replug")
    measured("replug_to_online_s", time.monotonic() - back)
    assert camera.device.path == new_node
    assert autodetected.server.camera(WEBCAM) is camera  # same id, no restart
    # The control set earlier was applied again to the fresh driver.
    assert "brightness: 200" in sh(f"v4l2-ctl -d {new_node} --get-ctrl brightness")


async def test_new_webcam_is_offered_not_added(autodetected: Guest):
    client = autodetected.server.client
    await wait_until(
        lambda: any(
            m["type"] == "device" and m["action"] == "added" and m["device"]["card"] == "Loop MJPEG"
            for m in autodetected.messages
        ),
        30,
        "a device message for the new webcam",
    )
    listing = (await client.get("/api/devices")).json()
    loop = next(d for d in listing["video"] if d["card"] == "Loop MJPEG")
    assert loop["in_use"] is False
    assert loop["camera"] is None
    assert loop["suggested"]["id"] == "loop-mjpeg"
    cameras = (await client.get("/api/cameras")).json()["cameras"]
    assert [c["id"] for c in cameras] == [WEBCAM]


async def test_mjpeg_and_h264_webcams_get_their_own_modes(configured: Guest):
    server = configured.server
    for camera_id in ("mjpeg", "h264"):
        camera = server.camera(camera_id)
        await wait_until(
            lambda c=camera: c.status == "online",
            120,
            lambda c=camera: f"{c.id} online (it is {c.status}: {c.error})",
        )
    mjpeg = (await server.client.get("/api/cameras/mjpeg")).json()
    h264 = (await server.client.get("/api/cameras/h264")).json()
    assert mjpeg["mode"]["fourcc"] == "MJPG"
    assert not mjpeg["mode"]["passthrough"]
    assert h264["mode"]["fourcc"] == "H264"
    assert h264["mode"]["passthrough"]
    assert h264["encoder"] == "copy"
    # The MJPEG webcam is decoded and encoded once for its viewers. (The H.264 one is not
    # watched here: v4l2loopback 0.12.7's write() leaves every compressed buffer at its
    # full size image, 900 KB of trailing bytes per frame, which the passthrough forwards
    # as is; tests/hardware/README.md.)
    viewer = await connect(server.client, "mjpeg", audio=False)
    try:
        frame = await viewer.next_video_frame(timeout=90)
        assert (frame.width, frame.height) == (640, 480)
    finally:
        await hang_up(server.client, viewer)


async def test_tone_into_the_alsa_loopback_reaches_a_viewer_and_raises_a_sound_event(
    configured: Guest,
):
    server = configured.server
    camera = server.camera("mjpeg")
    await wait_until(lambda: camera.microphone == "online", 60, "microphone online")
    player = subprocess.Popen(
        ["aplay", "-q", "-D", "plughw:Loopback,0,0", str(SHARE / "tone.wav")],
        stdin=subprocess.DEVNULL,
    )
    try:
        viewer = await connect(server.client, "mjpeg", video=False)
        try:

            async def loud() -> bool:
                frame = await viewer.next_audio_frame(timeout=90)
                samples = frame.to_ndarray().astype(np.float64) / 32768
                return float(np.sqrt(np.mean(samples**2))) > 0.01

            await wait_until(loud, 120, "the tone in the viewer's audio")
        finally:
            await hang_up(server.client, viewer)

        async def sound_event() -> bool:
            page = (await server.client.get("/api/events?camera=mjpeg&kind=sound")).json()
            return bool(page["events"])

        await wait_until(sound_event, 60, "a sound event")
    finally:
        player.terminate()
        player.wait(10)


async def test_microphone_that_disappears_and_comes_back(configured: Guest):
    camera = configured.server.camera("mjpeg")
    await wait_until(lambda: camera.microphone == "online", 60, "microphone online")
    sh("echo snd_aloop.0 > /sys/bus/platform/drivers/snd_aloop/unbind")
    await wait_until(lambda: camera.microphone == "offline", 30, "microphone offline")
    assert camera.status == "online"  # the pictures go on without sound
    sh("echo snd_aloop.0 > /sys/bus/platform/drivers/snd_aloop/bind")
    back = time.monotonic()
    await wait_until(lambda: camera.microphone == "online", 60, "microphone back")
    measured("mic_replug_to_online_s", time.monotonic() - back)


async def test_talk_back_comes_out_of_the_alsa_speaker_at_the_right_frequency(
    configured: Guest,
):
    server = configured.server
    camera = server.camera("mjpeg")
    await wait_until(lambda: camera.microphone == "online", 60, "microphone online")
    posted = time.monotonic()
    pc, response = await talk(server.client, "mjpeg")
    try:
        assert response.status_code == 201, response.text
        session = server.services.talk.current("mjpeg")
        assert session is not None
        speaker = session.speaker
        await wait_until(
            lambda: speaker.frames_written > 25 or speaker.error, 120, "speech at the speaker"
        )
        assert speaker.error is None
        measured("talk_offer_to_speaker_s", time.monotonic() - posted)  # 0.5 s of speech out
        assert camera._mic_gain == 0.0  # the camera's own microphone is muted meanwhile
        _, refused = await talk(server.client, "mjpeg")
        assert refused.status_code == 409
        assert "admin is talking" in refused.json()["detail"]
        # What the speaker plays, captured at the loopback card's other end (off the loop:
        # the talk session is served by this same event loop).
        capture = SHARE / "talk-capture.wav"  # kept for the report
        await asyncio.to_thread(
            sh,
            f"arecord -q -D {SPEAKER_CAPTURED_AT} -f S16_LE -r 48000 -c 2 -d 3 {capture}",
        )
        hz = peak_hz(capture)
        measured("talk_tone_hz", hz)
        # Within 5 %: a wrong rate on the way (44.1 against 48 kHz) is 8 % off; the emulated
        # guest's choppy playback moved the peak up to 1.9 % (tests/hardware/README.md).
        assert abs(hz - TONE_HZ) < TONE_HZ * 0.05, hz
    finally:
        if response.status_code == 201:
            assert (await server.client.delete(response.headers["location"])).status_code == 204
        await pc.close()
    assert camera._mic_gain == 1.0
    assert server.services.talk.current("mjpeg") is None


NETEM = "netem loss 5% delay 80ms"
# netem on all of loopback's UDP (RTP, RTCP, STUN, DTLS), not on HTTP. The emulated guest's
# own STUN round trip is ~0.25 s, so with 160 ms more aioice's own consent checks (one try,
# answered within 0.5 s) closed the session after 30 s; camera/consent.py keeps it.
LOSSY_MEDIA = [
    "tc qdisc add dev lo root handle 1: prio",
    f"tc qdisc add dev lo parent 1:3 handle 30: {NETEM}",
    "tc filter add dev lo parent 1: protocol ip prio 1 u32 match ip protocol 17 0xff flowid 1:3",
]
MAIN = (LOSSY_CAMERA["width"], LOSSY_CAMERA["height"])  # the lossy camera's stream ...
LIGHT_SIZE = (160, 90)  # ... and its light one


class Watching:
    """A viewer's decoded frames, read in the background: (arrival, size) each."""

    def __init__(self, viewer: Viewer) -> None:
        self.shown: list[tuple[float, tuple[int, int]]] = []
        self.states: list[str] = []  # the viewer's connection states, for a failure
        self.started = time.monotonic()
        self.task = asyncio.create_task(self._read(viewer))

        @viewer.pc.on("connectionstatechange")
        def changed() -> None:
            at = time.monotonic() - self.started
            self.states.append(f"{at:.1f}s {viewer.pc.connectionState}")

    async def _read(self, viewer: Viewer) -> None:
        while True:
            frame = await viewer.next_video_frame(timeout=60)
            self.shown.append((time.monotonic(), (frame.width, frame.height)))

    def showing(self, size: tuple[int, int]) -> bool:
        if self.task.done():
            raise AssertionError(
                f"the viewer stopped receiving: {self.task.exception()!r} "
                f"(at {time.monotonic() - self.started:.1f}s; its states: {self.states})"
            )
        return bool(self.shown) and self.shown[-1][1] == size

    def count(self, size: tuple[int, int], since: float) -> int:
        return sum(1 for at, shown in self.shown if shown == size and at >= since)

    def gaps(self) -> list[float]:
        return [b[0] - a[0] for a, b in itertools.pairwise(self.shown)]


async def test_auto_viewer_on_a_lossy_link_moves_to_the_light_stream_and_back(
    configured: Guest,
):
    """Last: loopback's UDP (RTP, RTCP, STUN and DTLS, both ways) loses 5 % and takes 80 ms more
    each way. camera/adapt.py decides from the viewer's own RTCP, with its default rules.

    Frozen seconds are measured here, not asserted: this viewer is aiortc, whose receiver
    waits for a lost packet until its next NACK, sent only when another gap appears (about
    every 3 s on a 6 packet/s light stream), so it stalls where Chromium does not. That
    the picture never stops is asserted with Chromium on the host
    (tests/test_substream.py, injected loss)."""
    server = configured.server
    webrtc = server.services.webrtc
    viewer = await connect_quality(server, "auto", "lossy")
    watching = Watching(viewer)
    samples: list[str] = []
    lossy = False
    track = None
    try:
        await wait_until(lambda: watching.showing(MAIN), 90, "the main stream (on loopback)")
        (session,) = [s for s in webrtc.sessions() if s.camera_id == "lossy"]
        track = webrtc.video_track(session)
        assert track is not None
        assert track.layer == "high"
        record_link_samples(session, samples)

        async def moves_to(layer: str, size: tuple[int, int], since: float, name: str) -> None:
            """auto decides (from the link), then the viewer shows the other layer."""
            await wait_until(
                lambda: track.target == layer,
                120,
                lambda: f"auto -> {layer}; it is on {track.layer}; link said {samples[-8:]}",
            )
            measured(f"{name}_decision_s", time.monotonic() - since)
            await wait_until(lambda: watching.showing(size), 60, f"the {layer} layer shown")
            measured(f"{name}_shown_s", time.monotonic() - since)

        # tc runs off the loop (this loop serves the viewer too: no gap of our own making).
        await asyncio.to_thread(sh, " && ".join(LOSSY_MEDIA))
        lossy = True
        started = time.monotonic()
        await moves_to("low", LIGHT_SIZE, started, "netem_on_to_low")
        # Main-stream frames shown while the link was judged: measured, not asserted (the
        # aiortc viewer may stall at once under loss, see above; it showed 0 once in CI).
        measured("netem_main_frames_while_judged", watching.count(MAIN, started))
        # Five seconds of the light stream on the lossy link (at its 5 fps).
        on_light = time.monotonic()
        await wait_until(lambda: watching.count(LIGHT_SIZE, on_light) >= 25, 60, "light frames")
        netem = await asyncio.to_thread(sh, "tc -s qdisc show dev lo parent 1:3")
        await asyncio.to_thread(sh, "tc qdisc del dev lo root")
        lossy = False
        dropped = re.search(r"Sent \d+ bytes (\d+) pkt \(dropped (\d+)", netem)
        assert dropped, netem
        measured("netem_packets", int(dropped[1]) + int(dropped[2]))
        measured("netem_dropped", int(dropped[2]))
        # The way back (12 s of good reports first) is measured, not asserted: in the
        # emulated guest the viewer's reports come late and its picture stalls (see above);
        # going low and back is asserted on the host with Chromium (tests/test_substream.py).
        back = time.monotonic()
        with contextlib.suppress(WaitTimeout):
            await wait_until(lambda: track.target == "high", 60, "auto -> high")
        measured("netem_off_to_high_decision_s", round(time.monotonic() - back, 1))
        measured("netem_back_to_high", track.target == "high")
    finally:
        if lossy:
            await asyncio.to_thread(sh, "tc qdisc del dev lo root", check=False)
        watching.task.cancel()
        await hang_up(server.client, viewer)
        (SHARE / "netem-link-samples.txt").write_text("\n".join(samples) + "\n")
        frozen = [gap for gap in watching.gaps() if gap >= 1.0]
        measured("netem_frames", len(watching.shown))
        measured("netem_longest_gap_s", max(watching.gaps(), default=0))
        measured("netem_frozen_s", sum(frozen))  # time in gaps of a second or more
        measured("netem_switches", track.switches if track else -1)


def record_link_samples(session: Any, samples: list[str]) -> None:
    """What the adaptation sees each second, kept for the report (and a failure's message)."""
    link = session.link
    original = link.sample
    start = time.monotonic()

    async def sample() -> Any:
        seen = await original()
        samples.append(
            f"{time.monotonic() - start:.1f}s loss {seen.loss} rtt {seen.rtt_s} "
            f"remb {seen.estimate_kbps} sent {link._sent}"
        )
        return seen

    link.sample = sample
