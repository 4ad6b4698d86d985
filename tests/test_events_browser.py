"""The dashboard's live events in Debian's Chromium: alert banners, the event list, arming,
motion regions, the activity chart and resuming the live channel after a disconnect.

Motion, sound and health detection are off: the only events are the ones injected here,
in-process, through the same EventService the detectors feed."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

import av
import numpy as np
import pytest
from playwright.async_api import Browser, Page, Route

from api.security import SESSION_COOKIE
from camera.analysis import Kind, Observation
from camera.snapshots import encode_jpeg
from tests.browser import PHONE, Watched, logged_in_context, wait_js
from tests.conftest import PASSWORD, demo_config
from tests.waiting import wait_until

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def jpeg() -> bytes:
    """A small picture with something on it (a gradient and a bright box)."""
    picture = np.zeros((180, 320, 3), np.uint8)
    picture[:, :, 0] = np.linspace(20, 120, 320, dtype=np.uint8)[None, :]
    picture[:, :, 2] = np.linspace(60, 160, 180, dtype=np.uint8)[:, None]
    picture[40:120, 60:140] = (240, 200, 60)
    return encode_jpeg(av.VideoFrame.from_ndarray(picture, format="rgb24"))


def events_config() -> dict[str, Any]:
    config = demo_config(
        motion={"enabled": False},
        sound={"enabled": False},
        health={"frozen_seconds": 0, "tamper": False},
    )
    config["events"] = {"cooldown_seconds": 0}  # every injected event may alert
    return config


async def open_dashboard(server: Any, browser: Browser, path: str = "/") -> Watched:
    context = await logged_in_context(server, browser, viewport=PHONE)
    watched = Watched(await context.new_page())
    await watched.page.goto(server.base_url + path)
    await wait_js(watched.page, "window.sentrycam?.ws?.state === 'open'")
    await wait_js(
        watched.page, "document.querySelector('[data-testid=arm-demo]')?.disabled === false"
    )
    return watched


async def change_password(page: Page) -> int:
    """Change the admin's password with a fetch from the page; the HTTP status."""
    change = {"current_password": PASSWORD, "new_password": "amber-lantern-orbit-47"}
    status: int = await page.evaluate(
        """(body) => fetch('/api/auth/password', {
             method: 'POST',
             headers: {'Content-Type': 'application/json'},
             body: JSON.stringify(body),
           }).then((r) => r.status)""",
        change,
    )
    return status


def observe(
    server: Any,
    phase: str,
    *,
    kind: Kind = "motion",
    regions: list[tuple[float, float, float, float]] | None = None,
    snapshot: bytes | None = None,
    score: float = 0.3,
) -> None:
    server.services.events.observe(
        Observation(
            "demo",
            kind,
            phase,  # type: ignore[arg-type]
            time.time(),
            score=score,
            regions=regions or [],
            snapshot=snapshot,
        )
    )


async def newest_event(server: Any) -> dict[str, Any]:
    response = await server.client.get("/api/events", params={"limit": 1})
    assert response.status_code == 200, response.text
    event: dict[str, Any] = response.json()["events"][0]
    return event


async def inject_event(server: Any, jpeg: bytes | None = None) -> int:
    """A whole motion event (start, end); returns its id."""
    observe(server, "start", regions=[(0.1, 0.1, 0.2, 0.3)], snapshot=jpeg)
    event_id = int((await newest_event(server))["id"])
    observe(server, "end")
    return event_id


async def rows(page: Page) -> list[str]:
    return list(
        await page.evaluate(
            "[...document.querySelectorAll('[data-testid=event-list] > li')]"
            ".map((li) => li.dataset.testid)"
        )
    )


async def painted_pixels(page: Page, testid: str) -> int:
    return int(
        await page.evaluate(
            f"""(() => {{
              const c = document.querySelector('[data-testid={testid}]');
              if (!c || !c.width || !c.height) return 0;
              const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
              let n = 0;
              for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
              return n;
            }})()"""
        )
    )


