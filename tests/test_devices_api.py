"""GET /api/devices and the controls routes on a machine without webcams (the guest bed
in tests/hardware proves them on real drivers), and the hotplug reactions with a fake scan."""

from __future__ import annotations

import json

from camera.modes import Mode
from camera.v4l2 import VideoDevice
from tests.conftest import demo_config
from tests.waiting import wait_until

WEBCAM = VideoDevice(
    path="/dev/video4",
    identity="usb-046d:082d-A1B2C3D4",
    card="HD Pro Webcam C920",
    driver="uvcvideo",
    bus_info="usb-0000:00:14.0-1.3",
    modes=(Mode("MJPG", 1280, 720, (30.0, 15.0)),),
)


async def test_devices_listing_and_new_webcam_offer(start_server, monkeypatch):
    found: list[VideoDevice] = []
    monkeypatch.setattr("camera.v4l2.V4L2.devices", lambda self, with_modes=True: list(found))
    server = await start_server(demo_config())
    messages = []
    server.services.events.add_listener(lambda message, camera: messages.append(message))
    listing = (await server.client.get("/api/devices")).json()
    assert listing["video"] == []
    assert listing["alsa_capture"] is True

    found.append(WEBCAM)  # plugged in while running
    await server.services.devices.rescan()
    (added,) = [m for m in messages if m["type"] == "device"]
    assert added["action"] == "added"
    device = added["device"]
    assert device["identity"] == WEBCAM.identity
    assert device["source"] == "v4l2:usb-046d:082d-A1B2C3D4"
    assert device["in_use"] is False
    assert device["suggested"]["id"] == "hd-pro-webcam-c920"
    assert device["formats"] == [
        {
            "fourcc": "MJPG",
            "label": "MJPEG",
            "input_format": "mjpeg",
            "sizes": [{"width": 1280, "height": 720, "fps": [30.0, 15.0]}],
        }
    ]
    cameras = (await server.client.get("/api/cameras")).json()["cameras"]
    assert [c["id"] for c in cameras] == ["demo"]  # offered, not added

    found.clear()
    await server.services.devices.rescan()
    assert [m["action"] for m in messages if m["type"] == "device"] == ["added", "removed"]


async def test_controls_need_a_webcam_and_an_admin(start_server):
    server = await start_server(demo_config())
    got = await server.client.get("/api/cameras/demo/controls")
    assert got.status_code == 409
    assert "not a V4L2 webcam" in got.json()["detail"]
    await server.add_user("viewer")
    viewer = await server.client_for("viewer")
    assert (
        await viewer.patch("/api/cameras/demo/controls", json={"brightness": 1})
    ).status_code == 403
    assert (await viewer.get("/api/devices")).status_code == 403
    bad = await server.client.patch("/api/cameras/demo/controls", json={"brightness": [1]})
    assert bad.status_code == 422


async def test_unplugged_webcam_goes_offline_at_once(start_server, monkeypatch):
    server = await start_server(demo_config())
    camera = server.camera("demo")
    await server.wait_online("demo")
    camera.device = WEBCAM  # as if the demo camera had been opened from that webcam
    monkeypatch.setattr("camera.v4l2.V4L2.devices", lambda self, with_modes=True: [])
    await server.services.devices.rescan()
    assert camera.status == "offline"
    assert "unplugged" in (camera.error or "")
    camera.device = None
    await wait_until(lambda: camera.status == "online", 20, "back online")


def test_control_store_merges_and_survives(tmp_path):
    from api.services.devices import ControlStore

    store = ControlStore(tmp_path / "controls.json")
    assert store.load() == {}
    store.update("porch", {"brightness": 140})
    store.update("porch", {"power_line_frequency": "50 Hz"})
    assert json.loads((tmp_path / "controls.json").read_text()) == {
        "porch": {"brightness": 140, "power_line_frequency": "50 Hz"}
    }
    (tmp_path / "controls.json").write_text("{not json")
    assert ControlStore(tmp_path / "controls.json").load() == {}


async def test_missing_microphone_leaves_the_pictures_going(start_server):
    server = await start_server(demo_config(audio="hw:CARD=NoSuchCard,DEV=0"))
    camera = server.camera("demo")
    await wait_until(lambda: camera.microphone == "offline", 20, "microphone offline")
    await server.wait_online("demo")
    listed = (await server.client.get("/api/cameras/demo")).json()
    assert listed["microphone"] == "offline"
    assert listed["status"] == "online"
