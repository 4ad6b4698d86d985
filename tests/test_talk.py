"""Talk-back: an aiortc peer sends a tone; it comes out of the camera's speaker (a WAV file
stands in for the ALSA device here: the same PyAV muxer with format "wav" instead of
"alsa"), one talker at a time, the microphone muted meanwhile, rights checked."""

from __future__ import annotations

import asyncio
import fractions
import math
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack

from camera.speaker import attenuate
from tests.conftest import demo_config, wait_until

pytestmark = pytest.mark.timeout(90)

TONE_HZ = 440.0


class Tone(AudioStreamTrack):
    """A 440 Hz sine, 20 ms frames at 48 kHz, paced like a microphone."""

    def __init__(self) -> None:
        super().__init__()
        self._sample = 0

    async def recv(self) -> av.AudioFrame:  # type: ignore[override]
        samples = 960
        await asyncio.sleep(0.02)
        t = (np.arange(samples) + self._sample) / 48000
        pcm = (np.sin(2 * math.pi * TONE_HZ * t) * 12000).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 48000
        frame.pts = self._sample
        frame.time_base = fractions.Fraction(1, 48000)
        self._sample += samples
        return frame


async def talk(client: Any, camera: str = "demo") -> tuple[RTCPeerConnection, Any]:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver(Tone(), direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    response = await client.post(
        f"/api/cameras/{camera}/talk",
        content=pc.localDescription.sdp,
        headers={"Content-Type": "application/sdp"},
    )
    if response.status_code == 201:
        await pc.setRemoteDescription(RTCSessionDescription(response.text, "answer"))
    else:
        await pc.close()
    return pc, response


def peak_hz(path: Path) -> float:
    with av.open(str(path)) as container:
        pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    mono = pcm.reshape(-1, 2)[:, 0].astype(np.float64)  # s16 stereo interleaved
    mono = mono[len(mono) // 4 :]  # past the start
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    return float(np.fft.rfftfreq(len(mono), 1 / 48000)[int(np.argmax(spectrum))])


async def test_tone_reaches_the_speaker_and_one_talker_at_a_time(
    start_server: Any, tmp_path: Path
) -> None:
    config = demo_config(speaker="hw:Loopback,0")
    server = await start_server(config)
    wav = tmp_path / "speaker.wav"
    server.services.talk.open_speaker = lambda camera: (str(wav), "wav")
    await server.wait_online("demo")
    camera = server.camera("demo")
    pc, response = await talk(server.client)
    assert response.status_code == 201, response.text
    location = response.headers["location"]
    talk_session = server.services.talk.current("demo")
    await wait_until(lambda: talk_session.speaker.frames_written > 100, 20, "2 s of speech")
    assert camera._mic_gain == 0.0  # muted while the speaker talks
    state = (await server.client.get("/api/cameras/demo/talk")).json()
    assert state["talking"] is True
    assert state["user"] == "admin"
    # A second talker is refused, and told who is talking.
    await server.add_user("bob", role="admin")
    bob = await server.client_for("bob")
    _, refused = await talk(bob)
    assert refused.status_code == 409
    assert "admin is talking" in refused.json()["detail"]
    # Someone else's session is not theirs to end... but an admin's DELETE of their own is.
    assert (await server.client.delete(location)).status_code == 204
    await pc.close()
    assert camera._mic_gain == 1.0
    assert (await server.client.get("/api/cameras/demo/talk")).json()["talking"] is False
    assert abs(peak_hz(wav) - TONE_HZ) < 5
    assert (await server.client.delete(location)).status_code == 404


async def test_rights_speaker_and_offer_checks(start_server: Any) -> None:
    config = demo_config(speaker="hw:1,0")
    config["cameras"].append({"id": "mute", "source": "demo", "width": 320, "height": 180})
    server = await start_server(config)
    server.services.talk.open_speaker = lambda camera: ("/dev/null", "wav")
    await server.add_user("vera", role="viewer")
    vera = await server.client_for("vera")
    _, denied = await talk(vera)
    assert denied.status_code == 403
    assert "talk.viewers" in denied.json()["detail"]
    _, no_speaker = await talk(server.client, "mute")
    assert no_speaker.status_code == 409
    assert "no speaker" in no_speaker.json()["detail"]
    video_offer = await server.client.post(
        "/api/cameras/demo/talk", content="v=0\r\n", headers={"Content-Type": "application/sdp"}
    )
    assert video_offer.status_code == 400
    assert (await server.client.get("/api/cameras/mute/talk")).json()["speaker"] is False


async def test_viewers_may_talk_when_allowed_and_the_microphone_ducks(start_server: Any) -> None:
    config = demo_config(speaker="hw:1,0")
    config["talk"] = {"viewers": True, "microphone": "duck", "duck_db": -20}
    server = await start_server(config)
    server.services.talk.open_speaker = lambda camera: ("/dev/null", "wav")
    await server.add_user("vera", role="viewer")
    vera = await server.client_for("vera")
    pc, response = await talk(vera)
    assert response.status_code == 201, response.text
    assert server.camera("demo")._mic_gain == pytest.approx(0.1)
    assert (await vera.delete(response.headers["location"])).status_code == 204
    await pc.close()


def test_attenuate_keeps_format_and_scales() -> None:
    pcm = np.full((1, 960), 10000, dtype=np.int16)
    frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
    frame.sample_rate = 48000
    frame.pts = 960
    quiet = attenuate(frame, 0.1)
    assert (quiet.format.name, quiet.layout.name, quiet.sample_rate, quiet.pts) == (
        "s16",
        "mono",
        48000,
        960,
    )
    assert int(quiet.to_ndarray().max()) == 1000
    assert int(attenuate(frame, 0.0).to_ndarray().max()) == 0


@pytest.mark.browser
async def test_dashboard_push_to_talk_with_a_fake_microphone(
    start_server: Any, browser: Any, tmp_path: Path
) -> None:
    from tests.browser import PHONE, logged_in_context, wait_js

    server = await start_server(demo_config(speaker="hw:Loopback,0"))
    wav = tmp_path / "speaker.wav"
    server.services.talk.open_speaker = lambda camera: (str(wav), "wav")
    await server.wait_online("demo")
    await server.add_user("bob", role="admin")
    context = await logged_in_context(server, browser, viewport=PHONE, permissions=["microphone"])
    talker = await context.new_page()
    await talker.goto(server.base_url + "/")
    watcher = await (await logged_in_context(server, browser, "bob")).new_page()
    await watcher.goto(server.base_url + "/")
    button = talker.get_by_test_id("talk-demo")
    await button.wait_for()
    box = await button.bounding_box()
    assert box is not None
    await talker.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await talker.mouse.down()  # hold to talk
    await wait_js(
        talker, "document.querySelector('[data-testid=tile-demo]').dataset.talk === 'talking'"
    )
    session = server.services.talk.current("demo")
    assert session is not None
    assert session.user_name == "admin"
    await wait_until(lambda: session.speaker.frames_written > 25, 20, "speech at the speaker")
    # Everyone else sees who is talking; a second talker is refused.
    await wait_js(
        watcher,
        "document.querySelector('[data-testid=talker-demo]').textContent === 'admin is talking'",
    )
    _, refused = await talk(await server.client_for("bob"))
    assert refused.status_code == 409
    await talker.mouse.up()  # release: the session ends
    await wait_until(lambda: server.services.talk.current("demo") is None, 10, "talk ended")
    await wait_js(watcher, "document.querySelector('[data-testid=talker-demo]').hidden")
