"""Removing recordings: retention by age, and the disk guard that keeps a reserve free.

* Retention: clips older than a camera's ``keep_clip_days`` and segments older than its
  ``keep_continuous_days`` go, hourly.
* The disk guard checks free space every ``GUARD_INTERVAL_S`` and whenever a file opens or
  fails (:meth:`DiskGuard.poke`): under the reserve it deletes the oldest recordings (any
  camera, any kind, never one being written) and raises a storage alert.

The guard only takes back what Sentrycam itself added (docs/config.md, "Disk guard"): the
archive's size when free space last met the reserve is its floor, and a recording is
deleted for space only while the archive is at least that large. Filling the disk alone,
Sentrycam rotates (new footage replaces the oldest); when another program fills it, the
archive keeps its size (minus at most one recording, the room to go on rotating) and an
alert says the disk is being filled by something else, instead of the old behaviour of
deleting every recording, one batch every two seconds.

Deleting removes the file first, then its thumbnails, then the row: a crash in between
leaves a row without a file, which the start-up repair drops (the other way round would
leave an unaccounted file). Database work runs in worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from camera.config import RecordingConfig

from ..db import Database
from ..models import Recording
from ..settings import StorageConfig

logger = logging.getLogger(__name__)

GUARD_INTERVAL_S = 2.0
RETENTION_INTERVAL_S = 3600.0
DELETE_BATCH = 20


class Writing(Protocol):
    path: str  # relative to the archive root


@dataclass(frozen=True)
class DiskUsage:
    total: int
    free: int
    reserve: int

    @property
    def low(self) -> bool:
        return self.free < self.reserve


def remove_recording(db: Session, row: Recording, root: Path, thumbnails: Path) -> None:
    """Delete a recording's file, its cached strips and its row (in that order)."""
    (root / row.path).unlink(missing_ok=True)
    for thumbnail in thumbnails.glob(f"{row.id}-*.jpg"):
        thumbnail.unlink(missing_ok=True)
    db.delete(row)


def apply_retention(
    db: Session,
    config_of: Callable[[str], RecordingConfig],
    root: Path,
    thumbnails: Path,
    now: datetime | None = None,
) -> int:
    """Delete recordings older than their camera keeps them; return how many."""
    now = now or datetime.now(UTC)
    removed = 0
    for camera in set(db.scalars(select(Recording.camera).distinct())):
        config = config_of(camera)
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
                remove_recording(db, row, root, thumbnails)
                removed += 1
    return removed


