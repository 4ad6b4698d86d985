"""The dashboard in Debian's Chromium: it plays the live stream, full view, latency readout."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, Page

from tests.browser import logged_in_context, wait_js
from tests.conftest import demo_config


async def logged_in_page(server: Any, browser: Browser, name: str = "admin", **kw: Any) -> Page:
    context = await logged_in_context(server, browser, name, **kw)
    return await context.new_page()


pytestmark = pytest.mark.browser


async def state(page: Page, camera: str) -> Any:
    return await page.evaluate(f"window.sentrycam?.state?.['{camera}']")


async def frames(page: Page, camera: str) -> int:
    return int(await page.evaluate(f"window.sentrycam?.frames?.['{camera}'] ?? 0"))


async def test_dashboard_plays_live_video(start_server, browser):
    server = await start_server(demo_config(width=640, height=360))
    await server.wait_online("demo")
    page = await logged_in_page(server, browser, viewport={"width": 390, "height": 844})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(server.base_url + "/")
    await wait_js(page, "window.sentrycam?.state?.demo === 'live'")
    video = page.get_by_test_id("video-demo")
    await wait_js(page, "document.querySelector('[data-testid=video-demo]').videoWidth > 0")
    assert await video.evaluate("v => [v.videoWidth, v.videoHeight]") == [640, 360]
    # Frames advance: the counter moves on and the picture's timestamp changes.
    first = await frames(page, "demo")
    await wait_js(page, f"(window.sentrycam.frames.demo ?? 0) > {first + 15}")
    assert await video.evaluate("v => v.muted") is True  # muted until the user taps
    assert server.services.webrtc.viewers("demo") == 1
    assert errors == []


async def test_full_view_and_latency_readout(start_server, browser):
    server = await start_server(demo_config(width=1280, height=720))
    await server.wait_online("demo")
    page = await logged_in_page(server, browser, viewport={"width": 1280, "height": 800})
    await page.goto(server.base_url + "/?measure=1#/camera/demo")
    await wait_js(page, "window.sentrycam?.state?.demo === 'live'")
    await wait_js(page, "window.sentrycam.latencies.length >= 20")
    latencies = await page.evaluate("window.sentrycam.latencies.slice()")
    # Sanity, not a performance target (that lives in bench/): the stamps decode to
    # plausible ages, so the readout measures what it claims to.
    assert all(0 <= value < 2000 for value in latencies), latencies[:20]
    assert await page.get_by_test_id("tile-demo").is_visible()


async def test_dashboard_shows_setup_notice(start_server, browser):
    server = await start_server(demo_config())
    await server.wait_online("demo")
    server.services.config = server.services.config.__class__(
        server.services.config.settings, "autodetect-demo", "No webcam found: showing the demo."
    )
    page = await logged_in_page(server, browser)
    await page.goto(server.base_url + "/")
    notice = page.get_by_test_id("notice")
    await notice.wait_for(state="visible", timeout=10_000)
    assert "demo" in (await notice.inner_text())
