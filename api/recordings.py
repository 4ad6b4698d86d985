"""The archive: recordings on disk and in the database, retention and the disk guard.

Runs on the event loop; every file and database operation happens in a worker thread.

* Each camera that records gets a :class:`camera.recorder.Recorder`; this service is its
  :class:`~camera.recorder.Archive`: it hands out ids and paths, stores a row per recording
  (``state`` "recording" while written, then "complete" or "interrupted"), links events to
  their clip and tells the live channel (``{"type": "recording", ...}``).
* Start-up repairs both sides after a crash: rows whose file is gone are dropped, files
  without a row are adopted (their name says camera, kind, time and id), files left
  "recording" are probed and closed as "interrupted" at their last fragment, and files with
  no picture (0 bytes, header only) are deleted.
* Retention: clips older than ``keep_clip_days`` and segments older than
  ``keep_continuous_days`` go, hourly. The disk guard checks free space every
  ``GUARD_INTERVAL_S`` and whenever a file opens or fails: under the reserve it deletes the
  oldest recordings (any camera, any kind, never one being written) and raises a storage
  alert.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import av.error
import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from camera.config import RecordingConfig, Settings
from camera.manager import CameraManager
from camera.recorder import Recorder, RecordingInfo, RecordingKind, file_sha256
from camera.snapshots import encode_jpeg

from .db import Database, aware
from .errors import Conflict
from .events import EventService, iso
from .live import LiveChannel
from .models import Event, Recording

logger = logging.getLogger(__name__)

GUARD_INTERVAL_S = 2.0
RETENTION_INTERVAL_S = 3600.0
FILE_NAME = re.compile(r"^(\d{8}T\d{6})Z-(\d{1,12})\.mp4$")
KINDS: tuple[RecordingKind, ...] = ("clip", "continuous")
STRIP_TILE_WIDTH = 160


@dataclass(frozen=True)
class DiskUsage:
    total: int
    free: int
    reserve: int

    @property
    def low(self) -> bool:
        return self.free < self.reserve


@dataclass(frozen=True)
class Probe:
    duration: float
    video_packets: int
    audio: bool


def probe(path: Path) -> Probe | None:
    """Read every packet of a recording (no decoding); None if it holds no picture."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return None
            video = container.streams.video[0]
            first = last = None
            count = 0
            for packet in container.demux(video):
                if packet.pts is None or packet.size == 0:
                    continue
                first = packet.pts if first is None else first
                last = packet.pts
                count += 1
            if count == 0 or first is None or last is None or video.time_base is None:
                return None
            duration = float((last - first) * video.time_base)
            return Probe(duration, count, bool(container.streams.audio))
    except (av.error.FFmpegError, OSError, ValueError):
        return None


def recording_json(row: Recording) -> dict[str, Any]:
    """A recording as the API and the live channel show it (a contract: docs/api.md)."""
    base = f"/api/recordings/{row.id}"
    return {
        "id": row.id,
        "camera": row.camera,
        "kind": row.kind,
        "start": iso(row.start),
        "end": iso(row.end),
        "duration": round(row.duration, 3),
        "size": row.size,
        "sha256": row.sha256,
        "audio": row.audio,
        "state": row.state,
        "events": list(row.events),
        "detail": row.detail,
        "links": {
            "self": base,
            "video": f"{base}/video.mp4",
            "download": f"{base}/video.mp4?download=1",
            "strip": f"{base}/strip.jpg",
        },
    }


