"""The dashboard's webcam parts in Chromium (admins): a new webcam is offered with the
config it would take and added through Settings > Add camera, and a webcam's controls are
shown and changed in its full view. The devices are the recorded machine of
tests/device_bed.py and the controls are faked; the guest bed (tests/hardware) drives real
ones."""

from __future__ import annotations

from typing import Any

import pytest

from api.services.devices import DeviceService
from camera.controls import Control
from tests.browser import Watched, logged_in_context, wait_js
from tests.device_bed import CONFIG, build_machine
from tests.waiting import wait_until

pytestmark = pytest.mark.browser

POWER = Control(
    "power_line_frequency", "Power Line Frequency", "menu", 0, 2, 1, 1, 1,
    {0: "Disabled", 1: "50 Hz", 2: "60 Hz"},
)  # fmt: skip
BRIGHTNESS = Control("brightness", "Brightness", "integer", 0, 255, 1, 128, 128)


async def test_new_webcam_offer_and_controls_drawer(start_server, browser, monkeypatch, tmp_path):
    v4l2, alsa = build_machine(tmp_path / "machine")
    monkeypatch.setattr("camera.manager.V4L2", lambda: v4l2)
    monkeypatch.setattr("camera.manager.Alsa", lambda: alsa)
    sent: list[dict[str, Any]] = []

    async def read(self, camera):
        return "/dev/video4", [BRIGHTNESS, POWER]

    async def write(self, camera, values):
        sent.append(values)
        return "/dev/video4", [BRIGHTNESS, POWER]

    monkeypatch.setattr(DeviceService, "read_controls", read)
    monkeypatch.setattr(DeviceService, "set_controls", write)
    server = await start_server(CONFIG)  # yard uses vivid: the C920 is the new webcam
    context = await logged_in_context(server, browser, "admin")
    page = await context.new_page()
    watched = Watched(page)
    await page.goto(server.base_url + "/")

    offer = page.get_by_test_id("device-offer")
    await offer.wait_for()
    text = await offer.inner_text()
    assert "New webcam: HD Pro Webcam C920" in text
    assert 'source: "v4l2:usb-046d:082d-A1B2C3D4"' in text
    assert "H.264 1920x1080@30 · MJPEG 1920x1080@30, 1280x720@30" in text
    assert "audio: auto" in text

    # "Add" opens Settings > Add camera with that webcam chosen, as the server suggests.
    await offer.get_by_test_id("device-offer-add").click()
    await page.get_by_test_id("camera-save").wait_for()
    kind = page.get_by_test_id("camera-kind")
    await wait_js(page, "document.querySelector('[data-testid=camera-kind]').value !== ''")
    assert await kind.input_value() == "device:v4l2:usb-046d:082d-A1B2C3D4"
    assert await page.get_by_test_id("camera-name").input_value() == "HD Pro Webcam C920"
    assert await page.get_by_test_id("camera-id").input_value() == "hd-pro-webcam-c920"
    sound = page.get_by_test_id("camera-audio")
    assert await sound.input_value() == "auto"  # its own microphone
    used = sound.locator("option[value='hw:CARD=Loopback,DEV=1']")
    assert await used.is_disabled()
    assert "(used by yard)" in await used.inner_text()
    await page.get_by_test_id("camera-save").click()
    await wait_js(page, "location.hash === '#/settings/camera/hd-pro-webcam-c920'")
    added = server.services.cameras.get("hd-pro-webcam-c920")
    assert (added.config.source, added.config.audio) == ("v4l2:usb-046d:082d-A1B2C3D4", "auto")
    await page.evaluate("location.hash = '#/'")  # in use now: no longer offered (live)
    await wait_js(page, "document.getElementById('devices').hidden")

    await page.goto(server.base_url + "/#/camera/yard")
    drawer = page.get_by_test_id("camera-controls")
    await drawer.wait_for()
    await drawer.locator("summary").click()
    select = page.get_by_test_id("control-power_line_frequency")
    await select.wait_for()
    await select.select_option("2")  # 60 Hz mains
    await wait_until(lambda: sent, 10, "the PATCH of the control")
    assert sent[-1] == {"power_line_frequency": 2}

    await page.goto(server.base_url + "/#/camera/demo")  # not a webcam: no drawer
    await wait_js(page, "document.querySelector('[data-testid=camera-controls]').hidden")
    await watched.check_clean()
    await context.close()
