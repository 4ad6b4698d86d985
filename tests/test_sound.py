"""Sound detection: levels, hysteresis events, block-size independence, PyAV frames."""

from __future__ import annotations

import math

import av
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pydantic import ValidationError

from camera.sound import (
    SILENCE_DBFS,
    Samples,
    SoundConfig,
    SoundResult,
    SoundState,
    as_float,
    dbfs,
    mono,
    step,
)

RATE = 16000


def tone(seconds: float, level_dbfs: float, rate: int = RATE, hz: float = 440.0) -> Samples:
    """A sine whose RMS is ``level_dbfs`` (amplitude = RMS * sqrt 2)."""
    t = np.arange(round(seconds * rate)) / rate
    amplitude = math.sqrt(2.0) * 10 ** (level_dbfs / 20)
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def hiss(seconds: float, level_dbfs: float, seed: int = 0) -> Samples:
    noise = np.random.default_rng(seed).normal(0.0, 10 ** (level_dbfs / 20), round(seconds * RATE))
    return noise.astype(np.float32)


def feed(
    signal: Samples, config: SoundConfig, block: int = 960, rate: int = RATE
) -> list[SoundResult]:
    state, results = SoundState(), []
    for start in range(0, signal.size, block):
        state, out = step(state, signal[start : start + block], rate, config, start / rate)
        results.extend(out)
    return results


def events(results: list[SoundResult]) -> list[tuple[str, float]]:
    return [(r.event, round(r.t, 3)) for r in results if r.event in ("start", "end")]


def test_config_defaults_and_limits() -> None:
    assert SoundConfig().model_dump() == {
        "enabled": True,
        "threshold_dbfs": -30.0,
        "hysteresis_db": 6.0,
        "min_duration": 0.2,
        "quiet_seconds": 5.0,
        "window_seconds": 0.1,
    }
    with pytest.raises(ValidationError, match="less than or equal to 0"):
        SoundConfig(threshold_dbfs=3.0)
    with pytest.raises(ValidationError, match="Extra inputs"):
        SoundConfig.model_validate({"threshold": -20})


def test_levels_are_rms_dbfs() -> None:
    assert dbfs(tone(1.0, -20.0)) == pytest.approx(-20.0, abs=0.05)
    assert dbfs(np.ones(100, np.float32)) == pytest.approx(0.0)
    assert dbfs(np.zeros(100, np.float32)) == SILENCE_DBFS
    assert dbfs(np.zeros(0, np.float32)) == SILENCE_DBFS


def test_int16_and_float_samples_agree() -> None:
    signal = tone(0.5, -12.0)
    as_int16 = np.round(signal * 32767).astype(np.int16)
    levels = [r.level_dbfs for r in feed(signal, SoundConfig())]
    levels_int16 = [r.level_dbfs for r in feed(as_int16.astype(np.float32) / 32768, SoundConfig())]
    direct = [r.level_dbfs for r in step(SoundState(), as_int16, RATE, SoundConfig(), 0.0)[1]]
    assert levels == pytest.approx(levels_int16, abs=0.01)
    assert levels == pytest.approx(direct, abs=0.01)
    assert as_float(np.array([-32768, 16384], np.int16)).tolist() == [-1.0, 0.5]
    assert as_float(np.array([2**30], np.int32)).tolist() == [0.5]


def test_a_loud_sound_starts_after_min_duration_and_ends_after_quiet_seconds() -> None:
    config = SoundConfig(min_duration=0.3, quiet_seconds=2.0)
    signal = np.concatenate([hiss(2.0, -60), tone(1.0, -20), hiss(4.0, -60)])
    results = feed(signal, config)
    # loud from 2.0 s: start at the end of the third loud window; quiet from 3.0 s
    assert events(results) == [("start", 2.3), ("end", 5.0)]
    start = next(r for r in results if r.event == "start")
    assert start.started_at == pytest.approx(2.0)
    end = next(r for r in results if r.event == "end")
    assert end.peak_dbfs == pytest.approx(-20.0, abs=0.1)
    assert end.started_at == pytest.approx(2.0)


def test_a_click_shorter_than_min_duration_starts_nothing() -> None:
    signal = np.concatenate([hiss(1.0, -60), tone(0.15, -10), hiss(1.0, -60)])
    assert events(feed(signal, SoundConfig(min_duration=0.3))) == []


def test_levels_between_the_thresholds_keep_an_event_going() -> None:
    """-33 dBFS is under the -30 threshold but above -36: not quiet, the event goes on."""
    config = SoundConfig(min_duration=0.0, quiet_seconds=1.0)
    signal = np.concatenate([tone(0.5, -20), tone(3.0, -33), tone(1.5, -50)])
    assert events(feed(signal, config)) == [("start", 0.1), ("end", 4.5)]


def test_levels_between_the_thresholds_do_not_start_an_event() -> None:
    assert events(feed(tone(3.0, -33), SoundConfig(min_duration=0.0))) == []


def test_loud_runs_must_be_unbroken_to_start() -> None:
    """Loud 0.1 s bursts with 0.1 s gaps never make 0.3 s of continuous sound."""
    burst = np.concatenate([tone(0.1, -10), tone(0.1, -60)])
    assert events(feed(np.tile(burst, 10), SoundConfig(min_duration=0.3))) == []