class RecordingService:
    def __init__(
        self,
        db: Database,
        live: LiveChannel,
        events: EventService,
        cameras: CameraManager,
        settings: Settings,
        data_dir: Path,
        statvfs: Callable[[Path], os.statvfs_result] | None = None,
    ) -> None:
        self._db = db
        self._live = live
        self._events = events
        self._cameras = cameras
        self._settings = settings
        self.root = (settings.storage.path or data_dir / "recordings").resolve()
        self.thumbnails = data_dir / "thumbnails"
        # Replaceable (tests simulate a small disk); os.statvfs by default.
        self.statvfs = statvfs or os.statvfs
        self.recorders: dict[str, Recorder] = {}
        self._next_id = 1
        self._writing: dict[int, RecordingInfo] = {}
        self._ops: asyncio.Queue[Callable[[Session], object]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._poke = asyncio.Event()
        self.usage: DiskUsage | None = None
        self.deleted_for_space = 0
        self.last_guard_action: str | None = None
        self.unavailable: str | None = None

    # ----- life cycle --------------------------------------------------------------------

    async def start(self) -> None:
        if self._settings.storage.path is not None and not self.root.is_dir():
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
        report = await self._db.run(self._repair)
        if report:
            logger.warning("recordings repaired after an unclean stop: %s", report)
        self._next_id = await self._db.run(self._max_id) + 1
        await self._db.run(self._apply_retention)
        self._events.recordings = self
        for camera in self._cameras.all():
            if camera.config.recording.enabled:
                recorder = Recorder(camera, self)
                recorder.start()
                self.recorders[camera.id] = recorder
        self._tasks = [
            asyncio.create_task(self._run_ops(), name="recordings-db"),
            asyncio.create_task(self._guard_loop(), name="recordings-guard"),
            asyncio.create_task(self._retention_loop(), name="recordings-retention"),
        ]

    async def stop(self) -> None:
        await asyncio.gather(*(r.stop() for r in self.recorders.values()))
        self.recorders.clear()
        await self.flush()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._events.recordings = None

    async def flush(self) -> None:
        """Wait until every queued database change is written."""
        await self._ops.join()

    # ----- the Archive protocol (called by recorders, on the loop) ------------------------

    def allocate(self, camera: str, kind: RecordingKind, start: float) -> tuple[int, str]:
        recording_id = self._next_id
        self._next_id += 1
        moment = datetime.fromtimestamp(start, UTC)
        name = f"{moment:%Y%m%dT%H%M%S}Z-{recording_id}.mp4"
        return recording_id, f"{camera}/{kind}/{moment:%Y-%m-%d}/{name}"

    def opened(self, info: RecordingInfo) -> None:
        self._writing[info.id] = info
        row = Recording(
            id=info.id,
            camera=info.camera,
            kind=info.kind,
            path=info.path,
            start=datetime.fromtimestamp(info.start, UTC),
            end=None,
            duration=0.0,
            size=0,
            sha256=None,
            audio=info.audio,
            state="recording",
            events=list(info.events),
            detail="",
        )
        self._ops.put_nowait(lambda db: db.merge(row))
        self._publish("start", row)
        self._poke.set()

    def closed(self, info: RecordingInfo) -> None:
        self._writing.pop(info.id, None)
        result = info.result
        if result is None or result.video_packets == 0:
            # Nothing playable: no file, no row (never a 0-byte or picture-less file).
            path = self.root / info.path
            self._ops.put_nowait(lambda db: self._forget(db, info.id, path))
            if result is not None and result.error:
                self._poke.set()
            return
        row = Recording(
            id=info.id,
            camera=info.camera,
            kind=info.kind,
            path=info.path,
            start=datetime.fromtimestamp(info.start, UTC),
            end=datetime.fromtimestamp(info.end or info.start, UTC),
            duration=result.duration,
            size=result.size,
            sha256=result.sha256,
            audio=info.audio,
            state="interrupted" if result.error else "complete",
            events=list(info.events),
            detail=result.error or "",
        )
        self._ops.put_nowait(lambda db: db.merge(row))
        self._publish("end", row)
        if result.error:
            self._poke.set()

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
            self._ops.put_nowait(lambda db: self._set_events(db, info.id, events))
        return clip_id

    def event_ended(self, event: Event, at: float) -> None:
        recorder = self.recorders.get(event.camera)
        if recorder is not None:
            recorder.event_ended(event.id, at)

    def clip_summary(self, clip_id: int) -> dict[str, Any] | None:
        # Events begin and end while their clip is still being written (post-roll).
        return {"id": clip_id, "state": "recording", "duration": 0.0, "size": 0, "sha256": None}

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

    @staticmethod
    def _set_events(db: Session, recording_id: int, events: list[int]) -> None:
        row = db.get(Recording, recording_id)
        if row is not None:
            row.events = events

    @staticmethod
    def _forget(db: Session, recording_id: int, path: Path) -> None:
        path.unlink(missing_ok=True)
        row = db.get(Recording, recording_id)
        if row is not None:
            db.delete(row)

    @staticmethod
    def _max_id(db: Session) -> int:
        return int(db.scalar(select(func.max(Recording.id))) or 0)

    def _repair(self, db: Session) -> str:
        """Make the database and the files agree (after a crash, a power cut, a hand)."""
        dropped = finished = adopted = deleted = 0
        known: set[str] = set()
        for row in list(db.scalars(select(Recording))):
            path = self.root / row.path
            if not path.is_file():
                db.delete(row)
                dropped += 1
                continue
            known.add(row.path)
            if row.state != "recording":
                continue
            found = probe(path)
            if found is None:
                path.unlink(missing_ok=True)
                db.delete(row)
                deleted += 1
                continue
            row.state = "interrupted"
            row.detail = "cut short by a crash or power loss; playable to its last fragment"
            row.duration = found.duration
            row.end = aware(row.start) + timedelta(seconds=found.duration)
            row.size = path.stat().st_size
            row.sha256 = file_sha256(path)
            finished += 1
        db.flush()
        for path in sorted(self.root.glob("*/*/*/*")):
            relative = path.relative_to(self.root).as_posix()
            if relative in known or not path.is_file():
                continue
            orphan = self._adopt(path, relative)
            if orphan is None:
                path.unlink(missing_ok=True)
                deleted += 1
            else:
                db.add(orphan)
                adopted += 1
        for directory in sorted(self.root.glob("*/*/*"), reverse=True):
            if directory.is_dir():
                with contextlib.suppress(OSError):
                    directory.rmdir()  # only if empty
        parts = [
            f"{n} {what}"
            for n, what in (
                (dropped, "rows without a file dropped"),
                (finished, "interrupted files closed"),
                (adopted, "files without a row adopted"),
                (deleted, "empty or unreadable files deleted"),
            )
            if n
        ]
        return ", ".join(parts)

    def _adopt(self, path: Path, relative: str) -> Recording | None:
        camera, kind, _day, name = relative.split("/")
        match = FILE_NAME.match(name)
        if match is None or kind not in KINDS:
            return None
        found = probe(path)
        if found is None:
            return None
        start = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        return Recording(
            id=int(match.group(2)),
            camera=camera,
            kind=kind,
            path=relative,
            start=start,
            end=start + timedelta(seconds=found.duration),
            duration=found.duration,
            size=path.stat().st_size,
            sha256=file_sha256(path),
            audio=found.audio,
            state="interrupted",
            events=[],
            detail="found on disk without a database row (crash); adopted",
        )

    # ----- retention and the disk guard -----------------------------------------------------

    def _recording_config(self, camera: str) -> RecordingConfig:
        for config in self._settings.cameras:
            if config.id == camera:
                return config.recording
        return RecordingConfig()

    def _apply_retention(self, db: Session) -> int:
        now = datetime.now(UTC)
        removed = 0
        cameras = set(db.scalars(select(Recording.camera).distinct()))
        for camera in cameras:
            config = self._recording_config(camera)
            for kind, days in (
                ("clip", config.keep_clip_days),
                ("continuous", config.keep_continuous_days),
            ):
                old = db.scalars(
                    select(Recording).where(
                        Recording.camera == camera,
                        Recording.kind == kind,
                        Recording.state != "recording",
                        Recording.start < now - timedelta(days=days),
                    )
                )
                for row in list(old):
                    self._delete(db, row)
                    removed += 1
        return removed

    def _delete(self, db: Session, row: Recording) -> None:
        # The file first: a crash in between leaves a row without a file, which the
        # start-up repair drops (the other way round would leave an unaccounted file).
        (self.root / row.path).unlink(missing_ok=True)
        for thumbnail in self.thumbnails.glob(f"{row.id}-*.jpg"):
            thumbnail.unlink(missing_ok=True)
        db.delete(row)

    def disk_usage(self) -> DiskUsage:
        stats = self.statvfs(self.root)
        total = stats.f_blocks * stats.f_frsize
        free = stats.f_bavail * stats.f_frsize
        return DiskUsage(total, free, self._settings.storage.reserve_bytes(total))

    def _free_space(self, db: Session) -> tuple[DiskUsage, int, int]:
        """Delete the oldest recordings until the reserve is free: (usage, count, bytes)."""
        usage = self.disk_usage()
        count = freed = 0
        while usage.low:
            batch = list(
                db.scalars(
                    select(Recording)
                    .where(Recording.state != "recording")
                    .order_by(Recording.start, Recording.id)
                    .limit(20)
                )
            )
            batch = [row for row in batch if row.id not in self._writing]
            if not batch:
                break
            for row in batch:
                self._delete(db, row)
                count += 1
                freed += row.size
                db.flush()
                usage = self.disk_usage()
                if not usage.low:
                    break
        return usage, count, freed

    async def enforce_reserve(self) -> DiskUsage:
        await self.flush()
        usage = await asyncio.to_thread(self.disk_usage)
        if usage.low:
            usage, count, freed = await self._db.run(self._free_space)
            self.deleted_for_space += count
            if count:
                message = (
                    f"disk almost full: deleted the {count} oldest recordings "
                    f"({freed / 1e6:.1f} MB) to keep {usage.reserve / 1e6:.0f} MB free"
                )
            else:
                message = (
                    f"disk almost full ({usage.free / 1e6:.0f} MB free, reserve "
                    f"{usage.reserve / 1e6:.0f} MB) and no recording left to delete"
                )
            self.last_guard_action = message
            logger.warning("%s", message)
            self._events.system_alert("storage", message)
        self.usage = usage
        return usage

    async def _guard_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poke.wait(), GUARD_INTERVAL_S)
            self._poke.clear()
            try:
                await self.enforce_reserve()
            except Exception:
                logger.exception("checking free disk space failed")

    async def _retention_loop(self) -> None:
        while True:
            await asyncio.sleep(RETENTION_INTERVAL_S)
            try:
                await self.flush()
                removed = await self._db.run(self._apply_retention)
                if removed:
                    logger.info("retention: deleted %d old recordings", removed)
            except Exception:
                logger.exception("applying retention failed")

    async def delete(self, recording_id: int) -> None:
        """Delete one recording (file, thumbnails, row); not one being written."""
        if recording_id in self._writing:
            raise Conflict("this recording is still being written")
        await self.flush()

        def remove(db: Session) -> Recording | None:
            row = db.get(Recording, recording_id)
            if row is not None:
                self._delete(db, row)
            return row

        row = await self._db.run(remove)
        if row is not None:
            message = {"type": "recording", "phase": "deleted", "recording": recording_json(row)}
            self._events.publish(message, row.camera)

    # ----- thumbnails ------------------------------------------------------------------------

    async def strip(self, row: Recording, tiles: int) -> Path | bytes:
        """A row of ``tiles`` pictures spread over the recording (decoded on request)."""
        path = self.root / row.path
        cached = self.thumbnails / f"{row.id}-{tiles}.jpg"
        if row.state != "recording" and cached.is_file():
            return cached
        duration = row.duration
        if row.state == "recording":
            # Still growing: spread the tiles over what is written so far.
            found = await asyncio.to_thread(probe, path)
            duration = found.duration if found is not None else 0.0
        jpeg = await asyncio.to_thread(make_strip, path, max(duration, 0.0), tiles)
        if row.state != "recording":

            def store() -> None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                temporary = cached.with_suffix(".tmp")
                temporary.write_bytes(jpeg)
                temporary.replace(cached)

            await asyncio.to_thread(store)
        return jpeg

    def status(self) -> dict[str, Any]:
        usage = self.usage
        return {
            "root": str(self.root),
            "total_bytes": usage.total if usage else None,
            "free_bytes": usage.free if usage else None,
            "reserve_bytes": usage.reserve if usage else None,
            "low": bool(usage and usage.low),
            "deleted_for_space": self.deleted_for_space,
            "last_guard_action": self.unavailable or self.last_guard_action,
            "recording": {camera: r.recording for camera, r in self.recorders.items()},
        }


def make_strip(path: Path, duration: float, tiles: int) -> bytes:
    """Decode the keyframe nearest each tile's moment and lay the pictures side by side."""
    pictures: list[np.ndarray[Any, np.dtype[np.uint8]]] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = "NONKEY"
        height = None
        for index in range(tiles):
            moment = duration * (index + 0.5) / tiles
            assert stream.time_base is not None
            container.seek(int(moment / stream.time_base), stream=stream, backward=True)
            frame = next(container.decode(stream), None)
            if frame is None:
                continue
            if height is None:
                height = max(2, round(frame.height * STRIP_TILE_WIDTH / frame.width / 2) * 2)
            small = frame.reformat(width=STRIP_TILE_WIDTH, height=height, format="rgb24")
            pictures.append(np.asarray(small.to_ndarray(), dtype=np.uint8))
    if not pictures:
        raise ValueError("no picture in the recording")
    strip = np.concatenate(pictures, axis=1)
    return encode_jpeg(av.VideoFrame.from_ndarray(strip, format="rgb24"))
