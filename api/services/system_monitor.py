"""The machine's health, sampled every ``system.interval_seconds``: what ``GET /api/system``,
the dashboard's system panel and /metrics show, and the alerts it raises.

Each sample (:func:`api.system_health.read_sample`, in a worker thread) goes through the
pure alert step (:mod:`api.health_alerts`); what it raises goes out as
``EventService.system_alert(kind, detail)``: an instant alert event on the live channel,
stored like any event (and on to notifications from there).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import health_alerts
from ..appliance_config import SystemConfig
from ..system_health import (
    CAPPED_NOW,
    THROTTLED_NOW,
    Roots,
    Sample,
    cpu_percent,
    read_sample,
    throttle_flags,
    write_rate,
)
from .event_service import EventService

logger = logging.getLogger(__name__)

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


class SystemMonitor:
    def __init__(
        self,
        config: SystemConfig,
        events: EventService,
        data_dir: Path,
        roots: Roots | None = None,
        device: str | None = None,
    ) -> None:
        self._config = config
        self._events = events
        self.data_dir = data_dir
        self.roots = roots or Roots()  # tests point these at recorded trees
        self.device = device  # the data dir's block device (major:minor); None: its own
        self.latest: Sample | None = None
        self._previous: Sample | None = None
        self._process: tuple[float, float] | None = None  # (monotonic, cpu seconds)
        self.process_cpu_percent: float | None = None
        self.alerts: health_alerts.AlertState = {}
        self._task: asyncio.Task[None] | None = None
        self._sampled_at: datetime | None = None

    async def start(self) -> None:
        await self.sample()
        self._task = asyncio.create_task(self._loop(), name="system-monitor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._config.interval_seconds)
            try:
                await self.sample()
            except Exception:  # the top of a background task: log, sample again later
                logger.exception("reading the system's health failed")

    async def sample(self) -> Sample:
        """Read the machine now, raise what needs raising; the new sample."""
        sample = await asyncio.to_thread(read_sample, self.roots, self.data_dir, self.device)
        self._previous, self.latest = self.latest, sample
        self._sampled_at = datetime.now(UTC)
        self._sample_process()
        throttled = None
        if sample.throttled is not None:
            throttled = bool(sample.throttled & (CAPPED_NOW | THROTTLED_NOW))
        reading = health_alerts.Reading(
            undervoltage=sample.undervoltage,
            throttled=throttled,
            temperature_c=sample.temperature_c,
            disk_free=sample.disk_free if self._config.disk_low_mb else None,
            memory_available=sample.memory_available,
            memory_total=sample.memory_total if self._config.memory_low_percent else None,
        )
        was = set(health_alerts.active(self.alerts))
        self.alerts, raised = health_alerts.step(self.alerts, reading, self._config)
        for alert in raised:
            logger.warning("system alert %s: %s", alert.kind, alert.detail)
            self._events.system_alert(alert.kind, alert.detail)
        for kind in was - set(health_alerts.active(self.alerts)):
            logger.info("system alert %s is over", kind)
        return sample

    def _sample_process(self) -> None:
        try:
            fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # pragma: no cover - Linux always has it
            return
        now, cpu = time.monotonic(), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        if self._process is not None and now > self._process[0]:
            self.process_cpu_percent = round(
                100 * (cpu - self._process[1]) / (now - self._process[0]), 1
            )
        self._process = (now, cpu)

    @staticmethod
    def process_rss() -> int | None:
        try:
            return int(Path("/proc/self/statm").read_text().split()[1]) * PAGE_SIZE
        except (OSError, IndexError, ValueError):  # pragma: no cover
            return None

    def report(self) -> dict[str, Any]:
        """The body of GET /api/system (api.schemas.SystemOut)."""
        sample, previous = self.latest, self._previous
        if sample is None:
            raise RuntimeError("the system monitor has not started")
        bits = sample.throttled
        return {
            "sampled_at": self._sampled_at.isoformat() if self._sampled_at else None,
            "temperature_c": sample.temperature_c,
            "throttled": throttle_flags(bits),
            "throttled_raw": None if bits is None else f"0x{bits:x}",
            "undervoltage": sample.undervoltage,
            "cpu_percent": cpu_percent(previous, sample) if previous else None,
            "load": list(sample.load) if sample.load else None,
            "memory_total_bytes": sample.memory_total,
            "memory_available_bytes": sample.memory_available,
            "disk_total_bytes": sample.disk_total,
            "disk_free_bytes": sample.disk_free,
            "disk_write_bytes_per_second": (
                round(rate)
                if previous and (rate := write_rate(previous, sample)) is not None
                else None
            ),
            "uptime_seconds": sample.uptime_s,
            "process_rss_bytes": self.process_rss(),
            "process_cpu_percent": self.process_cpu_percent,
            "alerts": health_alerts.active(self.alerts),
        }
