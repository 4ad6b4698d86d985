"""Which layer a viewer on ``quality=auto`` gets: a pure step with hysteresis.

    (state, LinkSample, now, AdaptConfig) -> state

A sample is what the viewer's RTCP said in the last second: the fraction of packets lost
(receiver reports), the round trip (sender reports answered), and the receiver's estimate
of the bitrate it can take (REMB), each possibly unknown. Down fast (a few bad samples in
a row), up slowly (a long good stretch), and never two switches closer than ``hold_s``: a
link on the edge does not flap.

The estimate only ever pushes down, and only with some loss to back it: we send what the
encoder makes and never probe, so a receiver's estimate follows what it gets (it starts
near 300 kbit/s and climbs with the stream; on the light stream it stays near the light
stream's rate). Going up on it would never happen, and going down on it alone would
drop every new viewer.
No clock, no I/O: the caller passes ``now``; tests run in microseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

Layer = Literal["high", "low"]


@dataclass(frozen=True)
class AdaptConfig:
    loss_down: float = 0.05  # a sample losing this fraction or more is bad
    rtt_down_s: float = 0.45
    loss_up: float = 0.01  # ... and one losing less than this is good
    rtt_up_s: float = 0.25
    bad_samples_down: int = 2  # bad samples in a row before going down
    good_up_s: float = 12.0  # a good stretch this long before going up
    hold_s: float = 5.0  # at least this long between two switches


@dataclass(frozen=True)
class LinkSample:
    loss: float | None  # fraction lost since the previous report, 0..1
    rtt_s: float | None
    estimate_kbps: float | None  # receiver estimated maximum bitrate (REMB)


@dataclass(frozen=True)
class AdaptState:
    layer: Layer
    high_kbps: float  # the main stream's bitrate, to compare estimates with
    bad_run: int = 0
    good_since: float | None = None
    last_switch: float = float("-inf")


def initial_layer(relayed_or_remote: bool) -> Layer:
    """auto starts low on a link that leaves the LAN (relayed or through NAT)."""
    return "low" if relayed_or_remote else "high"


def is_bad(sample: LinkSample, state: AdaptState, config: AdaptConfig) -> bool:
    if sample.loss is not None and sample.loss >= config.loss_down:
        return True
    if sample.rtt_s is not None and sample.rtt_s >= config.rtt_down_s:
        return True
    estimate = sample.estimate_kbps
    lossy = sample.loss is not None and sample.loss >= config.loss_up
    return lossy and estimate is not None and estimate < state.high_kbps


def is_good(sample: LinkSample, state: AdaptState, config: AdaptConfig) -> bool:
    if sample.loss is None or sample.loss >= config.loss_up:
        return False  # no report, no evidence
    return sample.rtt_s is None or sample.rtt_s < config.rtt_up_s


def step(state: AdaptState, sample: LinkSample, now: float, config: AdaptConfig) -> AdaptState:
    bad = is_bad(sample, state, config)
    good = not bad and is_good(sample, state, config)
    # A second without a receiver report (a slow or busy receiver) is no evidence either
    # way: it neither starts nor breaks a good stretch; only a good report completes one.
    silent = not bad and sample.loss is None
    good_since: float | None
    if good:
        good_since = state.good_since if state.good_since is not None else now
    else:
        good_since = state.good_since if silent else None
    state = replace(state, bad_run=state.bad_run + 1 if bad else 0, good_since=good_since)
    if now - state.last_switch < config.hold_s:
        return state
    if state.layer == "high" and state.bad_run >= config.bad_samples_down:
        return replace(state, layer="low", bad_run=0, good_since=None, last_switch=now)
    if (
        state.layer == "low"
        and good
        and state.good_since is not None
        and now - state.good_since >= config.good_up_s
    ):
        return replace(state, layer="high", bad_run=0, good_since=None, last_switch=now)
    return state
