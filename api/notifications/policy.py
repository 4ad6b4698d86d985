"""The notification policy: who is told about which event, and why not. A pure step, like
``api.services.event_policy``:

    decide(state, happening, recipient, now, config) -> (state, decision)
    tick(state, recipients, now, config) -> (state, [(recipient key, camera, decision)])

No clock, no I/O, no logging: the caller passes the time and carries out the decisions
(deliver, write the log). Checks, in order, each with its reason:

1. ``no_rights``: the recipient may not see the camera (a viewer never learns of a camera
   they cannot see; system alerts, camera ``*``, go to those who see every camera);
2. ``filtered``: the channel's own camera and kind choices;
3. ``disarmed``: the camera is disarmed (system alerts have no arming);
4. ``snoozed``: the recipient snoozed the camera (or an admin did for everyone);
5. ``schedule``: outside every window of the weekly schedule (when there is one);
6. ``quiet_hours``: inside a quiet-hours window;
7. ``cooldown``: the recipient was told about this camera less than ``cooldown_seconds``
   ago. Such events are *folded*: when the cooldown ends, one notification says "and N
   more" (``tick``), and that starts the next cooldown, so a camera that never calms down
   notifies once per cooldown, not once per event.

Every event start counts, not only those the event policy marked ``alert``: the event
cooldown (``events.cooldown_seconds``) throttles the dashboards' banners, this one the
notifications, and folding needs to see every event to count it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from types import MappingProxyType
from typing import Literal, Protocol

SYSTEM_CAMERA = "*"
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Reason = Literal[
    "no_rights", "filtered", "disarmed", "snoozed", "schedule", "quiet_hours", "cooldown"
]


class WindowLike(Protocol):
    @property
    def start(self) -> time: ...

    @property
    def end(self) -> time: ...

    @property
    def days(self) -> Sequence[str]: ...


class PolicyConfig(Protocol):
    @property
    def cooldown_seconds(self) -> float: ...

    @property
    def quiet_hours(self) -> Iterable[WindowLike]: ...

    @property
    def schedule(self) -> Iterable[WindowLike]: ...


# ----- inputs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Happening:
    """An event start as the policy sees it."""

    event_id: int
    camera: str
    kind: str
    at: float
    armed: bool  # the camera was armed when it started (system alerts: True)


@dataclass(frozen=True)
class Recipient:
    """One channel: a push subscription, a webhook, an Apprise target.

    ``rights``: cameras its owner may see (None: every camera and the system's alerts);
    ``cameras``/``kinds``: its own choices (None: all); ``snoozed``: camera -> until.
    """

    key: str
    rights: frozenset[str] | None = None
    cameras: frozenset[str] | None = None
    kinds: frozenset[str] | None = None
    snoozed: Mapping[str, float] = field(default_factory=dict)

    def may_see(self, camera: str) -> bool:
        return self.rights is None or (camera != SYSTEM_CAMERA and camera in self.rights)


# ----- outputs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Send:
    """Notify about ``happening``; ``folded``: how many more events it stands for."""

    happening: Happening
    folded: int = 0


@dataclass(frozen=True)
class Suppress:
    happening: Happening
    reason: Reason
    detail: str = ""


Decision = Send | Suppress

# ----- state -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cooldown:
    """A recipient was told about a camera at ``since``; ``folded`` events came after."""

    since: float
    folded: int = 0
    latest: Happening | None = None


@dataclass(frozen=True)
class PolicyState:
    cooldowns: Mapping[tuple[str, str], Cooldown] = field(
        default_factory=lambda: MappingProxyType({})
    )


def _with(state: PolicyState, key: tuple[str, str], value: Cooldown | None) -> PolicyState:
    cooldowns = dict(state.cooldowns)
    if value is None:
        cooldowns.pop(key, None)
    else:
        cooldowns[key] = value
    return PolicyState(MappingProxyType(cooldowns))


# ----- time windows ------------------------------------------------------------------------


def in_window(window: WindowLike, local: datetime) -> bool:
    """Whether ``local`` (a wall-clock time) is inside ``window``."""
    clock = local.time().replace(tzinfo=None)
    today = DAY_NAMES[local.weekday()]
    yesterday = DAY_NAMES[(local - timedelta(days=1)).weekday()]
    start, end = window.start, window.end
    if start < end:
        return today in window.days and start <= clock < end
    # Crosses midnight: the evening part belongs to today, the morning part to yesterday.
    return (today in window.days and clock >= start) or (yesterday in window.days and clock < end)


def _timing(
    recipient: Recipient, camera: str, now: datetime, config: PolicyConfig
) -> Reason | None:
    """Why now is not a time to notify this recipient about this camera, if it is not."""
    if recipient.snoozed.get(camera, 0.0) > now.timestamp():
        return "snoozed"
    schedule = list(config.schedule)
    if schedule and not any(in_window(w, now) for w in schedule):
        return "schedule"
    if any(in_window(w, now) for w in config.quiet_hours):
        return "quiet_hours"
    return None


# ----- the steps ---------------------------------------------------------------------------


def decide(
    state: PolicyState,
    happening: Happening,
    recipient: Recipient,
    now: datetime,
    config: PolicyConfig,
) -> tuple[PolicyState, Decision]:
    """Whether ``recipient`` is told about ``happening`` (``now``: aware, local zone)."""
    camera = happening.camera
    if not recipient.may_see(camera):
        return state, Suppress(happening, "no_rights")
    if recipient.cameras is not None and camera not in recipient.cameras:
        return state, Suppress(happening, "filtered", "camera not chosen")
    if recipient.kinds is not None and happening.kind not in recipient.kinds:
        return state, Suppress(happening, "filtered", "kind not chosen")
    if not happening.armed:
        return state, Suppress(happening, "disarmed")
    reason = _timing(recipient, camera, now, config)
    if reason is not None:
        return state, Suppress(happening, reason)
    key = (recipient.key, camera)
    current = state.cooldowns.get(key)
    at = now.timestamp()
    if current is not None and at - current.since < config.cooldown_seconds:
        folded = replace(current, folded=current.folded + 1, latest=happening)
        detail = f"folded into the next notification ({folded.folded} so far)"
        return _with(state, key, folded), Suppress(happening, "cooldown", detail)
    return _with(state, key, Cooldown(at)), Send(happening)


def tick(
    state: PolicyState,
    recipients: Mapping[str, Recipient],
    now: datetime,
    config: PolicyConfig,
) -> tuple[PolicyState, list[tuple[str, Decision]]]:
    """End the cooldowns that are over: each that folded events sends one notification
    for the latest of them ("and N more"), unless the recipient is gone, or it is now a
    time not to notify (then the summary is suppressed with that reason)."""
    at = now.timestamp()
    out: list[tuple[str, Decision]] = []
    for key, current in list(state.cooldowns.items()):
        if at - current.since < config.cooldown_seconds:
            continue
        recipient = recipients.get(key[0])
        if current.latest is None or recipient is None:
            state = _with(state, key, None)
            continue
        reason = _timing(recipient, key[1], now, config)
        if reason is not None:
            state = _with(state, key, None)
            out.append((key[0], Suppress(current.latest, reason, "the 'and N more' summary")))
            continue
        state = _with(state, key, Cooldown(at))
        # The latest event stands for itself and the others folded before it.
        out.append((key[0], Send(current.latest, folded=current.folded - 1)))
    return state, out


def forget(state: PolicyState, recipient_key: str) -> PolicyState:
    """Drop a recipient's cooldowns (a removed subscription)."""
    kept = {k: v for k, v in state.cooldowns.items() if k[0] != recipient_key}
    return PolicyState(MappingProxyType(kept))
