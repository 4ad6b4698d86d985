"""Arming schedules: the pure maths (``camera.schedule``) and the manual override rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from api.services.arming import decide
from camera.schedule import Period, ScheduleConfig, armed_at

PARIS = ZoneInfo("Europe/Paris")
NIGHTS_AND_OFFICE = ScheduleConfig(
    mode="weekly",
    periods=[
        Period(start="22:00", end="07:00"),  # every night
        Period(days=["mon", "tue", "wed", "thu", "fri"], start="09:00", end="17:00"),
    ],
)


def local(text: str, zone: ZoneInfo = PARIS) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


@pytest.mark.parametrize(
    ("now", "armed", "next_change"),
    [
        ("2026-12-07T08:00", False, "2026-12-07T09:00"),  # Monday morning, before work
        ("2026-12-07T12:00", True, "2026-12-07T17:00"),  # at work
        ("2026-12-07T17:00", False, "2026-12-07T22:00"),  # the end is exclusive
        ("2026-12-07T23:30", True, "2026-12-08T07:00"),  # the night runs into Tuesday
        ("2026-12-08T06:59", True, "2026-12-08T07:00"),
        ("2026-12-12T12:00", False, "2026-12-12T22:00"),  # Saturday: no office
        ("2026-12-11T20:00", False, "2026-12-11T22:00"),
    ],
)
def test_weekly_periods(now: str, armed: bool, next_change: str) -> None:
    assert armed_at(NIGHTS_AND_OFFICE, PARIS, local(now)) == (armed, local(next_change))


def test_always_and_never_never_change() -> None:
    now = local("2026-12-07T12:00")
    assert armed_at(ScheduleConfig(), PARIS, now) == (True, None)
    assert armed_at(ScheduleConfig(mode="never"), PARIS, now) == (False, None)


def test_touching_periods_merge_and_a_whole_week_never_changes() -> None:
    evenings = ScheduleConfig(
        mode="weekly",
        periods=[Period(start="18:00", end="22:00"), Period(start="22:00", end="24:00")],
    )
    assert armed_at(evenings, PARIS, local("2026-12-07T19:00"))[1] == local("2026-12-08T00:00")
    whole = ScheduleConfig(mode="weekly", periods=[Period(start="00:00", end="00:00")])
    assert armed_at(whole, PARIS, local("2026-12-07T19:00")) == (True, None)


def test_the_schedule_keeps_to_local_time_across_daylight_saving() -> None:
    """Europe/Paris goes from +01:00 to +02:00 on 29 March 2026 at 02:00."""
    nights = ScheduleConfig(mode="weekly", periods=[Period(start="22:00", end="07:00")])
    armed, change = armed_at(nights, PARIS, local("2026-03-28T23:00"))
    assert armed
    assert change is not None
    assert change.astimezone(PARIS).hour == 7
    assert change - local("2026-03-28T23:00") == timedelta(hours=7)  # an hour shorter
    # A period starting in the skipped hour starts when the clocks say 03:00.
    skipped = ScheduleConfig(mode="weekly", periods=[Period(start="02:30", end="04:00")])
    armed, change = armed_at(skipped, PARIS, local("2026-03-29T01:00"))
    assert not armed
    assert change == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_the_time_zone_is_the_cameras() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    office = ScheduleConfig(mode="weekly", periods=[Period(start="09:00", end="17:00")])
    moment = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo, 02:00 in Paris
    assert armed_at(office, tokyo, moment)[0] is True
    assert armed_at(office, PARIS, moment)[0] is False


def test_a_manual_choice_lasts_until_the_next_scheduled_change() -> None:
    disarmed_at_20 = (False, local("2026-12-07T20:00"))
    at_21 = decide(NIGHTS_AND_OFFICE, PARIS, disarmed_at_20, local("2026-12-07T21:00"))
    assert (at_21.armed, at_21.scheduled, at_21.override) == (False, False, False)
    assert (at_21.next_change, at_21.next_armed) == (local("2026-12-07T22:00"), True)
    at_23 = decide(NIGHTS_AND_OFFICE, PARIS, disarmed_at_20, local("2026-12-07T23:00"))
    assert (at_23.armed, at_23.override) == (True, False)  # 22:00 took over again
    disarmed_at_23 = (False, local("2026-12-07T23:00"))
    at_02 = decide(NIGHTS_AND_OFFICE, PARIS, disarmed_at_23, local("2026-12-08T02:00"))
    assert (at_02.armed, at_02.scheduled, at_02.override) == (False, True, True)
    # At 07:00 the schedule disarms anyway: the next change is 09:00's arming.
    assert (at_02.next_change, at_02.next_armed) == (local("2026-12-08T09:00"), True)


def test_a_manual_choice_stands_when_the_schedule_never_changes() -> None:
    chosen = (False, local("2026-01-01T00:00"))
    state = decide(ScheduleConfig(), PARIS, chosen, local("2026-12-07T12:00"))
    assert (state.armed, state.override, state.next_change) == (False, True, None)


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"mode": "weekly"}, "at least one period"),
        ({"mode": "sometimes"}, "'always', 'never' or 'weekly'"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"mode": "weekly", "periods": [{"start": "25:00", "end": "07:00"}]}, "pattern"),
        (
            {"mode": "weekly", "periods": [{"start": "22:00", "end": "07:00", "days": []}]},
            "at least 1",
        ),
        ({"mode": "weekly", "periods": [{"start": "22:00", "end": "7:00"}]}, "pattern"),
    ],
)
def test_bad_schedules_are_refused(values: dict[str, object], complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        ScheduleConfig.model_validate(values)
