"""Edges of the REST and WebSocket inputs found by reading the code (issue 14)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from httpx_ws import WebSocketUpgradeError, aconnect_ws

from api.models import Recording
from tests.conftest import demo_config

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
