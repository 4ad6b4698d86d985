"""Server CPU with 0, 1, 5, 10 viewers, and memory with 4; viewers run in another process.

A CPU window is only as good as the machine is quiet: anything else busy on the same two
cores (a test suite, a browser) slows the server and skews its figures. Each window
records the CPU used by everything else ("other"); a disturbed window is measured again
once and, if still disturbed, flagged in the results.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .procstat import DISTURBED_OTHER_CPU, cpu_window, memory_kb, memory_map
from .servers import Server, wait_viewer_count
from .viewers import FleetProcess, viewer_fleet

logger = logging.getLogger(__name__)

ATTEMPTS = 2


@dataclass(frozen=True)
class Timing:
    warmup_s: float
    window_s: float
    idle_s: float


@dataclass
class CpuPoint:
    viewers: int
    connected: int
    server_cpu: float  # % of one core
    client_cpu: float  # the viewer process, % of one core
    machine_cpu: float  # whole machine, % of one core (2 cores = 200 %)
    other_cpu: float  # machine minus this benchmark's processes: other work on the machine
    window_s: float
    busiest_others: list[tuple[str, int, float]] = field(default_factory=list)
    fps_mean: float = 0.0
    fps_min: float = 0.0
    kbps_mean: float = 0.0
    attempts: int = 1
    errors: list[str] = field(default_factory=list)

    @property
    def disturbed(self) -> bool:
        return self.other_cpu > DISTURBED_OTHER_CPU

    @property
    def cpu_ms_per_frame(self) -> float | None:
        """Server CPU time per video frame delivered to one viewer."""
        delivered = self.connected * self.fps_mean
        return 10 * self.server_cpu / delivered if delivered else None

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "disturbed": self.disturbed,
            "cpu_ms_per_frame": self.cpu_ms_per_frame,
        }


async def idle_point(server: Server, timing: Timing) -> CpuPoint:
    """No viewer: the source runs, the encoder sleeps."""
    await wait_viewer_count(server, 0)
    for attempt in range(1, ATTEMPTS + 1):
        window = await cpu_window([server.pid], timing.idle_s)
        cpu = window.processes[server.pid]
        point = CpuPoint(0, 0, cpu, 0.0, window.machine, window.other, window.seconds)
        point.busiest_others = window.others
        point.attempts = attempt
        if not point.disturbed:
            break
    return point


async def viewers_point(server: Server, count: int, timing: Timing, log: Path) -> CpuPoint:
    await wait_viewer_count(server, 0)
    async with viewer_fleet(server, count, log) as fleet:
        ready = await fleet.ready()
        await asyncio.sleep(timing.warmup_s)
        for attempt in range(1, ATTEMPTS + 1):
            point = await _measured(server, fleet, count, timing.window_s)
            point.attempts = attempt
            if not point.disturbed:
                break
            logger.warning(
                "%d viewers: others used %.0f %% of a core (busiest: %s); %s",
                count, point.other_cpu, point.busiest_others,
                "measuring again" if attempt < ATTEMPTS else "flagged",
            )  # fmt: skip
        point.errors = list(ready["errors"])
    return point


async def _measured(server: Server, fleet: FleetProcess, count: int, seconds: float) -> CpuPoint:
    await fleet.mark()
    window = await cpu_window([server.pid, fleet.pid], seconds)
    viewers = await fleet.report()
    fps = [v["fps"] for v in viewers] or [0.0]
    return CpuPoint(
        viewers=count,
        connected=len(viewers),
        server_cpu=window.processes[server.pid],
        client_cpu=window.processes[fleet.pid],
        machine_cpu=window.machine,
        other_cpu=window.other,
        window_s=window.seconds,
        busiest_others=window.others,
        fps_mean=statistics.fmean(fps),
        fps_min=min(fps),
        kbps_mean=statistics.fmean([v["kbps"] for v in viewers] or [0.0]),
    )


async def cpu_scaling(
    server: Server, counts: list[int], timing: Timing, workdir: Path, name: str
) -> list[CpuPoint]:
    log = workdir / f"viewers-{name}.log"
    points = [await idle_point(server, timing)]
    for count in counts:
        points.append(await viewers_point(server, count, timing, log))
    return points


def megabytes(memory: dict[str, int]) -> dict[str, float]:
    return {key: kb / 1024 for key, kb in memory.items()}


async def rss_with_viewers(
    server: Server, count: int, settle_s: float, workdir: Path
) -> dict[str, Any]:
    """VmRSS (and its anonymous / file-backed parts) with ``count`` viewers for ``settle_s``."""
    await wait_viewer_count(server, 0)
    idle = memory_kb(server.pid)
    async with viewer_fleet(server, count, workdir / "viewers-rss.log") as fleet:
        ready = await fleet.ready()
        await asyncio.sleep(settle_s)
        loaded = memory_kb(server.pid)
        where = memory_map(server.pid)
    return {
        "viewers": count,
        "connected": ready["connected"],
        "rss_mb": loaded["VmRSS"] / 1024,
        "loaded_mb": megabytes(loaded),
        "idle_mb": megabytes(idle),
        "where": where,
    }


def summarize(points: list[CpuPoint]) -> dict[str, Any]:
    """Marginal CPU per extra viewer and the 10-vs-1 ratio, from the measured points."""
    by_count = {p.viewers: p for p in points}
    summary: dict[str, Any] = {"points": [p.as_dict() for p in points]}
    low, high = min(c for c in by_count if c > 0), max(by_count)
    if high > low:
        a, b = by_count[low], by_count[high]
        summary["marginal_cpu_per_viewer"] = (b.server_cpu - a.server_cpu) / (high - low)
        summary["ratio_high_low"] = b.server_cpu / a.server_cpu if a.server_cpu else None
        summary["ratio_counts"] = [high, low]
        summary["disturbed"] = a.disturbed or b.disturbed
    return summary
