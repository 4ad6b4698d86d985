"""The event policy as a pure step: cooldown, arming, splitting, status and system alerts."""

from __future__ import annotations

from dataclasses import dataclass

from api.services import event_policy as policy
from api.services.event_policy import Apply, End, Start
from camera.analysis import Observation


@dataclass(frozen=True)
class Config:
    cooldown_seconds: float = 60.0
    max_event_seconds: float = 300.0


def run(
    happenings: list[policy.Happening],
    config: Config | None = None,
    state: policy.PolicyState | None = None,
) -> tuple[policy.PolicyState, list[policy.Decision]]:
    state = state or policy.PolicyState()
    decisions: list[policy.Decision] = []
    for happening in happenings:
        state, made = policy.step(state, happening, config or Config())
        decisions.extend(made)
    return state, decisions


def seen(
    phase: str, at: float, kind: str = "motion", camera: str = "porch", score: float = 0.1
) -> Observation:
    return Observation(camera, kind, phase, at, score=score)  # type: ignore[arg-type]


def shape(decisions: list[policy.Decision]) -> list[tuple[str, int]]:
    return [(type(d).__name__, d.id) for d in decisions]


def test_an_event_starts_updates_and_ends():
    state, decisions = run([seen("start", 10), seen("update", 11), seen("end", 15)])
    assert shape(decisions) == [("Start", 1), ("Apply", 1), ("Apply", 1), ("End", 1)]
    start, update, last, end = decisions
    assert isinstance(start, Start)
    assert start.alert
    assert start.kind == "motion"
    assert isinstance(update, Apply)
    assert update.announce
    assert isinstance(last, Apply)
    assert not last.announce
    assert isinstance(end, End)
    assert end.at == 15
    assert state.open == {}
    assert state.next_id == 2


def test_a_start_while_open_ends_the_old_event_first():
    _, decisions = run([seen("start", 10), seen("start", 12)])
    assert shape(decisions) == [("Start", 1), ("End", 1), ("Start", 2)]


def test_an_end_without_a_start_is_ignored():
    state, decisions = run([seen("end", 10)])
    assert decisions == []
    assert state.next_id == 1


def test_an_update_without_a_start_starts_an_event():
    # After a restart the detector may be mid-event: the next verdict opens one.
    _, decisions = run([seen("update", 10)])
    assert shape(decisions) == [("Start", 1)]


def test_kinds_and_cameras_have_their_own_events():
    state, decisions = run(
        [seen("start", 10), seen("start", 10, kind="sound"), seen("start", 10, camera="yard")]
    )
    assert shape(decisions) == [("Start", 1), ("Start", 2), ("Start", 3)]
    assert sorted(state.open_ids()) == [1, 2, 3]


def test_cooldown_silences_alerts_per_camera_not_events():
    _, decisions = run(
        [
            seen("start", 0),
            seen("end", 1),
            seen("start", 30),  # 30 s after the alert: an event, no alert
            seen("end", 31),
            seen("start", 30, camera="yard"),  # another camera alerts at once
            seen("start", 60),  # 60 s after the alert: alerts again
        ]
    )
    alerts = [(d.camera, d.at, d.alert) for d in decisions if isinstance(d, Start)]
    assert alerts == [
        ("porch", 0, True),
        ("porch", 30, False),
        ("yard", 30, True),
        ("porch", 60, True),
    ]


def test_a_disarmed_camera_records_events_without_alerts():
    state, decisions = run([policy.Armed("porch", False), seen("start", 0)])
    assert [d.alert for d in decisions if isinstance(d, Start)] == [False]
    assert not state.is_armed("porch")
    assert state.is_armed("yard")
    state, decisions = run([policy.Armed("porch", True), seen("start", 100)], state=state)
    assert [d.alert for d in decisions if isinstance(d, Start)] == [True]


def test_endless_activity_is_split_and_alerts_again():
    config = Config(cooldown_seconds=0, max_event_seconds=300)
    _, decisions = run([seen("start", 0), seen("update", 299), seen("update", 301)], config)
    assert shape(decisions) == [("Start", 1), ("Apply", 1), ("Apply", 1), ("End", 1), ("Start", 2)]
    end = decisions[3]
    assert isinstance(end, End)
    assert "split" in end.detail
    assert end.at == 301
    again = decisions[4]
    assert isinstance(again, Start)
    assert again.alert
    assert again.at == 301


