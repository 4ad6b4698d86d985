"""Events: detector verdicts become stored events, alerts and live messages.

Runs on the event loop. Cameras hand in :class:`~camera.analysis.Observation`s (motion,
sound, frozen, tamper) and status changes (offline/online); this service keeps one open
event per camera and kind, decides whether it raises an alert (camera armed, cooldown
over), writes snapshots under the data dir, and publishes every change on the live channel.

Database writes are batched: changes queue in memory and one transaction per
``FLUSH_INTERVAL_S`` writes them all (an SD card should not see a write per frame of a busy
scene). Readers call :meth:`EventService.flush` first, so REST answers are never behind
the WebSocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from camera.analysis import Kind, Observation
from camera.camera import Camera
from camera.config import EventsConfig

from .db import Database
from .live import LiveChannel, camera_message
from .models import CameraSetting, Event, LiveMessage, Recording

logger = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 1.0
PRUNE_INTERVAL_S = 3600.0
KINDS = ("motion", "sound", "offline", "online", "frozen", "tamper", "storage")
SYSTEM_ALERT_INTERVAL_S = 6 * 3600.0


def iso(t: float | datetime | None) -> str | None:
    if t is None:
        return None
    moment = datetime.fromtimestamp(t, UTC) if isinstance(t, float | int) else t
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat().replace("+00:00", "Z")


SYSTEM_CAMERA = "*"  # events not tied to one camera (storage); only admins see them


class RecordingHooks(Protocol):
    """What the recording service does when events begin and end (api/recordings.py)."""

    def event_started(self, event: Event, at: float) -> int | None: ...

    def event_ended(self, event: Event, at: float) -> None: ...

    def clip_summary(self, clip_id: int) -> dict[str, Any] | None: ...


def event_json(event: Event, clip: dict[str, Any] | None = None) -> dict[str, Any]:
    """The event as the API and the live channel show it (a contract: docs/api.md).

    ``clip`` is the summary of the recording that shows it (see ``recording_summary``).
    """
    base = f"/api/events/{event.id}"
    return {
        "id": event.id,
        "camera": event.camera,
        "kind": event.kind,
        "start": iso(event.start),
        "end": iso(event.end),
        "score": round(event.score, 4),
        "regions": event.regions,
        "zones": event.zones,
        "alert": event.alert,
        "acknowledged": event.acknowledged_at is not None,
        "acknowledged_by": event.acknowledged_by,
        "detail": event.detail,
        "links": {
            "self": base,
            "snapshot": f"{base}/snapshot.jpg" if event.snapshot else None,
            "clip": f"/api/recordings/{clip['id']}" if clip else None,
        },
        "clip": clip,
    }


@dataclass
class _Open:
    event: Event
    started: float  # Unix seconds


@dataclass
class _Pending:
    events: dict[int, Event] = field(default_factory=dict)  # insert or update, by id
    messages: list[LiveMessage] = field(default_factory=list)
    snapshots: list[tuple[Path, bytes]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.events or self.messages or self.snapshots)


class EventService:
    def __init__(
        self, db: Database, live: LiveChannel, data_dir: Path, config: EventsConfig
    ) -> None:
        self._db = db
        self._live = live
        self._snapshots = data_dir / "snapshots"
        self._config = config
        self._open: dict[tuple[str, str], _Open] = {}
        self._armed: dict[str, bool] = {}
        self._seen_status: set[str] = set()
        self._last_alert: dict[str, float] = {}
        self._pending = _Pending()
        self._next_event_id = 1
        self._flusher: asyncio.Task[None] | None = None
        self._flush_lock = asyncio.Lock()
        self.recordings: RecordingHooks | None = None

    # ----- life cycle --------------------------------------------------------------------

    async def start(self) -> None:
        def load(db: Session) -> tuple[int, int, dict[str, bool]]:
            self._prune(db)
            # Events left open by a crash end where the server stopped knowing.
            for event in db.scalars(select(Event).where(Event.end.is_(None))):
                event.end = event.start
                event.detail = (event.detail + " (cut short by a restart)").strip()
            event_id = db.scalar(select(func.max(Event.id))) or 0
            message_id = db.scalar(select(func.max(LiveMessage.id))) or 0
            armed = {row.camera: row.armed for row in db.scalars(select(CameraSetting))}
            return event_id, message_id, armed

        event_id, message_id, self._armed = await self._db.run(load)
        self._next_event_id = event_id + 1
        oldest = await self._db.run(lambda db: db.scalar(select(func.min(LiveMessage.id))))
        self._live.resume_ids(message_id, oldest or message_id + 1, self._replay_from_db)
        self._flusher = asyncio.create_task(self._flush_loop(), name="events-flush")

    async def stop(self) -> None:
        now = time.time()
        for key in list(self._open):
            self._finish(key, now, detail="server stopped")
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self.flush()

    # ----- arming ------------------------------------------------------------------------

    def armed(self, camera: str) -> bool:
        return self._armed.get(camera, True)

    async def set_armed(self, camera: str, armed: bool) -> None:
        self._armed[camera] = armed

        def store(db: Session) -> None:
            db.merge(CameraSetting(camera=camera, armed=armed, updated_at=datetime.now(UTC)))

        await self._db.run(store)
        self._publish({"type": "armed", "camera": camera, "armed": armed}, camera)

    # ----- input from the cameras (event loop) --------------------------------------------

    def observe(self, observation: Observation) -> None:
        key = (observation.camera, observation.kind)
        current = self._open.get(key)
        if observation.phase == "start" or current is None:
            if current is not None:
                self._finish(key, observation.at)
            if observation.phase == "end":
                return  # an end without a start (we restarted in between): nothing to close
            self._begin(observation)
            return
        self._apply(current.event, observation)
        if observation.phase == "end":
            self._finish(key, observation.at)
        elif observation.at - current.started > self._config.max_event_seconds:
            # Split endless activity so events stay watchable and alerts come back.
            self._finish(key, observation.at, detail="split: longer than max_event_seconds")
            self._begin(observation)
        else:
            self._publish(
                {"type": "event", "phase": "update", "event": self._json(current.event)},
                observation.camera,
                persist=False,
            )

    def camera_status(self, camera: Camera) -> None:
        """offline/online events from the camera's status changes (not the first online)."""
        self._publish(camera_message(camera), camera.id)
        kind: Kind = "online" if camera.status == "online" else "offline"
        first = camera.id not in self._seen_status
        self._seen_status.add(camera.id)
        if first and kind == "online":
            return
        now = time.time()
        instant = Observation(camera.id, kind, "start", now, detail=camera.error or "")
        self._begin(instant)
        self._finish((camera.id, kind), now)

    # ----- lifecycle helpers -------------------------------------------------------------

    def _begin(self, observation: Observation) -> None:
        camera = observation.camera
        alert = self.armed(camera) and (
            observation.at - self._last_alert.get(camera, -1e18) >= self._config.cooldown_seconds
        )
        if alert:
            self._last_alert[camera] = observation.at
        event = Event(
            id=self._next_event_id,
            camera=camera,
            kind=observation.kind,
            start=datetime.fromtimestamp(observation.at, UTC),
            end=None,
            score=observation.score,
            regions=[list(r) for r in observation.regions],
            zones=list(observation.zones),
            alert=alert,
            snapshot=None,
            acknowledged_at=None,
            acknowledged_by=None,
            detail=observation.detail,
            clip_id=None,
        )
        self._next_event_id += 1
        self._open[(camera, observation.kind)] = _Open(event, observation.at)
        self._save_snapshot(event, observation.snapshot)
        if self.recordings is not None:
            event.clip_id = self.recordings.event_started(event, observation.at)
        self._pending.events[event.id] = event
        body = self._json(event)
        self._publish({"type": "event", "phase": "start", "event": body}, camera)
        if alert:
            self._publish({"type": "alert", "event": body}, camera)

    def _apply(self, event: Event, observation: Observation) -> None:
        event.score = max(event.score, observation.score)
        if observation.regions:
            event.regions = [list(r) for r in observation.regions]
        event.zones = sorted(set(event.zones) | set(observation.zones))
        if observation.detail:
            event.detail = observation.detail
        self._save_snapshot(event, observation.snapshot)

    def _finish(self, key: tuple[str, str], at: float, detail: str = "") -> None:
        current = self._open.pop(key, None)
        if current is None:
            return
        event = current.event
        event.end = datetime.fromtimestamp(max(at, current.started), UTC)
        if detail:
            event.detail = detail
        if self.recordings is not None:
            self.recordings.event_ended(event, max(at, current.started))
        self._pending.events[event.id] = event
        self._publish({"type": "event", "phase": "end", "event": self._json(event)}, event.camera)

    def _json(self, event: Event) -> dict[str, Any]:
        clip = None
        if event.clip_id is not None and self.recordings is not None:
            clip = self.recordings.clip_summary(event.clip_id)
        return event_json(event, clip)

    def system_alert(self, kind: Kind | str, detail: str) -> bool:
        """An instant alert not tied to a camera (storage), at most once per interval."""
        now = time.time()
        key = f"{SYSTEM_CAMERA}:{kind}"
        if now - self._last_alert.get(key, -1e18) < SYSTEM_ALERT_INTERVAL_S:
            return False
        self._last_alert[key] = now
        stamp = datetime.fromtimestamp(now, UTC)
        event = Event(
            id=self._next_event_id,
            camera=SYSTEM_CAMERA,
            kind=kind,
            start=stamp,
            end=stamp,
            score=0.0,
            regions=[],
            zones=[],
            alert=True,
            snapshot=None,
            acknowledged_at=None,
            acknowledged_by=None,
            detail=detail,
            clip_id=None,
        )
        self._next_event_id += 1
        self._pending.events[event.id] = event
        body = event_json(event)
        self._publish({"type": "event", "phase": "start", "event": body}, SYSTEM_CAMERA)
        self._publish({"type": "alert", "event": body}, SYSTEM_CAMERA)
        self._publish({"type": "event", "phase": "end", "event": body}, SYSTEM_CAMERA)
        return True

    def _save_snapshot(self, event: Event, jpeg: bytes | None) -> None:
        if jpeg is None:
            return
        relative = f"{event.camera}/{event.id}.jpg"
        event.snapshot = relative
        self._pending.snapshots.append((self._snapshots / relative, jpeg))

    def publish(self, message: dict[str, Any], camera: str | None) -> None:
        """Send (and store for replay) a live message about ``camera``."""
        self._publish(message, camera)

    def _publish(self, message: dict[str, Any], camera: str | None, persist: bool = True) -> None:
        stored = self._live.publish(message, camera)
        if persist:
            self._pending.messages.append(
                LiveMessage(
                    id=stored["id"],
                    at=datetime.now(UTC),
                    camera=camera,
                    payload=stored,
                )
            )

    # ----- storage -----------------------------------------------------------------------

    def _prune(self, db: Session) -> None:
        """Forget events (and their pictures) and live messages older than keep_days."""
        cutoff = datetime.now(UTC) - timedelta(days=self._config.keep_days)
        for snapshot in db.scalars(
            select(Event.snapshot).where(Event.start < cutoff, Event.snapshot.is_not(None))
        ):
            if snapshot:
                (self._snapshots / snapshot).unlink(missing_ok=True)
        # No in-session synchronisation: SQLite hands back naive datetimes, which Python
        # cannot compare with the aware cutoff (found by tests/test_storage.py).
        unsynchronised = {"synchronize_session": False}
        db.execute(delete(Event).where(Event.start < cutoff).execution_options(**unsynchronised))
        db.execute(
            delete(LiveMessage).where(LiveMessage.at < cutoff).execution_options(**unsynchronised)
        )

    async def _flush_loop(self) -> None:
        # The top of a background task: log, keep going; a failed batch is requeued.
        last_prune = time.monotonic()
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_S)
            try:
                await self.flush()
                if time.monotonic() - last_prune > PRUNE_INTERVAL_S:
                    last_prune = time.monotonic()
                    await self._db.run(self._prune)
            except Exception:
                logger.exception("writing events failed; will retry")

    async def flush(self) -> None:
        """Write everything queued, in one transaction (in a worker thread)."""
        async with self._flush_lock:
            batch, self._pending = self._pending, _Pending()
            if not batch:
                return
            try:
                await self._db.run(lambda db: self._write(db, batch))
            except BaseException:
                self._requeue(batch)
                raise

    def _requeue(self, batch: _Pending) -> None:
        for event_id, event in batch.events.items():
            self._pending.events.setdefault(event_id, event)
        self._pending.messages[:0] = batch.messages
        self._pending.snapshots[:0] = batch.snapshots

    @staticmethod
    def _write(db: Session, batch: _Pending) -> None:
        for path, jpeg in batch.snapshots:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".tmp")
            temporary.write_bytes(jpeg)
            temporary.replace(path)  # never a half-written picture
        for event in batch.events.values():
            db.merge(_detached_copy(event))
        for message in batch.messages:
            db.merge(message)

    async def _replay_from_db(
        self, after: int, upto: int
    ) -> list[tuple[str | None, dict[str, Any]]]:
        await self.flush()

        def read(db: Session) -> list[tuple[str | None, dict[str, Any]]]:
            rows = db.scalars(
                select(LiveMessage)
                .where(LiveMessage.id > after, LiveMessage.id <= upto)
                .order_by(LiveMessage.id)
            )
            return [(row.camera, row.payload) for row in rows]

        return await self._db.run(read)

    # ----- acknowledging ------------------------------------------------------------------

    async def acknowledge(self, event_id: int, user: str) -> None:
        stamp = datetime.now(UTC)
        for current in self._open.values():
            if current.event.id == event_id:
                current.event.acknowledged_at = stamp
                current.event.acknowledged_by = user
                self._pending.events[event_id] = current.event
        await self.flush()

        def store(db: Session) -> dict[str, Any] | None:
            event = db.get(Event, event_id)
            if event is None:
                return None
            if event.acknowledged_at is None:
                event.acknowledged_at = stamp
                event.acknowledged_by = user
            return event_json(event, clip_of(db, event))

        body = await self._db.run(store)
        if body is not None:
            # Every other dashboard drops its banner and marks the row.
            self._publish({"type": "event", "phase": "ack", "event": body}, body["camera"])

    # ----- queries (REST) ----------------------------------------------------------------

    def snapshot_path(self, event: Event) -> Path | None:
        return None if event.snapshot is None else self._snapshots / event.snapshot

    @property
    def snapshot_dir(self) -> Path:
        return self._snapshots


def recording_summary(recording: Recording) -> dict[str, Any]:
    """What an event shows of its clip (the full record is at ``/api/recordings/{id}``)."""
    return {
        "id": recording.id,
        "state": recording.state,
        "duration": round(recording.duration, 3),
        "size": recording.size,
        "sha256": recording.sha256,
    }


def clip_of(db: Session, event: Event) -> dict[str, Any] | None:
    if event.clip_id is None:
        return None
    recording = db.get(Recording, event.clip_id)
    return None if recording is None else recording_summary(recording)


def clips_of(db: Session, events: list[Event]) -> dict[int, dict[str, Any]]:
    ids = {e.clip_id for e in events if e.clip_id is not None}
    if not ids:
        return {}
    rows = db.scalars(select(Recording).where(Recording.id.in_(ids)))
    return {row.id: recording_summary(row) for row in rows}


def _detached_copy(event: Event) -> Event:
    """A fresh ORM object with the same values (the in-memory one keeps changing)."""
    values = {column.key: getattr(event, column.key) for column in Event.__table__.columns}
    values["regions"] = list(event.regions)
    values["zones"] = list(event.zones)
    return Event(**values)
