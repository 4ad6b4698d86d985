"""Events: detector verdicts become stored events, alerts and live messages.

Runs on the event loop. Cameras hand in :class:`~camera.analysis.Observation`s (motion,
sound, frozen, tamper) and status changes (offline/online). The pure policy
(:mod:`api.services.event_policy`) decides what they mean; this service carries its
decisions out: it builds the event records, keeps their snapshots, tells the recorder
(clips), publishes every change on the live channel and queues it for the store
(:mod:`api.services.event_store`), which writes once per ``FLUSH_INTERVAL_S``. Readers
call :meth:`EventService.flush` first, so REST answers are never behind the WebSocket.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.orm import Session

from camera.analysis import Observation
from camera.camera import Camera
from camera.snapshots import PendingJpeg

from ..db import Database
from ..models import Event
from ..payloads import camera_message, event_json
from ..settings import EventsConfig
from . import event_policy as policy
from .event_store import EventStore, clip_of
from .live_channel import LiveChannel, Stored

logger = logging.getLogger(__name__)

Listener = Callable[[dict[str, Any], str | None], None]

FLUSH_INTERVAL_S = 1.0
PRUNE_INTERVAL_S = 3600.0


class RecordingHooks(Protocol):
    """What the recording archive does when events begin and end."""

    def event_started(self, event: Event, at: float) -> int | None: ...

    def event_ended(self, event: Event, at: float) -> None: ...

    def clip_summary(self, clip_id: int) -> dict[str, Any] | None: ...


class EventService:
    def __init__(
        self, db: Database, live: LiveChannel, data_dir: Path, config: EventsConfig
    ) -> None:
        self._db = db
        self._live = live
        self._config = config
        self.store = EventStore(db, data_dir / "snapshots", config.keep_days)
        self._policy = policy.PolicyState()
        self._open: dict[int, Event] = {}  # events still going on, by id
        self.counts: collections.Counter[tuple[str, str]] = collections.Counter()  # /metrics
        self._flusher: asyncio.Task[None] | None = None
        self._listeners: list[Listener] = []
        self.recordings: RecordingHooks | None = None
        # Messages held back while an event starts (see _start).
        self._deferred: list[tuple[dict[str, Any], str | None]] | None = None
        self.database_ok = True  # False while writing events fails (the database is away)

    # ----- life cycle --------------------------------------------------------------------

    async def start(self) -> None:
        stored = await self.store.load()
        self._policy = policy.initial_state(stored.last_event_id + 1, stored.armed)
        last = stored.last_message_id
        oldest = stored.oldest_message_id or last + 1
        self._live.resume_ids(last, oldest, self._replay_from_db)
        self._flusher = asyncio.create_task(self._flush_loop(), name="events-flush")

    async def stop(self) -> None:
        self._happen(policy.Shutdown(time.time()))
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self.flush()

    # ----- arming ------------------------------------------------------------------------

    def armed(self, camera: str) -> bool:
        return self._policy.is_armed(camera)

    async def set_armed(self, camera: str, armed: bool, persist: bool = True) -> None:
        """Arm or disarm; ``persist=False`` for the schedule's own changes (the stored row
        is the last manual choice, see ``api.services.arming``)."""
        self._happen(policy.Armed(camera, armed))
        if persist:
            await self.store.set_armed(camera, armed)
        self.publish({"type": "armed", "camera": camera, "armed": armed}, camera)

    def set_config(self, config: EventsConfig) -> None:
        """New ``events:`` settings, from the next happening on."""
        self._config = config

    def camera_gone(self, camera: str, detail: str) -> None:
        """A camera was removed or restarted: its open events end now."""
        self._happen(policy.CameraGone(camera, time.time(), detail))

    # ----- input (event loop) ----------------------------------------------------------------

    def observe(self, observation: Observation) -> None:
        """A detector's verdict (a camera's observation listener)."""
        self._happen(observation)

    def camera_status(self, camera: Camera) -> None:
        """A camera went online or offline (a camera's status listener)."""
        self.publish(camera_message(camera), camera.id)
        online = camera.status == "online"
        self._happen(policy.StatusChanged(camera.id, online, time.time(), camera.error or ""))

    def system_alert(self, kind: str, detail: str) -> bool:
        """An instant alert not tied to a camera (storage), at most once per interval;
        False when one was raised too recently."""
        return bool(self._happen(policy.SystemAlert(kind, time.time(), detail)))

    # ----- carrying out the policy's decisions -------------------------------------------

    def _happen(self, happening: policy.Happening) -> list[policy.Decision]:
        self._policy, decisions = policy.step(self._policy, happening, self._config)
        for decision in decisions:
            if isinstance(decision, policy.Start):
                self._start(decision)
            elif isinstance(decision, policy.Apply):
                self._apply(decision)
            elif isinstance(decision, policy.Alert):
                self._alert(decision)
            else:
                self._end(decision)
        return decisions

    def _start(self, decision: policy.Start) -> None:
        observation = decision.observation
        event = Event(
            id=decision.id,
            camera=decision.camera,
            kind=decision.kind,
            start=datetime.fromtimestamp(decision.at, UTC),
            # A system alert is instant and says so from its first message.
            end=datetime.fromtimestamp(decision.at, UTC) if observation is None else None,
            score=observation.score if observation else 0.0,
            regions=[list(r) for r in observation.regions] if observation else [],
            zones=list(observation.zones) if observation else [],
            alert=decision.alert,
            snapshot=None,
            acknowledged_at=None,
            acknowledged_by=None,
            detail=decision.detail,
            clip_id=None,
        )
        self._open[event.id] = event
        self.counts[(event.camera, event.kind)] += 1
        if observation is not None:
            self._save_snapshot(event, observation.snapshot)
        # The clip the event opens is announced after the event and its alert: a "recording"
        # message published while the recorder starts waits, so the news that matters
        # reaches every dashboard first (one fan-out sooner with 1000 of them).
        deferred: list[tuple[dict[str, Any], str | None]] = []
        self._deferred = deferred
        try:
            if self.recordings is not None:
                event.clip_id = self.recordings.event_started(event, decision.at)
        finally:
            self._deferred = None
        self.store.put_event(event)
        body = self._json(event)
        self.publish({"type": "event", "phase": "start", "event": body}, event.camera)
        if decision.alert:
            self.publish({"type": "alert", "event": body}, event.camera)
        for message, camera in deferred:
            self.publish(message, camera)

    def _apply(self, decision: policy.Apply) -> None:
        event = self._open[decision.id]
        observation = decision.observation
        event.score = max(event.score, observation.score)
        if observation.regions:
            event.regions = [list(r) for r in observation.regions]
        event.zones = sorted(set(event.zones) | set(observation.zones))
        if observation.detail:
            event.detail = observation.detail
        self._save_snapshot(event, observation.snapshot)
        if decision.announce:
            message = {"type": "event", "phase": "update", "event": self._json(event)}
            self._publish(message, event.camera, persist=False)

    def _alert(self, decision: policy.Alert) -> None:
        """An event that began quietly reached an alerting zone."""
        event = self._open[decision.id]
        event.alert = True
        self.store.put_event(event)
        self.publish({"type": "alert", "event": self._json(event)}, event.camera)

    def _end(self, decision: policy.End) -> None:
        event = self._open.pop(decision.id)
        event.end = datetime.fromtimestamp(decision.at, UTC)
        if decision.detail:
            event.detail = decision.detail
        if self.recordings is not None:
            self.recordings.event_ended(event, decision.at)
        self.store.put_event(event)
        self.publish({"type": "event", "phase": "end", "event": self._json(event)}, event.camera)

    def _json(self, event: Event) -> dict[str, Any]:
        clip = None
        if event.clip_id is not None and self.recordings is not None:
            clip = self.recordings.clip_summary(event.clip_id)
        return event_json(event, clip)

    def _save_snapshot(self, event: Event, jpeg: bytes | PendingJpeg | None) -> None:
        if jpeg is None:
            return
        relative = f"{event.camera}/{event.id}.jpg"
        event.snapshot = relative
        self.store.put_snapshot(relative, jpeg)

    # ----- the live channel and other listeners ------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(message, camera)`` on the loop for every live message (camera
        status, event start/update/end/ack, alert, armed, recording), after the WebSocket
        clients got it. Listeners must return at once (queue their work); one that raises
        is logged and the others still run."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def publish(self, message: dict[str, Any], camera: str | None) -> None:
        """Send (and store for replay) a live message about ``camera``."""
        if self._deferred is not None:
            self._deferred.append((message, camera))
        else:
            self._publish(message, camera)

    def _publish(self, message: dict[str, Any], camera: str | None, persist: bool = True) -> None:
        stored = self._live.publish(message, camera)
        if persist:
            self.store.put_message(stored["id"], camera, stored)
        for listener in tuple(self._listeners):
            try:
                listener(stored, camera)
            except Exception:
                logger.exception("an event listener failed on a %s message", message["type"])

    async def _replay_from_db(self, after: int, upto: int) -> list[Stored]:
        return await self.store.messages(after, upto)

    # ----- storage -----------------------------------------------------------------------

    async def flush(self) -> None:
        """Write everything queued, in one transaction (in a worker thread)."""
        await self.store.flush()

    async def _flush_loop(self) -> None:
        # The top of a background task: log, keep going; a failed batch is requeued (and
        # the queue is bounded, see event_store), so a database that goes away for a while
        # costs nothing but memory and a retry a second.
        last_prune = time.monotonic()
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_S)
            try:
                await self.flush()
                if not self.database_ok:
                    self.database_ok = True
                    logger.warning("writing events works again; %s", self._losses())
                if time.monotonic() - last_prune > PRUNE_INTERVAL_S:
                    last_prune = time.monotonic()
                    oldest = await self.store.prune()
                    if oldest is not None:
                        self._live.forget_before(oldest)
            except Exception:
                if self.database_ok:
                    logger.exception("writing events failed; keeping them and retrying")
                self.database_ok = False
            finally:
                if self.store.lost_through:
                    # A resume from before a dropped message gets a resync, never a hole.
                    self._live.forget_before(self.store.lost_through + 1)

    def _losses(self) -> str:
        dropped = self.store.dropped
        if not dropped:
            return "nothing was lost"
        return (
            f"dropped while it failed (the queue is bounded): {dropped.events} events, "
            f"{dropped.messages} live messages, {dropped.snapshots} snapshots"
        )

    # ----- acknowledging ------------------------------------------------------------------

    async def acknowledge(self, event_id: int, user: str) -> None:
        stamp = datetime.now(UTC)
        current = self._open.get(event_id)
        if current is not None:
            current.acknowledged_at = stamp
            current.acknowledged_by = user
            self.store.put_event(current)
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
            self.publish({"type": "event", "phase": "ack", "event": body}, body["camera"])

    # ----- queries (REST) ----------------------------------------------------------------

    def snapshot_path(self, event: Event) -> Path | None:
        return None if event.snapshot is None else self.store.snapshot_dir / event.snapshot

    @property
    def snapshot_dir(self) -> Path:
        return self.store.snapshot_dir