async def test_motion_alert_row_and_regions_live(start_server, browser, jpeg):
    server = await start_server(events_config())
    await server.wait_online("demo")
    watched = await open_dashboard(server, browser)
    page = watched.page
    await page.get_by_test_id("event-list").wait_for(state="attached")
    assert await rows(page) == []

    observe(server, "start", regions=[(0.1, 0.1, 0.2, 0.3)], snapshot=jpeg)
    event_id = (await newest_event(server))["id"]

    # The motion box over the video while it lasts (first: without updates it goes after
    # a 2 s hold, and a busy machine can spend that on the checks below).
    await wait_js(page, "window.sentrycam.regions.demo?.length === 1")
    box = await page.evaluate("window.sentrycam.regions.demo[0]")
    assert box == pytest.approx([0.1, 0.1, 0.2, 0.3])
    assert await page.get_by_test_id("regions-demo").is_visible()
    assert await painted_pixels(page, "regions-demo") > 100

    # The alert banner: camera, kind, time and the snapshot.
    banner = page.get_by_test_id("alert-banner")
    await banner.wait_for(state="visible", timeout=10_000)
    text = await banner.inner_text()
    assert "Motion" in text
    assert "demo" in text
    assert await banner.locator("a").get_attribute("href") == "#/camera/demo"
    await wait_js(page, "document.querySelector('.alert-thumb')?.naturalWidth > 0")
    assert await page.evaluate("window.sentrycam.alerts") == 1

    # A new row at the top, without reloading; still going.
    row = page.get_by_test_id(f"event-{event_id}")
    await row.wait_for(state="visible", timeout=10_000)
    assert await row.get_attribute("data-state") == "ongoing"
    assert "ongoing" in await row.inner_text()
    await wait_js(
        page, f"document.querySelector('[data-testid=event-{event_id}] img')?.naturalWidth > 0"
    )

    # The box follows updates.
    observe(server, "update", regions=[(0.5, 0.4, 0.25, 0.25)], score=0.6)
    await wait_js(page, "window.sentrycam.regions.demo?.[0]?.[0] === 0.5")

    # End: the box goes because of it (not the 2 s hold) and the row shows it ended.
    observe(server, "end")
    await wait_js(
        page,
        "window.sentrycam.regions.demo?.length === 0 && window.sentrycam.regionsCleared.demo",
    )
    assert await page.evaluate("window.sentrycam.regionsCleared.demo") == "end"
    assert await page.get_by_test_id("regions-demo").is_hidden()
    await wait_js(
        page, f"document.querySelector('[data-testid=event-{event_id}]')?.dataset.state === 'ended'"
    )
    assert "ongoing" not in await row.inner_text()
    assert "0.60" in await row.inner_text()  # the best score

    # Without updates the boxes vanish after 2 s even if no end comes.
    await page.evaluate("window.sentrycam.regionsCleared = {}")
    observe(server, "start", regions=[(0.2, 0.2, 0.1, 0.1)])
    await wait_js(page, "window.sentrycam.regionsCleared.demo === 'hold'")
    assert await page.evaluate("window.sentrycam.regions.demo") == []
    observe(server, "end")
    await wait_js(page, "window.sentrycam.alerts === 2")
    assert await page.get_by_test_id("alert-banner").count() == 2
    assert len(await rows(page)) == 2
    await watched.check_clean()


async def test_disarm_records_events_without_alerts(start_server, browser, jpeg):
    server = await start_server(events_config())
    await server.wait_online("demo")
    watched = await open_dashboard(server, browser)
    page = watched.page
    toggle = page.get_by_test_id("arm-demo")
    assert await toggle.get_attribute("aria-pressed") == "true"

    await toggle.click()
    await wait_js(page, "document.querySelector('[data-testid=arm-demo]').ariaPressed === 'false'")
    await wait_until(
        lambda: not server.services.events.armed("demo"), 10, "the camera disarmed", interval=0.05
    )

    event_id = await inject_event(server, jpeg)
    await page.get_by_test_id(f"event-{event_id}").wait_for(state="visible", timeout=10_000)
    await wait_js(
        page, f"document.querySelector('[data-testid=event-{event_id}]')?.dataset.state === 'ended'"
    )
    # An alert is published right after its event's start message, before its end (which
    # the page has shown): once the page holds every message published so far, it would
    # have had the alert.
    await wait_js(page, f"window.sentrycam.ws.lastId >= {server.services.live.last_id}")
    assert await page.evaluate("window.sentrycam.alerts") == 0
    assert await page.get_by_test_id("alert-banner").count() == 0
    assert (await server.client.get(f"/api/events/{event_id}")).json()["alert"] is False

    # Arming elsewhere (another phone, the API) shows here too; then alerts come back.
    await server.services.events.set_armed("demo", True)
    await wait_js(page, "document.querySelector('[data-testid=arm-demo]').ariaPressed === 'true'")
    await inject_event(server)
    await page.get_by_test_id("alert-banner").wait_for(state="visible", timeout=10_000)
    assert await page.evaluate("window.sentrycam.alerts") == 1
    await watched.check_clean()


