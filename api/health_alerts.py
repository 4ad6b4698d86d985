"""When the machine's health raises an alert: a pure step with hysteresis.

    step(state, reading, config) -> (state, [Raised])

No clock, no I/O: the system monitor (:mod:`api.services.system_monitor`) samples every
``system.interval_seconds`` and raises what this returns through
``EventService.system_alert`` (which also keeps one alert per kind per 6 hours). Each kind
has separate levels to switch on and off (a temperature hovering at the limit does not
flap) and must hold for ``ON_SAMPLES`` samples in a row before it counts (``OFF_SAMPLES``
to clear); under-voltage counts at once: it corrupts SD cards.

Kinds (stable names, also the event kinds): ``undervoltage``, ``throttled`` (the firmware
caps the ARM frequency or throttles), ``overheat``, ``disk_low`` (the data dir's file
system), ``memory`` (``MemAvailable`` low).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

KINDS = ("undervoltage", "throttled", "overheat", "disk_low", "memory")
ON_SAMPLES = {"undervoltage": 1}
DEFAULT_ON_SAMPLES = 2
OFF_SAMPLES = 3
OVERHEAT_CLEAR_BELOW_C = 5.0  # back to normal at this much under the limit
DISK_CLEAR_FACTOR = 1.5
MEMORY_CLEAR_POINTS = 5.0


class AlertConfig(Protocol):
    @property
    def overheat_celsius(self) -> float: ...

    @property
    def disk_low_mb(self) -> int: ...

    @property
    def memory_low_percent(self) -> float: ...


@dataclass(frozen=True)
class Reading:
    undervoltage: bool | None = None
    throttled: bool | None = None  # capped or throttled now
    temperature_c: float | None = None
    disk_free: int | None = None
    memory_available: int | None = None
    memory_total: int | None = None


@dataclass(frozen=True)
class Level:
    active: bool = False
    streak: int = 0  # samples in a row that point the other way


@dataclass(frozen=True)
class Raised:
    kind: str
    detail: str


AlertState = Mapping[str, Level]


def step(
    state: AlertState, reading: Reading, config: AlertConfig
) -> tuple[AlertState, list[Raised]]:
    new = dict(state)
    raised: list[Raised] = []
    for kind in KINDS:
        level = state.get(kind, Level())
        verdict = _judge(kind, reading, config)
        if verdict is None:  # not measured here, or inside the hysteresis band
            new[kind] = Level(level.active, 0)
            continue
        on, detail = verdict
        if on == level.active:
            new[kind] = Level(level.active, 0)
            continue
        streak = level.streak + 1
        needed = ON_SAMPLES.get(kind, DEFAULT_ON_SAMPLES) if on else OFF_SAMPLES
        if streak < needed:
            new[kind] = Level(level.active, streak)
            continue
        new[kind] = Level(on, 0)
        if on:
            raised.append(Raised(kind, detail))
    return MappingProxyType(new), raised


def active(state: AlertState) -> list[str]:
    return [kind for kind in KINDS if state.get(kind, Level()).active]


def _judge(kind: str, r: Reading, config: AlertConfig) -> tuple[bool, str] | None:
    """(on, detail) when the reading says clearly on or clearly off; None in between."""
    if kind == "undervoltage":
        if r.undervoltage is None:
            return None
        return r.undervoltage, "under-voltage: the power supply is too weak for this Pi"
    if kind == "throttled":
        if r.throttled is None:
            return None
        return r.throttled, "the firmware is capping or throttling the CPU (heat or power)"
    if kind == "overheat":
        return _band(
            r.temperature_c,
            config.overheat_celsius,
            config.overheat_celsius - OVERHEAT_CLEAR_BELOW_C,
            high_is_bad=True,
            detail=f"SoC at {r.temperature_c} °C (limit {config.overheat_celsius:g} °C)",
        )
    if kind == "disk_low":
        free_mb = None if r.disk_free is None else r.disk_free / 2**20
        return _band(
            free_mb,
            config.disk_low_mb,
            config.disk_low_mb * DISK_CLEAR_FACTOR,
            high_is_bad=False,
            detail=f"{free_mb or 0:.0f} MiB free in the data dir (alert under "
            f"{config.disk_low_mb} MiB)",
        )
    if r.memory_available is None or not r.memory_total:
        return None
    percent = 100 * r.memory_available / r.memory_total
    return _band(
        percent,
        config.memory_low_percent,
        config.memory_low_percent + MEMORY_CLEAR_POINTS,
        high_is_bad=False,
        detail=f"{percent:.0f} % of memory available (alert under {config.memory_low_percent:g} %)",
    )


def _band(
    value: float | None, on_at: float, off_at: float, *, high_is_bad: bool, detail: str
) -> tuple[bool, str] | None:
    if value is None:
        return None
    if high_is_bad:
        return (True, detail) if value >= on_at else (False, detail) if value < off_at else None
    return (True, detail) if value < on_at else (False, detail) if value >= off_at else None
