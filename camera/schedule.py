"""Arming schedules: the ``schedule:`` section of a camera, and the pure maths.

A camera is armed (its events raise alerts) always, never, or in weekly periods in its
time zone, e.g. every night 22:00-07:00 and on weekdays 09:00-17:00. :func:`armed_at` is a
pure function ``(schedule, zone, now) -> (armed, next change)``: no clock, no I/O. A
manual arm or disarm lasts until the next scheduled change (``api.services.arming``).
"""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Mode = Literal["always", "never", "weekly"]
CLOCK = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
HORIZON_DAYS = 8  # a weekly schedule repeats within a week: look no further


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Period(_Model):
    """Armed from ``start`` to ``end`` (local time) on each of ``days``."""

    days: list[Day] = Field(
        default_factory=lambda: list(DAYS),
        min_length=1,
        max_length=7,
        description="Days the period starts on: mon, tue, wed, thu, fri, sat, sun.",
    )
    start: str = Field(pattern=CLOCK, description="Local time it starts, HH:MM (24 h).")
    end: str = Field(
        pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$",
        description="Local time it ends, HH:MM; at or before start: the next day "
        "(22:00-07:00 is a night). 24:00 is midnight at the end of the day.",
    )

    @field_validator("days")
    @classmethod
    def _unique(cls, days: list[Day]) -> list[Day]:
        return sorted(set(days), key=DAYS.index)


class ScheduleConfig(_Model):
    """When the camera is armed: alerts come only from an armed camera."""

    mode: Mode = Field(
        "always",
        description="always, never, or weekly (armed inside the periods, disarmed outside).",
    )
    timezone: str | None = Field(
        None,
        description="IANA time zone of the periods (Europe/Paris); default: the system's.",
    )
    periods: list[Period] = Field(
        default_factory=list, max_length=28, description="Armed periods when mode is weekly."
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r} (use e.g. Europe/Paris)") from None
        return value

    @model_validator(mode="after")
    def _weekly_has_periods(self) -> ScheduleConfig:
        if self.mode == "weekly" and not self.periods:
            raise ValueError("a weekly schedule needs at least one period")
        return self


def system_zone() -> tzinfo:
    """The machine's time zone: $TZ, /etc/timezone or /etc/localtime's link, else UTC."""
    names = [os.environ.get("TZ", "").lstrip(":")]
    try:
        with open("/etc/timezone", encoding="utf-8") as handle:
            names.append(handle.read().strip())
    except OSError:
        pass
    link = os.path.realpath("/etc/localtime")
    if match := re.search(r"zoneinfo/(.+)$", link):
        names.append(match.group(1))
    for name in names:
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return UTC


def zone_of(schedule: ScheduleConfig) -> tzinfo:
    return ZoneInfo(schedule.timezone) if schedule.timezone else system_zone()


def _clock(text: str) -> tuple[time, int]:
    """A time of day and the days to add (24:00 is 00:00 the next day)."""
    if text == "24:00":
        return time(0, 0), 1
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes)), 0


def _intervals(schedule: ScheduleConfig, zone: tzinfo, today: date) -> list[list[datetime]]:
    """Armed intervals (UTC) starting from yesterday to the horizon, merged and sorted."""
    spans: list[list[datetime]] = []
    for offset in range(-1, HORIZON_DAYS + 1):
        day = today + timedelta(days=offset)
        for period in schedule.periods:
            if DAYS[day.weekday()] not in period.days:
                continue
            start_time, _ = _clock(period.start)
            end_time, extra = _clock(period.end)
            start = datetime.combine(day, start_time, zone)
            end_day = day + timedelta(days=extra)
            if not extra and end_time <= start_time:
                end_day += timedelta(days=1)  # ends the next day (a night)
            end = datetime.combine(end_day, end_time, zone)
            spans.append([start.astimezone(UTC), end.astimezone(UTC)])
    spans.sort()
    merged: list[list[datetime]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


def armed_at(schedule: ScheduleConfig, zone: tzinfo, now: datetime) -> tuple[bool, datetime | None]:
    """Whether the schedule arms the camera at ``now`` (aware), and when that next
    changes (UTC; None: never, for always/never or a schedule armed all week)."""
    if schedule.mode != "weekly":
        return schedule.mode == "always", None
    moment = now.astimezone(UTC)
    merged = _intervals(schedule, zone, now.astimezone(zone).date())
    horizon = moment + timedelta(days=HORIZON_DAYS - 1)
    for start, end in merged:
        if start <= moment < end:
            return True, None if end >= horizon else end  # armed all week: no change
        if start > moment:
            return False, start
    return False, None
