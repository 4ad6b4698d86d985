"""Access control: deny by default, per-camera rights, sessions, tokens, cross-site requests."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

import pytest
from fastapi.routing import APIRoute, APIWebSocketRoute
from httpx_ws import WebSocketDisconnect, WebSocketUpgradeError, aconnect_ws
from sqlalchemy import update

from api.accounts import now
from api.models import ApiToken, LoginSession
from api.security import PUBLIC, PUBLIC_ASSETS
from camera.analysis import Observation
from tests.conftest import PASSWORD
from tests.test_live_channel import receive_until
from tests.waiting import wait_until
from tests.whep_client import connect, hang_up, make_offer

SAMPLE_PARAMS = {
    "camera_id": "demo",
    "session_id": "AAAAAAAAAAAAAAAAAAAAAA",
    "name": "admin",
    "token_id": "1",
    "asset": "app.js",
    "event_id": "1",
    "recording_id": "1",
    "subscription_id": "1",
    "section": "events",
}
JSON_BODIES: dict[str, Any] = {"POST": {}, "PATCH": {}, "PUT": {}}


def two_cameras() -> dict[str, Any]:
    camera = {"source": "demo", "width": 320, "height": 180, "fps": 10}
    return {
        "webrtc": {"ice_addresses": ["127.0.0.1"]},
        "cameras": [{"id": "front", **camera}, {"id": "back", **camera}],
    }


def all_routes(routes: list[Any]) -> list[Any]:
    """Flatten the route table (FastAPI keeps included routers as nested route objects)."""
    flat = []
    for route in routes:
        included = getattr(route, "original_router", None)
        flat.extend(all_routes(included.routes) if included is not None else [route])
    return flat


def http_routes(app: Any) -> list[tuple[str, str]]:
    routes = []
    for route in all_routes(app.routes):
        if isinstance(route, APIRoute):
            routes.extend((method, route.path) for method in sorted(route.methods))
    return routes


def fill(path: str, **overrides: str) -> str:
    params = {**SAMPLE_PARAMS, **overrides}
    return re.sub(r"\{(\w+)\}", lambda m: params[m.group(1)], path)


async def read_until_closed(ws: Any, most: int = 100) -> None:
    """Read (and drop) messages until the server closes; raises WebSocketDisconnect."""
    for _ in range(most):
        await ws.receive_json(timeout=10)


def is_public_route(method: str, path: str) -> bool:
    return (method, path) in PUBLIC or (method, path) == ("HEAD", "/api/health")


@pytest.fixture
async def server(start_server):
    running = await start_server(two_cameras())
    await running.add_user("frontonly", cameras=["front"])
    return running


async def test_every_route_outside_the_allowlist_needs_credentials(server):
    routes = http_routes(server_app(server))
    assert len(routes) > 15  # the walk really covers the API
    anonymous = server.anonymous()
    for method, path in routes:
        if is_public_route(method, path):
            continue
        response = await anonymous.request(method, fill(path), json=JSON_BODIES.get(method))
        assert response.status_code == 401, (method, path, response.status_code, response.text)
        if path != "/{asset}":
            assert response.headers["www-authenticate"].startswith("Bearer")
    # Public assets are exactly the login page's.
    for asset in PUBLIC_ASSETS:
        assert (await anonymous.get(f"/{asset}")).status_code == 200
    assert (await anonymous.get("/app.js")).status_code == 401
    assert (await anonymous.get("/openapi.json")).status_code == 401


async def test_every_websocket_route_refuses_anonymous_handshakes(server):
    ws_routes = [
        r.path for r in all_routes(server_app(server).routes) if isinstance(r, APIWebSocketRoute)
    ]
    assert ws_routes == ["/api/ws", "/api/cameras/{camera_id}/tuner"]
    for path in ws_routes:
        with pytest.raises(WebSocketUpgradeError) as refused:
            async with aconnect_ws(server.base_url + fill(path), server.anonymous()):
                pass
        assert refused.value.response.status_code == 403


async def test_openapi_operations_all_need_credentials(server):
    schema = (await server.client.get("/openapi.json")).json()
    anonymous = server.anonymous()
    checked = 0
    for path, operations in schema["paths"].items():
        for method in operations:
            if is_public_route(method.upper(), path):
                continue
            response = await anonymous.request(
                method.upper(), fill(path), json=JSON_BODIES.get(method.upper())
            )
            assert response.status_code == 401, (method, path, response.text)
            checked += 1
    assert checked >= 15


async def test_viewer_cannot_reach_other_cameras_by_any_path(server):
    viewer = await server.client_for("frontonly")
    cameras = (await viewer.get("/api/cameras")).json()["cameras"]
    assert [c["id"] for c in cameras] == ["front"]
    for method, path in http_routes(server_app(server)):
        if "{camera_id}" not in path:
            continue
        response = await viewer.request(
            method, fill(path, camera_id="back"), json=JSON_BODIES.get(method)
        )
        assert response.status_code == 403, (method, path, response.text)
    # Events of the other camera, by id, by filter, or in the list.
    observe = server.services.events.observe
    observe(Observation("back", "motion", "start", time.time(), score=0.2))
    observe(Observation("front", "motion", "start", time.time(), score=0.1))
    listed = (await viewer.get("/api/events")).json()["events"]
    assert {e["camera"] for e in listed} == {"front"}
    back_id = next(
        e["id"]
        for e in (await server.client.get("/api/events")).json()["events"]
        if e["camera"] == "back"
    )
    for method, path in http_routes(server_app(server)):
        if "{event_id}" in path:
            response = await viewer.request(method, fill(path, event_id=str(back_id)))
            assert response.status_code == 403, (method, path, response.text)
    # The back camera's clip of that event, by every recording route.
    event = (await server.client.get(f"/api/events/{back_id}")).json()
    clip = str(event["clip"]["id"])
    await server.wait_online("back")

    async def stored() -> bool:
        return (await server.client.get(f"/api/recordings/{clip}")).status_code == 200

    await wait_until(stored, 20, "the clip to be stored", interval=0.05)
    for method, path in http_routes(server_app(server)):
        if "{recording_id}" in path:
            response = await viewer.request(method, fill(path, recording_id=clip))
            assert response.status_code == 403, (method, path, response.text)
    listed = (await viewer.get("/api/recordings")).json()["recordings"]
    assert all(r["camera"] == "front" for r in listed)
    assert (await viewer.get("/api/events", params={"camera": "back"})).status_code == 403
    # What the viewer may see works.
    assert (await viewer.get("/api/cameras/front")).status_code == 200
    # Admin-only resources are refused.
    for path in ("/api/users", "/api/audit"):
        assert (await viewer.get(path)).status_code == 403
    response = await viewer.post(
        "/api/users", json={"name": "x", "password": "long-enough-pass-1", "role": "admin"}
    )
    assert response.status_code == 403
    response = await viewer.post("/api/tokens", json={"name": "t", "user": "admin"})
    assert response.status_code == 403


async def test_viewer_live_channel_only_carries_its_cameras(server):
    viewer = await server.client_for("frontonly")
    async with aconnect_ws(server.base_url + "/api/ws", viewer) as ws:
        hello = await ws.receive_json(timeout=10)
        assert hello["type"] == "hello"
        assert [c["camera"] for c in hello["cameras"]] == ["front"]
        # A status change of the other camera is not delivered; one of its own is.
        back, front = server.camera("back"), server.camera("front")
        back.set_status(False, "unplugged")
        front.set_status(False, "unplugged")
        # Up to the first camera status (an alert about the front camera may come first).
        received = await receive_until(ws, lambda m: m["type"] == "camera")
        assert (received[-1]["camera"], received[-1]["status"]) == ("front", "offline")
        about = [(m.get("camera"), (m.get("event") or {}).get("camera")) for m in received]
        assert all("back" not in cameras for cameras in about)


async def test_viewer_cannot_hang_up_someone_elses_viewer(server):
    await server.wait_online("front")
    viewer = await connect(server.client, "front", audio=False)
    try:
        other = await server.client_for("frontonly")
        # Even knowing the session URL, another user may not end it.
        assert (await other.delete(viewer.location)).status_code == 404
        assert server.services.webrtc.viewers("front") == 1
    finally:
        await hang_up(server.client, viewer)


async def test_login_logout_and_session_cookie_flags(server):
    client = server.anonymous(headers={"Origin": server.base_url})
    response = await client.post("/api/auth/login", json={"username": "admin", "password": "x"})
    assert response.status_code == 401
    response = await client.post(
        "/api/auth/login", json={"username": "admin", "password": PASSWORD}
    )
    assert response.status_code == 200
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie  # plain HTTP on the LAN: a Secure cookie would be lost
    assert (await client.get("/api/cameras")).status_code == 200
    assert (await client.post("/api/auth/logout")).status_code == 204
    assert (await client.get("/api/cameras")).status_code == 401


async def test_session_cookie_is_secure_over_tls(start_server):
    server = await start_server(two_cameras(), tls=True)
    assert server.base_url.startswith("https://")
    client = server.anonymous(headers={"Origin": server.base_url})
    response = await client.post(
        "/api/auth/login", json={"username": "admin", "password": PASSWORD}
    )
    assert response.status_code == 200
    assert "secure" in response.headers["set-cookie"].lower()
    assert (await client.get("/api/cameras")).status_code == 200


async def test_password_change_ends_other_sessions_and_keeps_this_one(server):
    first = await server.browser_login("frontonly")
    second = await server.browser_login("frontonly")
    response = await first.post(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": "a-new-long-secret-42"},
    )
    assert response.status_code == 200, response.text
    assert (await first.get("/api/cameras")).status_code == 200  # renewed
    assert (await second.get("/api/cameras")).status_code == 401  # ended
    wrong = await first.post(
        "/api/auth/password",
        json={"current_password": "nope", "new_password": "another-long-secret-1"},
    )
    assert wrong.status_code == 403


async def test_removing_a_user_ends_everything_of_theirs(server):
    await server.wait_online("front")
    browser = await server.browser_login("frontonly")
    scripted = await server.client_for("frontonly")
    viewer = await connect(scripted, "front", audio=False)
    await viewer.next_video_frame()
    async with aconnect_ws(server.base_url + "/api/ws", browser) as ws:
        await ws.receive_json(timeout=10)
        assert (await server.client.delete("/api/users/frontonly")).status_code == 204
        # Messages already on their way (the camera's clip opening) may come first.
        with pytest.raises(WebSocketDisconnect) as closed:
            await read_until_closed(ws)
        assert closed.value.code == 4401
    assert (await browser.get("/api/cameras")).status_code == 401
    assert (await scripted.get("/api/cameras")).status_code == 401
    await wait_until(lambda: server.services.webrtc.viewers("front") == 0, 10, "viewer closed")
    await viewer.pc.close()


async def test_expired_and_idle_sessions_end(server):
    client = await server.browser_login("frontonly")
    db = server.services.db
    await db.run(
        lambda s: s.execute(update(LoginSession).values(last_seen_at=now() - timedelta(days=8)))
    )
    assert (await client.get("/api/cameras")).status_code == 401
    client = await server.browser_login("frontonly")
    await db.run(
        lambda s: s.execute(update(LoginSession).values(expires_at=now() - timedelta(seconds=1)))
    )
    assert (await client.get("/api/cameras")).status_code == 401


async def test_tokens_are_revocable_and_expire(server):
    created = await server.client.post("/api/tokens", json={"name": "phone", "expires_days": 1})
    assert created.status_code == 201
    body = created.json()
    token = body["token"]
    phone = server.anonymous(headers={"Authorization": f"Bearer {token}"})
    assert (await phone.get("/api/cameras")).status_code == 200
    listed = (await server.client.get("/api/tokens")).json()
    assert all("token" not in entry for entry in listed)  # never shown again
    assert (await server.client.delete(f"/api/tokens/{body['id']}")).status_code == 204
    assert (await phone.get("/api/cameras")).status_code == 401

    created = (await server.client.post("/api/tokens", json={"name": "old"})).json()
    old = server.anonymous(headers={"Authorization": f"Bearer {created['token']}"})
    assert (await old.get("/api/cameras")).status_code == 200
    await server.services.db.run(
        lambda s: s.execute(
            update(ApiToken)
            .where(ApiToken.id == created["id"])
            .values(expires_at=now() - timedelta(seconds=1))
        )
    )
    assert (await old.get("/api/cameras")).status_code == 401
    garbage = server.anonymous(headers={"Authorization": "Bearer sc_not-a-real-token"})
    assert (await garbage.get("/api/cameras")).status_code == 401


async def test_cross_site_requests_are_refused(server):
    await server.wait_online("front")
    cookie_client = await server.browser_login("admin")
    offer = await make_offer(audio=False)
    sdp = offer.localDescription.sdp
    await offer.close()
    whep = "/api/cameras/front/whep"
    for origin in ("https://evil.example", "null", "http://127.0.0.1.evil.example"):
        response = await cookie_client.post(
            whep, content=sdp, headers={"Content-Type": "application/sdp", "Origin": origin}
        )
        assert response.status_code == 403, origin
        response = await cookie_client.post(
            "/api/tokens", json={"name": "stolen"}, headers={"Origin": origin}
        )
        assert response.status_code == 403, origin
        response = await server.anonymous().post(
            "/api/auth/login",
            json={"username": "admin", "password": PASSWORD},
            headers={"Origin": origin},
        )
        assert response.status_code == 403, origin
    # No Origin at all: the session's CSRF token is required.
    del cookie_client.headers["Origin"]
    response = await cookie_client.post("/api/tokens", json={"name": "no-origin"})
    assert response.status_code == 403
    csrf = (await cookie_client.get("/api/auth/me")).json()["csrf_token"]
    response = await cookie_client.post(
        "/api/tokens", json={"name": "with-csrf"}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 201
    assert server.services.webrtc.viewers("front") == 0


async def test_cross_site_websockets_are_refused(server):
    cookie_client = await server.browser_login("admin")
    for origin in ("https://evil.example", "null"):
        with pytest.raises(WebSocketUpgradeError) as refused:
            async with aconnect_ws(
                server.base_url + "/api/ws", cookie_client, headers={"Origin": origin}
            ):
                pass
        assert refused.value.response.status_code == 403
    async with aconnect_ws(
        server.base_url + "/api/ws", cookie_client, headers={"Origin": server.base_url}
    ) as ws:
        assert (await ws.receive_json(timeout=10))["type"] == "hello"


async def test_configured_extra_origin_is_allowed(start_server):
    config = two_cameras()
    config["security"] = {"allowed_origins": ["https://cams.example.org"]}
    server = await start_server(config)
    client = await server.browser_login("admin")
    response = await client.post(
        "/api/tokens", json={"name": "ok"}, headers={"Origin": "https://cams.example.org"}
    )
    assert response.status_code == 201
    async with aconnect_ws(
        server.base_url + "/api/ws", client, headers={"Origin": "https://cams.example.org"}
    ) as ws:
        assert (await ws.receive_json(timeout=10))["type"] == "hello"


async def test_security_headers(server):
    client = await server.browser_login("admin")
    for path in ("/", "/login", "/api/cameras", "/app.js"):
        response = await client.get(path, follow_redirects=False)
        headers = response.headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"


async def test_browser_without_session_is_sent_to_login(server):
    anonymous = server.anonymous()
    response = await anonymous.get("/", headers={"Accept": "text/html"})
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2F"
    response = await anonymous.get("/login")
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]


async def test_first_admin_needs_the_setup_code(start_server):
    server = await start_server(two_cameras(), admin=False)
    code = server.services.setup_code
    assert code
    client = server.anonymous(headers={"Origin": server.base_url})
    assert (await client.get("/api/auth/setup")).json() == {"needed": True}
    assert (await client.get("/login", follow_redirects=False)).headers["location"] == "/setup"
    body = {"code": "AAAA-BBBB-CCCC", "username": "root", "password": "a-long-pass-phrase-1"}
    assert (await client.post("/api/auth/setup", json=body)).status_code == 403
    body["code"] = code
    weak = {**body, "password": "password123"}
    response = await client.post("/api/auth/setup", json=weak)
    assert response.status_code == 400
    assert "common" in response.json()["detail"]
    response = await client.post("/api/auth/setup", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["role"] == "admin"
    assert (await client.get("/api/cameras")).status_code == 200
    assert (await client.get("/api/auth/setup")).json() == {"needed": False}
    again = await server.anonymous().post("/api/auth/setup", json=body)
    assert again.status_code == 409
    audit = (await client.get("/api/audit")).json()
    assert [e["action"] for e in audit][-2:] == ["setup", "setup_failed"]


def server_app(server: Any) -> Any:
    return server.app
