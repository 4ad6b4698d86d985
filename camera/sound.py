"""Sound detection: a pure step over blocks of mono audio samples.

The caller converts each decoded audio frame with :func:`mono` and calls :func:`step` with
the previous state, the samples, their rate, the config and the time of the block's first
sample. Nothing here reads a clock, logs or keeps globals.

Samples are cut into fixed windows of ``window_seconds`` (100 ms by default) whatever the
block size; the samples of an unfinished window wait in the state for the next block, so
the verdicts do not depend on how the audio was chunked. Each window's level is its RMS in
dBFS (0 dBFS is a full-scale square wave, so a full-scale sine reads -3 dBFS; digital
silence reads :data:`SILENCE_DBFS`).

Events use hysteresis so a sound hovering around the threshold does not flap: an event
starts once the level has stayed at or above ``threshold_dbfs`` for ``min_duration``, and
ends once it has stayed below ``threshold_dbfs - hysteresis_db`` for ``quiet_seconds``.
Levels in between keep an event going but do not start one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    import av

Samples = npt.NDArray[np.float32]
EventKind = Literal["start", "update", "end"]

SILENCE_DBFS = -120.0  # the level reported for digital silence
_EPSILON_S = 1e-6  # slack when comparing durations built from sample counts
_FULL_SCALE = {"s16": 32768.0, "s32": 2147483648.0, "flt": 1.0, "dbl": 1.0}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SoundConfig(_Model):
    """Tunables of the sound detector (the ``sound:`` section of a camera)."""

    enabled: bool = Field(True, description="Run sound detection on this camera's audio.")
    threshold_dbfs: float = Field(
        -30.0,
        ge=-100.0,
        le=0.0,
        description="RMS level (dBFS, 0 = full scale) at or above which a window is loud.",
    )
    hysteresis_db: float = Field(
        6.0,
        ge=0.0,
        le=60.0,
        description="An event only counts as quiet below threshold_dbfs minus this.",
    )
    min_duration: float = Field(
        0.2,
        ge=0.0,
        le=10.0,
        description="Seconds the level must stay loud before an event starts; 0 starts on "
        "the first loud window.",
    )
    quiet_seconds: float = Field(
        5.0, ge=0.0, le=3600.0, description="An event ends after this long quiet."
    )
    window_seconds: float = Field(
        0.1, ge=0.005, le=1.0, description="Length of the RMS window, in seconds."
    )


@dataclass(frozen=True, slots=True)
class SoundResult:
    """The verdict on one window.

    ``peak_dbfs`` is the loudest window of the event this window belongs to (for the event
    record), or this window's level when there is no event. ``event`` is "start" on the
    window that starts an event, "update" on every later window of it, "end" on the window
    that ends it, else None; ``started_at`` is the start of the event's first loud window.
    """

    t: float  # end of the window
    level_dbfs: float
    peak_dbfs: float
    event: EventKind | None
    started_at: float | None


@dataclass(frozen=True, slots=True)
class _Tracker:
    """Event machine. ``since``: start of the loud run, or of the event once active."""

    active: bool = False
    since: float | None = None
    quiet_since: float | None = None
    peak: float = SILENCE_DBFS


@dataclass(frozen=True, slots=True, eq=False)
class SoundState:
    """Everything :func:`step` carries between blocks; start with ``SoundState()``."""

    pending: Samples | None = None  # samples of the unfinished window
    rate: int | None = None
    tracker: _Tracker = _Tracker()

    @property
    def active(self) -> bool:
        return self.tracker.active


def mono(frame: av.AudioFrame) -> Samples:
    """A decoded audio frame as mono float32 samples in [-1, 1] (channels averaged)."""
    data = np.asarray(frame.to_ndarray())
    channels = len(frame.layout.channels)
    if not frame.format.is_planar:
        data = data.reshape(-1, channels).T  # packed: one row, channels interleaved
    name = frame.format.name.removesuffix("p")
    offset, scale = (128.0, 128.0) if name == "u8" else (0.0, _FULL_SCALE.get(name, 0.0))
    if not scale:
        raise ValueError(f"unsupported sample format {frame.format.name}")
    average = data.astype(np.float64).mean(axis=0)
    return np.asarray((average - offset) / scale, dtype=np.float32)


def as_float(samples: npt.NDArray[np.generic]) -> Samples:
    """int16, int32 or float mono samples as float32 in [-1, 1]; NaN and inf become 0."""
    if samples.ndim != 1:
        raise ValueError(f"expected mono samples (1-D), got shape {samples.shape}")
    if samples.dtype == np.int16:
        return samples.astype(np.float32) / np.float32(_FULL_SCALE["s16"])
    if samples.dtype == np.int32:
        return np.asarray(samples.astype(np.float64) / _FULL_SCALE["s32"], dtype=np.float32)
    if samples.dtype in (np.float32, np.float64):
        return np.nan_to_num(samples.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    raise ValueError(f"expected int16, int32, float32 or float64 samples, got {samples.dtype}")


def step(
    state: SoundState,
    samples: npt.NDArray[np.generic],
    rate: int,
    config: SoundConfig,
    t: float,
) -> tuple[SoundState, list[SoundResult]]:
    """Analyse one block of mono samples whose first sample is at ``t`` seconds.

    Returns one result per window completed by this block (often none for short blocks,
    several for long ones). A change of sample rate drops the unfinished window. Raises
    ValueError for samples that are not mono int16/int32/float, a rate that is not
    positive or a time that is not finite.
    """
    if rate <= 0 or not math.isfinite(t):
        raise ValueError(f"need a positive rate and a finite time, got {rate} and {t}")
    if not config.enabled:
        return _disabled(state, t)
    data = as_float(samples)
    pending = state.pending if state.rate == rate and state.pending is not None else None
    if pending is not None and pending.size:
        t -= pending.size / rate  # the pending samples come right before this block
        data = np.concatenate((pending, data))
    size = max(1, round(config.window_seconds * rate))
    whole = data.size // size
    levels = _levels(data[: whole * size].reshape(whole, size))
    tracker, results = state.tracker, []
    for index, level in enumerate(levels.tolist()):
        start = t + index * size / rate
        tracker, result = _advance(tracker, level, start, start + size / rate, config)
        results.append(result)
    return SoundState(data[whole * size :].copy(), rate, tracker), results


def dbfs(samples: Samples) -> float:
    """RMS level of float samples in dBFS (:data:`SILENCE_DBFS` for silence)."""
    return float(_levels(samples.reshape(1, -1))[0]) if samples.size else SILENCE_DBFS


def _levels(windows: Samples) -> npt.NDArray[np.float64]:
    power = np.mean(np.square(windows, dtype=np.float64), axis=1)
    floor = 10.0 ** (SILENCE_DBFS / 10.0)
    levels: npt.NDArray[np.float64] = 10.0 * np.log10(np.maximum(power, floor))
    return levels


def _advance(
    tracker: _Tracker, level: float, start: float, end: float, config: SoundConfig
) -> tuple[_Tracker, SoundResult]:
    """Advance the event machine by one window spanning ``start``..``end``."""
    if tracker.active:
        return _while_active(tracker, level, start, end, config)
    if level < config.threshold_dbfs:
        return _Tracker(), SoundResult(end, level, level, None, None)
    since = start if tracker.since is None else tracker.since
    peak = max(tracker.peak, level)
    if end - since + _EPSILON_S >= config.min_duration:
        return _Tracker(True, since, None, peak), SoundResult(end, level, peak, "start", since)
    return _Tracker(False, since, None, peak), SoundResult(end, level, level, None, None)


def _while_active(
    tracker: _Tracker, level: float, start: float, end: float, config: SoundConfig
) -> tuple[_Tracker, SoundResult]:
    peak = max(tracker.peak, level)
    quiet_since = None
    if level < config.threshold_dbfs - config.hysteresis_db:
        quiet_since = start if tracker.quiet_since is None else tracker.quiet_since
    if quiet_since is not None and end - quiet_since + _EPSILON_S >= config.quiet_seconds:
        return _Tracker(), SoundResult(end, level, peak, "end", tracker.since)
    updated = _Tracker(True, tracker.since, quiet_since, peak)
    return updated, SoundResult(end, level, peak, "update", tracker.since)


def _disabled(state: SoundState, t: float) -> tuple[SoundState, list[SoundResult]]:
    """Detection switched off: end an event in progress and drop buffered samples."""
    tracker = state.tracker
    if not tracker.active:
        return SoundState(), []
    ending = SoundResult(t, SILENCE_DBFS, tracker.peak, "end", tracker.since)
    return SoundState(), [ending]
