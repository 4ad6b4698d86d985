"""Notification tables on both backends (SQLite and a real PostgreSQL server): push
subscriptions (one per browser, renewed, removed with their user), snoozes for one user
or everyone, and the decision log's batched writes and pruning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from api.accounts import Accounts
from api.db import Database
from api.models import NotificationLogEntry, PushSubscription, User
from api.notifications import store
from tests import test_storage
from tests.postgres import postgres_url  # noqa: F401 (the fixture)

# The storage tests' fixtures: an empty, migrated database on each backend.
database_url = test_storage.database_url
open_database = test_storage.open_database
database = test_storage.database
PASSWORD = test_storage.PASSWORD

KEYS = ("B" + "A" * 86, "A" * 22)


def users(db: Database) -> tuple[int, int]:
    accounts = Accounts()
    alice = db.call(lambda s: accounts.create_user(s, "alice", PASSWORD, "viewer", ["porch"]).id)
    bob = db.call(lambda s: accounts.create_user(s, "bob", PASSWORD, "admin", None).id)
    return alice, bob


def test_subscriptions_one_per_browser_renewed_and_removed_with_their_user(database):
    alice, bob = users(database)
    save = store.save_subscription
    first = database.call(
        lambda s: save(s, alice, "phone", "https://p.example/1", *KEYS, ["porch"], None).id
    )
    again = database.call(
        lambda s: save(s, bob, "tablet", "https://p.example/1", *KEYS, None, ["motion"]).id
    )
    assert again == first  # the same browser: one row, now bob's
    targets = database.call(store.push_targets)
    assert [(t.user, t.rights, t.cameras, t.kinds) for t in targets] == [
        ("bob", None, None, frozenset({"motion"}))
    ]
    database.call(lambda s: save(s, alice, "phone", "https://p.example/2", *KEYS, None, None))
    # The browser renewed alice's subscription: the old one goes, its choices carry over.
    old = database.call(lambda s: store.take_over(s, alice, "https://p.example/2"))
    assert old is not None
    assert database.call(lambda s: store.take_over(s, alice, "https://p.example/1")) is None
    rows = database.call(lambda s: store.subscriptions(s))
    assert [(row.endpoint, name) for row, name in rows] == [("https://p.example/1", "bob")]
    database.call(lambda s: s.delete(s.get(User, bob)))  # the foreign key cascades
    assert (
        database.call(lambda s: s.scalar(select(func.count()).select_from(PushSubscription))) == 0
    )


def test_snoozes_for_one_user_and_for_everyone(database):
    alice, bob = users(database)
    soon = datetime.now(UTC) + timedelta(hours=1)
    database.call(lambda s: store.snooze(s, "porch", alice, soon, "alice"))
    database.call(lambda s: store.snooze(s, "porch", alice, soon + timedelta(hours=1), "alice"))
    database.call(lambda s: store.snooze(s, "garage", None, soon, "bob"))
    database.call(lambda s: store.snooze(s, "garage", None, soon, "bob"))
    database.call(lambda s: store.snooze(s, "door", bob, soon, "bob"))
    mine = database.call(lambda s: store.active_snoozes(s, alice))
    assert sorted((r.camera, r.user_id) for r in mine) == [("garage", None), ("porch", alice)]
    database.call(lambda s: store.unsnooze(s, "garage", None))
    assert [r.camera for r in database.call(lambda s: store.active_snoozes(s, alice))] == ["porch"]
    assert len(database.call(lambda s: store.active_snoozes(s))) == 2


async def test_log_is_written_in_batches_read_newest_first_and_pruned(database):
    alice, _ = users(database)
    writer = store.LogWriter(database)
    for i in range(30):
        camera = "porch" if i % 2 else "garage"
        writer.put(
            event_id=i,
            camera=camera,
            kind="motion",
            channel="web_push",
            target="push:1",
            user_id=alice if i < 20 else None,
            outcome="sent",
            reason="alert",
            detail="",
        )
    await writer.flush()
    newest = database.call(lambda s: store.log_entries(s, 5, None, None, None))
    assert [e.event_id for e in newest] == [29, 28, 27, 26, 25]
    page = database.call(lambda s: store.log_entries(s, 100, newest[-1].id, alice, ["porch"]))
    assert [e.event_id for e in page] == [19, 17, 15, 13, 11, 9, 7, 5, 3, 1]
    old = datetime.now(UTC) - timedelta(days=40)
    database.call(
        lambda s: s.execute(
            update(NotificationLogEntry).where(NotificationLogEntry.event_id < 5).values(at=old)
        )
    )
    database.call(lambda s: store.prune(s, keep_days=30, max_entries=20))
    left = sorted(
        e.event_id for e in database.call(lambda s: store.log_entries(s, 100, None, None, None))
    )
    assert left == list(range(10, 30))  # the oldest by age, then by count
