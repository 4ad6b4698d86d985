"""Notifications end to end: a real server, a push-service stand-in on loopback that checks
VAPID and decrypts like a browser, a webhook receiver that checks the Standard Webhooks
signature, and an Apprise json:// receiver."""

from __future__ import annotations

import asyncio
import base64
import os
import stat
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from standardwebhooks.webhooks import Webhook

from api.notifications.payload import topic
from camera.analysis import Observation
from tests.push_service import Browser, PushServiceStandIn
from tests.waiting import wait_until

CONTACT = "mailto:ops@example.org"
QUIET = {"enabled": False}
SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def settings(front_motion: bool = False, **notifications: Any) -> dict[str, Any]:
    camera = {"source": "demo", "width": 320, "height": 180, "fps": 10}
    still = {"motion": QUIET, "health": {"frozen_seconds": 0, "tamper": False}}
    # Real motion (the demo's moving box) starts an event after 4 s of it: time enough for
    # the test to subscribe first.
    moving = {"motion": {"frames_to_start": 20}}
    front = {"id": "front", **camera, **(moving if front_motion else still)}
    push = {"contact": CONTACT, "insecure_endpoints": True}
    return {
        "webrtc": {"ice_addresses": ["127.0.0.1"]},
        "cameras": [front, {"id": "back", **camera, **still}],
        "notifications": {"web_push": push, **notifications},
    }


@pytest.fixture
async def push() -> AsyncIterator[PushServiceStandIn]:
    service = await PushServiceStandIn().start()
    yield service
    await service.stop()
    assert service.refused == []  # every request passed the VAPID and decryption checks


async def subscribe(client: Any, browser: Browser, **choices: Any) -> int:
    response = await client.post("/api/push/subscriptions", json=browser.subscription() | choices)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def observe(server: Any, camera: str, at: float, **kw: Any) -> None:
    events = server.services.events
    events.observe(Observation(camera, "motion", "start", at, score=0.2, **kw))
    events.observe(Observation(camera, "motion", "end", at + 0.5, score=0.2))


async def log(client: Any) -> list[dict[str, Any]]:
    response = await client.get("/api/notifications/log", params={"limit": 500})
    assert response.status_code == 200, response.text
    return list(response.json()["entries"])


async def logged(client: Any, **match: Any) -> dict[str, Any]:
    """Wait for a log entry with these fields; return it."""

    async def find() -> dict[str, Any] | None:
        return next(
            (e for e in await log(client) if all(e[k] == v for k, v in match.items())), None
        )

    found: dict[str, Any] = await wait_until(find, 15, f"a log entry {match}", interval=0.1)
    return found


async def test_real_motion_reaches_the_admins_phone_and_not_a_viewer_without_rights(
    start_server, push
):
    server = await start_server(settings(front_motion=True))
    await server.add_user("backonly", cameras=["back"])
    viewer = await server.client_for("backonly")
    phone, viewers_phone = push.browser(), push.browser()
    await subscribe(server.client, phone, name="admin's phone")
    viewer_id = await subscribe(viewer, viewers_phone)
    refused = await viewer.post(
        "/api/push/subscriptions", json=push.browser().subscription() | {"cameras": ["front"]}
    )
    assert refused.status_code == 403

    # The demo camera's moving box is real motion, seen by the real detector.
    await wait_until(lambda: push.payloads(phone), 30, "a push about the front camera")
    payload = push.payloads(phone)[0]
    event_id = payload["event"]
    assert payload | {"title": "", "body": "", "at": ""} == {
        "title": "",
        "body": "",
        "at": "",
        "camera": "front",
        "event": event_id,
        "kind": "motion",
        "url": f"/#/events/{event_id}",
        "image": f"/api/events/{event_id}/snapshot.jpg",
        "tag": "sentrycam-front",
        "folded": 0,
        "test": False,
    }
    assert payload["title"] == "Motion · front"
    received = next(r for r in push.received if r.token == phone.token)
    assert received.headers == {
        "TTL": "3600",
        "Urgency": "high",
        "Topic": topic("front", "motion"),
    }
    assert received.claims["sub"] == CONTACT

    entry = await logged(server.client, target=f"push:{viewer_id}", event_id=event_id)
    assert (entry["outcome"], entry["reason"]) == ("suppressed", "no_rights")
    assert push.payloads(viewers_phone) == []
    # The viewer's own view of the log never mentions the camera they may not see.
    assert all(e["camera"] != "front" for e in await log(viewer))
    sent = await logged(server.client, target="push:1", event_id=event_id)
    assert (sent["outcome"], sent["reason"], sent["channel"]) == ("sent", "alert", "web_push")

    # A system alert (not tied to a camera) reaches the admin, not a viewer of one camera.
    assert server.services.events.system_alert("disk_low", "2 % free")
    await wait_until(lambda: any(p["camera"] == "*" for p in push.payloads(phone)), 15)
    system = next(p for p in push.payloads(phone) if p["camera"] == "*")
    assert (system["kind"], system["title"]) == ("disk_low", "Disk almost full · System")
    entry = await logged(server.client, target=f"push:{viewer_id}", camera="*")
    assert entry["reason"] == "no_rights"
    assert push.payloads(viewers_phone) == []


