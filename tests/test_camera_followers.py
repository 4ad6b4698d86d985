"""What hangs off a camera follows it when the dashboard adds, restarts or removes it:
publishing to a media server, talk-back sessions, and the webcam controls set from the
dashboard (issue #12's run-time changes against #15's publishing and talk, #11's
controls)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiortc.rtp import RtpPacket

from tests.conftest import demo_config, free_port, wait_until
from tests.test_devices_api import WEBCAM
from tests.test_file_source import write_clip
from tests.test_talk import talk

pytestmark = pytest.mark.timeout(120)

SMALL = {"width": 320, "height": 180, "fps": 10, "audio": None}


class RtpReceiver(asyncio.DatagramProtocol):
    """The media server's side of an ``rtp`` target: counts RTP packets by SSRC (every
    ``RtpStream`` has its own, so a new one shows a camera published again)."""

    def __init__(self) -> None:
        self.by_ssrc: dict[int, int] = {}

    def datagram_received(self, data: bytes, addr: Any) -> None:
        packet = RtpPacket.parse(data)
        self.by_ssrc[packet.ssrc] = self.by_ssrc.get(packet.ssrc, 0) + 1

    def flowing(self, ssrc: int, more_than: int = 10) -> bool:
        return self.by_ssrc.get(ssrc, 0) > more_than


async def rtp_receiver() -> tuple[RtpReceiver, int, asyncio.DatagramTransport]:
    port = free_port(kind=2)  # SOCK_DGRAM
    transport, receiver = await asyncio.get_running_loop().create_datagram_endpoint(
        RtpReceiver, local_addr=("127.0.0.1", port)
    )
    return receiver, port, transport


def rtp_target(camera: str, port: int) -> dict[str, Any]:
    return {"camera": camera, "kind": "rtp", "rtp": {"host": "127.0.0.1", "video_port": port}}


async def test_publishing_follows_a_restarted_added_and_removed_camera(
    start_server: Any, tmp_path: Path
) -> None:
    receiver, port, transport = await rtp_receiver()
    yard_receiver, yard_port, yard_transport = await rtp_receiver()
    try:
        config = demo_config(**SMALL)
        # "yard" does not exist at start: its target waits for it.
        config["publish"] = [rtp_target("demo", port), rtp_target("yard", yard_port)]
        server = await start_server(config)
        publish = server.services.publish
        (first,) = publish.streams["demo"]
        first_ssrc = first._ssrc
        await wait_until(lambda: receiver.flowing(first_ssrc), 30, "packets from the camera")

        # A source change restarts the camera: the target moves to the new camera's hub.
        clip = write_clip(tmp_path / "clip.mp4", seconds=2.0)
        old_camera = server.camera("demo")
        changed = await server.client.patch("/api/cameras/demo", json={"source": str(clip)})
        assert changed.status_code == 200, changed.text
        assert changed.json()["applied"]["cameras"] == {"demo": "restarted"}
        new_camera = server.camera("demo")
        assert new_camera is not old_camera
        (second,) = publish.streams["demo"]
        assert second is not first
        assert second._hub is new_camera.video
        await wait_until(
            lambda: receiver.flowing(second._ssrc), 30, "packets from the restarted camera"
        )
        assert new_camera.encoder_starts == 1  # the shared encoding, as before
        await wait_until(lambda: first_ssrc not in {s._ssrc for s in publish.streams["demo"]})

        # A camera added at run time that a target names is published.
        added = await server.client.post("/api/cameras", json={"id": "yard", "source": "demo"})
        assert added.status_code == 201, added.text
        (yard,) = publish.streams["yard"]
        await wait_until(lambda: yard_receiver.flowing(yard._ssrc), 30, "packets from yard")

        # A removed camera stops being published: its targets' tasks end.
        tasks = publish.tasks("demo")
        removed = await server.client.delete("/api/cameras/demo")
        assert removed.status_code == 200, removed.text
        assert "demo" not in publish.streams
        assert publish.tasks("demo") == []
        await wait_until(lambda: all(task.done() for task in tasks), 10, "the target ended")
        assert publish.tasks("yard")  # the other camera's target is untouched
    finally:
        transport.close()
        yard_transport.close()


def talking(messages: list[dict[str, Any]]) -> list[bool]:
    """The ``talk`` live messages of the camera: who talks, in order."""
    return [m["talking"] for m in messages if m["type"] == "talk" and m["camera"] == "demo"]


async def test_talk_ends_when_its_camera_restarts_or_goes(
    start_server: Any, tmp_path: Path
) -> None:
    config = demo_config(speaker="hw:Loopback,0", **SMALL)
    server = await start_server(config)
    server.services.talk.open_speaker = lambda camera: (str(tmp_path / "speaker.wav"), "wav")
    messages: list[dict[str, Any]] = []
    server.services.events.add_listener(lambda message, camera: messages.append(message))
    await server.wait_online("demo")
    talks = server.services.talk

    pc, response = await talk(server.client)
    assert response.status_code == 201, response.text
    session = talks.current("demo")
    await wait_until(lambda: session.speaker.frames_written > 10, 20, "speech at the speaker")
    # A settings change that restarts the camera ends the session: its speaker and
    # microphone belong to a camera that is gone.
    changed = await server.client.patch("/api/cameras/demo", json={"width": 256, "height": 144})
    assert changed.json()["applied"]["cameras"] == {"demo": "restarted"}
    await wait_until(lambda: talking(messages) == [True, False], 10, "the talk session ended")
    assert talks.current("demo") is None
    assert (await server.client.get("/api/cameras/demo/talk")).json()["talking"] is False
    await wait_until(lambda: pc.connectionState in ("closed", "failed"), 30, "peer hung up")
    await pc.close()

    # Talking again on the restarted camera works, and removing it ends that session too.
    pc, response = await talk(server.client)
    assert response.status_code == 201, response.text
    assert talks.current("demo").camera is server.camera("demo")
    removed = await server.client.delete("/api/cameras/demo")
    assert removed.status_code == 200, removed.text
    await wait_until(lambda: talking(messages) == [True, False] * 2, 10, "the session ended")
    assert talks.current("demo") is None
    await pc.close()


async def test_dashboard_controls_survive_a_restart(
    start_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No webcam here: the V4L2 layer is faked the way tests/test_devices_api.py does (the
    # guest bed in tests/hardware sets controls on real drivers). The camera's source
    # finds the "webcam", applies its controls, then fails to open the missing node and
    # retries: every open shows which controls a camera applies.
    monkeypatch.setattr("camera.v4l2.V4L2.resolve", lambda self, source: WEBCAM)
    applied: list[dict[str, Any]] = []  # by the camera's source, at each open
    set_now: list[dict[str, Any]] = []  # by PATCH .../controls, at once

    def record(into: list[dict[str, Any]]) -> Any:
        def set_controls(path: str, values: Any, read_back: bool = True) -> list[Any]:
            assert path == WEBCAM.path
            into.append(dict(values))
            return []

        return set_controls

    monkeypatch.setattr("camera.sources.set_controls", record(applied))
    monkeypatch.setattr("api.services.devices.set_controls", record(set_now))
    config = demo_config(source="v4l2:" + WEBCAM.identity, audio=None, width=1280, height=720)
    config["cameras"][0]["controls"] = {"brightness": 100, "sharpness": 3}
    server = await start_server(config)
    await wait_until(lambda: applied, 20, "the first open")
    assert applied[0] == {"brightness": 100, "sharpness": 3}

    patched = await server.client.patch(
        "/api/cameras/demo/controls", json={"brightness": 140, "power_line_frequency": 1}
    )
    assert patched.status_code == 200, patched.text
    assert set_now == [{"brightness": 140, "power_line_frequency": 1}]
    wanted = {"brightness": 140, "sharpness": 3, "power_line_frequency": 1}

    # A dashboard change that reopens the webcam: the new camera applies the dashboard's
    # controls, not the ones the service started with.
    old = server.camera("demo")
    changed = await server.client.patch("/api/cameras/demo", json={"fps": 15})
    assert changed.json()["applied"]["cameras"] == {"demo": "restarted"}
    assert server.camera("demo") is not old  # the old reader has stopped (joined)
    applied.clear()
    await wait_until(lambda: len(applied) >= 2, 20, "two opens of the restarted camera")
    assert all(controls == wanted for controls in applied), applied

    # Removed and added again under the same id: the dashboard's settings are by camera id.
    assert (await server.client.delete("/api/cameras/demo")).status_code == 200
    added = await server.client.post(
        "/api/cameras",
        json={"id": "demo", "source": "v4l2:" + WEBCAM.identity, "width": 1280, "height": 720},
    )
    assert added.status_code == 201, added.text
    applied.clear()
    await wait_until(lambda: applied, 20, "an open of the added camera")
    assert applied[0] == {"brightness": 140, "power_line_frequency": 1}
