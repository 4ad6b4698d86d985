"""The dashboard's webcam parts in Chromium (admins): a new webcam is offered with the
config it would take, and a webcam's controls are shown and changed in its full view.
The devices and controls are faked here; the guest bed (tests/hardware) drives real ones."""

from __future__ import annotations

from typing import Any

import pytest

from api.services.devices import DeviceService
from camera.controls import Control
from tests.browser import Watched, logged_in_context, wait_js
from tests.conftest import demo_config
from tests.test_devices_api import WEBCAM
from tests.waiting import wait_until

pytestmark = pytest.mark.browser

POWER = Control(
    "power_line_frequency", "Power Line Frequency", "menu", 0, 2, 1, 1, 1,
    {0: "Disabled", 1: "50 Hz", 2: "60 Hz"},
)  # fmt: skip
BRIGHTNESS = Control("brightness", "Brightness", "integer", 0, 255, 1, 128, 128)


async def test_new_webcam_offer_and_controls_drawer(start_server, browser, monkeypatch):
    monkeypatch.setattr("camera.v4l2.V4L2.devices", lambda self, with_modes=True: [WEBCAM])
    sent: list[dict[str, Any]] = []

    async def read(self, camera):
        return "/dev/video4", [BRIGHTNESS, POWER]

    async def write(self, camera, values):
        sent.append(values)
        return "/dev/video4", [BRIGHTNESS, POWER]

    monkeypatch.setattr(DeviceService, "read_controls", read)
    monkeypatch.setattr(DeviceService, "set_controls", write)
    config = demo_config()
    config["cameras"].append({"id": "porch", "source": "v4l2:usb-046d:0825-none"})
    server = await start_server(config)
    context = await logged_in_context(server, browser, "admin")
    page = await context.new_page()
    watched = Watched(page)
    await page.goto(server.base_url + "/")

    offer = page.get_by_test_id("device-offer")
    await offer.wait_for()
    text = await offer.inner_text()
    assert "New webcam: HD Pro Webcam C920" in text
    assert 'source: "v4l2:usb-046d:082d-A1B2C3D4"' in text
    assert "MJPEG 1280x720@30" in text

    # "Add" opens Settings > Add camera with that webcam chosen, as the server suggests.
    await offer.get_by_test_id("device-offer-add").click()
    await page.get_by_test_id("camera-save").wait_for()
    kind = page.get_by_test_id("camera-kind")
    await wait_js(page, "document.querySelector('[data-testid=camera-kind]').value !== ''")
    assert await kind.input_value() == "device:v4l2:usb-046d:082d-A1B2C3D4"
    assert await page.get_by_test_id("camera-name").input_value() == "HD Pro Webcam C920"
    assert await page.get_by_test_id("camera-id").input_value() == "hd-pro-webcam-c920"
    await page.get_by_test_id("camera-save").click()
    await wait_js(page, "location.hash === '#/settings/camera/hd-pro-webcam-c920'")
    added = server.services.cameras.get("hd-pro-webcam-c920")
    assert added.config.source == "v4l2:usb-046d:082d-A1B2C3D4"
    await page.evaluate("location.hash = '#/'")  # in use now: no longer offered (live)
    await wait_js(page, "document.getElementById('devices').hidden")

    await page.goto(server.base_url + "/#/camera/porch")
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
