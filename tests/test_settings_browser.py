"""The settings pages in Debian's Chromium, done the way a person would, on a phone-sized and
a desktop viewport: add a camera, draw a mask (by touch on the phone, with the mouse on the
desktop) and see the masked motion stop raising events, tune sensitivity, set a schedule,
add a user who then logs in and sees only their camera, create and revoke a token."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from camera.analysis import Observation
from tests.browser import CSP_LISTENER, PHONE, Watched, logged_in_context, wait_js
from tests.conftest import PASSWORD
from tests.waiting import wait_until

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}
VIEWPORTS = [pytest.param(PHONE, id="phone"), pytest.param(DESKTOP, id="desktop")]
SMALL = {"width": 320, "height": 180, "fps": 10}
MS = 15_000


def cameras(*ids: str, **camera: Any) -> dict[str, Any]:
    return {
        "webrtc": {"ice_addresses": ["127.0.0.1"]},
        "cameras": [{"id": i, "source": "demo", **SMALL, **camera} for i in ids],
    }


async def admin_page(server: Any, browser: Browser, viewport: dict[str, int]) -> Watched:
    touch = viewport == PHONE
    context = await logged_in_context(server, browser, viewport=viewport, has_touch=touch)
    return Watched(await context.new_page())


async def open_settings(page: Page, server: Any, route: str = "") -> None:
    await page.goto(f"{server.base_url}/#/settings{route}")
    await page.get_by_test_id("settings-view").wait_for(state="visible", timeout=MS)


@pytest.mark.parametrize("viewport", VIEWPORTS)
async def test_add_a_camera(start_server, browser, viewport):
    server = await start_server(cameras("front"))
    watched = await admin_page(server, browser, viewport)
    page = watched.page
    await page.goto(server.base_url + "/")
    await page.get_by_test_id("settings-link").click()
    await page.get_by_test_id("add-camera").click()
    await page.get_by_test_id("camera-name").fill("Back yard")
    assert await page.get_by_test_id("camera-id").input_value() == "back-yard"
    await page.get_by_test_id("camera-kind").select_option("demo")
    await page.get_by_test_id("camera-size").select_option("640x360")
    await page.get_by_test_id("camera-test").click()
    snapshot = page.get_by_test_id("source-snapshot")
    await snapshot.wait_for(state="visible", timeout=MS)
    assert await snapshot.evaluate("img => img.naturalWidth") == 640
    await page.get_by_test_id("camera-save").click()
    await page.wait_for_url("**/#/settings/camera/back-yard", timeout=MS)
    await server.wait_online("back-yard")
    config = server.camera("back-yard").config
    assert (config.name, config.source, config.width) == ("Back yard", "demo", 640)
    # Back on the grid, the new camera plays.
    await page.get_by_test_id("settings-close").click()
    await wait_js(page, "window.sentrycam?.state?.['back-yard'] === 'live'")
    await watched.check_clean()


async def test_a_bad_source_says_why_and_nothing_is_saved(start_server, browser):
    server = await start_server(cameras("front"))
    watched = await admin_page(server, browser, PHONE)
    page = watched.page
    await open_settings(page, server, "/new")
    await page.get_by_test_id("camera-kind").select_option("url")
    await page.get_by_test_id("camera-source").fill("rtsp://cam:pw@127.0.0.1:9/stream")
    await page.get_by_test_id("camera-test").click()
    error = page.get_by_test_id("source-error")
    await error.wait_for(state="visible", timeout=MS)
    assert "connection refused" in await error.inner_text()
    await page.get_by_test_id("camera-fps").fill("500")
    await page.get_by_test_id("camera-save").click()
    status = page.get_by_test_id("camera-form-status")
    await wait_until(lambda: status.is_visible(), 10)
    assert "fps" in await status.inner_text()
    assert [c.id for c in server.services.cameras.all()] == ["front"]
    await watched.check_clean()


async def drag(
    page: Page, touch: bool, start: tuple[float, float], end: tuple[float, float]
) -> None:
    """A finger (Chromium's touch events through DevTools) or the mouse, in steps."""
    steps = 6
    points = [
        (start[0] + (end[0] - start[0]) * i / steps, start[1] + (end[1] - start[1]) * i / steps)
        for i in range(steps + 1)
    ]
    if not touch:
        await page.mouse.move(*points[0])
        await page.mouse.down()
        for point in points[1:]:
            await page.mouse.move(*point)
        await page.mouse.up()
        return
    cdp = await page.context.new_cdp_session(page)
    kinds = ["touchStart"] + ["touchMove"] * steps
    for kind, (x, y) in zip(kinds, points, strict=True):
        await cdp.send(
            "Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]}
        )
    await cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


@pytest.mark.parametrize("viewport", VIEWPORTS)
async def test_draw_a_mask_and_the_masked_motion_stops(start_server, browser, viewport):
    server = await start_server(cameras("demo", motion={"quiet_seconds": 1}))

    async def motion_events() -> list[dict[str, Any]]:
        await server.services.events.flush()
        found = await server.client.get("/api/events", params={"camera": "demo", "kind": "motion"})
        return found.json()["events"]  # type: ignore[no-any-return]

    await wait_until(motion_events, 20, "the demo's moving box to start an event")
    watched = await admin_page(server, browser, viewport)
    page = watched.page
    await open_settings(page, server, "/camera/demo/zones")
    canvas = page.get_by_test_id("mask-canvas")
    await canvas.wait_for(state="visible", timeout=MS)
    await wait_js(page, "document.querySelector('[data-testid=settings-video]').videoWidth > 0")
    await page.get_by_test_id("add-mask").click()
    box = await canvas.bounding_box()
    assert box is not None
    at = lambda x, y: (box["x"] + x * box["width"], box["y"] + y * box["height"])  # noqa: E731
    # The new mask is the middle rectangle: each corner to the picture's corner.
    touch = viewport == PHONE
    for (x, y), (tx, ty) in zip(
        [(0.3, 0.3), (0.7, 0.3), (0.7, 0.7), (0.3, 0.7)],
        [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)],
        strict=True,
    ):
        await drag(page, touch, at(x, y), at(tx, ty))
    # A point added on an edge, and deleted again.
    await (page.touchscreen.tap(*at(0.5, 0.0)) if touch else page.mouse.click(*at(0.5, 0.0)))
    await page.get_by_test_id("delete-point").click()
    await page.get_by_test_id("mask-save").click()
    status = page.get_by_test_id("mask-status")
    await wait_until(lambda: status.is_visible(), 10)
    assert "Saved" in await status.inner_text()
    masks = server.camera("demo").config.motion.masks
    assert [[tuple(round(v, 2) for v in p) for p in mask] for mask in masks] == [
        [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
    ]
    # The motion under the mask raises no event any more: the open one ends, none starts.
    saved = datetime.now(UTC)

    async def all_ended() -> bool:
        return all(event["end"] for event in await motion_events())

    await wait_until(all_ended, 15, "the open event to end")
    frames = server.camera("demo").video.stats.packets
    await wait_until(
        lambda: server.camera("demo").video.stats.packets > frames + 40, 20, "40 more frames"
    )
    started = [datetime.fromisoformat(e["start"]) for e in await motion_events()]
    assert [t for t in started if t > saved] == []
    await watched.check_clean()


@pytest.mark.parametrize("viewport", VIEWPORTS)
async def test_tune_sensitivity_on_the_live_picture(start_server, browser, viewport):
    server = await start_server(cameras("demo"))
    await server.wait_online("demo")
    watched = await admin_page(server, browser, viewport)
    page = watched.page
    await open_settings(page, server, "/camera/demo/motion")
    await wait_js(page, "window.sentrycam?.tuner?.reports > 3")
    # The demo's moving box is motion with the saved settings.
    await wait_js(page, "window.sentrycam.tuner.last.motion === true")
    area = page.get_by_test_id("tuner-area")
    await area.fill("100")  # the smallest object: 10 % of the picture
    await wait_js(page, "window.sentrycam.tuner.last.min_area === 0.1")
    await wait_js(page, "window.sentrycam.tuner.last.motion === false")
    assert "counts from 10 %" in await page.get_by_test_id("tuner-score").inner_text()
    assert server.camera("demo").config.motion.min_area == 0.001  # not saved yet
    await page.get_by_test_id("tuner-sensitivity").fill("90")
    await page.get_by_test_id("tuner-save").click()
    await wait_until(lambda: server.camera("demo").config.motion.min_area == 0.1, 10)
    assert server.camera("demo").config.motion.threshold == 11
    await watched.check_clean()


@pytest.mark.parametrize("viewport", VIEWPORTS)
async def test_set_a_schedule(start_server, browser, viewport):
    server = await start_server(cameras("demo", motion={"enabled": False}))
    watched = await admin_page(server, browser, viewport)
    page = watched.page
    await open_settings(page, server)
    await page.get_by_test_id("settings-camera-demo").get_by_role("link").click()
    await page.get_by_test_id("camera-tab-schedule").click()
    await page.get_by_test_id("schedule-mode-weekly").check()
    await page.get_by_test_id("schedule-preset-nights").click()
    await page.get_by_test_id("schedule-preset-workdays").click()
    await page.get_by_test_id("period-1-fri").click()  # not on Fridays
    await page.get_by_test_id("schedule-timezone").select_option("UTC")
    await page.get_by_test_id("schedule-save").click()
    await wait_until(lambda: server.camera("demo").config.schedule.mode == "weekly", 10)
    schedule = server.camera("demo").config.schedule
    assert schedule.timezone == "UTC"
    assert [(p.days, p.start, p.end) for p in schedule.periods] == [
        (["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "22:00", "07:00"),
        (["mon", "tue", "wed", "thu"], "09:00", "17:00"),
    ]
    now = page.get_by_test_id("arming-now")
    await wait_until(lambda: _contains(now, "by the schedule"), 10)
    assert " at " in await now.inner_text()  # the next change
    await page.get_by_test_id(
        "disarm-now" if server.services.events.armed("demo") else "arm-now"
    ).click()
    await wait_until(lambda: _contains(now, "by hand"), 10)
    await watched.check_clean()


async def _contains(locator: Any, text: str) -> bool:
    return text in await locator.inner_text()


@pytest.mark.parametrize("viewport", VIEWPORTS)
async def test_add_a_user_who_sees_only_their_camera(start_server, browser, viewport):
    server = await start_server(cameras("front", "back"))
    watched = await admin_page(server, browser, viewport)
    page = watched.page
    await open_settings(page, server)
    await page.get_by_test_id("settings-tab/users").click()
    await page.get_by_test_id("user-new-name").fill("sitter")
    await page.get_by_test_id("user-new-password").fill(PASSWORD)
    await page.get_by_test_id("user-new-every").uncheck()
    await page.get_by_test_id("user-new-camera-back").uncheck()
    await page.get_by_test_id("user-new-save").click()
    await page.get_by_test_id("user-sitter").wait_for(state="visible", timeout=MS)
    await watched.check_clean()

    context = await browser.new_context(viewport=viewport)
    await context.add_init_script(CSP_LISTENER)
    sitter = Watched(await context.new_page())
    await sitter.page.goto(server.base_url + "/")
    await sitter.page.get_by_test_id("username").fill("sitter")
    await sitter.page.get_by_test_id("password").fill(PASSWORD)
    await sitter.page.get_by_test_id("submit").click()
    await wait_js(sitter.page, "window.sentrycam?.state?.front === 'live'")
    assert await sitter.page.get_by_test_id("tile-back").count() == 0
    assert await sitter.page.get_by_test_id("settings-link").is_hidden()
    await sitter.check_clean()


async def test_tokens_are_shown_once_and_revoked_and_the_audit_log_says_so(start_server, browser):
    server = await start_server(cameras("front"))
    watched = await admin_page(server, browser, DESKTOP)
    page = watched.page
    await open_settings(page, server, "/tokens")
    await page.get_by_test_id("token-name").fill("home-assistant")
    await page.get_by_test_id("token-create").click()
    value = page.get_by_test_id("token-value")
    await value.wait_for(state="visible", timeout=MS)
    token = await value.inner_text()
    phone = server.anonymous(headers={"Authorization": f"Bearer {token}"})
    assert (await phone.get("/api/cameras")).status_code == 200
    created = (await server.client.get("/api/tokens")).json()
    mine = next(t for t in created if t["name"] == "home-assistant")
    await page.get_by_test_id(f"token-{mine['id']}-revoke").click()
    await page.get_by_test_id(f"token-{mine['id']}").wait_for(state="detached", timeout=MS)
    assert (await phone.get("/api/cameras")).status_code == 401
    await page.get_by_test_id("settings-tab/audit").click()
    rows = page.get_by_test_id("audit-rows")
    await wait_until(lambda: _contains(rows, "token_revoked"), 10)
    assert "token_created" in await rows.inner_text()
    await watched.check_clean()


async def test_an_alert_leaves_the_settings_close_button_reachable_on_a_phone(
    start_server, browser
):
    server = await start_server(cameras("front", motion={"enabled": False}))
    await server.wait_online("front")
    watched = await admin_page(server, browser, PHONE)
    page = watched.page
    await open_settings(page, server)
    server.services.events.observe(Observation("front", "motion", "start", time.time(), 0.5))
    await page.get_by_test_id("alert-banner").wait_for(state="visible", timeout=MS)
    # A trial click fails when something else would take the tap (the banner did).
    await page.get_by_test_id("settings-close").click(trial=True, timeout=5_000)
    await page.get_by_test_id("settings-close").click()
    await page.get_by_test_id("settings-view").wait_for(state="hidden", timeout=MS)
