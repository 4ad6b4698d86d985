"""Who arms the cameras: their schedules, and people until the schedule next changes.

Each camera's ``schedule:`` (``camera.schedule``: always, never or weekly periods in its
time zone) says whether it is armed. Someone arming or disarming it by hand
(``PUT /api/cameras/{id}/arm``) overrides the schedule until its next change: 22:00 arms a
camera that was disarmed by hand at 20:00, and a camera disarmed by hand with ``always``
stays disarmed (nothing changes after). Saving a new schedule for a camera drops its manual
choice.

Persistence: the manual choice is the ``camera_settings`` row (``armed``, ``updated_at``)
that arming has always used, so nothing moves on upgrade; the override's end is not stored
but computed, as the schedule's first change after ``updated_at``. The schedule's own
changes are not stored (they follow from the config). A timer task applies the changes on
time; the decisions are a pure function (:func:`decide`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select

from camera.config import CameraConfig
from camera.manager import CameraManager
from camera.schedule import ScheduleConfig, armed_at, system_zone

from ..db import Database
from ..models import CameraSetting
from .event_service import EventService

logger = logging.getLogger(__name__)

MAX_SLEEP_S = 60.0  # look again at least this often (clock changes, DST, new cameras)
Manual = tuple[bool, datetime]  # armed, when someone chose it


@dataclass(frozen=True)
class Arming:
    """A camera's arming now and next (the ``GET /api/cameras/{id}/arm`` answer)."""

    armed: bool
    scheduled: bool  # what the schedule alone says now
    override: bool  # a manual choice overrides the schedule now
    next_change: datetime | None  # when ``armed`` changes by itself next
    next_armed: bool | None  # and to what


def decide(schedule: ScheduleConfig, zone: tzinfo, manual: Manual | None, now: datetime) -> Arming:
    """Pure: the arming of a camera at ``now`` from its schedule and the manual choice."""
    scheduled, change = armed_at(schedule, zone, now)
    if manual is not None:
        armed, chosen_at = manual
        until = armed_at(schedule, zone, chosen_at)[1]
        if until is None:  # the schedule never changes: the choice stands
            return Arming(armed, scheduled, armed != scheduled, None, None)
        if now < until:
            after, later = armed_at(schedule, zone, until)
            if after != armed:
                return Arming(armed, scheduled, armed != scheduled, until, after)
            flip = None if later is None else not armed
            return Arming(armed, scheduled, armed != scheduled, later, flip)
    return Arming(scheduled, scheduled, False, change, None if change is None else not scheduled)


class ArmingService:
    def __init__(
        self,
        db: Database,
        events: EventService,
        cameras: CameraManager,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._events = events
        self._cameras = cameras
        self.clock = clock  # what time it is (tests move it on)
        self._manual: dict[str, Manual] = {}
        self._zone: tzinfo = UTC
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._zone = await asyncio.to_thread(system_zone)
        rows = await self._db.run(lambda db: list(db.scalars(select(CameraSetting))))
        for row in rows:
            chosen = row.updated_at if row.updated_at.tzinfo else row.updated_at.replace(tzinfo=UTC)
            self._manual[row.camera] = (row.armed, chosen)
        await self.apply()
        self._task = asyncio.create_task(self._run(), name="arming-schedule")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _config(self, camera_id: str) -> CameraConfig | None:
        return self._cameras.config(camera_id)

    def zone(self, config: CameraConfig) -> tzinfo:
        """The camera's time zone: its schedule's, else the system's."""
        name = config.schedule.timezone
        return ZoneInfo(name) if name else self._zone

    def state(self, camera_id: str) -> Arming:
        config = self._config(camera_id)
        now = datetime.fromtimestamp(self.clock(), UTC)
        if config is None:
            armed = self._events.armed(camera_id)
            return Arming(armed, armed, False, None, None)
        return decide(config.schedule, self.zone(config), self._manual.get(camera_id), now)

    async def manual(self, camera_id: str, armed: bool) -> Arming:
        """Someone armed or disarmed the camera: until the schedule's next change."""
        self._manual[camera_id] = (armed, datetime.fromtimestamp(self.clock(), UTC))
        await self._events.set_armed(camera_id, armed)  # stores the row (updated_at)
        self.poke()
        return self.state(camera_id)

    async def schedule_changed(self, camera_id: str) -> None:
        """A new schedule was saved: it applies now, the manual choice goes."""
        if self._manual.pop(camera_id, None) is not None:
            forget = delete(CameraSetting).where(CameraSetting.camera == camera_id)
            await self._db.run(lambda db: db.execute(forget))
        await self.apply()
        self.poke()

    def poke(self) -> None:
        """Look at the schedules again now (cameras or schedules changed)."""
        self._wake.set()

    async def apply(self) -> None:
        """Bring every camera's arming in line with its schedule and manual choice."""
        for config in self._cameras.configs():
            wanted = self.state(config.id).armed
            if self._events.armed(config.id) != wanted:
                logger.info(
                    "camera %s %s by its schedule", config.id, "armed" if wanted else "disarmed"
                )
                await self._events.set_armed(config.id, wanted, persist=False)

    def _next_change(self) -> float | None:
        changes = [self.state(c.id).next_change for c in self._cameras.configs()]
        times = [change.timestamp() for change in changes if change is not None]
        return min(times) if times else None

    async def _run(self) -> None:
        while True:
            try:
                self._wake.clear()
                soonest = self._next_change()
                delay = MAX_SLEEP_S if soonest is None else soonest - self.clock() + 0.05
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), min(max(delay, 0.0), MAX_SLEEP_S))
                await self.apply()
            except asyncio.CancelledError:
                raise
            except Exception:
                # The top of a background task: log and go on (the next minute retries).
                logger.exception("applying the arming schedules failed")
                await asyncio.sleep(MAX_SLEEP_S)
