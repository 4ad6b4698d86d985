"""The recording archive: recordings on disk and in the database.

Runs on the event loop; every file and database operation happens in a worker thread.
Each camera that records gets a :class:`camera.recorder.Recorder`; this service is its
:class:`~camera.recorder.Archive`: it hands out ids and paths
(``<camera>/<kind>/<day>/<time>Z-<id>.mp4``), stores a row per recording (``state``
"recording" while written, then "complete" or "interrupted") through one queue so rows are
written in order, links events to their clip and tells the live channel
(``{"type": "recording", ...}``). Start-up repair is :mod:`api.services.archive_repair`,
retention and the disk guard :mod:`api.services.retention`, thumbnail strips
:mod:`api.services.thumbnails`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from camera.camera import Camera
from camera.config import RecordingConfig
from camera.manager import CameraManager
from camera.recorder import Recorder, RecordingInfo, RecordingKind

from ..db import Database
from ..errors import Conflict
from ..models import Event, Recording
from ..payloads import recording_json, writing_summary
from ..settings import StorageConfig
from .archive_repair import repair
from .event_service import EventService
from .retention import DiskGuard, remove_recording
from .thumbnails import Thumbnails

logger = logging.getLogger(__name__)

NO_VIDEO = "no video arrived"  # a clip closed before its first picture: not a disk error


class RecordingService:
    def __init__(
        self,
        db: Database,
        events: EventService,
        cameras: CameraManager,
        storage: StorageConfig,
        data_dir: Path,
    ) -> None:
        self._db = db
        self._events = events
        self._cameras = cameras
        self._storage = storage
        self.root = (storage.path or data_dir / "recordings").resolve()
        self.thumbnails = Thumbnails(self.root, data_dir / "thumbnails")
        self.recorders: dict[str, Recorder] = {}
        self._next_id = 1
        self._writing: dict[int, RecordingInfo] = {}
        self._ops: asyncio.Queue[Callable[[Session], object]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.guard = DiskGuard(
            db,
            self.root,
            self.thumbnails.directory,
            storage,
            self._recording_config,
            self._writing,
            self.flush,
            lambda message: events.system_alert("storage", message),
        )
        self.unavailable: str | None = None
        self._started = False  # recorders run (storage is there)

    # ----- life cycle --------------------------------------------------------------------

    async def start(self) -> None:
        if self._storage.path is not None and not self.root.is_dir():
            # A configured disk that is not there (not mounted): never fill the card
            # under its mount point instead. Live view goes on; recording is off.
            self.unavailable = (
                f"storage.path {self.root} does not exist (is the disk mounted?): "
                "recording is off until it is there and the service restarts"
            )
            logger.error("%s", self.unavailable)
            self._events.system_alert("storage", self.unavailable)
            return
        self.root.mkdir(parents=True, exist_ok=True, mode=0o750)
        report = await self._db.run(lambda db: repair(db, self.root))
        if report:
            logger.warning("recordings repaired after an unclean stop: %s", report)
        self._next_id = await self._db.run(_max_id) + 1
        await self._db.run(self.guard.retention)
        self._events.recordings = self
        self._started = True
        for camera in self._cameras.all():
            self.attach(camera)
        self._task = asyncio.create_task(self._run_ops(), name="recordings-db")
        self.guard.start()

    async def stop(self) -> None:
        self._started = False
        await asyncio.gather(*(r.stop() for r in self.recorders.values()))
        self.recorders.clear()
        await self.flush()
        await self.guard.stop()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._events.recordings = None

    def attach(self, camera: Camera) -> None:
        """Start recording a camera, if its settings say so (a camera added at run time)."""
        if self._started and camera.config.recording.enabled and camera.id not in self.recorders:
            recorder = Recorder(camera, self)
            recorder.start()
            self.recorders[camera.id] = recorder

    async def detach(self, camera_id: str) -> None:
        """Stop recording a camera: every open file gets its last fragment."""
        recorder = self.recorders.pop(camera_id, None)
        if recorder is not None:
            await recorder.stop()

    async def flush(self) -> None:
        """Wait until every queued database change is written."""
        await self._ops.join()

    def _recording_config(self, camera: str) -> RecordingConfig:
        config = self._cameras.config(camera)
        return config.recording if config is not None else RecordingConfig()

    # ----- the Archive protocol (called by recorders, on the loop) ------------------------

    def allocate(self, camera: str, kind: RecordingKind, start: float) -> tuple[int, str]:
        recording_id = self._next_id
        self._next_id += 1
        moment = datetime.fromtimestamp(start, UTC)
        name = f"{moment:%Y%m%dT%H%M%S}Z-{recording_id}.mp4"
        return recording_id, f"{camera}/{kind}/{moment:%Y-%m-%d}/{name}"

    def opened(self, info: RecordingInfo) -> None:
        self._writing[info.id] = info
        row = _row(info, "recording")
        self._ops.put_nowait(lambda db: db.merge(row))
        self._publish("start", row)
        self.guard.poke()

    def closed(self, info: RecordingInfo) -> None:
        self._writing.pop(info.id, None)
        result = info.result
        if result is not None and result.error and result.error != NO_VIDEO:
            # Disk full, disk gone (EIO), an unexpected writer error: say so (at most once
            # per alert interval); the recorder retries in a new file.
            self._events.system_alert(
                "storage",
                f"recording on {info.camera} failed ({result.error}); it goes on in a new "
                "file as soon as the disk can be written again",
            )
        if result is None or result.video_packets == 0:
            # Nothing playable: no file, no row (never a 0-byte or picture-less file).
            path = self.root / info.path
            self._ops.put_nowait(lambda db: _forget(db, info.id, path))
            if result is not None and result.error:
                self.guard.poke()
            return
        row = _row(info, "interrupted" if result.error else "complete")
        self._ops.put_nowait(lambda db: db.merge(row))
        self._publish("end", row)
        if result.error:
            self.guard.poke()

    def _publish(self, phase: str, row: Recording) -> None:
        message = {"type": "recording", "phase": phase, "recording": recording_json(row)}
        self._events.publish(message, row.camera)

    # ----- the RecordingHooks protocol (called by the event service) ----------------------

    def event_started(self, event: Event, at: float) -> int | None:
        recorder = self.recorders.get(event.camera)
        if recorder is None or event.kind not in recorder.config.event_kinds:
            return None
        clip_id = recorder.event_started(event.id, at)
        info = self._writing.get(clip_id) if clip_id is not None else None
        if info is not None:
            # The row may exist already (an earlier event opened the clip): update its list.
            events = list(info.events)
            self._ops.put_nowait(lambda db: _set_events(db, info.id, events))
        return clip_id

    def event_ended(self, event: Event, at: float) -> None:
        recorder = self.recorders.get(event.camera)
        if recorder is not None:
            recorder.event_ended(event.id, at)

    def clip_summary(self, clip_id: int) -> dict[str, Any] | None:
        # Events begin and end while their clip is still being written (post-roll).
        return writing_summary(clip_id)

    # ----- database work (worker threads) ---------------------------------------------------

    async def _run_ops(self) -> None:
        while True:
            op = await self._ops.get()
            try:
                await self._db.run(op)
            except Exception:
                logger.exception("storing a recording failed")
            finally:
                self._ops.task_done()

    # ----- requests (REST) -------------------------------------------------------------------

    async def delete(self, recording_id: int) -> None:
        """Delete one recording (file, thumbnails, row); not one being written."""
        if recording_id in self._writing:
            raise Conflict("this recording is still being written")
        await self.flush()

        def remove(db: Session) -> Recording | None:
            row = db.get(Recording, recording_id)
            if row is not None:
                remove_recording(db, row, self.root, self.thumbnails.directory)
            return row

        row = await self._db.run(remove)
        if row is not None:
            message = {"type": "recording", "phase": "deleted", "recording": recording_json(row)}
            self._events.publish(message, row.camera)

    def status(self) -> dict[str, Any]:
        usage = self.guard.usage
        return {
            "root": str(self.root),
            "total_bytes": usage.total if usage else None,
            "free_bytes": usage.free if usage else None,
            "reserve_bytes": usage.reserve if usage else None,
            "low": bool(usage and usage.low),
            "deleted_for_space": self.guard.deleted_for_space,
            "kept_bytes": self.guard.floor,
            "filled_by_others": self.guard.filled_by_others,
            "last_guard_action": self.unavailable or self.guard.last_action,
            "recording": {camera: r.recording for camera, r in self.recorders.items()},
        }


def _row(info: RecordingInfo, state: str) -> Recording:
    result = info.result
    return Recording(
        id=info.id,
        camera=info.camera,
        kind=info.kind,
        path=info.path,
        start=datetime.fromtimestamp(info.start, UTC),
        end=None if state == "recording" else datetime.fromtimestamp(info.end or info.start, UTC),
        duration=result.duration if result else 0.0,
        size=result.size if result else 0,
        sha256=result.sha256 if result else None,
        audio=info.audio,
        state=state,
        events=list(info.events),
        detail=(result.error or "") if result else "",
    )


def _set_events(db: Session, recording_id: int, events: list[int]) -> None:
    row = db.get(Recording, recording_id)
    if row is not None:
        row.events = events


def _forget(db: Session, recording_id: int, path: Path) -> None:
    # A disk that went away cannot delete it now; start-up repair drops a stray file.
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)
    row = db.get(Recording, recording_id)
    if row is not None:
        db.delete(row)


def _max_id(db: Session) -> int:
    return int(db.scalar(select(func.max(Recording.id))) or 0)
