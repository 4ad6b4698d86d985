"""The dashboard in Debian's Chromium: it plays the live stream, full view, latency readout."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.conftest import demo_config

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        yield chromium
        await chromium.close()


async def state(page: Page, camera: str) -> Any:
    return await page.evaluate(f"window.sentrycam?.state?.['{camera}']")


async def frames(page: Page, camera: str) -> int:
    return int(await page.evaluate(f"window.sentrycam?.frames?.['{camera}'] ?? 0"))


async def test_dashboard_plays_live_video(start_server, browser):
    server = await start_server(demo_config(width=640, height=360))
    await server.wait_online("demo")
    page = await browser.new_page(viewport={"width": 390, "height": 844})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(server.base_url + "/")
    await page.wait_for_function("window.sentrycam?.state?.demo === 'live'", timeout=20_000)
    video = page.get_by_test_id("video-demo")
    await page.wait_for_function(
        "document.querySelector('[data-testid=video-demo]').videoWidth > 0", timeout=10_000
    )
    assert await video.evaluate("v => [v.videoWidth, v.videoHeight]") == [640, 360]
    # Frames advance: the counter moves on and the picture's timestamp changes.
    first = await frames(page, "demo")
    await page.wait_for_function(
        f"(window.sentrycam.frames.demo ?? 0) > {first + 15}", timeout=10_000
    )
    assert await video.evaluate("v => v.muted") is True  # muted until the user taps
    assert server.services.webrtc.viewers("demo") == 1
    assert errors == []


async def test_full_view_and_latency_readout(start_server, browser):
    server = await start_server(demo_config(width=1280, height=720))
    await server.wait_online("demo")
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    await page.goto(server.base_url + "/?measure=1#/camera/demo")
    await page.wait_for_function("window.sentrycam?.state?.demo === 'live'", timeout=20_000)
    await page.wait_for_function("window.sentrycam.latencies.length >= 20", timeout=20_000)
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
    page = await browser.new_page()
    await page.goto(server.base_url + "/")
    notice = page.get_by_test_id("notice")
    await notice.wait_for(state="visible", timeout=10_000)
    assert "demo" in (await notice.inner_text())
