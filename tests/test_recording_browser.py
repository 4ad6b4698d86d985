"""Recordings in the dashboard, in Debian's Chromium: an event's clip under its row (plays
while still being written, then the finished file: seeking, thumbnail strip, download with
its SHA-256), a camera's continuous recording on a timeline with playback that carries on
across segment boundaries, and the storage indicator with the disk guard's alerts.

Motion and sound detection are off: the only events are the ones injected here, through
the same EventService the detectors feed."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from camera.analysis import Observation
from tests.browser import PHONE, Watched, logged_in_context, wait_js
from tests.conftest import demo_config
from tests.test_recording import PRE_ROLL, complete, pre_roll_span, recording_config
from tests.waiting import wait_until

pytestmark = pytest.mark.browser

VIDEO = "document.querySelector('[data-testid=clip-video-{id}]')"


async def open_dashboard(server: Any, browser: Browser, path: str = "/") -> Watched:
    # UTC and a 24-hour clock: the times the page shows can be compared with the API's.
    context = await logged_in_context(
        server, browser, viewport=PHONE, timezone_id="UTC", locale="en-GB"
    )
    watched = Watched(await context.new_page())
    await watched.page.goto(server.base_url + path)
    await wait_js(watched.page, "window.sentrycam?.ws?.state === 'open'")
    return watched


def observe(server: Any, phase: str) -> None:
    server.services.events.observe(
        Observation("demo", "motion", phase, time.time(), score=0.3)  # type: ignore[arg-type]
    )


def ms(iso: str) -> float:
    """Milliseconds since the epoch of the API's ISO 8601 times."""
    return datetime.fromisoformat(iso).timestamp() * 1000


async def seek(page: Page, video: str, target: float) -> list[float]:
    """Seek and wait for it to land: [currentTime, readyState] right after 'seeked'."""
    return list(
        await page.evaluate(
            f"""(target) => new Promise((resolve) => {{
                  const v = {video};
                  v.addEventListener('seeked',
                    () => resolve([v.currentTime, v.readyState]), {{once: true}});
                  v.currentTime = target;
                }})""",
            target,
        )
    )


async def plays(page: Page, video: str) -> None:
    """The video shows pictures and its clock moves on."""
    await wait_js(page, f"{video}?.readyState >= 2")
    before = await page.evaluate(f"{video}.currentTime")
    await wait_js(page, f"!{video}.paused && {video}.currentTime > {before} + 0.2", timeout=10)


