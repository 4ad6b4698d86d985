"""The installable dashboard and Web Push in Chromium on http://127.0.0.1 (a secure
context): the worker registers, the manifest is installable, a push event inside the
worker shows a notification with image and actions, tapping it shows the event, and the
dashboard still opens (saying the server is out of reach) when the server is gone."""

from __future__ import annotations

import time
from datetime import UTC

import httpx
import pytest

from api.notifications.payload import notification
from camera.analysis import Observation
from tests.browser import CHROMIUM_ARGS, CSP_LISTENER, PHONE, Watched, wait_js
from tests.test_notifications import CONTACT, settings
from tests.waiting import WaitTimeout, wait_until

pytestmark = pytest.mark.browser

NOTIFICATIONS = """navigator.serviceWorker.ready
  .then((r) => r.getNotifications())
  .then((list) => list.map((n) => ({title: n.title, body: n.body, image: n.image,
    tag: n.tag, actions: n.actions.map((a) => a.action), data: n.data})))"""


async def test_installable_push_notification_tap_and_offline_start(start_server, browser, tmp_path):
    server = await start_server(settings(web_push={"contact": CONTACT}))
    jpeg = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4 + b"\xff\xd9"
    server.services.events.observe(
        Observation("back", "motion", "start", time.time(), score=0.3, snapshot=jpeg)
    )
    await server.services.events.flush()
    event = (await server.client.get("/api/events")).json()["events"][0]

    # Installability needs a profile on disk (an incognito context is never installable).
    context = await browser.browser_type.launch_persistent_context(
        str(tmp_path / "profile"),
        executable_path="/usr/bin/chromium",
        args=CHROMIUM_ARGS,
        viewport=PHONE,
        permissions=["notifications"],
    )
    session = await server.browser_login("admin")
    await context.add_init_script(CSP_LISTENER)
    await context.add_cookies(
        [
            {
                "name": "sentrycam_session",
                "value": session.cookies["sentrycam_session"],
                "url": server.base_url,
            }
        ]
    )
    page = await context.new_page()
    watched = Watched(page)
    await page.goto(server.base_url + "/")
    assert await wait_js(page, "navigator.serviceWorker.ready.then((r) => !!r.active)")
    await wait_js(page, "navigator.serviceWorker.controller !== null || location.reload()")

    cdp = await context.new_cdp_session(page)
    errors = await cdp.send("Page.getInstallabilityErrors")
    assert errors["installabilityErrors"] == []
    manifest = await cdp.send("Page.getAppManifest")
    assert manifest["errors"] == []

    state = await wait_js(
        page,
        "window.sentrycam.notifications?.devices !== undefined && "
        "document.querySelector('.notify-status').textContent && "
        "window.sentrycam.notifications",
    )
    assert state["available"] is True  # 127.0.0.1 is a secure context
    assert await page.locator("[data-testid=notify-form]").is_visible()

    # A push as the server sends it, dispatched inside the worker.
    payload = notification(event, "back", 0, UTC)
    worker = await wait_until(lambda: context.service_workers, 10, "the service worker")
    await worker[0].evaluate(
        "(p) => self.dispatchEvent(new PushEvent('push', {data: JSON.stringify(p)}))", payload
    )
    shown = await wait_js(page, f"{NOTIFICATIONS}.then((list) => list.length && list)")
    assert shown[0]["title"] == "Motion · back"
    assert shown[0]["image"].endswith(f"/api/events/{event['id']}/snapshot.jpg")
    assert shown[0]["actions"] == ["ack", "snooze"]
    assert shown[0]["tag"] == "sentrycam-back"

    # Tapping it shows the event in the open dashboard.
    await worker[0].evaluate(
        """() => self.registration.getNotifications().then(([n]) =>
             self.dispatchEvent(new NotificationEvent('notificationclick', {notification: n})))"""
    )
    row = f"[data-testid=event-{event['id']}]"
    assert await wait_js(page, f"location.hash === '#/events/{event['id']}'")
    assert await wait_js(
        page, f"document.querySelector('{row}')?.classList.contains('is-revealed')"
    )
    await watched.check_clean()

    # The server goes away: the dashboard still opens, from the cache, and says so.
    assert server.uvicorn is not None
    server.uvicorn.should_exit = True

    async def gone() -> bool:
        try:
            await server.anonymous().get("/api/health")
        except httpx.TransportError:
            return True
        return False

    await wait_until(gone, 20, "the server stopped")
    await page.reload()
    try:
        await wait_js(page, "!document.getElementById('banner').hidden")
    except WaitTimeout as timeout:  # once in many runs (stop 20): say what the page saw
        raise AssertionError(f"{timeout}; page errors: {watched.errors}") from timeout
    assert await page.title() == "Sentrycam"
    await context.close()


async def test_plain_http_on_a_lan_name_says_why_push_is_unavailable(start_server, browser):
    server = await start_server(settings(web_push={"contact": CONTACT}))
    port = server.base_url.rsplit(":", 1)[1]
    # A name that is not localhost, mapped to loopback: plain HTTP there is not a secure
    # context, like http://192.168.1.20 on a LAN (tests never use a real LAN address).
    lan = await browser.browser_type.launch(
        executable_path="/usr/bin/chromium",
        args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP sentrycam.test 127.0.0.1"],
    )
    try:
        context = await lan.new_context(viewport=PHONE)
        session = await server.browser_login("admin")
        url = f"http://sentrycam.test:{port}"
        cookie = session.cookies["sentrycam_session"]
        await context.add_cookies([{"name": "sentrycam_session", "value": cookie, "url": url}])
        page = await context.new_page()
        await page.goto(url + "/#notifications")
        assert await page.evaluate("window.isSecureContext") is False
        help_text = await wait_js(
            page, "document.querySelector('[data-testid=notify-help]')?.textContent"
        )
        assert "not a secure context" in help_text
        assert "server.tls" in help_text
        assert "reverse proxy" in help_text
        assert await page.locator("[data-testid=notify-form]").is_hidden()
        assert await page.evaluate("navigator.serviceWorker === undefined")
    finally:
        await lan.close()
