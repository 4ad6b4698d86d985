"""What notifications keep in the database: push subscriptions, snoozes and the decision
log. Every method is synchronous and takes a ``Session`` (run through ``Database.run``);
``LogWriter`` batches log entries into one transaction per second, like the event store.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from ..db import Database, aware
from ..models import NotificationLogEntry, NotificationSnooze, PushSubscription, User

logger = logging.getLogger(__name__)

LOG_QUEUE_MAX = 20_000  # entries waiting for the database; beyond, the oldest are dropped


def endpoint_hash(endpoint: str) -> str:
    return hashlib.sha256(endpoint.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class PushTarget:
    """A subscription with what the policy and the sender need of its owner."""

    id: int
    user_id: int
    user: str
    rights: frozenset[str] | None  # None: every camera (admins, viewers of all cameras)
    name: str
    endpoint: str
    p256dh: str
    auth: str
    cameras: frozenset[str] | None
    kinds: frozenset[str] | None

    @property
    def key(self) -> str:
        return f"push:{self.id}"


def _target(row: PushSubscription, user: User) -> PushTarget:
    rights = None if user.role == "admin" or user.cameras is None else frozenset(user.cameras)
    return PushTarget(
        row.id,
        user.id,
        user.name,
        rights,
        row.name,
        row.endpoint,
        row.p256dh,
        row.auth,
        None if row.cameras is None else frozenset(row.cameras),
        None if row.kinds is None else frozenset(row.kinds),
    )


# ----- subscriptions -------------------------------------------------------------------------


def save_subscription(
    db: Session,
    user_id: int,
    name: str,
    endpoint: str,
    p256dh: str,
    auth: str,
    cameras: list[str] | None,
    kinds: list[str] | None,
) -> PushSubscription:
    """Create, or replace the keys and choices of, the one row of this endpoint (a browser
    subscribing again, or another user on the same browser: it is theirs now)."""
    digest = endpoint_hash(endpoint)
    row = db.scalar(select(PushSubscription).where(PushSubscription.endpoint_hash == digest))
    if row is None:
        row = PushSubscription(endpoint=endpoint, endpoint_hash=digest, created_at=_now())
        db.add(row)
    row.user_id = user_id
    row.name = name
    row.p256dh = p256dh
    row.auth = auth
    row.cameras = cameras
    row.kinds = kinds
    row.last_error = None
    db.flush()
    return row


def take_over(db: Session, user_id: int, previous_endpoint: str) -> PushSubscription | None:
    """Remove the caller's subscription at ``previous_endpoint`` (renewed by the browser)
    and return it, so its name and choices carry over."""
    row = db.scalar(
        select(PushSubscription).where(
            PushSubscription.endpoint_hash == endpoint_hash(previous_endpoint),
            PushSubscription.user_id == user_id,
        )
    )
    if row is not None:
        db.delete(row)
        db.flush()
    return row


def subscriptions(db: Session, user_id: int | None = None) -> list[tuple[PushSubscription, str]]:
    """(subscription, owner name), one user's or (None) everyone's, oldest first."""
    statement = (
        select(PushSubscription, User.name)
        .join(User, User.id == PushSubscription.user_id)
        .order_by(PushSubscription.id)
    )
    if user_id is not None:
        statement = statement.where(PushSubscription.user_id == user_id)
    return [(row, name) for row, name in db.execute(statement)]


def subscription(db: Session, subscription_id: int) -> PushSubscription | None:
    return db.get(PushSubscription, subscription_id)


def delete_subscription(db: Session, subscription_id: int) -> bool:
    row = db.get(PushSubscription, subscription_id)
    if row is None:
        return False
    db.delete(row)
    return True


def push_targets(db: Session, subscription_id: int | None = None) -> list[PushTarget]:
    statement = select(PushSubscription, User).join(User, User.id == PushSubscription.user_id)
    if subscription_id is not None:
        statement = statement.where(PushSubscription.id == subscription_id)
    return [_target(row, user) for row, user in db.execute(statement)]


def record_delivery(db: Session, subscription_id: int, error: str | None) -> None:
    row = db.get(PushSubscription, subscription_id)
    if row is None:
        return
    if error is None:
        row.last_sent_at = _now()
        row.last_error = None
    else:
        row.last_error = error[:500]


# ----- snoozes -------------------------------------------------------------------------------


def snooze(
    db: Session, camera: str, user_id: int | None, until: datetime, by: str
) -> NotificationSnooze:
    """Set (replace) the snooze of ``camera`` for ``user_id`` (None: everyone)."""
    owner = (
        NotificationSnooze.user_id.is_(None)
        if user_id is None
        else NotificationSnooze.user_id == user_id
    )
    db.execute(delete(NotificationSnooze).where(NotificationSnooze.camera == camera, owner))
    row = NotificationSnooze(
        camera=camera, user_id=user_id, until=until, created_by=by, created_at=_now()
    )
    db.add(row)
    db.flush()
    return row


def unsnooze(db: Session, camera: str, user_id: int | None) -> None:
    owner = (
        NotificationSnooze.user_id.is_(None)
        if user_id is None
        else NotificationSnooze.user_id == user_id
    )
    db.execute(delete(NotificationSnooze).where(NotificationSnooze.camera == camera, owner))


def active_snoozes(db: Session, user_id: int | None = None) -> list[NotificationSnooze]:
    """Snoozes not over yet (of ``user_id`` and everyone's, or all of them)."""
    statement = select(NotificationSnooze).where(NotificationSnooze.until > _now())
    if user_id is not None:
        statement = statement.where(
            or_(NotificationSnooze.user_id == user_id, NotificationSnooze.user_id.is_(None))
        )
    return list(db.scalars(statement.order_by(NotificationSnooze.camera)))


# ----- the log -------------------------------------------------------------------------------


def log_entries(
    db: Session,
    limit: int,
    before: int | None,
    user_id: int | None,
    cameras: list[str] | None,
) -> list[NotificationLogEntry]:
    """Newest first; only ``user_id``'s and only ``cameras`` when they are given."""
    statement = select(NotificationLogEntry).order_by(NotificationLogEntry.id.desc()).limit(limit)
    if before is not None:
        statement = statement.where(NotificationLogEntry.id < before)
    if user_id is not None:
        statement = statement.where(NotificationLogEntry.user_id == user_id)
    if cameras is not None:
        statement = statement.where(NotificationLogEntry.camera.in_(cameras))
    return list(db.scalars(statement))


def prune(db: Session, keep_days: float, max_entries: int) -> None:
    """Forget log entries older than ``keep_days`` or beyond the newest ``max_entries``,
    and snoozes that are over."""
    unsynchronised = {"synchronize_session": False}  # naive datetimes from SQLite
    cutoff = _now() - timedelta(days=keep_days)
    db.execute(
        delete(NotificationLogEntry)
        .where(NotificationLogEntry.at < cutoff)
        .execution_options(**unsynchronised)
    )
    newest = db.scalar(select(func.max(NotificationLogEntry.id)))
    if newest is not None and newest > max_entries:
        db.execute(
            delete(NotificationLogEntry)
            .where(NotificationLogEntry.id <= newest - max_entries)
            .execution_options(**unsynchronised)
        )
    db.execute(
        delete(NotificationSnooze)
        .where(NotificationSnooze.until < _now())
        .execution_options(**unsynchronised)
    )


class LogWriter:
    """Queues log entries (event loop) and writes them once per ``flush``."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._pending: collections.deque[dict[str, Any]] = collections.deque()
        self._lock = asyncio.Lock()
        self.dropped = 0

    def put(self, **entry: Any) -> None:
        entry.setdefault("at", _now())
        if len(self._pending) >= LOG_QUEUE_MAX:
            self._pending.popleft()
            self.dropped += 1
        self._pending.append(entry)

    async def flush(self) -> None:
        async with self._lock:
            batch = list(self._pending)
            self._pending.clear()
            if not batch:
                return
            try:
                await self._db.run(lambda db: db.add_all(NotificationLogEntry(**e) for e in batch))
            except BaseException:
                self._pending.extendleft(reversed(batch))  # again next time, in order
                raise


def _now() -> datetime:
    return datetime.now(UTC)


def iso_utc(moment: datetime | None) -> str | None:
    return None if moment is None else aware(moment).isoformat().replace("+00:00", "Z")