class DiskGuard:
    """Keeps ``storage``'s reserve free on the archive's filesystem, and applies retention."""

    def __init__(
        self,
        db: Database,
        root: Path,
        thumbnails: Path,
        storage: StorageConfig,
        config_of: Callable[[str], RecordingConfig],
        writing: Mapping[int, Writing],
        flush: Callable[[], Awaitable[None]],
        alert: Callable[[str], object],
    ) -> None:
        self._db = db
        self._root = root
        self._thumbnails = thumbnails
        self._storage = storage
        self._config_of = config_of
        self._writing = writing  # ids of recordings being written: never deleted
        self._flush = flush  # pending row changes are written before deciding
        self._alert = alert
        # Replaceable (tests simulate a small disk); os.statvfs by default.
        self.statvfs: Callable[[Path], os.statvfs_result] = os.statvfs
        self.usage: DiskUsage | None = None
        self.deleted_for_space = 0
        self.last_action: str | None = None
        # The archive's size when free space last met the reserve: what the guard keeps.
        self.floor: int | None = None
        self.filled_by_others = False
        self.disk_error: str | None = None
        self._poke = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._guard_loop(), name="recordings-guard"),
            asyncio.create_task(self._retention_loop(), name="recordings-retention"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def poke(self) -> None:
        """Check soon (a file opened or failed)."""
        self._poke.set()

    def retention(self, db: Session) -> int:
        return apply_retention(db, self._config_of, self._root, self._thumbnails)

    def disk_usage(self) -> DiskUsage:
        stats = self.statvfs(self._root)
        total = stats.f_blocks * stats.f_frsize
        free = stats.f_bavail * stats.f_frsize
        return DiskUsage(total, free, self._storage.reserve_bytes(total))

    def archive_bytes(self, db: Session) -> int:
        """What Sentrycam's recordings occupy: finished ones, and the files being written."""
        done = Recording.state != "recording"
        finished = select(func.coalesce(func.sum(Recording.size), 0)).where(done)
        # Files still growing, or just closed with their row not updated yet: on disk.
        paths = {info.path for info in list(self._writing.values())}
        paths.update(db.scalars(select(Recording.path).where(Recording.state == "recording")))
        growing = 0
        for path in paths:
            with contextlib.suppress(OSError):  # not created yet, or gone with its disk
                growing += (self._root / path).stat().st_size
        return int(db.scalar(finished) or 0) + growing

    def _free_space(self, db: Session, floor: int) -> tuple[DiskUsage, int, int, int]:
        """Delete the oldest recordings until the reserve is free, never taking the archive
        below ``floor`` by more than one recording: (usage, count, bytes, archive bytes)."""
        usage = self.disk_usage()
        archive = self.archive_bytes(db)
        count = freed = 0
        while usage.low and archive >= floor:
            batch = db.scalars(
                select(Recording)
                .where(Recording.state != "recording")
                .order_by(Recording.start, Recording.id)
                .limit(DELETE_BATCH)
            )
            rows = [row for row in batch if row.id not in self._writing]
            if not rows:
                break
            for row in rows:
                remove_recording(db, row, self._root, self._thumbnails)
                count += 1
                freed += row.size
                archive -= row.size
                db.flush()
                usage = self.disk_usage()
                if not usage.low or archive < floor:
                    break
        return usage, count, freed, archive

    async def enforce_reserve(self) -> DiskUsage:
        await self._flush()
        usage = await asyncio.to_thread(self.disk_usage)
        if not usage.low:
            self.floor = await self._db.run(self.archive_bytes)
            self.filled_by_others = False
            self.usage = usage
            return usage
        if self.floor is None:  # low from the start: keep what is there
            self.floor = await self._db.run(self.archive_bytes)
        floor = self.floor
        usage, count, freed, archive = await self._db.run(lambda db: self._free_space(db, floor))
        self.deleted_for_space += count
        message = None
        if count:
            message = (
                f"disk almost full: deleted the {count} oldest recordings "
                f"({freed / 1e6:.1f} MB) to keep {usage.reserve / 1e6:.0f} MB free"
            )
        if usage.low and archive >= floor:
            message = (
                f"disk almost full ({usage.free / 1e6:.0f} MB free, reserve "
                f"{usage.reserve / 1e6:.0f} MB) and no recording left to delete"
            )
        elif usage.low and not self.filled_by_others:
            self.filled_by_others = True
            message = (
                f"disk almost full ({usage.free / 1e6:.0f} MB free, reserve "
                f"{usage.reserve / 1e6:.0f} MB) and something else is filling it: "
                f"recordings are kept at {archive / 1e6:.0f} MB (their size when the "
                "reserve was last free) and recording may stop; free some space or give "
                "storage.path a disk of its own"
            )
        if message is not None:
            self.last_action = message
            logger.warning("%s", message)
            self._alert(message)
        self.usage = usage
        return usage

    async def _guard_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poke.wait(), GUARD_INTERVAL_S)
            self._poke.clear()
            try:
                await self.enforce_reserve()
                self.disk_error = None
            except OSError as error:  # the disk went away (EIO, ENODEV): say it once
                if self.disk_error is None:
                    logger.warning("cannot read the recordings disk: %s", error)
                self.disk_error = str(error)
            except Exception:
                logger.exception("checking free disk space failed")

    async def _retention_loop(self) -> None:
        while True:
            await asyncio.sleep(RETENTION_INTERVAL_S)
            try:
                await self._flush()
                removed = await self._db.run(self.retention)
                if removed:
                    logger.info("retention: deleted %d old recordings", removed)
            except Exception:
                logger.exception("applying retention failed")
