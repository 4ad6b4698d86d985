"""A measurement window of the two servers of a pair: CPU (whole process and per thread),
bytes recorded and sent to storage, files closed, and the difference between the two."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import os
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.procstat import (
    DISTURBED_OTHER_CPU,
    CpuSample,
    CpuWindow,
    storage_write_bytes,
    thread_seconds,
)
from bench.servers import Server

from .live import LiveLog, is_message
from .plan import MOTION_PERIOD_S, Mode
from .viewer import Viewing

logger = logging.getLogger(__name__)

# With a viewer both servers of a pair run the same capture pipeline: the thread that reads
# the demo camera (render, analysis, libx264's main encode) and libx264's worker threads
# (two on 2 CPUs), the busiest three. Their CPU is the same work in both, yet differs
# between the two processes by up to 1 % of a core from the vCPU they happened to run on;
# recording adds work elsewhere (the event loop, the writer thread). See README.
PIPELINE_THREADS = 3


@dataclass
class Side:
    """One of the two servers of a pair."""

    mode: Mode
    server: Server
    workdir: Path
    live: LiveLog
    viewing: Viewing | None = None

    @property
    def recordings(self) -> Path:
        return self.workdir / "data" / "recordings"

    def written(self) -> tuple[int, int]:
        """(bytes under recordings/, bytes the server process sent to storage) so far."""
        return tree_bytes(self.recordings), storage_write_bytes(self.server.pid)


def tree_bytes(root: Path) -> int:
    """Bytes in every file under ``root`` (0 if it does not exist yet)."""
    total = 0
    for directory, _, files in os.walk(root):
        for name in files:
            with contextlib.suppress(OSError):  # deleted meanwhile
                total += os.stat(os.path.join(directory, name)).st_size
    return total


def per_hour_mb(count: float, seconds: float) -> float:
    return count / seconds * 3600 / 1e6 if seconds > 0 else math.nan


@dataclass
class Window:
    viewers: int
    seconds: float
    server_cpu: float  # % of one core
    server_cpu_parts: list[float]  # the same, per motion period of the window
    loop_cpu: float  # the main thread: the event loop
    pipeline_cpu: list[float]  # the PIPELINE_THREADS busiest other threads
    rest_cpu: float  # everything but those: where recording's own work shows
    rest_cpu_parts: list[float]
    viewer_cpu: float  # the viewer fleet process
    machine_cpu: float  # all cores (200 % = both busy)
    other_cpu: float  # outside this benchmark
    busiest_others: list[tuple[str, int, float]]
    recorded_bytes: int  # added under recordings/
    storage_bytes: int  # the server process's write_bytes
    files_closed: int  # recording "end" messages during the window
    events_started: int
    viewer_fps: float | None = None
    audio_fps: float | None = None

    @property
    def disturbed(self) -> bool:
        return self.other_cpu > DISTURBED_OTHER_CPU

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "disturbed": self.disturbed,
            "recorded_mb_per_hour": per_hour_mb(self.recorded_bytes, self.seconds),
            "storage_mb_per_hour": per_hour_mb(self.storage_bytes, self.seconds),
        }


async def measure(sides: list[Side], seconds: float) -> list[Window]:
    """One window for every side at once, in parts of one motion period each."""
    servers = [side.server.pid for side in sides]
    fleets = [side.viewing.fleet.pid for side in sides if side.viewing]
    parts = max(1, round(seconds / MOTION_PERIOD_S))
    for side in sides:
        if side.viewing:
            await side.viewing.fleet.mark()
    audio_from = [side.viewing.audio.frames if side.viewing and side.viewing.audio else 0
                  for side in sides]  # fmt: skip
    wall_start = time.time()
    before = [side.written() for side in sides]
    samples = [CpuSample.take()]
    threads = [[thread_seconds(pid) for pid in servers]]
    for _ in range(parts):
        await asyncio.sleep(seconds / parts)
        samples.append(CpuSample.take())
        threads.append([thread_seconds(pid) for pid in servers])
    after = [side.written() for side in sides]
    wall_end = time.time()
    cpu = CpuWindow.between(samples[0], samples[-1], servers + fleets)
    split = [CpuWindow.between(a, b, servers) for a, b in itertools.pairwise(samples)]
    windows = []
    for index, side in enumerate(sides):
        pid, viewing = side.server.pid, side.viewing
        messages = side.live.between(wall_start, wall_end)
        loop, pipeline, rest, rest_parts = split_threads(
            pid, [sample[index] for sample in threads], cpu.seconds
        )
        window = Window(
            viewers=1 if viewing else 0,
            seconds=cpu.seconds,
            server_cpu=cpu.processes[pid],
            server_cpu_parts=[part.processes[pid] for part in split],
            loop_cpu=loop,
            pipeline_cpu=pipeline,
            rest_cpu=rest,
            rest_cpu_parts=rest_parts,
            viewer_cpu=cpu.processes[viewing.fleet.pid] if viewing else 0.0,
            machine_cpu=cpu.machine,
            other_cpu=cpu.other,
            busiest_others=cpu.others,
            recorded_bytes=after[index][0] - before[index][0],
            storage_bytes=after[index][1] - before[index][1],
            files_closed=sum(is_message(m, "recording", "end") for m in messages),
            events_started=sum(is_message(m, "event", "start") for m in messages),
        )
        if viewing:
            report = await viewing.fleet.report()
            window.viewer_fps = report[0]["fps"] if report else 0.0
            if viewing.audio:
                window.audio_fps = (viewing.audio.frames - audio_from[index]) / cpu.seconds
        windows.append(window)
    if windows[0].disturbed:
        logger.warning(
            "others used %.0f %% of a core (busiest: %s): flagged",
            windows[0].other_cpu, windows[0].busiest_others,
        )  # fmt: skip
    return windows


def split_threads(
    pid: int, samples: list[dict[int, float]], seconds: float
) -> tuple[float, list[float], float, list[float]]:
    """(event loop, the pipeline threads, the rest, the rest per part), % of one core."""
    first, last = samples[0], samples[-1]
    share = {tid: 100 * (cpu - first.get(tid, 0.0)) / seconds for tid, cpu in last.items()}
    loop = share.pop(pid, 0.0)
    pipeline = sorted(share, key=lambda tid: -share[tid])[:PIPELINE_THREADS]
    rest_parts = []
    for start, end in itertools.pairwise(samples):
        part = seconds / (len(samples) - 1)
        rest_parts.append(
            sum(
                100 * (cpu - start.get(tid, 0.0)) / part
                for tid, cpu in end.items()
                if tid not in pipeline
            )
        )
    rest = loop + sum(cpu for tid, cpu in share.items() if tid not in pipeline)
    return loop, [share[tid] for tid in pipeline], rest, rest_parts


def standard_error(values: list[float]) -> float | None:
    return statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else None


def _change(base: float, test: float, parts: list[float]) -> dict[str, Any]:
    return {"cpu": test - base, "parts": parts, "error": standard_error(parts)}


def difference(base: Window, test: Window) -> dict[str, Any]:
    """The test server's CPU minus the recording-off server's, with its standard error
    over the window's parts (both servers saw the same machine in each part); with
    viewers, the same for the threads outside the capture pipeline ("rest")."""
    pairs = zip(base.server_cpu_parts, test.server_cpu_parts, strict=True)
    found = _change(base.server_cpu, test.server_cpu, [t - b for b, t in pairs])
    if base.viewers and test.viewers:
        pairs = zip(base.rest_cpu_parts, test.rest_cpu_parts, strict=True)
        found["rest"] = _change(base.rest_cpu, test.rest_cpu, [t - b for b, t in pairs])
    return found