async def test_event_clip_plays_seeks_and_downloads(start_server, browser):
    server = await start_server(recording_config())
    await server.wait_online("demo")
    await wait_until(lambda: pre_roll_span(server) >= PRE_ROLL + 0.5, 20, "pre-roll filled")
    watched = await open_dashboard(server, browser)
    page = watched.page

    # An event begins: its row offers the clip at once, still being written.
    observe(server, "start")
    events = (await server.client.get("/api/events", params={"limit": 1})).json()["events"]
    event_id, clip_id = events[0]["id"], events[0]["clip"]["id"]
    play = page.get_by_test_id(f"event-play-{event_id}")
    await play.wait_for(state="visible", timeout=10_000)
    assert await play.get_attribute("aria-expanded") == "false"
    assert "still recording" in (await play.get_attribute("aria-label") or "")

    # Opened while recording: it says so, and plays what has been written so far.
    await play.click()
    panel = page.get_by_test_id(f"clip-{event_id}")
    await panel.wait_for(state="visible")
    video = VIDEO.format(id=event_id)
    await wait_js(
        page,
        f"document.querySelector('[data-testid=clip-{event_id}]')?.dataset.state === 'recording'",
    )
    assert "Still recording" in await panel.inner_text()
    assert await play.get_attribute("aria-expanded") == "true"
    await plays(page, video)

    # The event ends; after the post-roll the live channel says the clip is complete and
    # the panel switches to the finished file.
    observe(server, "end")
    recording = await complete(server, clip_id)
    assert recording["state"] == "complete"
    await wait_js(
        page,
        f"document.querySelector('[data-testid=clip-{event_id}]')?.dataset.state === 'complete'",
        timeout=10,
    )
    assert "Still recording" not in await panel.inner_text()
    assert await page.evaluate(f"{video}.getAttribute('src')") == recording["links"]["video"]
    await plays(page, video)
    duration = recording["duration"]
    assert duration > PRE_ROLL
    await wait_js(page, f"Number.isFinite({video}.duration)")
    # The recording's duration counts pictures; the sound may run on a little past the last
    # one (the browser's duration covers both).
    own = await page.evaluate(f"{video}.duration")
    assert duration - 0.1 <= own <= duration + 1.0, (own, duration)

    # Seeking to the middle lands there and shows a picture.
    landed, ready = await seek(page, video, duration / 2)
    assert landed == pytest.approx(duration / 2, abs=0.25)
    assert ready >= 2
    await wait_js(page, f"{video}.readyState >= 2 && !{video}.seeking")

    # The strip: one picture, tiles * 160 px wide; a tile's button seeks to its moment.
    strip = "document.querySelector('[data-testid=clip-strip-img]')"
    await wait_js(page, f"{strip}?.complete && {strip}.naturalWidth > 0", timeout=15)
    tiles = int(await panel.get_by_test_id("clip-strip").get_attribute("data-tiles") or 0)
    assert tiles >= 4
    assert await page.evaluate(f"{strip}.naturalWidth") == tiles * 160
    assert await page.get_by_test_id("clip-strip").is_visible()
    target = (0.5 / tiles) * duration  # the first tile: far from where we are
    await page.evaluate(f"{video}.pause()")
    await panel.get_by_test_id("clip-tile-0").click()
    await wait_js(
        page,
        f"!{video}.seeking && {video}.readyState >= 2 && "
        f"Math.abs({video}.currentTime - {target}) < 0.6",
    )
    last = tiles - 1
    target = ((last + 0.5) / tiles) * duration
    await panel.get_by_test_id(f"clip-tile-{last}").click()
    await wait_js(
        page,
        f"!{video}.seeking && {video}.readyState >= 2 && "
        f"Math.abs({video}.currentTime - {target}) < 0.6",
    )

    # Download: the attachment link, and the checksum on the page (short, and in full).
    download = panel.get_by_test_id("clip-download")
    assert await download.get_attribute("href") == recording["links"]["download"]
    assert await download.is_visible()
    sha = recording["sha256"]
    assert await panel.get_by_test_id("clip-sha").text_content() == sha
    short = panel.get_by_test_id("clip-sha-short")
    assert await short.get_attribute("title") == sha
    assert (await short.inner_text()).startswith(sha[:8])
    assert (await short.inner_text()).endswith(sha[-8:])
    size = await panel.get_by_test_id("clip-size").inner_text()
    assert re.fullmatch(r"\d+(\.\d)? (kB|MB)", size), size
    await page.get_by_text("SHA-256").click()  # open the details: the full value shows
    assert await panel.get_by_test_id("clip-sha").is_visible()
    # The row's button now says how long the clip is.
    assert re.fullmatch(r"\d\.\d s", await play.inner_text()), await play.inner_text()

    # "Timeline": the camera's recordings at the event's time. This camera keeps clips only:
    # the view says so, lists the clip and plays it; the clip under the row stops.
    await panel.get_by_role("link", name="Timeline").click()
    view = page.get_by_test_id("recordings-view")
    await view.wait_for(state="visible")
    await wait_js(
        page,
        "document.querySelector('[data-testid=recordings-view]')?.dataset.continuous === 'false'",
    )
    assert "event clips only" in await page.get_by_test_id("recordings-status").inner_text()
    await page.get_by_test_id(f"recordings-clip-{clip_id}").wait_for(state="visible")
    await wait_js(page, f"window.sentrycam.playback?.recording === {clip_id}")
    await plays(page, "document.querySelector('[data-testid=recording-video]')")
    assert await page.evaluate(f"{video}.paused")
    await page.get_by_test_id("recordings-close").click()
    await view.wait_for(state="hidden")
    assert await panel.is_visible()

    # An admin deletes it (after confirming): the panel and the row follow.
    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await panel.get_by_role("button", name="Delete").click()
    await wait_js(
        page,
        f"document.querySelector('[data-testid=clip-{event_id}]')?.dataset.state === 'deleted'",
    )
    assert "deleted" in await panel.inner_text()
    await play.wait_for(state="hidden")
    assert (await server.client.get(f"/api/recordings/{clip_id}")).status_code == 404
    await panel.get_by_role("button", name="Close").click()
    await panel.wait_for(state="detached")
    await watched.check_clean()


async def segments(server: Any) -> list[dict[str, Any]]:
    response = await server.client.get(
        "/api/recordings", params={"camera": "demo", "kind": "continuous", "order": "oldest"}
    )
    assert response.status_code == 200, response.text
    return list(response.json()["recordings"])


