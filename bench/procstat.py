"""CPU time, memory and storage writes of processes, from /proc (Linux only, no dependencies).

The machine may be shared with other work (test suites, browsers). A window therefore
splits the machine's CPU into the processes asked for, the rest of this benchmark's own
process tree (viewers, feed, Chromium, Playwright), and everything else ("other").
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
TOP_OTHERS = 3
DISTURBED_OTHER_CPU = 25.0  # % of a core used outside the benchmark that makes a window suspect


@dataclass(frozen=True)
class ProcStat:
    name: str
    ppid: int
    cpu: float  # user + system seconds, all threads


def _stat(pid: int | str) -> ProcStat:
    with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
        text = handle.read()
    # The command name (field 2) may contain spaces; fields after it are plain numbers.
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    # proc(5): ppid is field 4, utime and stime fields 14 and 15.
    return ProcStat(name, int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)


def all_processes() -> dict[int, ProcStat]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found[int(entry.name)] = _stat(entry.name)
            except (OSError, ValueError, IndexError):
                continue  # it exited meanwhile
    return found


def descendants(processes: dict[int, ProcStat], root: int) -> set[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for pid, stat in processes.items():
        children.setdefault(stat.ppid, []).append(pid)
    tree, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid not in tree:
            tree.add(pid)
            todo.extend(children.get(pid, []))
    return tree


def thread_seconds(pid: int) -> dict[int, float]:
    """User+system CPU seconds of each thread of ``pid``."""
    found = {}
    for entry in os.scandir(f"/proc/{pid}/task"):
        try:
            found[int(entry.name)] = _stat(f"{pid}/task/{entry.name}").cpu
        except (OSError, ValueError, IndexError):
            continue  # the thread ended meanwhile
    return found


def storage_write_bytes(pid: int) -> int:
    """Bytes ``pid`` (all its threads) caused to be sent to storage: files, database, fsync."""
    with open(f"/proc/{pid}/io", encoding="ascii") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key == "write_bytes":
                return int(value)
    return 0


def load_average() -> str:
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine, summed over all cores."""
    with open("/proc/stat", encoding="ascii") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + values[4] + values[7]  # idle, iowait, steal (another VM's time)
    total = sum(values[:8])  # guest time is already counted in user
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS, its parts (RssAnon: heap and stacks, RssFile: mapped libraries) and VmHWM
    (peak RSS) of ``pid``, in KiB."""
    found: dict[str, int] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM"):
                found[key] = int(rest.split()[0])
    return found


@dataclass(frozen=True)
class CpuSample:
    at: float
    processes: dict[int, ProcStat]
    machine_busy: float
    machine_total: float

    @classmethod
    def take(cls) -> CpuSample:
        busy, total = machine_busy_seconds()
        return cls(time.monotonic(), all_processes(), busy, total)


def _busiest(shares: Iterable[tuple[str, float]]) -> list[tuple[str, int, float]]:
    """CPU of other processes grouped by name (a browser is many processes), busiest first."""
    groups: dict[str, tuple[int, float]] = {}
    for name, pct in shares:
        count, total = groups.get(name, (0, 0.0))
        groups[name] = (count + 1, total + pct)
    ranked = sorted(groups.items(), key=lambda item: -item[1][1])
    return [(name, count, round(pct, 1)) for name, (count, pct) in ranked[:TOP_OTHERS]]


@dataclass(frozen=True)
class CpuWindow:
    """CPU use between two samples, in percent of one core."""

    seconds: float
    processes: dict[int, float]  # the processes asked for
    ours: float  # this benchmark's whole process tree, those processes included
    machine: float  # all cores together (200 % = both cores of a 2-core machine busy)
    others: list[tuple[str, int, float]]  # busiest programs outside it: (name, count, %)

    @classmethod
    def between(cls, start: CpuSample, end: CpuSample, pids: list[int]) -> CpuWindow:
        wall = end.at - start.at
        # A process that started during the window counts from zero.
        share = {
            pid: 100 * (stat.cpu - (start.processes[pid].cpu if pid in start.processes else 0))
            / wall
            for pid, stat in end.processes.items()
        }  # fmt: skip
        tree = descendants(end.processes, os.getpid()) | set(pids)
        total = end.machine_total - start.machine_total
        machine = 100 * (os.cpu_count() or 1) * (end.machine_busy - start.machine_busy) / total
        outside = ((end.processes[pid].name, pct) for pid, pct in share.items() if pid not in tree)
        return cls(
            seconds=wall,
            processes={pid: share.get(pid, 0.0) for pid in pids},
            ours=sum(share.get(pid, 0.0) for pid in tree),
            machine=machine,
            others=_busiest(outside),
        )

    @property
    def other(self) -> float:
        """Machine CPU used outside this benchmark (other programs, exited processes)."""
        return max(0.0, self.machine - self.ours)


async def cpu_window(pids: list[int], seconds: float) -> CpuWindow:
    start = CpuSample.take()
    await asyncio.sleep(seconds)
    return CpuWindow.between(start, CpuSample.take(), pids)


def memory_map(pid: int, top: int = 25) -> list[dict[str, Any]]:
    """Where a process's resident memory is, from /proc/<pid>/smaps: resident KiB by
    mapping (a library file, [heap], [stack], or anonymous memory: thread stacks, malloc
    arenas, Python's obmalloc and the codecs' buffers), biggest first."""
    totals: dict[str, list[int]] = {}  # name: [rss, anonymous, mappings]
    name = "?"
    with open(f"/proc/{pid}/smaps", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            fields = line.split()
            if not fields:
                continue
            if "-" in fields[0] and not fields[0].endswith(":"):
                path = fields[5] if len(fields) > 5 else "[anonymous]"
                name = path.rsplit("/", 1)[-1] if path.startswith("/") else path
                totals.setdefault(name, [0, 0, 0])[2] += 1
            elif fields[0] in ("Rss:", "Anonymous:"):
                totals[name][0 if fields[0] == "Rss:" else 1] += int(fields[1])
    ranked = sorted(totals.items(), key=lambda item: -item[1][0])
    return [
        {"mapping": name, "rss_kb": rss, "anonymous_kb": anon, "mappings": count}
        for name, (rss, anon, count) in ranked[:top]
    ]