@settings(max_examples=60, deadline=None, derandomize=True)
@given(cuts=st.lists(st.integers(1, 6000), min_size=1, max_size=20))
def test_results_do_not_depend_on_block_sizes(cuts: list[int]) -> None:
    config = SoundConfig(min_duration=0.2, quiet_seconds=0.5)
    signal = np.concatenate([hiss(0.5, -50), tone(0.6, -15), hiss(1.5, -50, seed=1)])
    whole = step(SoundState(), signal, RATE, config, 0.0)[1]
    state, pieces, start = SoundState(), [], 0
    for size in [*cuts, signal.size]:
        block = signal[start : start + size]
        state, out = step(state, block, RATE, config, start / RATE)
        pieces.extend(out)
        start += block.size
    assert [r.event for r in pieces] == [r.event for r in whole]
    assert [r.started_at or 0.0 for r in pieces] == pytest.approx(
        [r.started_at or 0.0 for r in whole]
    )
    assert [r.t for r in pieces] == pytest.approx([r.t for r in whole])
    assert [r.level_dbfs for r in pieces] == pytest.approx([r.level_dbfs for r in whole])


def test_short_blocks_report_a_window_when_one_completes() -> None:
    state, out = step(SoundState(), tone(0.06, -20), RATE, SoundConfig(), 0.0)
    assert out == []
    state, out = step(state, tone(0.06, -20), RATE, SoundConfig(), 0.06)
    assert [round(r.t, 3) for r in out] == [0.1]
    assert state.pending is not None
    assert state.pending.size == round(0.02 * RATE)


def test_a_new_rate_drops_the_unfinished_window() -> None:
    state, _ = step(SoundState(), tone(0.05, -20), RATE, SoundConfig(), 0.0)
    state, out = step(state, tone(0.1, -20, rate=48000), 48000, SoundConfig(), 0.05)
    assert [round(r.t, 3) for r in out] == [0.15]


def test_disabling_ends_the_event() -> None:
    config = SoundConfig(min_duration=0.0)
    state, out = step(SoundState(), tone(0.2, -10), RATE, config, 0.0)
    assert out[0].event == "start"
    assert state.active
    state, out = step(state, tone(0.2, -10), RATE, SoundConfig(enabled=False), 0.2)
    assert [(r.event, r.started_at) for r in out] == [("end", 0.0)]
    assert not state.active
    assert step(state, tone(0.2, -10), RATE, SoundConfig(enabled=False), 0.4)[1] == []


@pytest.mark.parametrize(
    ("samples", "rate", "t"),
    [
        (np.zeros((2, 100), np.float32), RATE, 0.0),
        (np.zeros(100, np.uint8), RATE, 0.0),
        (np.zeros(100, np.float32), 0, 0.0),
        (np.zeros(100, np.float32), RATE, math.inf),
    ],
)
def test_step_refuses_what_it_cannot_analyse(samples: Samples, rate: int, t: float) -> None:
    with pytest.raises(ValueError, match=r"expected|positive rate"):
        step(SoundState(), samples, rate, SoundConfig(), t)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(
    blocks=st.lists(
        st.one_of(
            arrays(np.int16, st.integers(0, 4000), fill=st.integers(-32768, 32767)),
            arrays(
                np.float32,
                st.integers(0, 4000),
                elements=st.floats(width=32),
                fill=st.floats(width=32),
            ),
        ),
        max_size=5,
    )
)
def test_step_never_raises_on_arbitrary_blocks(blocks: list[Samples]) -> None:
    state, t = SoundState(), 0.0
    for block in blocks:
        state, out = step(state, block, RATE, SoundConfig(min_duration=0.0), t)
        t += block.size / RATE
        for result in out:
            assert SILENCE_DBFS <= result.level_dbfs <= result.peak_dbfs
            assert math.isfinite(result.level_dbfs)


@pytest.mark.parametrize(
    ("fmt", "layout"),
    [("s16", "stereo"), ("s16", "mono"), ("fltp", "stereo"), ("flt", "stereo"), ("s32p", "stereo")],
)
def test_mono_converts_pyav_frames(fmt: str, layout: str) -> None:
    left, right = tone(0.01, -6.0), tone(0.01, -12.0, hz=1000.0)
    channels = [left] if layout == "mono" else [left, right]
    planes = np.stack(channels)
    full_scale = {"s16": 32767, "s32p": 2**31 - 1}.get(fmt, 1.0)
    dtype = {"s16": np.int16, "s32p": np.int32}.get(fmt, np.float32)
    values = np.round(planes * full_scale) if full_scale != 1.0 else planes
    data = values.astype(dtype)
    if not fmt.endswith("p") and len(channels) > 1:
        data = data.T.reshape(1, -1)  # packed formats interleave the channels
    frame = av.AudioFrame.from_ndarray(data, format=fmt, layout=layout)
    frame.sample_rate = RATE
    converted = mono(frame)
    assert converted.dtype == np.float32
    assert converted == pytest.approx(planes.mean(axis=0), abs=1e-3)