def test_an_end_never_comes_before_its_start():
    _, decisions = run([seen("start", 10), seen("end", 9)])
    assert [d.at for d in decisions if isinstance(d, End)] == [10]


def test_status_changes_are_instant_events_except_the_first_online():
    _, decisions = run(
        [
            policy.StatusChanged("porch", True, 0),
            policy.StatusChanged("porch", False, 5, "unplugged"),
            policy.StatusChanged("porch", True, 9),
        ]
    )
    assert shape(decisions) == [("Start", 1), ("End", 1), ("Start", 2), ("End", 2)]
    offline, online = decisions[0], decisions[2]
    assert isinstance(offline, Start)
    assert offline.kind == "offline"
    assert offline.detail == "unplugged"
    assert offline.alert
    assert isinstance(online, Start)
    assert online.kind == "online"
    assert not online.alert


def test_a_camera_that_starts_offline_reports_it():
    _, decisions = run([policy.StatusChanged("porch", False, 0, "no route to host")])
    assert [(d.kind, d.detail) for d in decisions if isinstance(d, Start)] == [
        ("offline", "no route to host")
    ]


def test_system_alerts_always_alert_but_at_most_every_six_hours_per_kind():
    hours = 3600.0
    state, decisions = run(
        [
            policy.SystemAlert("storage", 0, "disk almost full"),
            policy.SystemAlert("storage", 5 * hours, "still full"),
            policy.SystemAlert("network", 5 * hours, "offline"),
            policy.SystemAlert("storage", 6 * hours, "full again"),
        ]
    )
    starts = [(d.camera, d.kind, d.detail, d.alert) for d in decisions if isinstance(d, Start)]
    assert starts == [
        ("*", "storage", "disk almost full", True),
        ("*", "network", "offline", True),
        ("*", "storage", "full again", True),
    ]
    assert [d.observation for d in decisions if isinstance(d, Start)] == [None, None, None]
    assert state.open == {}  # instant: each ends at once


def test_shutdown_ends_everything_open():
    state, _ = run([seen("start", 0), seen("start", 0, kind="sound")])
    state, decisions = run([policy.Shutdown(50)], state=state)
    assert sorted((d.id, d.at, d.detail) for d in decisions if isinstance(d, End)) == [
        (1, 50, "server stopped"),
        (2, 50, "server stopped"),
    ]
    assert state.open == {}


def test_a_restart_continues_numbering_and_arming():
    state = policy.initial_state(41, {"porch": False})
    _, decisions = run([seen("start", 0)], state=state)
    start = decisions[0]
    assert isinstance(start, Start)
    assert start.id == 41
    assert not start.alert


def test_steps_never_change_the_state_they_were_given():
    before = policy.PolicyState()
    after, _ = policy.step(before, seen("start", 0), Config())
    assert before.open == {}
    assert before.next_id == 1
    assert dict(after.open) == {("porch", "motion"): policy.OpenEvent(1, 0, alerted=True)}


def quiet_zone(phase: str, at: float, alerting: bool) -> Observation:
    return Observation("porch", "motion", phase, at, zones=["street"], alerting=alerting)  # type: ignore[arg-type]


def test_motion_in_zones_that_do_not_alert_alerts_once_it_reaches_one_that_does():
    _, decisions = run(
        [
            quiet_zone("start", 10, alerting=False),
            quiet_zone("update", 11, alerting=False),
            quiet_zone("update", 12, alerting=True),  # walked from the street to the porch
            quiet_zone("update", 13, alerting=True),
            quiet_zone("end", 20, alerting=True),
        ]
    )
    assert shape(decisions) == [
        ("Start", 1),
        ("Apply", 1),
        ("Apply", 1),
        ("Alert", 1),
        ("Apply", 1),
        ("Apply", 1),
        ("End", 1),
    ]
    start = decisions[0]
    assert isinstance(start, Start)
    assert not start.alert
    alert = decisions[3]
    assert isinstance(alert, policy.Alert)
    assert alert.at == 12


def test_a_late_alert_respects_arming_and_the_cooldown():
    disarmed = [policy.Armed("porch", False), quiet_zone("start", 10, False)]
    _, decisions = run([*disarmed, quiet_zone("update", 11, True)])
    assert "Alert" not in [kind for kind, _ in shape(decisions)]
    recent = [seen("start", 0), seen("end", 1), quiet_zone("start", 10, False)]
    _, decisions = run([*recent, quiet_zone("update", 20, True)], Config(cooldown_seconds=60))
    assert "Alert" not in [kind for kind, _ in shape(decisions)]
