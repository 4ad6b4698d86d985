"""Glass-to-glass latency in headless Chromium, read from the demo camera's timestamp.

The dashboard (``/?measure=1#/camera/<id>``) records one latency per presented frame in
``window.sentrycam.latencies``. If it records nothing (dashboard not ready or broken), the
same measurement runs on ``bench/page.html``, served by Playwright at the server's own
origin. An init script keeps a reference to every ``RTCPeerConnection`` the page makes, so
Chromium's receive statistics explain a bad run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any, Literal

from playwright.async_api import Browser, Page, async_playwright
from playwright.async_api import Error as PlaywrightError

from .auth import Credentials
from .common import BENCH_DIR, median, percentile
from .procstat import DISTURBED_OTHER_CPU, cpu_window

logger = logging.getLogger(__name__)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required", "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]  # fmt: skip
LIVE_TIMEOUT_S = 20.0
BENCH_PAGE_PATH = "/__bench.html"

PageMode = Literal["auto", "dashboard", "bench-page"]

CAPTURE_PEERS_JS = """
window.__benchPcs = [];
const NativePC = window.RTCPeerConnection;
window.RTCPeerConnection = class extends NativePC {
  constructor(...args) { super(...args); window.__benchPcs.push(this); }
};
"""

INBOUND_STATS_JS = """
async () => {
  const pcs = (window.__benchPcs || []).filter((pc) => pc.connectionState !== 'closed');
  if (!pcs.length) return null;
  const report = await pcs[pcs.length - 1].getStats();
  let found = null;
  report.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') found = s; });
  if (!found) return null;
  const keys = ['timestamp', 'framesDecoded', 'framesDropped', 'framesReceived', 'pliCount',
    'nackCount', 'firCount', 'freezeCount', 'packetsLost', 'packetsReceived', 'bytesReceived',
    'jitterBufferDelay', 'jitterBufferTargetDelay', 'jitterBufferEmittedCount',
    'totalDecodeTime', 'totalProcessingDelay', 'frameWidth', 'frameHeight',
    'decoderImplementation', 'keyFramesDecoded'];
  return Object.fromEntries(keys.map((k) => [k, found[k] ?? null]));
}
"""


async def launch(playwright: Any) -> Browser:
    browser: Browser = await playwright.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
    )
    return browser


async def _open(
    browser: Browser, base_url: str, credentials: Credentials, camera: str, mode: PageMode
) -> Page:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    cookies = credentials.cookies.items()
    await context.add_cookies([{"name": k, "value": v, "url": base_url} for k, v in cookies])
    page = await context.new_page()
    await page.add_init_script(CAPTURE_PEERS_JS)
    if mode == "bench-page":
        html = (BENCH_DIR / "page.html").read_text(encoding="utf-8")
        await page.route(
            lambda url: url.startswith(f"{base_url}{BENCH_PAGE_PATH}"),
            lambda route: route.fulfill(body=html, content_type="text/html"),
        )
        await page.goto(f"{base_url}{BENCH_PAGE_PATH}?camera={camera}")
    else:
        await page.goto(f"{base_url}/?measure=1#/camera/{camera}")
    return page


async def _window_stats(page: Page, camera: str, server_pid: int, seconds: float) -> dict[str, Any]:
    """Clear the latency list, wait ``seconds``, and summarise what the page recorded."""
    frames_js = f"window.sentrycam.frames[{camera!r}] || 0"
    before = await page.evaluate(INBOUND_STATS_JS)
    frames_before = await page.evaluate(frames_js)
    await page.evaluate("window.sentrycam.latencies.length = 0")
    cpu = await cpu_window([server_pid], seconds)
    latencies: list[float] = await page.evaluate("[...window.sentrycam.latencies]")
    frames_after = await page.evaluate(frames_js)
    after = await page.evaluate(INBOUND_STATS_JS)
    return {
        "samples": len(latencies),
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "median_ms": median(latencies),
        "min_ms": min(latencies, default=None),
        "max_ms": max(latencies, default=None),
        "presented_fps": (frames_after - frames_before) / seconds,
        "chromium": inbound_delta(before, after),
        "cpu": {
            "server": cpu.processes[server_pid],
            "benchmark": cpu.ours,  # server, Chromium, Playwright, this process
            "machine": cpu.machine,
            "other": cpu.other,
            "busiest_others": cpu.others,
        },
        "disturbed": cpu.other > DISTURBED_OTHER_CPU,
    }


def inbound_delta(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    """Per-window figures from two inbound-rtp samples (rates, averages, counts)."""
    if not before or not after:
        return {}

    def delta(key: str) -> float:
        return float((after.get(key) or 0) - (before.get(key) or 0))

    seconds = delta("timestamp") / 1000 or 1.0
    emitted = delta("jitterBufferEmittedCount")
    decoded = delta("framesDecoded")
    return {
        "decoded_fps": decoded / seconds,
        "received_kbps": delta("bytesReceived") * 8 / seconds / 1000,
        "frames_dropped": delta("framesDropped"),
        "pli": delta("pliCount"),
        "nack": delta("nackCount"),
        "freezes": delta("freezeCount"),
        "packets_lost": delta("packetsLost"),
        "jitter_buffer_ms": 1000 * delta("jitterBufferDelay") / emitted if emitted else None,
        "jitter_target_ms": 1000 * delta("jitterBufferTargetDelay") / emitted if emitted else None,
        "decode_ms": 1000 * delta("totalDecodeTime") / decoded if decoded else None,
        "decoder": after.get("decoderImplementation"),
        "size": f"{after.get('frameWidth')}x{after.get('frameHeight')}",
    }


@dataclass(frozen=True)
class Target:
    base_url: str
    credentials: Credentials
    camera: str
    server_pid: int


async def _measure(
    browser: Browser, target: Target, mode: PageMode, seconds: float, settle_s: float
) -> dict[str, Any]:
    camera = target.camera
    page = await _open(browser, target.base_url, target.credentials, camera, mode)
    try:
        await _wait_live(page, camera)
        await asyncio.sleep(settle_s)
        return {"page": mode, **await _window_stats(page, camera, target.server_pid, seconds)}
    finally:
        # Leaving the page fires 'pagehide': the page DELETEs its WHEP session itself.
        with contextlib.suppress(PlaywrightError):
            await page.goto("about:blank")
        await page.context.close()


async def _wait_live(page: Page, camera: str) -> None:
    """Poll with evaluate (the dashboard's CSP forbids eval, which wait_for_function uses)."""
    deadline = time.monotonic() + LIVE_TIMEOUT_S
    state = None
    while time.monotonic() < deadline:
        state = await page.evaluate(f"window.sentrycam?.state?.[{camera!r}] ?? null")
        if state == "live":
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(
        f"camera {camera} not live in the page after {LIVE_TIMEOUT_S:.0f}s ({state})"
    )


async def chromium_latency(
    target: Target, seconds: float, settle_s: float, mode: PageMode = "auto"
) -> dict[str, Any]:
    """Latency figures for one camera; ``auto`` falls back to the bench page if needed."""
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        try:
            first: PageMode = "bench-page" if mode == "bench-page" else "dashboard"
            try:
                result = await _measure(browser, target, first, seconds, settle_s)
            except (PlaywrightError, TimeoutError) as error:
                if mode != "auto":
                    raise
                result = {"page": first, "samples": 0, "error": str(error).splitlines()[0]}
            if mode == "auto" and not result["samples"]:
                logger.warning("dashboard recorded no latency (%s); using bench page", result)
                page: PageMode = "bench-page"
                fallback = await _measure(browser, target, page, seconds, settle_s)
                result = {**fallback, "dashboard_failure": result}
            return result
        finally:
            await browser.close()
