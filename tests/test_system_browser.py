"""The dashboard's system panel (web/system.js) in Chromium, on a Raspberry Pi 4 tree with
a weak power supply (tests/data/pi4): readings, warnings, and an alert that arrives."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Browser

from tests.browser import PHONE, Watched, logged_in_context, wait_js
from tests.conftest import demo_config
from tests.test_system_health import SD_CARD, roots

SMALL = {"width": 320, "height": 180, "fps": 10}


async def test_system_panel_shows_the_pi_and_its_alerts(
    start_server: Any, browser: Browser
) -> None:
    server = await start_server(demo_config(**SMALL))
    monitor = server.services.system
    monitor.roots, monitor.device = roots("pi4"), SD_CARD
    await monitor.sample()
    await server.add_user("family", role="viewer")
    context = await logged_in_context(server, browser, "family", viewport=PHONE)
    watched = Watched(await context.new_page())
    page = watched.page
    await page.goto(server.base_url + "/")
    panel = page.get_by_test_id("system")
    await panel.wait_for(state="visible", timeout=20_000)
    rows = page.get_by_test_id("system-rows")
    await wait_js(page, "document.querySelector('[data-testid=system-rows]')?.textContent")
    text = await rows.inner_text()
    assert "61.8 °C" in text
    assert "3.2 GB free of 4.0 GB" in text  # the Pi's meminfo
    warnings = page.get_by_test_id("system-warnings")
    # The firmware's flags now (the alerts follow with their hysteresis).
    assert await warnings.inner_text() == "Under-voltage\nThrottled"
    await wait_js(page, "window.sentrycam?.ws?.state === 'open'")
    await monitor.sample()  # throttling held for two samples: a "throttled" system alert
    banner = page.get_by_test_id("alert-banner")
    await banner.wait_for(state="visible", timeout=10_000)
    assert "Throttled" in await banner.inner_text()
    assert "System" in await banner.inner_text()
    await watched.check_clean()
    await context.close()