async def test_reconnect_resumes_without_gaps_or_duplicates(start_server, browser):
    server = await start_server(events_config())
    await server.wait_online("demo")
    watched = await open_dashboard(server, browser)
    page = watched.page
    first = await inject_event(server)
    await page.get_by_test_id(f"event-{first}").wait_for(state="visible", timeout=10_000)
    assert await page.evaluate("window.sentrycam.ws.connects") == 1

    # The server drops the page (as for a slow reader); two events happen while it is away.
    live = server.services.live
    assert len(live.connections) == 1
    for connection in live.connections:
        connection.close(4008)
    observe(server, "start", regions=[(0.1, 0.1, 0.2, 0.3)])
    observe(server, "end")
    observe(server, "start", kind="sound", score=0.8)
    observe(server, "end", kind="sound")
    events = (await server.client.get("/api/events")).json()["events"]
    second, third = events[1]["id"], events[0]["id"]

    await wait_js(page, "window.sentrycam.ws.connects === 2", timeout=15)
    await wait_js(page, "window.sentrycam.ws.state === 'open'")
    for event_id in (second, third):
        await page.get_by_test_id(f"event-{event_id}").wait_for(state="visible", timeout=10_000)
    await wait_js(page, f"window.sentrycam.ws.lastId === {live.last_id}")
    assert await rows(page) == [f"event-{third}", f"event-{second}", f"event-{first}"]
    assert await page.get_by_test_id(f"event-{third}").get_attribute("data-state") == "ended"
    assert await page.evaluate("window.sentrycam.alerts") == 3  # each alert exactly once

    # A reload resumes from the id kept in sessionStorage: nothing is raised twice.
    last_id = await page.evaluate("window.sentrycam.ws.lastId")
    await page.reload()
    await wait_js(page, "window.sentrycam?.ws?.state === 'open'")
    assert await page.evaluate("window.sentrycam.ws.lastId") == last_id
    await page.get_by_test_id(f"event-{first}").wait_for(state="visible", timeout=10_000)
    assert await rows(page) == [f"event-{third}", f"event-{second}", f"event-{first}"]
    assert await page.evaluate("window.sentrycam.alerts") == 0

    # A gap older than the server keeps: it says resync and the page reloads the list.
    for connection in live.connections:
        connection.close(4008)
    observe(server, "start", regions=[(0.1, 0.1, 0.2, 0.3)])
    observe(server, "end")
    live.forget_before(live.last_id + 1)  # as if the missed messages were pruned
    fourth = (await newest_event(server))["id"]
    await page.get_by_test_id(f"event-{fourth}").wait_for(state="visible", timeout=15_000)
    await wait_js(page, f"window.sentrycam.ws.lastId === {live.last_id}")
    assert await rows(page) == [f"event-{n}" for n in (fourth, third, second, first)]
    await watched.check_clean()


