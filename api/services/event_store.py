"""Where events, their snapshots and the live channel's messages are stored.

Writes are batched: changes queue in memory and one transaction per flush writes them all
(an SD card should not see a write per frame of a busy scene); a batch that fails is put
back in front of what queued meanwhile, so order is kept and nothing is lost while the
database is away for a while. The queue is bounded (``MAX_PENDING_*``): past that, the
oldest queued items are dropped and counted (``dropped``), and ``lost_through`` tells the
live channel which message ids a replay can no longer serve. Snapshots are written to a
temporary name and renamed, so a crash never leaves half a picture. Every database call
runs in a worker thread (``Database.run``); what crosses to it are plain values copied on
the loop, never the ORM objects the event service keeps changing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from camera.snapshots import PendingJpeg

from ..db import Database
from ..models import CameraSetting, Event, LiveMessage, Recording
from ..payloads import recording_summary
from .live_channel import Stored

MAX_PENDING_EVENTS = 5_000
MAX_PENDING_MESSAGES = 20_000
MAX_PENDING_SNAPSHOT_BYTES = 32 * 1024 * 1024

EventValues = dict[str, Any]  # an event's column values, copied on the loop
MessageValues = tuple[int, datetime, str | None, dict[str, Any]]  # id, at, camera, payload


@dataclass
class _Batch:
    events: dict[int, EventValues] = field(default_factory=dict)  # insert or update, by id
    messages: list[MessageValues] = field(default_factory=list)
    snapshots: list[tuple[Path, bytes | PendingJpeg]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.events or self.messages or self.snapshots)


@dataclass
class Dropped:
    """What the bounded queue had to let go while the database was away."""

    events: int = 0
    messages: int = 0
    snapshots: int = 0

    def __bool__(self) -> bool:
        return bool(self.events or self.messages or self.snapshots)


@dataclass(frozen=True)
class StoredState:
    """What a (re)start continues from."""

    last_event_id: int
    last_message_id: int
    oldest_message_id: int | None
    armed: dict[str, bool]


class EventStore:
    def __init__(self, db: Database, snapshot_dir: Path, keep_days: float) -> None:
        self._db = db
        self.snapshot_dir = snapshot_dir
        self._keep_days = keep_days
        self._pending = _Batch()
        self._lock = asyncio.Lock()
        self._snapshot_bytes = 0
        self.dropped = Dropped()
        self.lost_through = 0  # the newest message id dropped unwritten (0: none)

    # ----- queueing (event loop) ----------------------------------------------------------

    @property
    def pending(self) -> int:
        """Items waiting to be written."""
        batch = self._pending
        return len(batch.events) + len(batch.messages) + len(batch.snapshots)

    def put_event(self, event: Event) -> None:
        events = self._pending.events
        events.pop(event.id, None)  # re-inserted: the dict's order is "last changed"
        events[event.id] = event_values(event)
        self._bound()

    def put_message(self, message_id: int, camera: str | None, payload: dict[str, Any]) -> None:
        self._pending.messages.append((message_id, datetime.now(UTC), camera, payload))
        self._bound()

    def put_snapshot(self, relative: str, jpeg: bytes | PendingJpeg) -> None:
        """A picture to write: JPEG bytes, or a frame whose JPEG is made when written."""
        self._pending.snapshots.append((self.snapshot_dir / relative, jpeg))
        self._snapshot_bytes += _snapshot_size(jpeg)
        self._bound()

    def _bound(self) -> None:
        """Drop the oldest queued items past the limits (a database away for long)."""
        batch = self._pending
        while len(batch.events) > MAX_PENDING_EVENTS:
            del batch.events[next(iter(batch.events))]
            self.dropped.events += 1
        excess = len(batch.messages) - MAX_PENDING_MESSAGES
        if excess > 0:
            self.lost_through = max(self.lost_through, batch.messages[excess - 1][0])
            del batch.messages[:excess]
            self.dropped.messages += excess
        while self._snapshot_bytes > MAX_PENDING_SNAPSHOT_BYTES and batch.snapshots:
            _, jpeg = batch.snapshots.pop(0)
            self._snapshot_bytes -= _snapshot_size(jpeg)
            self.dropped.snapshots += 1

    async def flush(self) -> None:
        """Write everything queued, in one transaction (in a worker thread)."""
        async with self._lock:
            batch, self._pending = self._pending, _Batch()
            self._snapshot_bytes = 0
            if not batch:
                return
            try:
                await self._db.run(lambda db: _write(db, batch))
            except BaseException:
                self._requeue(batch)
                raise

    def _requeue(self, batch: _Batch) -> None:
        newer = self._pending.events
        self._pending.events = {k: v for k, v in batch.events.items() if k not in newer}
        self._pending.events.update(newer)
        self._pending.messages[:0] = batch.messages
        self._pending.snapshots[:0] = batch.snapshots
        self._snapshot_bytes = sum(_snapshot_size(j) for _, j in self._pending.snapshots)
        self._bound()

    # ----- reading and housekeeping ---------------------------------------------------------

    async def load(self) -> StoredState:
        """Prune, end the events a crash left open, and read where numbering goes on."""

        def load(db: Session) -> StoredState:
            self._prune(db)
            for event in db.scalars(select(Event).where(Event.end.is_(None))):
                event.end = event.start  # ends where the server stopped knowing
                event.detail = (event.detail + " (cut short by a restart)").strip()
            return StoredState(
                last_event_id=db.scalar(select(func.max(Event.id))) or 0,
                last_message_id=db.scalar(select(func.max(LiveMessage.id))) or 0,
                oldest_message_id=db.scalar(select(func.min(LiveMessage.id))),
                armed={row.camera: row.armed for row in db.scalars(select(CameraSetting))},
            )

        return await self._db.run(load)

    async def prune(self) -> int | None:
        """Forget what is older than keep_days; the oldest message id left, if any."""

        def prune(db: Session) -> int | None:
            self._prune(db)
            oldest: int | None = db.scalar(select(func.min(LiveMessage.id)))
            return oldest

        return await self._db.run(prune)

    def _prune(self, db: Session) -> None:
        """Forget events (and their pictures) and live messages older than keep_days."""
        cutoff = datetime.now(UTC) - timedelta(days=self._keep_days)
        for snapshot in db.scalars(
            select(Event.snapshot).where(Event.start < cutoff, Event.snapshot.is_not(None))
        ):
            if snapshot:
                (self.snapshot_dir / snapshot).unlink(missing_ok=True)
        # No in-session synchronisation: SQLite hands back naive datetimes, which Python
        # cannot compare with the aware cutoff (found by tests/test_storage.py).
        unsynchronised = {"synchronize_session": False}
        db.execute(delete(Event).where(Event.start < cutoff).execution_options(**unsynchronised))
        db.execute(
            delete(LiveMessage).where(LiveMessage.at < cutoff).execution_options(**unsynchronised)
        )

    async def set_armed(self, camera: str, armed: bool) -> None:
        def store(db: Session) -> None:
            db.merge(CameraSetting(camera=camera, armed=armed, updated_at=datetime.now(UTC)))

        await self._db.run(store)

    async def messages(self, after: int, upto: int) -> list[Stored]:
        """Stored live messages with ``after < id <= upto``, oldest first (flushes first)."""
        await self.flush()

        def read(db: Session) -> list[Stored]:
            rows = db.scalars(
                select(LiveMessage)
                .where(LiveMessage.id > after, LiveMessage.id <= upto)
                .order_by(LiveMessage.id)
            )
            return [(row.camera, row.payload) for row in rows]

        return await self._db.run(read)


def _write(db: Session, batch: _Batch) -> None:
    for path, jpeg in batch.snapshots:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(jpeg if isinstance(jpeg, bytes) else jpeg.encode())
        temporary.replace(path)  # never a half-written picture
    for values in batch.events.values():
        db.merge(Event(**values))
    for message_id, at, camera, payload in batch.messages:
        db.merge(LiveMessage(id=message_id, at=at, camera=camera, payload=payload))


def event_values(event: Event) -> EventValues:
    """An event's column values, copied (on the loop) for a worker thread to write: the ORM
    object itself stays with the event service, which keeps changing it."""
    values = {column.key: getattr(event, column.key) for column in Event.__table__.columns}
    values["regions"] = [list(region) for region in event.regions]
    values["zones"] = list(event.zones)
    return values


def _snapshot_size(jpeg: bytes | PendingJpeg) -> int:
    return len(jpeg) if isinstance(jpeg, bytes) else jpeg.size_hint


def clip_of(db: Session, event: Event) -> dict[str, Any] | None:
    """The summary of the clip showing ``event``, if it still exists."""
    if event.clip_id is None:
        return None
    recording = db.get(Recording, event.clip_id)
    return None if recording is None else recording_summary(recording)


def clips_of(db: Session, events: list[Event]) -> dict[int, dict[str, Any]]:
    """Clip summaries of many events, by clip id, in one query."""
    ids = {e.clip_id for e in events if e.clip_id is not None}
    if not ids:
        return {}
    rows = db.scalars(select(Recording).where(Recording.id.in_(ids)))
    return {row.id: recording_summary(row) for row in rows}
