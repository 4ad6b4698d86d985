"""Reading the machine's health: SoC temperature, the Raspberry Pi firmware's throttling and
under-voltage flags, CPU per core, memory, disk space and writes, uptime.

Everything comes from ``/sys`` and ``/proc`` (no ``vcgencmd``, no root, no video group):
both roots are parameters, so tests read recorded trees (``tests/data/pi4``, ``pi5``).
Missing files mean "not on this machine" (``None``), never an error: a PC has no
``get_throttled``, a container may have no thermal zone.

Sources:

* temperature: ``class/thermal/thermal_zone*/temp`` (millidegrees; the zone whose ``type``
  is ``cpu-thermal`` on a Pi, else the first);
* throttling: ``get_throttled`` of the firmware driver (hex: bit 0 under-voltage now,
  1 ARM frequency capped now, 2 throttled now, 3 soft temperature limit now; bits 16-19
  the same "since boot"), found under ``devices/platform`` (``soc/soc:firmware`` on a
  Pi 4, other parents on a Pi 5); else under-voltage alone from the ``rpi_volt`` hwmon
  (``in0_lcrit_alarm``);
* CPU: ``/proc/stat`` (per-core jiffies; a rate needs two samples), ``/proc/loadavg``;
* memory: ``/proc/meminfo`` (``MemAvailable``); uptime: ``/proc/uptime``;
* disk: ``statvfs`` of the data dir; sectors written by its block device,
  ``class/block``-style ``dev/block/<major>:<minor>/stat`` (field 7, 512-byte sectors).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

UNDERVOLTAGE_NOW = 1 << 0
CAPPED_NOW = 1 << 1
THROTTLED_NOW = 1 << 2
SOFT_TEMP_NOW = 1 << 3
UNDERVOLTAGE_SINCE_BOOT = 1 << 16
CAPPED_SINCE_BOOT = 1 << 17
THROTTLED_SINCE_BOOT = 1 << 18
SOFT_TEMP_SINCE_BOOT = 1 << 19
SECTOR = 512
# Where the firmware driver's get_throttled lives under devices/platform: soc/soc:firmware
# on a Pi 4; other parents (and depths) on a Pi 5 and newer kernels.
THROTTLED_PATTERNS = (
    "*/*firmware/get_throttled",
    "*firmware/get_throttled",
    "*/*/*firmware/get_throttled",
)


@dataclass(frozen=True)
class Sample:
    """One reading of the machine (a rate needs two: CPU and disk writes)."""

    at: float  # time.monotonic()
    temperature_c: float | None
    throttled: int | None  # the firmware's get_throttled bits
    undervoltage: bool | None  # now, from get_throttled or the rpi_volt hwmon
    cpu_jiffies: tuple[tuple[int, int], ...]  # per core: (busy, total)
    load: tuple[float, float, float] | None
    memory_total: int | None  # bytes
    memory_available: int | None
    disk_total: int | None  # the data dir's filesystem, bytes
    disk_free: int | None  # available to the service (statvfs f_bavail)
    disk_written: int | None  # bytes written to its block device since boot
    uptime_s: float | None
    cores: int = field(default=0)


@dataclass(frozen=True)
class Roots:
    sys: Path = Path("/sys")
    proc: Path = Path("/proc")


def read_sample(roots: Roots, data_dir: Path, device: str | None = None) -> Sample:
    """Read everything once (blocking file reads: call it in a worker thread).

    ``device`` is the data dir's block device as ``major:minor``; by default it is the
    device of the file system ``data_dir`` is on.
    """
    throttled = read_throttled(roots.sys)
    undervoltage = bool(throttled & UNDERVOLTAGE_NOW) if throttled is not None else None
    if undervoltage is None:
        undervoltage = read_hwmon_undervoltage(roots.sys)
    jiffies = read_cpu_jiffies(roots.proc)
    total, free = disk_space(data_dir)
    memory = read_meminfo(roots.proc)
    return Sample(
        at=time.monotonic(),
        temperature_c=read_temperature(roots.sys),
        throttled=throttled,
        undervoltage=undervoltage,
        cpu_jiffies=jiffies,
        load=read_loadavg(roots.proc),
        memory_total=memory.get("MemTotal"),
        memory_available=memory.get("MemAvailable"),
        disk_total=total,
        disk_free=free,
        disk_written=read_disk_written(roots.sys, device or device_of(data_dir)),
        uptime_s=read_uptime(roots.proc),
        cores=len(jiffies),
    )


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None


def read_temperature(sys_root: Path) -> float | None:
    zones = sorted((sys_root / "class/thermal").glob("thermal_zone*"))
    preferred = [z for z in zones if _text(z / "type") in ("cpu-thermal", "cpu_thermal")]
    for zone in preferred + zones:
        raw = _text(zone / "temp")
        if raw and raw.lstrip("-").isdigit():
            return int(raw) / 1000
    return None


def find_throttled(sys_root: Path) -> Path | None:
    platform = sys_root / "devices/platform"
    for pattern in (
        "*/*firmware/get_throttled",
        "*firmware/get_throttled",
        "*/*/*firmware/get_throttled",
    ):
        for path in sorted(platform.glob(pattern)):
            return path
    return None


def read_throttled(sys_root: Path) -> int | None:
    path = find_throttled(sys_root)
    raw = _text(path) if path is not None else None
    if not raw:
        return None
    try:
        return int(raw.removeprefix("0x"), 16)
    except ValueError:
        return None


def read_hwmon_undervoltage(sys_root: Path) -> bool | None:
    for hwmon in sorted((sys_root / "class/hwmon").glob("hwmon*")):
        if _text(hwmon / "name") == "rpi_volt":
            alarm = _text(hwmon / "in0_lcrit_alarm")
            return alarm == "1" if alarm is not None else None
    return None


def read_cpu_jiffies(proc_root: Path) -> tuple[tuple[int, int], ...]:
    text = _text(proc_root / "stat") or ""
    cores = []
    for line in text.splitlines():
        name, _, rest = line.partition(" ")
        if name.startswith("cpu") and name != "cpu":
            values = [int(v) for v in rest.split()[:8]]
            idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
            total = sum(values)
            cores.append((total - idle, total))
    return tuple(cores)


def cpu_percent(before: Sample, after: Sample) -> list[float]:
    """Busy share of each core between two samples, 0-100."""
    result = []
    for (busy0, total0), (busy1, total1) in zip(
        before.cpu_jiffies, after.cpu_jiffies, strict=False
    ):
        span = total1 - total0
        result.append(round(100 * (busy1 - busy0) / span, 1) if span > 0 else 0.0)
    return result


def read_loadavg(proc_root: Path) -> tuple[float, float, float] | None:
    parts = (_text(proc_root / "loadavg") or "").split()
    try:
        return float(parts[0]), float(parts[1]), float(parts[2])
    except (IndexError, ValueError):
        return None


def read_meminfo(proc_root: Path) -> dict[str, int]:
    values: dict[str, int] = {}
    for line in (_text(proc_root / "meminfo") or "").splitlines():
        key, _, rest = line.partition(":")
        number = rest.split()
        if number and number[0].isdigit():
            values[key] = int(number[0]) * (1024 if rest.strip().endswith("kB") else 1)
    return values


def read_uptime(proc_root: Path) -> float | None:
    parts = (_text(proc_root / "uptime") or "").split()
    try:
        return float(parts[0])
    except (IndexError, ValueError):
        return None


def disk_space(path: Path) -> tuple[int | None, int | None]:
    try:
        stat = os.statvfs(path)
    except OSError:
        return None, None
    return stat.f_blocks * stat.f_frsize, stat.f_bavail * stat.f_frsize


def device_of(path: Path) -> str | None:
    try:
        dev = os.stat(path).st_dev
    except OSError:
        return None
    return f"{os.major(dev)}:{os.minor(dev)}"


def read_disk_written(sys_root: Path, device: str | None) -> int | None:
    if device is None:
        return None
    fields = (_text(sys_root / "dev/block" / device / "stat") or "").split()
    try:
        return int(fields[6]) * SECTOR
    except (IndexError, ValueError):
        return None


def write_rate(before: Sample, after: Sample) -> float | None:
    """Bytes per second written to the data dir's device between two samples."""
    if before.disk_written is None or after.disk_written is None or after.at <= before.at:
        return None
    return max(0, after.disk_written - before.disk_written) / (after.at - before.at)


def throttle_flags(bits: int | None) -> dict[str, bool] | None:
    """The firmware's bits by name (None on machines without the firmware driver)."""
    if bits is None:
        return None
    return {
        "undervoltage": bool(bits & UNDERVOLTAGE_NOW),
        "frequency_capped": bool(bits & CAPPED_NOW),
        "throttled": bool(bits & THROTTLED_NOW),
        "soft_temperature_limit": bool(bits & SOFT_TEMP_NOW),
        "undervoltage_since_boot": bool(bits & UNDERVOLTAGE_SINCE_BOOT),
        "frequency_capped_since_boot": bool(bits & CAPPED_SINCE_BOOT),
        "throttled_since_boot": bool(bits & THROTTLED_SINCE_BOOT),
        "soft_temperature_limit_since_boot": bool(bits & SOFT_TEMP_SINCE_BOOT),
    }