async def test_continuous_timeline_plays_across_segments(start_server, browser):
    config = demo_config(
        gop_seconds=1.0,
        motion={"enabled": False},
        sound={"enabled": False},
        recording={"continuous": True, "segment_seconds": 2, "events": False},
    )
    server = await start_server(config)
    await server.wait_online("demo")

    async def three_complete() -> list[dict[str, Any]] | None:
        done = [s for s in await segments(server) if s["state"] == "complete"]
        return done if len(done) >= 3 else None

    done = await wait_until(three_complete, 25, "three complete segments", interval=0.1)
    first, second = done[0], done[1]
    assert ms(first["end"]) <= ms(second["start"])

    watched = await open_dashboard(server, browser, "/#/camera/demo")
    page = watched.page
    # From the camera's full view to its recordings.
    await page.get_by_test_id("recordings-demo").click()
    view = page.get_by_test_id("recordings-view")
    await view.wait_for(state="visible")
    await wait_js(
        page,
        "document.querySelector('[data-testid=recordings-view]')?.dataset.continuous === 'true'",
    )
    assert "of continuous recording" in await page.get_by_test_id("recordings-status").inner_text()

    # Zoom in to two minutes around the recordings and tap one second into the first one.
    await page.get_by_test_id("recordings-zoom").select_option(label="2 minutes")
    start = ms(first["start"])
    moment = start + 1000
    timeline = page.get_by_test_id("timeline")
    view_start = float(await timeline.get_attribute("data-start") or 0)
    span = float(await timeline.get_attribute("data-span") or 1)
    assert view_start <= moment <= view_start + span
    track = await page.locator(".tl-track").bounding_box()
    assert track is not None
    await page.mouse.click(
        track["x"] + (moment - view_start) / span * track["width"], track["y"] + 20
    )
    await wait_js(page, f"window.sentrycam.playback?.recording === {first['id']}")
    at = await page.evaluate("window.sentrycam.playback.at")
    assert abs(at - moment) < 1000  # a pixel of the track is well under a second here
    video = "document.querySelector('[data-testid=recording-video]')"
    await plays(page, video)
    assert await page.evaluate(f"{video}.getAttribute('src')") == first["links"]["video"]

    # At its end playback goes on with the next segment, by itself.
    await wait_js(page, f"window.sentrycam.playback?.recording === {second['id']}", timeout=10)
    assert await page.evaluate("window.sentrycam.playback.switches") >= 1
    assert await page.evaluate(f"{video}.getAttribute('src')") == second["links"]["video"]
    assert await view.get_attribute("data-recording") == str(second["id"])
    await plays(page, video)
    shown = await page.evaluate("window.sentrycam.playback.at")
    assert shown > ms(second["start"])
    clock = await page.get_by_test_id("recording-clock").inner_text()
    assert datetime.fromtimestamp(shown / 1000, UTC).strftime("%H:%M") in clock

    # Keyboard: the timeline is a slider; an arrow moves the moment back and it plays.
    await page.get_by_test_id("timeline").focus()
    await page.keyboard.press("ArrowLeft")
    await wait_js(page, f"window.sentrycam.playback.at < {shown} - 1000")

    # Or a time typed in: one second into the first segment (the page runs in UTC).
    typed = datetime.fromtimestamp(start / 1000 + 1, UTC).strftime("%H:%M:%S")
    await page.get_by_test_id("recordings-time").fill(typed)
    await page.get_by_test_id("recordings-go").click()
    await wait_js(page, f"window.sentrycam.playback?.recording === {first['id']}")
    await plays(page, video)

    # Closing goes back to the camera's full view.
    await page.get_by_test_id("recordings-close").click()
    await view.wait_for(state="hidden")
    assert page.url.endswith("#/camera/demo")
    assert await page.evaluate("window.sentrycam.playback") is None
    await watched.check_clean()


async def test_storage_indicator_and_storage_alert(start_server, browser):
    config = demo_config(motion={"enabled": False}, sound={"enabled": False})
    server = await start_server(config)
    await server.wait_online("demo")
    guard = server.services.recordings.guard
    await wait_until(lambda: guard.usage is not None, 10, "disk measured")
    watched = await open_dashboard(server, browser)
    page = watched.page

    # Admins see the free space against the reserve.
    storage = page.get_by_test_id("storage")
    await storage.wait_for(state="visible", timeout=10_000)
    await wait_js(
        page,
        "document.querySelector('[data-testid=storage-text]')?.textContent.includes('free of')",
    )
    assert await page.get_by_test_id("storage-warning").is_hidden()

    # The disk guard's alert: a "Storage" event of the system, with what it did.
    detail = "disk almost full: deleted the 2 oldest recordings (1.2 MB) to keep 100 MB free"
    assert server.services.events.system_alert("storage", detail)
    banner = page.get_by_test_id("alert-banner")
    await banner.wait_for(state="visible", timeout=10_000)
    assert "Storage" in await banner.inner_text()
    assert "System" in await banner.inner_text()
    assert await banner.locator("a").get_attribute("href") == "#storage"
    events = (await server.client.get("/api/events", params={"limit": 1})).json()["events"]
    row = page.get_by_test_id(f"event-{events[0]['id']}")
    await row.wait_for(state="visible", timeout=10_000)
    text = await row.inner_text()
    assert "Storage" in text
    assert "System" in text
    assert "deleted the 2 oldest" in text
    assert await row.locator(".event-camera").get_attribute("href") == "#storage"

    await watched.check_clean()

    # Viewers: no storage indicator (admins only); storage alerts (and so the kind in the
    # filter) only for those who may see every camera.
    await server.add_user("family", role="viewer")
    await server.add_user("porch", role="viewer", cameras=["demo"])
    for name, storage_kind in (("family", True), ("porch", False)):
        context = await logged_in_context(server, browser, name, viewport=PHONE)
        viewer = Watched(await context.new_page())
        await viewer.page.goto(server.base_url + "/")
        await wait_js(viewer.page, "document.querySelector('[data-testid=user-name]')?.textContent")
        assert await viewer.page.get_by_test_id("storage").is_hidden()
        kinds = await viewer.page.evaluate(
            "[...document.querySelectorAll('[data-testid=event-filter-kind] option')]"
            ".map((o) => o.value)"
        )
        assert ("storage" in kinds) is storage_kind, (name, kinds)
        assert "motion" in kinds
        await viewer.check_clean()
        await context.close()
