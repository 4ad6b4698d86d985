"""The event policy: which detector verdicts start, extend, split and end events, and which
of them raise an alert. A pure step, like ``camera.motion.step``:

    step(state, happening, config) -> (state, decisions)

No clock, no I/O, no logging: the caller passes the time inside each happening and carries
out the decisions (store the event, save its snapshot, tell the recorder, publish on the
live channel). Tests drive it with plain values.

Rules:

* one open event per camera and kind; a ``start`` while one is open ends it first, an
  ``end`` with nothing open (the server restarted in between) is ignored;
* an event longer than ``max_event_seconds`` is split: it ends and a new one starts with
  the same observation, so endless activity stays watchable and alerts come back;
* an event raises an alert when its camera is armed, the camera's last alert is at least
  ``cooldown_seconds`` old and its observation is ``alerting`` (motion touching only zones
  that do not alert is not); an event that did not alert does when a later observation of
  it is alerting (it reached an alerting zone) and the other two conditions hold;
* a camera going offline, or coming back online after having been seen, is an instant
  event (start and end at once); the first "online" after start-up is not an event;
* a camera removed or restarted with new settings ends its open events; it is then new
  again (its first "online" is no event);
* a system alert (not tied to a camera, e.g. a full disk) is an instant event under
  camera ``SYSTEM_CAMERA`` that always alerts, at most once per ``SYSTEM_ALERT_INTERVAL_S``
  for each kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

from camera.analysis import Kind, Observation

from ..payloads import SYSTEM_CAMERA

SYSTEM_ALERT_INTERVAL_S = 6 * 3600.0
NEVER = -1e18


class PolicyConfig(Protocol):
    @property
    def cooldown_seconds(self) -> float: ...

    @property
    def max_event_seconds(self) -> float: ...


# ----- what happens (inputs) ---------------------------------------------------------------


@dataclass(frozen=True)
class StatusChanged:
    camera: str
    online: bool
    at: float
    detail: str = ""


@dataclass(frozen=True)
class SystemAlert:
    kind: str  # e.g. "storage"
    at: float
    detail: str


@dataclass(frozen=True)
class Armed:
    camera: str
    armed: bool


@dataclass(frozen=True)
class Shutdown:
    at: float


@dataclass(frozen=True)
class CameraGone:
    """A camera was removed or restarted with new settings: its open events end, and its
    next "online" is a first one again (not an event)."""

    camera: str
    at: float
    detail: str


Happening = Observation | StatusChanged | SystemAlert | Armed | Shutdown | CameraGone

# ----- what to do (outputs) ----------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    """A new event ``id`` begins; ``alert``: it raises an alert.

    ``observation`` is the verdict that started it (None for a system alert, whose
    ``detail`` says what happened).
    """

    id: int
    camera: str
    kind: str
    at: float
    alert: bool
    observation: Observation | None
    detail: str = ""


@dataclass(frozen=True)
class Apply:
    """Merge ``observation`` into open event ``id``; ``announce``: publish an update."""

    id: int
    observation: Observation
    announce: bool


@dataclass(frozen=True)
class Alert:
    """Open event ``id``, which began without an alert, raises one now."""

    id: int
    at: float


@dataclass(frozen=True)
class End:
    """Event ``id`` ends at ``at`` (never before it started); ``detail`` replaces its own."""

    id: int
    at: float
    detail: str = ""


Decision = Start | Apply | End | Alert

# ----- the state -------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenEvent:
    id: int
    started: float
    alerted: bool = False


@dataclass(frozen=True)
class PolicyState:
    next_id: int = 1
    # Read-only views: a step works on copies and returns new ones.
    open: Mapping[tuple[str, str], OpenEvent] = field(default_factory=dict)
    last_alert: Mapping[str, float] = field(default_factory=dict)
    armed: Mapping[str, bool] = field(default_factory=dict)
    seen: frozenset[str] = frozenset()  # cameras whose status was reported once

    def is_armed(self, camera: str) -> bool:
        return self.armed.get(camera, True)

    def open_ids(self) -> list[int]:
        return [event.id for event in self.open.values()]


def initial_state(next_id: int, armed: Mapping[str, bool]) -> PolicyState:
    """The state after a (re)start: ids go on after the stored ones, arming is kept."""
    return PolicyState(next_id=next_id, armed=MappingProxyType(dict(armed)))


# ----- the step ----------------------------------------------------------------------------


def step(
    state: PolicyState, happening: Happening, config: PolicyConfig
) -> tuple[PolicyState, list[Decision]]:
    """Apply one happening; return the new state and what to do, in order."""
    work = _Work(state)
    if isinstance(happening, Observation):
        work.observe(happening, config)
    elif isinstance(happening, StatusChanged):
        work.status(happening, config)
    elif isinstance(happening, SystemAlert):
        work.system_alert(happening)
    elif isinstance(happening, Armed):
        work.armed[happening.camera] = happening.armed
    elif isinstance(happening, CameraGone):
        for key in [key for key in work.open if key[0] == happening.camera]:
            work.end(key, happening.at, happening.detail)
        work.seen.discard(happening.camera)
    else:
        for key in list(work.open):
            work.end(key, happening.at, "server stopped")
    return work.state(), work.decisions


class _Work:
    """Mutable copies of the state for the length of one step."""

    def __init__(self, state: PolicyState) -> None:
        self.next_id = state.next_id
        self.open = dict(state.open)
        self.last_alert = dict(state.last_alert)
        self.armed = dict(state.armed)
        self.seen = set(state.seen)
        self.decisions: list[Decision] = []

    def state(self) -> PolicyState:
        return PolicyState(
            next_id=self.next_id,
            open=MappingProxyType(self.open),
            last_alert=MappingProxyType(self.last_alert),
            armed=MappingProxyType(self.armed),
            seen=frozenset(self.seen),
        )

    def observe(self, observation: Observation, config: PolicyConfig) -> None:
        key = (observation.camera, observation.kind)
        current = self.open.get(key)
        if observation.phase == "start" or current is None:
            if current is not None:
                self.end(key, observation.at)
            if observation.phase != "end":
                self.start(observation, config)
            return
        if observation.phase == "end":
            self.decisions.append(Apply(current.id, observation, announce=False))
            self.end(key, observation.at)
        elif observation.at - current.started > config.max_event_seconds:
            self.decisions.append(Apply(current.id, observation, announce=False))
            self.end(key, observation.at, "split: longer than max_event_seconds")
            self.start(observation, config)
        else:
            self.decisions.append(Apply(current.id, observation, announce=True))
            if not current.alerted and self.may_alert(observation, config):
                self.last_alert[observation.camera] = observation.at
                self.open[key] = OpenEvent(current.id, current.started, alerted=True)
                self.decisions.append(Alert(current.id, observation.at))

    def status(self, change: StatusChanged, config: PolicyConfig) -> None:
        kind: Kind = "online" if change.online else "offline"
        first = change.camera not in self.seen
        self.seen.add(change.camera)
        if first and change.online:
            return
        instant = Observation(change.camera, kind, "start", change.at, detail=change.detail)
        self.start(instant, config)
        self.end((change.camera, kind), change.at)

    def system_alert(self, alert: SystemAlert) -> None:
        key = f"{SYSTEM_CAMERA}:{alert.kind}"
        if alert.at - self.last_alert.get(key, NEVER) < SYSTEM_ALERT_INTERVAL_S:
            return
        self.last_alert[key] = alert.at
        self.decisions.append(
            Start(self.next_id, SYSTEM_CAMERA, alert.kind, alert.at, True, None, alert.detail)
        )
        self.decisions.append(End(self.next_id, alert.at))
        self.next_id += 1

    def may_alert(self, observation: Observation, config: PolicyConfig) -> bool:
        camera = observation.camera
        since_alert = observation.at - self.last_alert.get(camera, NEVER)
        armed = self.armed.get(camera, True)
        return armed and since_alert >= config.cooldown_seconds and observation.alerting

    def start(self, observation: Observation, config: PolicyConfig) -> None:
        camera = observation.camera
        alert = self.may_alert(observation, config)
        if alert:
            self.last_alert[camera] = observation.at
        key = (camera, observation.kind)
        self.open[key] = OpenEvent(self.next_id, observation.at, alerted=alert)
        self.decisions.append(
            Start(
                self.next_id,
                camera,
                observation.kind,
                observation.at,
                alert,
                observation,
                observation.detail,
            )
        )
        self.next_id += 1

    def end(self, key: tuple[str, str], at: float, detail: str = "") -> None:
        current = self.open.pop(key)
        self.decisions.append(End(current.id, max(at, current.started), detail))
