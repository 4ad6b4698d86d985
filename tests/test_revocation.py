"""Revoking or expiring a credential ends what it opened: WebSocket connections, WHEP
viewers, talk-back sessions and motion tuners (issue 14)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from httpx_ws import WebSocketDisconnect, aconnect_ws
from sqlalchemy import delete, update

from api.accounts import now
from api.models import ApiToken, LoginSession
from tests.test_access import read_until_closed, two_cameras
from tests.test_talk import talk
from tests.waiting import wait_until
from tests.whep_client import connect


@pytest.fixture
async def server(start_server: Any) -> Any:
    running = await start_server(two_cameras())
    await running.add_user("phone", role="viewer")
    await running.wait_online("front")
    return running


async def open_both(server: Any, client: Any) -> Any:
    viewer = await connect(client, "front", audio=False)
    await viewer.next_video_frame()
    return viewer


async def closed_with(ws: Any) -> int:
    with pytest.raises(WebSocketDisconnect) as closed:
        await read_until_closed(ws)
    return int(closed.value.code)


async def test_revoking_a_token_ends_its_websocket_and_whep_sessions(server: Any) -> None:
    # Regression: DELETE /api/tokens/{id} refused the token's next requests but left its
    # open WebSocket and WebRTC viewer running (docs/api.md promises "revoked at once").
    created = (await server.client.post("/api/tokens", json={"name": "p", "user": "phone"})).json()
    phone = server.anonymous(headers={"Authorization": f"Bearer {created['token']}"})
    other = await server.client_for("phone")  # another token of the same user stays
    viewer = await open_both(server, phone)
    other_viewer = await open_both(server, other)
    async with (
        aconnect_ws(server.base_url + "/api/ws", phone) as ws,
        aconnect_ws(server.base_url + "/api/ws", other) as other_ws,
    ):
        await ws.receive_json(timeout=10)
        await other_ws.receive_json(timeout=10)
        assert (await server.client.delete(f"/api/tokens/{created['id']}")).status_code == 204
        assert await closed_with(ws) == 4401
        await wait_until(lambda: server.services.webrtc.viewers("front") == 1, 10, "hang-up")
        assert len(server.services.live.connections) == 1  # the other token's socket
    await viewer.pc.close()
    await other_viewer.pc.close()


async def test_an_expired_session_loses_its_open_sockets(server: Any) -> None:
    # Regression: expiry was checked per request only; an open socket outlived its session.
    browser = await server.browser_login("phone")
    viewer = await open_both(server, browser)
    async with aconnect_ws(server.base_url + "/api/ws", browser) as ws:
        await ws.receive_json(timeout=10)
        await server.services.check_credentials()  # still valid: nothing ends
        assert len(server.services.live.connections) == 1
        await server.services.db.run(
            lambda db: db.execute(
                update(LoginSession).values(expires_at=now() - timedelta(seconds=1))
            )
        )
        await server.services.check_credentials()  # what the watch task runs every 30 s
        assert await closed_with(ws) == 4401
    await wait_until(lambda: server.services.webrtc.viewers("front") == 0, 10, "hang-up")
    await viewer.pc.close()


async def test_revocation_written_by_the_cli_reaches_open_sockets(server: Any) -> None:
    token = await server.token_for("phone")
    phone = server.anonymous(headers={"Authorization": f"Bearer {token}"})
    browser = await server.browser_login("phone")
    async with (
        aconnect_ws(server.base_url + "/api/ws", phone) as by_token,
        aconnect_ws(server.base_url + "/api/ws", browser) as by_cookie,
    ):
        await by_token.receive_json(timeout=10)
        await by_cookie.receive_json(timeout=10)

        def revoke(db: Any) -> None:  # what `sentrycam user passwd` and a token CLI do
            db.execute(update(ApiToken).values(revoked_at=now()))
            db.execute(delete(LoginSession))

        await server.services.db.run(revoke)
        await server.services.check_credentials()
        assert await closed_with(by_token) == 4401
        assert await closed_with(by_cookie) == 4401


async def with_speaker(start_server: Any) -> Any:
    """Two cameras, "front" with a speaker (played into /dev/null); "ann" is an admin."""
    config = two_cameras()
    config["cameras"][0]["speaker"] = "hw:Loopback,0"
    server = await start_server(config)
    server.services.talk.open_speaker = lambda camera: ("/dev/null", "wav")
    await server.add_user("ann", role="admin")
    return server


async def test_revocation_ends_talk_sessions_and_motion_tuners(start_server: Any) -> None:
    # Regression: revoking a token or demoting a user ended its /api/ws sockets and WHEP
    # viewers, but a talk-back session and an open motion tuner went on.
    server = await with_speaker(start_server)
    created = (await server.client.post("/api/tokens", json={"name": "a", "user": "ann"})).json()
    revoked = server.anonymous(headers={"Authorization": f"Bearer {created['token']}"})
    kept = await server.client_for("ann")  # another token of the same user
    messages: list[dict[str, Any]] = []
    server.services.events.add_listener(lambda message, camera: messages.append(message))
    await server.wait_online("front")
    pc, response = await talk(revoked, "front")
    assert response.status_code == 201, response.text
    tuner = server.base_url + "/api/cameras/front/tuner"
    async with (
        aconnect_ws(tuner, revoked) as by_revoked,
        aconnect_ws(tuner, kept) as by_kept,
    ):
        assert (await by_revoked.receive_json(timeout=10))["type"] == "hello"
        assert (await by_kept.receive_json(timeout=10))["type"] == "hello"
        assert (await server.client.delete(f"/api/tokens/{created['id']}")).status_code == 204
        assert server.services.talk.current("front") is None
        assert {"type": "talk", "camera": "front", "talking": False} in [
            {k: m.get(k) for k in ("type", "camera", "talking")} for m in messages
        ]
        assert await closed_with(by_revoked) == 4401
        assert len(server.services.tuners) == 1
        assert (await by_kept.receive_json(timeout=10))["type"] == "frame"  # goes on
        # Demoting the user ends the rest (their rights changed: they reconnect).
        demoted = await server.client.patch("/api/users/ann", json={"role": "viewer"})
        assert demoted.status_code == 200, demoted.text
        assert await closed_with(by_kept) == 4401
    await wait_until(lambda: len(server.services.tuners) == 0, 10, "the tuners forgotten")
    assert server.camera("front").tuners == 0
    await pc.close()


async def test_expired_credentials_end_talk_and_tuners_too(start_server: Any) -> None:
    server = await with_speaker(start_server)
    browser = await server.browser_login("ann")
    await server.wait_online("front")
    pc, response = await talk(browser, "front")
    assert response.status_code == 201, response.text
    async with aconnect_ws(server.base_url + "/api/cameras/front/tuner", browser) as ws:
        assert (await ws.receive_json(timeout=10))["type"] == "hello"
        await server.services.check_credentials()  # still valid: nothing ends
        assert server.services.talk.current("front") is not None
        await server.services.db.run(
            lambda db: db.execute(
                update(LoginSession).values(expires_at=now() - timedelta(seconds=1))
            )
        )
        await server.services.check_credentials()  # what the watch task runs every 30 s
        assert await closed_with(ws) == 4401
    assert server.services.talk.current("front") is None
    await pc.close()
