"""Events while the database is away: kept (bounded), written when it returns (issue 14)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

import api.services.event_store as event_store
from api.models import Event, LiveMessage
from api.services.event_store import EventStore
from camera.analysis import Observation
from tests.conftest import demo_config, wait_until
from tests.postgres import PostgresServer, find_bin_dir

OUTAGE_S = 60  # how long PostgreSQL stays stopped (issue 14: "for a minute")


class FailingDatabase:
    """A database that is away: every call fails like a refused connection."""

    async def run(self, work: Any) -> Any:
        raise ConnectionRefusedError("database unreachable (injected)")


def event(event_id: int, score: float = 0.1) -> Event:
    return Event(
        id=event_id,
        camera="front",
        kind="motion",
        start=datetime.now(UTC),
        end=None,
        score=score,
        regions=[[0.1, 0.1, 0.2, 0.2]],
        zones=[],
        alert=False,
        snapshot=None,
        acknowledged_at=None,
        acknowledged_by=None,
        detail="",
        clip_id=None,
    )


def test_queued_events_are_copies_the_loop_may_keep_changing(tmp_path: Path) -> None:
    # Regression: the queue held the live ORM objects and the worker thread copied them
    # while the loop went on changing them (scores, regions) in the middle of the copy.
    store = EventStore(FailingDatabase(), tmp_path, 30)  # type: ignore[arg-type]
    live = event(1, 0.1)
    store.put_event(live)
    live.score = 0.9
    live.regions[0][0] = 0.5
    queued = store._pending.events[1]
    assert queued["score"] == 0.1
    assert queued["regions"] == [[0.1, 0.1, 0.2, 0.2]]
    assert not isinstance(queued, Event)


async def test_a_database_away_for_long_drops_the_oldest_and_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Regression: events waiting for a failed write grew without bound.
    monkeypatch.setattr(event_store, "MAX_PENDING_MESSAGES", 100)
    monkeypatch.setattr(event_store, "MAX_PENDING_EVENTS", 10)
    store = EventStore(FailingDatabase(), tmp_path, 30)  # type: ignore[arg-type]
    for i in range(1, 251):
        store.put_message(i, None, {"id": i, "type": "probe"})
        store.put_event(event(i))
        if i % 50 == 0:
            with pytest.raises(ConnectionRefusedError):
                await store.flush()  # a failed batch goes back in front, still bounded
    assert [m[0] for m in store._pending.messages] == list(range(151, 251))
    assert list(store._pending.events) == list(range(241, 251))
    assert store.dropped.messages == 150
    assert store.dropped.events == 240
    assert store.lost_through == 150


async def test_postgresql_stopped_mid_run_loses_no_event(start_server: Any) -> None:
    postgres = PostgresServer(find_bin_dir())
    try:
        postgres.start()
        url = postgres.create_database("outage")
        config = demo_config(motion={"enabled": False}, recording={"events": False})
        config["database"] = {"url": url}
        server = await start_server(config)
        events = server.services.events
        await server.wait_online("demo")

        def observe(n: int) -> None:
            for _ in range(n):
                now = time.time()
                events.observe(Observation("demo", "sound", "start", now, 0.5))
                events.observe(Observation("demo", "sound", "end", now + 0.1, 0.5))

        observe(2)
        await events.flush()
        postgres.stop()
        stopped = time.monotonic()
        observe(5)  # while it is away: live messages go on, rows wait
        await wait_until(lambda: not events.database_ok, 20, "the failure noticed")
        health = (await server.anonymous().get("/api/health")).json()
        assert health["database"] == "failing"
        assert health["events_waiting"] > 0
        # Away for a minute, with an event every two seconds: the server goes on answering,
        # with a clear 503 where it needs the database (here: to check the token).
        observed = 7
        while time.monotonic() - stopped < OUTAGE_S:
            observe(1)
            observed += 1
            answer = await server.client.get("/api/cameras")
            assert answer.status_code == 503, answer.text
            assert answer.json()["detail"] == "the database is unavailable; try again shortly"
            assert answer.headers["Retry-After"] == "5"
            assert (await server.anonymous().get("/api/health")).status_code == 200
            await asyncio.sleep(2)  # the pace of the events, not a wait for a state
        health = (await server.anonymous().get("/api/health")).json()
        assert health["database"] == "failing"
        assert health["events_dropped"] == 0
        last_id = server.services.live.last_id
        postgres.restart()
        await wait_until(lambda: events.database_ok, 30, "writing to work again")
        await events.flush()

        def count(db: Any) -> tuple[int, int]:
            return (
                db.scalar(select(func.count()).select_from(Event)),
                db.scalar(select(func.max(LiveMessage.id))),
            )

        stored_events, newest_message = await server.services.db.run(count)
        assert stored_events == observed
        assert newest_message == last_id
        health = (await server.anonymous().get("/api/health")).json()
        assert health["database"] == "ok"
        assert health["events_dropped"] == 0
        assert (await server.client.get("/api/events")).status_code == 200
    finally:
        postgres.stop()
        postgres.remove()