async def test_acknowledge_and_activity_chart(start_server, browser, jpeg):
    server = await start_server(events_config())
    await server.wait_online("demo")
    watched = await open_dashboard(server, browser)
    page = watched.page

    # Acknowledge from the banner.
    first = await inject_event(server, jpeg)
    await page.get_by_test_id("alert-banner").wait_for(state="visible", timeout=10_000)
    await page.get_by_test_id(f"alert-ack-{first}").click()
    await page.get_by_test_id("alert-banner").wait_for(state="detached", timeout=10_000)
    event = (await server.client.get(f"/api/events/{first}")).json()
    assert event["acknowledged"] is True
    assert event["acknowledged_by"] == "admin"
    row = page.get_by_test_id(f"event-{first}")
    await wait_js(
        page,
        f"document.querySelector('[data-testid=event-{first}] .event-acked')?.hidden === false",
    )
    assert "Seen by admin" in await row.inner_text()

    # Acknowledge from the list: the banner of that event goes too.
    second = await inject_event(server)
    await page.get_by_test_id("alert-banner").wait_for(state="visible", timeout=10_000)
    await page.get_by_test_id(f"event-ack-{second}").click()
    await page.get_by_test_id("alert-banner").wait_for(state="detached", timeout=10_000)
    assert (await server.client.get(f"/api/events/{second}")).json()["acknowledged"] is True

    # The camera's full view: the activity chart counts them, and follows new events.
    await page.goto(server.base_url + "/#/camera/demo")
    chart = page.get_by_test_id("activity-demo")
    await chart.wait_for(state="visible", timeout=10_000)
    await wait_js(
        page, "document.querySelector('[data-testid=activity-demo]').dataset.total === '2'"
    )
    assert await painted_pixels(page, "activity-demo") > 100
    assert "2 motion" in (await chart.get_attribute("aria-label") or "")
    await inject_event(server)
    await wait_js(
        page, "document.querySelector('[data-testid=activity-demo]').dataset.total === '3'", 10
    )
    # The alert shows over the full view and leads to the camera.
    await page.get_by_test_id("alert-banner").wait_for(state="visible", timeout=10_000)
    await page.get_by_test_id("alert-banner").locator("a").click()
    await page.get_by_test_id("alert-banner").wait_for(state="detached", timeout=10_000)
    assert page.url.endswith("#/camera/demo")
    await watched.check_clean()


async def test_renewed_session_reconnects_revoked_session_goes_to_login(start_server, browser):
    server = await start_server(events_config())
    await server.wait_online("demo")
    watched = await open_dashboard(server, browser)
    page = watched.page
    # Changing the password ends every session (the socket closes with 4401) but renews
    # this page's: the channel comes back, the page stays.
    assert await change_password(page) == 200
    await wait_js(
        page, "window.sentrycam.ws.connects === 2 && window.sentrycam.ws.state === 'open'"
    )
    assert urlsplit(page.url).path == "/"
    event_id = await inject_event(server)
    await page.get_by_test_id(f"event-{event_id}").wait_for(state="visible", timeout=10_000)

    # Logging out ends the session for good: to the login page, sooner than the 10 s
    # camera poll would notice.
    status = await page.evaluate(
        "fetch('/api/auth/logout', {method: 'POST'}).then((r) => r.status)"
    )
    assert status == 204
    await wait_js(page, "location.pathname === '/login'", timeout=6)
    assert watched.errors == []


async def test_a_request_answered_401_just_before_the_renewal_is_sent_again(start_server, browser):
    """A request the server answers with the old session, after changing the password
    ended it (a poll in flight), is sent again with the new session: the page stays."""
    server = await start_server(events_config())
    await server.wait_online("demo")
    watched = await open_dashboard(server, browser)
    page = watched.page
    old = next(c["value"] for c in await page.context.cookies() if c["name"] == SESSION_COOKIE)
    held, release = asyncio.Event(), asyncio.Event()
    stale_status: list[int] = []

    async def answer_with_the_old_session(route: Route) -> None:
        held.set()
        await release.wait()
        async with server.anonymous(cookies={SESSION_COOKIE: old}) as client:
            stale = await client.get("/api/cameras")
        stale_status.append(stale.status_code)
        await route.fulfill(
            status=stale.status_code, body=stale.content, content_type="application/json"
        )

    await page.route("**/api/cameras?held=1", answer_with_the_old_session, times=1)
    await page.evaluate(
        """() => {
             window.heldRequest = import('/http.js')
               .then((http) => http.getJson('/api/cameras?held=1'))
               .then((body) => ({cameras: body.cameras.length}), (err) => ({error: err.name}));
           }"""
    )
    await asyncio.wait_for(held.wait(), 10)
    assert await change_password(page) == 200
    release.set()
    held_result = "async () => (window.heldRequest ? await window.heldRequest : null)"
    assert await wait_js(page, held_result) == {"cameras": 1}
    assert stale_status == [401]
    assert urlsplit(page.url).path == "/"
    assert watched.errors == []