async def test_cooldown_folds_a_burst_and_snooze_and_disarm_suppress(start_server, push):
    server = await start_server(settings(cooldown_seconds=1.5))
    phone = push.browser()
    sub = await subscribe(server.client, phone, cameras=["back"], kinds=["motion"])
    now = time.time()
    for i in range(4):  # a burst: one notification now, one "and 2 more" afterwards
        observe(server, "back", now + i * 0.1)
    await wait_until(lambda: len(push.payloads(phone)) >= 2, 15, "the burst's two pushes")
    first, summary = push.payloads(phone)
    assert first["folded"] == 0
    assert summary["folded"] == 2
    assert summary["body"].endswith("and 2 more")
    assert summary["event"] > first["event"]
    assert summary["tag"] == first["tag"]
    folded = [e for e in await log(server.client) if e["reason"] == "cooldown"]
    assert len(folded) == 3
    summary_entry = await logged(server.client, reason="summary")
    assert summary_entry["outcome"] == "sent"
    assert "and 2 more" in summary_entry["detail"]

    # Snoozed (the service worker's "Snooze 1 h" action): nothing, and the log says why.
    snoozed = await server.client.put("/api/cameras/back/snooze", json={"minutes": 60})
    assert snoozed.status_code == 200
    assert snoozed.json()["until"] is not None
    observe(server, "back", time.time())
    await logged(server.client, target=f"push:{sub}", reason="snoozed")
    current = (await server.client.get("/api/cameras/back/snooze")).json()
    assert (current["camera"], current["everyone"], current["by"]) == ("back", False, "admin")
    listed = (await server.client.get("/api/notifications/snoozes")).json()
    assert [s["camera"] for s in listed] == ["back"]
    assert (await server.client.delete("/api/cameras/back/snooze")).status_code == 204
    assert (await server.client.get("/api/cameras/back/snooze")).json()["until"] is None

    # Disarmed: recorded, not notified.
    await server.client.put("/api/cameras/back/arm", json={"armed": False})
    observe(server, "back", time.time())
    await logged(server.client, target=f"push:{sub}", reason="disarmed")
    # The other camera and other kinds were not chosen by this phone.
    observe(server, "front", time.time())
    await logged(server.client, target=f"push:{sub}", camera="front", reason="filtered")
    assert len(push.payloads(phone)) == 2


async def test_quiet_hours_suppress(start_server, push):
    now = datetime.now(UTC)
    window = {
        "start": (now - timedelta(hours=1)).strftime("%H:%M"),
        "end": (now + timedelta(hours=1)).strftime("%H:%M"),
    }
    server = await start_server(settings(timezone="UTC", quiet_hours=[window]))
    phone = push.browser()
    sub = await subscribe(server.client, phone)
    observe(server, "back", time.time())
    await logged(server.client, target=f"push:{sub}", reason="quiet_hours")
    assert push.payloads(phone) == []


async def test_push_service_answers_gone_retry_later_and_a_slow_one_delays_nobody(
    start_server, push
):
    server = await start_server(settings())
    gone, busy, fine = push.browser(), push.browser(), push.browser()
    gone.answers = [410]
    busy.answers, busy.retry_after = [429], "1"
    ids = [await subscribe(server.client, b) for b in (gone, busy, fine)]

    answer = (await server.client.post(f"/api/push/subscriptions/{ids[0]}/test")).json()
    assert (answer["delivered"], answer["outcome"]) == (False, "gone")
    listed = (await server.client.get("/api/push/subscriptions")).json()
    assert ids[0] not in [s["id"] for s in listed]  # 410: the subscription is removed
    await logged(server.client, target=f"push:{ids[0]}", reason="gone")

    answer = (await server.client.post(f"/api/push/subscriptions/{ids[1]}/test")).json()
    assert answer["delivered"] is True  # 429, Retry-After: 1, then 201
    assert [r.status for r in push.received if r.token == busy.token] == [429, 201]
    assert push.payloads(busy)[0]["test"] is True

    # A push service that hangs holds up its own subscription only.
    gate = asyncio.Event()
    busy.delay, busy.gate = 0.0, gate
    observe(server, "back", time.time())
    await wait_until(lambda: push.payloads(fine), 15, "the healthy service's push")
    assert len(push.payloads(busy)) == 1  # still waiting behind the gate
    gate.set()
    await wait_until(lambda: len(push.payloads(busy)) == 2, 15, "the slow service's push")


