"""Edges of the REST and WebSocket inputs found by reading the code (issue 14)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from httpx_ws import WebSocketUpgradeError, aconnect_ws

from api.models import Recording
from tests.conftest import demo_config, wait_until

TOO_BIG = str(2**64 + 5)  # a number SQLite cannot bind (OverflowError)
JUST_TOO_BIG = str(2**63)  # fits the 19-digit cursor pattern, not a signed 64-bit column


def clip(recording_id: int, events: list[int]) -> Recording:
    start = datetime(2026, 12, 1, tzinfo=UTC) + timedelta(seconds=recording_id)
    return Recording(
        id=recording_id,
        camera="demo",
        kind="clip",
        path=f"demo/clip/{recording_id}.mp4",
        start=start,
        end=start + timedelta(seconds=1),
        duration=1.0,
        size=1000,
        sha256=None,
        audio=False,
        state="complete",
        events=events,
        detail="",
    )


async def test_filtering_recordings_by_event_pages_over_all_matches(start_server: Any) -> None:
    # Regression: the event filter ran after the SQL LIMIT, so a page held only the matches
    # among its first `limit` rows and the cursor skipped the rest.
    server = await start_server(demo_config(recording={"events": False}))
    # Event 7's clips are ids 3, 40, 77, 114; every other clip shows event 8.
    rows = [clip(i, [7] if i % 37 == 3 else [8]) for i in range(1, 121)]

    def insert(db: Any) -> None:
        db.add_all(rows)

    await server.services.db.run(insert)
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"event": 7, "limit": 2, "order": "oldest"}
        if cursor:
            params["cursor"] = cursor
        page = (await server.client.get("/api/recordings", params=params)).json()
        assert all(7 in r["events"] for r in page["recordings"])
        seen += [r["id"] for r in page["recordings"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [3, 40, 77, 114]
    newest = (await server.client.get("/api/recordings", params={"event": 7, "limit": 3})).json()
    assert [r["id"] for r in newest["recordings"]] == [114, 77, 40]
    assert newest["next_cursor"] == "40"


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("GET", "/api/events", {"cursor": JUST_TOO_BIG}),
        ("GET", "/api/recordings", {"cursor": JUST_TOO_BIG}),
        ("GET", "/api/audit", {"before": TOO_BIG}),
        ("DELETE", f"/api/tokens/{TOO_BIG}", {}),
        ("GET", f"/api/events/{TOO_BIG}", {}),
        ("GET", f"/api/recordings/{TOO_BIG}", {}),
    ],
)
async def test_ids_beyond_64_bits_are_refused_not_a_server_error(
    start_server: Any, method: str, path: str, params: dict[str, str]
) -> None:
    server = await start_server(demo_config(recording={"events": False}))
    response = await server.client.request(method, path, params=params)
    assert response.status_code == 422, response.text


async def test_a_websocket_resume_id_beyond_64_bits_is_refused(start_server: Any) -> None:
    server = await start_server(demo_config(recording={"events": False}))
    with pytest.raises(WebSocketUpgradeError) as refused:
        async with aconnect_ws(server.base_url + f"/api/ws?last_id={TOO_BIG}", server.client):
            pass
    assert refused.value.response.status_code == 403


async def test_password_hashing_cannot_stall_other_requests(
    start_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Regression: Argon2 ran in the default thread pool with every database call, so a burst
    # of logins (each hash 64 MiB, ~0.5 s on a Pi) held every worker and stalled everything.
    import threading

    import api.accounts
    import api.passwords

    server = await start_server(demo_config(recording={"events": False}))
    release = threading.Event()
    started: list[str] = []

    def stuck_verify(stored: str, password: str) -> bool:
        started.append(password)
        release.wait(60)
        return False

    monkeypatch.setattr(api.passwords, "verify_password", stuck_verify)
    monkeypatch.setattr(api.accounts, "verify_password", stuck_verify)  # where it was used
    anonymous = server.anonymous(headers={"Origin": server.base_url})
    logins = [
        asyncio.create_task(
            anonymous.post("/api/auth/login", json={"username": f"u{i}", "password": "x" * 12})
        )
        for i in range(12)
    ]
    try:
        await wait_until(lambda: len(started) >= 1, 10, "a hash to start")
        # Hashes are stuck; the database and everything else still answer.
        for path in ("/api/events", "/api/cameras", "/api/tokens", "/api/audit"):
            response = await asyncio.wait_for(server.client.get(path), 20)
            assert response.status_code == 200, path
        assert len(started) <= getattr(api.passwords, "PASSWORD_WORKERS", 0)
    finally:
        release.set()
    statuses = [r.status_code for r in await asyncio.gather(*logins)]
    assert set(statuses) <= {401, 429}