async def test_webhook_is_signed_and_apprise_gets_the_event_with_its_snapshot(start_server):
    hooks: list[tuple[dict[str, str], bytes]] = []
    notes: list[dict[str, Any]] = []

    async def hook(request: web.Request) -> web.Response:
        hooks.append((dict(request.headers), await request.read()))
        return web.Response(status=204)

    async def note(request: web.Request) -> web.Response:
        notes.append(await request.json())
        return web.Response(status=200)

    app = web.Application(client_max_size=8 * 1024 * 1024)
    app.router.add_post("/hook", hook)
    app.router.add_post("/apprise", note)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        server = await start_server(
            settings(
                base_url="https://cam.example.org",
                webhooks=[{"name": "ha", "url": f"http://127.0.0.1:{port}/hook", "secret": SECRET}],
                apprise=[
                    f"json://127.0.0.1:{port}/apprise",
                    {"url": "json://x/y", "kinds": ["sound"]},
                ],
            )
        )
        jpeg = b"\xff\xd8\xff\xe0" + os.urandom(512) + b"\xff\xd9"
        observe(server, "back", time.time(), snapshot=jpeg)
        await wait_until(lambda: hooks and notes, 20, "the webhook and the Apprise message")
    finally:
        await runner.cleanup()
    headers, body = hooks[0]
    message = Webhook(SECRET).verify(body, headers)  # raises unless the signature is right
    assert message["type"] == "event.alert"
    event = message["data"]["event"]
    assert (event["camera"], event["kind"]) == ("back", "motion")
    assert message["data"]["notification"]["url"] == (
        f"https://cam.example.org/#/events/{event['id']}"
    )
    assert notes[0]["title"] == "Motion · back"
    attachment = notes[0]["attachments"][0]
    assert base64.b64decode(attachment["base64"]) == jpeg
    entries = await log(server.client)
    assert {(e["target"], e["outcome"]) for e in entries if e["event_id"] == event["id"]} == {
        ("webhook:ha", "sent"),
        ("apprise:json", "sent"),
        ("apprise:json", "suppressed"),  # the second one wants sound only
    }


async def test_push_api_key_validation_and_ownership(start_server, push, tmp_path):
    server = await start_server(settings(web_push={"contact": CONTACT}))
    key = (await server.client.get("/api/push/key")).json()["public_key"]
    raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
    assert len(raw) == 65
    assert raw[0] == 4
    key_file = server.services.data_dir / "vapid_private.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    # Only https endpoints on public addresses (insecure_endpoints is off here).
    good = push.browser().subscription()
    for endpoint in (
        "http://push.example.org/x",
        "https://127.0.0.1/x",
        "https://10.1.2.3/x",
        "https://[::1]/x",
        "https://localhost/x",
        "https://user:pw@push.example.org/x",
    ):
        response = await server.client.post(
            "/api/push/subscriptions", json=good | {"endpoint": endpoint}
        )
        assert response.status_code == 400, (endpoint, response.text)
    bad_keys = good | {"keys": {"p256dh": "AAAA", "auth": good["keys"]["auth"]}}
    assert (await server.client.post("/api/push/subscriptions", json=bad_keys)).status_code == 422

    public = good | {"endpoint": "https://push.example.org/send/abc"}
    own = await subscribe(server.client, push.browser(), endpoint=public["endpoint"])
    await server.add_user("viewer")
    viewer = await server.client_for("viewer")
    assert (await viewer.get("/api/push/subscriptions")).json() == []
    assert (await viewer.delete(f"/api/push/subscriptions/{own}")).status_code == 404
    assert (await viewer.post(f"/api/push/subscriptions/{own}/test")).status_code == 404
    assert (
        await viewer.put("/api/cameras/back/snooze", json={"everyone": True})
    ).status_code == 403
    # The browser renewed the subscription (pushsubscriptionchange): name and choices carry over.
    await subscribe(
        server.client, push.browser(), endpoint=public["endpoint"], name="Pixel", kinds=["tamper"]
    )
    renewed = await subscribe(
        server.client,
        push.browser(),
        endpoint="https://push.example.org/send/renewed",
        previous_endpoint=public["endpoint"],
    )
    devices = (await server.client.get("/api/push/subscriptions")).json()
    assert [(d["id"], d["name"], d["kinds"]) for d in devices] == [(renewed, "Pixel", ["tamper"])]
    assert (await server.client.delete(f"/api/push/subscriptions/{renewed}")).status_code == 204


async def test_web_push_is_off_without_a_contact(start_server):
    server = await start_server(settings(web_push={}))
    response = await server.client.get("/api/push/key")
    assert response.status_code == 404
    assert "notifications.web_push.contact" in response.json()["detail"]
