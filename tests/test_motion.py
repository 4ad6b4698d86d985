"""Motion detection: the pure step, its config, and its accuracy on footage with known truth.

Accuracy targets (from the product issue) are asserted over the synthetic set in
tests/clips.py: recall >= 0.95, no false events on noise and lighting clips, every event
starting within 1 s of the motion. Real footage comes from Debian's opencv-doc package.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import cv2
import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pydantic import ValidationError

from camera.motion import (
    MIN_SIDE,
    Gray,
    MotionConfig,
    MotionResult,
    MotionState,
    Zone,
    downscale,
    step,
)
from camera.relight import relight
from tests import clips
from tests.clips import OPENCV_DATA, Footage, Outcome, Score, rect, run, score

SHAPE = clips.SHAPE
MOVING = {footage.name: footage for footage in clips.moving_clips()}
QUIET = {footage.name: footage for footage in clips.quiet_clips()}


def flat(level: int = 100) -> Gray:
    return np.full(SHAPE, level, np.uint8)


def with_square(x: int, y: int, size: int = 12, level: int = 200, base: int = 100) -> Gray:
    frame = flat(base)
    frame[y : y + size, x : x + size] = level
    return frame


def play(
    frames: Iterable[Gray], config: MotionConfig, fps: float = 10.0, t0: float = 0.0
) -> tuple[MotionState, list[MotionResult]]:
    state, results = MotionState(), []
    for index, frame in enumerate(frames):
        state, result = step(state, frame, config, t0 + index / fps)
        results.append(result)
    return state, results


def events(results: list[MotionResult]) -> list[tuple[int, str]]:
    return [(index, r.event) for index, r in enumerate(results) if r.event in ("start", "end")]


# --- config -------------------------------------------------------------------------------


def test_config_defaults_are_the_documented_contract() -> None:
    config = MotionConfig()
    assert config.model_dump() == {
        "enabled": True,
        "threshold": 25,
        "min_area": 0.001,
        "zones": [],
        "masks": [],
        "frames_to_start": 3,
        "quiet_seconds": 5.0,
        "recalibrate_fraction": 0.6,
        "background_seconds": 5.0,
        "improve_contrast": True,
    }


def test_config_reads_zones_and_masks_from_yaml() -> None:
    text = """
    threshold: 30
    zones:
      - name: porch
        points: [[0.5, 0.3], [1.0, 0.3], [1.0, 1.0], [0.5, 1.0]]
    masks:
      - [[0.0, 0.0], [1.0, 0.0], [1.0, 0.08], [0.0, 0.08]]
    """
    config = MotionConfig.model_validate(yaml.safe_load(text))
    assert config.zones[0].name == "porch"
    assert config.zones[0].points[1] == (1.0, 0.3)
    assert config.masks[0][2] == (1.0, 0.08)


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"threshold": 0}, "greater than or equal to 1"),
        ({"min_area": 1.5}, "less than or equal to 1"),
        ({"sensitivity": 3}, "Extra inputs are not permitted"),
        ({"masks": [[[0.0, 0.0], [1.2, 0.0], [1.0, 1.0]]]}, "less than or equal to 1"),
        ({"masks": [[[0.0, 0.0], [1.0, 0.0]]]}, "at least 3 items"),
        ({"zones": [{"name": "Porch!", "points": rect(0, 0, 1, 1)}]}, "should match pattern"),
        (
            {"zones": [{"name": "a", "points": rect(0, 0, 1, 1)}] * 2},
            "zone names must be unique, repeated: a",
        ),
    ],
)
def test_config_refuses_bad_values(values: dict[str, object], complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        MotionConfig.model_validate(values)


def test_config_is_frozen() -> None:
    with pytest.raises(ValidationError):
        MotionConfig().threshold = 10  # type: ignore[misc]


# --- downscale ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "cols", "expected"),
    [
        (1080, 1920, (144, 256)),
        (720, 1280, (144, 256)),
        (576, 768, (144, 192)),
        (240, 320, (144, 192)),
    ],
)
def test_downscale_keeps_the_aspect_ratio(rows: int, cols: int, expected: tuple[int, int]) -> None:
    luma = np.random.default_rng(0).integers(0, 256, (rows, cols), dtype=np.uint8)
    small = downscale(luma)
    assert small.shape == expected
    assert small.dtype == np.uint8
    assert abs(float(small.mean()) - float(luma.mean())) < 1.0


def test_downscale_averages_noise_away() -> None:
    noisy = np.random.default_rng(1).normal(128, 20, (1080, 1920)).clip(0, 255).astype(np.uint8)
    assert float(downscale(noisy).std()) < 20 / 3


def test_downscale_takes_a_decoders_padded_plane_and_strided_views() -> None:
    plane = np.zeros((720, 1344), np.uint8)  # Y plane with a 1344-byte line size
    plane[:, :1280] = 90
    assert (downscale(plane[:, :1280]) == 90).all()
    assert downscale(plane[::2, :1280:2]).shape == (144, 256)


def test_downscale_refuses_colour_frames() -> None:
    with pytest.raises(ValueError, match="2-D uint8"):
        downscale(np.zeros((720, 1280, 3), np.uint8))


# --- the step -----------------------------------------------------------------------------


def test_first_frame_builds_the_background() -> None:
    state, result = step(MotionState(), flat(), MotionConfig(), 0.0)
    assert result.recalibrated
    assert not result.motion
    assert state.background is not None


def test_step_finds_a_square_with_its_box_and_score() -> None:
    config = MotionConfig(frames_to_start=1)
    _, results = play([flat(), with_square(64, 36)], config)
    result = results[1]
    assert result.motion
    assert result.event == "start"
    ((x, y, w, h),) = result.regions
    # the 12 px square, widened by a pixel on each side by the 5x5 blur
    assert (x * 256, y * 144, w * 256, h * 144) == pytest.approx((63, 35, 14, 14), abs=1.01)
    assert result.score == pytest.approx(result.regions[0][2] * result.regions[0][3], rel=0.3)
    assert 0 < result.score < 0.01


def test_step_does_not_touch_the_state_it_was_given() -> None:
    state, _ = step(MotionState(), flat(), MotionConfig(), 0.0)
    assert state.background is not None
    before = state.background.copy()
    first = step(state, with_square(10, 10), MotionConfig(frames_to_start=1), 0.1)
    second = step(state, with_square(10, 10), MotionConfig(frames_to_start=1), 0.1)
    assert np.array_equal(state.background, before)
    assert first[1] == second[1]


def test_small_changes_are_ignored() -> None:
    config = MotionConfig(frames_to_start=1, min_area=0.01)  # 369 px; the square has 144
    _, results = play([flat(), with_square(64, 36)], config)
    assert not results[1].motion
    assert results[1].score == 0.0


def test_masked_pixels_never_count() -> None:
    config = MotionConfig(frames_to_start=1, masks=[rect(0.2, 0.2, 0.2, 0.2)])
    _, results = play([flat(), with_square(64, 36), with_square(150, 36)], config)
    assert not results[1].motion  # the square at x=64..76 is inside the mask (51..102)
    assert results[2].motion


def test_zones_count_blobs_that_touch_them_and_name_them() -> None:
    config = MotionConfig(
        frames_to_start=1,
        zones=[
            Zone(name="left", points=rect(0.0, 0.0, 0.3, 1.0)),
            Zone(name="right", points=rect(0.7, 0.0, 0.3, 1.0)),
        ],
    )
    # the square spans x = 70..82; the left zone ends at 76.8
    _, results = play([flat(), with_square(120, 36), with_square(70, 36)], config)
    assert not results[1].motion
    assert results[1].score == 0.0
    assert results[2].motion
    assert results[2].zones == ["left"]


def test_a_sudden_change_of_scene_recalibrates() -> None:
    """The camera knocked (another view): every pixel changes its own way."""
    rng = np.random.default_rng(5)
    view, other = (
        cv2.resize(
            rng.integers(30, 230, (9, 16), dtype=np.uint8),
            SHAPE[::-1],
            interpolation=cv2.INTER_NEAREST,
        )
        for _ in range(2)
    )
    _, results = play([view, view, other, other], MotionConfig(frames_to_start=1))
    assert [r.recalibrated for r in results] == [True, False, True, False]
    assert not any(r.motion for r in results)


def test_a_sudden_change_of_brightness_is_undone_without_recalibrating() -> None:
    """A lamp or the exposure: one tone curve for the whole picture."""
    rng = np.random.default_rng(6)
    view = rng.integers(40, 200, SHAPE).astype(np.uint8)
    brighter = np.clip(view * 1.2 + 40, 0, 255).astype(np.uint8)
    _, results = play([view, view, brighter, brighter], MotionConfig(frames_to_start=1))
    assert [r.recalibrated for r in results] == [True, False, False, False]
    assert not any(r.motion for r in results)


def test_relight_recovers_a_tone_curve_and_light_from_one_side() -> None:
    rng = np.random.default_rng(7)
    background = cv2.GaussianBlur(rng.uniform(30, 220, SHAPE).astype(np.float32), (5, 5), 0)
    columns = np.linspace(0.0, 1.0, SHAPE[1], dtype=np.float32)[None, :]
    curves = {
        "offset": background - 60,
        "gain": background * 0.4,
        "gamma": 255 * (background / 255) ** 1.8,
        "clipped": np.clip(background * 1.6, 0, 255),
        "side": background * (0.5 + 0.5 * columns),
    }
    for name, frame in curves.items():
        error = np.abs(relight(background, frame.astype(np.float32)) - frame)
        # well under the default threshold (25) everywhere, and close almost everywhere
        assert float(np.percentile(error, 99)) < 10, name
        assert float(error.max()) < 20, name
    # A moving object is not relit away: it still stands out by its own contrast.
    frame = background * 0.5
    frame[60:80, 100:108] -= 50
    error = np.abs(relight(background, frame.astype(np.float32)) - frame)
    assert float(error[62:78, 101:107].min()) > 35


def test_a_global_shift_below_recalibration_is_compensated() -> None:
    """With recalibration off, a +40 shift of every pixel still reads as no motion."""
    config = MotionConfig(frames_to_start=1, recalibrate_fraction=1.0, threshold=10)
    rng = np.random.default_rng(2)
    scene = rng.integers(60, 160, SHAPE).astype(np.uint8)
    shifted = scene + np.uint8(40)
    shifted_with_square = shifted.copy()
    shifted_with_square[36:48, 64:76] = 255
    _, results = play([scene, shifted, scene, shifted_with_square], config)
    assert not any(r.recalibrated for r in results[1:])
    assert [r.motion for r in results] == [False, False, False, True]


def test_frames_to_start_counts_consecutive_motion_frames() -> None:
    config = MotionConfig(frames_to_start=3, threshold=20)
    moving = [with_square(20 + 15 * i, 60) for i in range(6)]
    frames = [flat(), moving[0], moving[1], flat(), moving[2], moving[3], moving[4], moving[5]]
    _, results = play(frames, config)
    assert [r.motion for r in results] == [False, True, True, False, True, True, True, True]
    assert [r.event for r in results] == [None, None, None, None, None, None, "start", "update"]
    summary = results[6].summary
    assert summary is not None
    assert summary.started_at == pytest.approx(0.4)  # the first frame of the streak


def test_event_ends_after_quiet_seconds_of_frame_time() -> None:
    """Uneven frame times: the end follows the times passed in, not the frame count."""
    config = MotionConfig(frames_to_start=1, quiet_seconds=2.0, background_seconds=60.0)
    frames = [flat(), with_square(10, 10), with_square(60, 10), flat(), flat(), flat(), flat()]
    times = [0.0, 1.0, 1.5, 2.0, 3.0, 3.4, 3.6]
    state, results = MotionState(), []
    for t, frame in zip(times, frames, strict=True):
        state, result = step(state, frame, config, t)
        results.append(result)
    assert [r.event for r in results] == [
        None,
        "start",
        "update",
        "update",
        "update",
        "update",
        "end",
    ]
    assert state.event is None
    end = results[-1].summary
    assert end is not None
    assert (end.started_at, end.last_motion_at) == (1.0, 1.5)


def test_event_summary_keeps_the_peak_and_every_zone() -> None:
    config = MotionConfig(
        frames_to_start=1,
        zones=[
            Zone(name="left", points=rect(0.0, 0.0, 0.5, 1.0)),
            Zone(name="right", points=rect(0.5, 0.0, 0.5, 1.0)),
        ],
    )
    frames = [flat(), with_square(20, 20, size=20), with_square(200, 20, size=10)]
    state, results = play(frames, config)
    assert [r.zones for r in results[1:]] == [["left"], ["right"]]
    summary = results[2].summary
    assert summary is not None
    assert summary.zones == ("left", "right")
    assert summary.peak_score == pytest.approx(results[1].score)
    assert summary.peak_score > results[2].score
    assert state.event == summary


def test_background_follows_time_not_frame_count() -> None:
    """A parked object is absorbed after about the same time at 5 and at 10 fps."""
    config = MotionConfig(frames_to_start=1, quiet_seconds=1.0, background_seconds=2.0)
    ends = []
    for fps in (5.0, 10.0):
        frames = [flat()] + [with_square(64, 36, size=20)] * int(30 * fps)
        _, results = play(frames, config, fps=fps)
        ends.append(next(i for i, r in enumerate(results) if r.event == "end") / fps)
    assert ends[0] == pytest.approx(ends[1], abs=0.5)
    assert 3.0 < ends[0] < 15.0


def test_disabling_ends_the_event_and_forgets_the_background() -> None:
    on = MotionConfig(frames_to_start=1)
    state, results = play([flat(), with_square(10, 10)], on)
    assert results[-1].event == "start"
    state, result = step(state, with_square(30, 10), MotionConfig(enabled=False), 0.2)
    assert result.event == "end"
    assert result.summary is not None
    assert state.background is None
    state, result = step(state, with_square(50, 10), MotionConfig(enabled=False), 0.3)
    assert (result.event, result.motion) == (None, False)


def test_a_new_frame_size_rebuilds_the_background() -> None:
    state, _ = play([flat(), flat()], MotionConfig())
    _, result = step(state, np.full((120, 160), 100, np.uint8), MotionConfig(), 0.2)
    assert result.recalibrated


@pytest.mark.parametrize(
    ("frame", "t", "complaint"),
    [
        (np.zeros((144, 256, 3), np.uint8), 0.0, "2-D uint8"),
        (np.zeros((144, 256), np.float32), 0.0, "2-D uint8"),
        (np.zeros((MIN_SIDE - 1, 256), np.uint8), 0.0, "at least"),
        (np.zeros((144, 256), np.uint8), float("nan"), "finite"),
    ],
)
def test_step_refuses_what_it_cannot_analyse(frame: Gray, t: float, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        step(MotionState(), frame, MotionConfig(), t)


frames_strategy = st.one_of(
    st.sampled_from([0, 255, 128]).map(flat),
    st.integers(0, 2**32 - 1).map(
        lambda seed: np.random.default_rng(seed).integers(0, 256, SHAPE, dtype=np.uint8)
    ),
    arrays(np.uint8, SHAPE, elements=st.integers(0, 255), fill=st.integers(0, 255)),
)
configs_strategy = st.builds(
    MotionConfig,
    threshold=st.integers(1, 255),
    min_area=st.floats(0.0, 1.0),
    frames_to_start=st.integers(1, 3),
    recalibrate_fraction=st.floats(0.01, 1.0),
    improve_contrast=st.booleans(),
    masks=st.lists(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=3), max_size=2),
    zones=st.lists(
        st.builds(
            Zone,
            name=st.sampled_from(["a"]),
            points=st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=3, max_size=8),
        ),
        max_size=1,
    ),
)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(frames=st.lists(frames_strategy, min_size=1, max_size=6), config=configs_strategy)
def test_step_never_raises_and_scores_stay_in_range(
    frames: list[Gray], config: MotionConfig
) -> None:
    _, results = play(frames, config)
    for result in results:
        assert 0.0 <= result.score <= 1.0
        assert result.motion == (result.score > 0) == bool(result.regions)
        for x, y, w, h in result.regions:
            assert 0 <= x <= x + w <= 1
            assert 0 <= y <= y + h <= 1
        assert set(result.zones) <= {zone.name for zone in config.zones}


# --- synthetic footage with known truth ---------------------------------------------------


@pytest.fixture(scope="module")
def played() -> dict[str, tuple[Footage, Outcome, Score]]:
    """Every synthetic clip played once through the default detector (about 6 s)."""
    table = {}
    for footage in clips.synthetic_set():
        outcome = run(footage)
        table[footage.name] = (footage, outcome, score(footage, outcome))
    return table


@pytest.mark.parametrize("name", MOVING)
def test_moving_clip_is_detected_promptly(
    name: str, played: dict[str, tuple[Footage, Outcome, Score]]
) -> None:
    _, outcome, result = played[name]
    assert result.recall == 1.0
    assert result.false_events == 0
    assert max(result.delays) <= 1.0
    assert all(event.end is not None for event in outcome.events), "every event must end"


@pytest.mark.parametrize("name", QUIET)
def test_quiet_clip_raises_no_event(
    name: str, played: dict[str, tuple[Footage, Outcome, Score]]
) -> None:
    footage, outcome, _ = played[name]
    assert outcome.events == ()
    if footage.recalibrate_at:
        assert outcome.recalibrations == footage.recalibrate_at


def test_synthetic_set_meets_the_targets(
    played: dict[str, tuple[Footage, Outcome, Score]],
) -> None:
    scores = [result for _, _, result in played.values()]
    detected = sum(s.detected for s in scores)
    truths = sum(s.truths for s in scores)
    events_total = sum(s.events for s in scores)
    false_events = sum(s.false_events for s in scores)
    assert truths >= 10
    assert detected / truths >= 0.95
    assert (events_total - false_events) / events_total >= 0.95
    assert max(d for s in scores for d in s.delays) <= 1.0
    assert sum(played[name][2].events for name in QUIET) == 0


def test_zone_events_name_the_zone(played: dict[str, tuple[Footage, Outcome, Score]]) -> None:
    _, outcome, _ = played["person in zone"]
    assert [event.zones for event in outcome.events] == [("porch",)]


# The nuisance clips must owe their silence to the feature under test: without it they fire.


def test_branch_fires_without_its_mask() -> None:
    footage = QUIET["branch in mask"]
    assert run(footage, footage.config.model_copy(update={"masks": []})).events


def test_person_outside_the_zone_fires_without_zones() -> None:
    assert run(QUIET["person outside zone"], MotionConfig()).events


def test_night_person_needs_improve_contrast() -> None:
    assert not run(MOVING["person at night"], MotionConfig(improve_contrast=False)).events


def test_light_ramp_is_compensated_when_the_background_lags() -> None:
    """A 60 s background lags the +60 ramp by up to 40 levels: without the median shift
    it fires twice before the lag is big enough to recalibrate."""
    outcome = run(QUIET["light ramp +60/20s"], MotionConfig(background_seconds=60.0))
    assert outcome.events == ()


@pytest.mark.parametrize("footage", clips.light_clips(), ids=lambda f: f.name)
def test_slow_changes_of_light_raise_no_event(footage: Footage) -> None:
    """Issue 12: dusk, dawn, clouds and auto exposure over more than half the brightness
    range in 15-30 s, with sensor noise, analysed at 5 fps: no event."""
    outcome = run(footage)
    assert outcome.events == ()


@pytest.mark.parametrize("footage", clips.walker_in_light_clips(), ids=lambda f: f.name)
def test_a_person_entering_while_the_light_changes_starts_an_event_within_a_second(
    footage: Footage,
) -> None:
    result = score(footage, run(footage))
    assert (result.detected, result.false_events) == (1, 0)
    assert result.delays[0] <= 1.0


# --- real footage (Debian's opencv-doc) ---------------------------------------------------


@pytest.fixture(scope="module")
def real() -> dict[str, Footage]:
    """vtest.avi and tree.avi decoded once. Missing files are a setup error, not a skip."""
    missing = [n for n in ("vtest.avi", "tree.avi") if not (OPENCV_DATA / n).is_file()]
    assert not missing, f"{missing} not in {OPENCV_DATA}: apt-get install -y opencv-doc"
    table = {}
    for name in ("vtest", "tree"):
        footage = clips.real_footage(name)
        frames = list(footage.frames())
        table[name] = replace(footage, frames=lambda frames=frames: iter(frames))
    return table


def test_vtest_pedestrians_are_one_event_over_the_whole_clip(real: dict[str, Footage]) -> None:
    result = score(real["vtest"], run(real["vtest"]))
    assert result.events == 1
    assert result.delays[0] <= 1.0
    assert result.coverage >= 0.95


def test_tree_with_a_mask_waits_for_the_hand(real: dict[str, Footage]) -> None:
    """Masking the tree (all but the sky at the top right) silences the sway, not the hand."""
    footage = real["tree"]
    result = score(footage, run(footage, MotionConfig(masks=[clips.TREE_MASK])))
    assert (result.events, result.false_events, result.detected) == (1, 0, 1)
    assert result.delays[0] <= 1.0


def test_tree_with_a_larger_min_area_waits_for_the_hand(real: dict[str, Footage]) -> None:
    """Leaves move in patches under 0.3% of the frame; the hand is over 5%."""
    footage = real["tree"]
    result = score(footage, run(footage, MotionConfig(min_area=0.003)))
    assert (result.events, result.false_events, result.detected) == (1, 0, 1)
    assert result.delays[0] <= 1.0


def test_tree_defaults_take_the_sway_for_motion(real: dict[str, Footage]) -> None:
    """Known limitation, documented: with defaults the swaying leaves start an event about
    11 s before the hand appears (at 23.5 s). A tree in view needs a mask or min_area."""
    outcome = run(real["tree"])
    assert len(outcome.events) == 1
    assert 10.0 < outcome.events[0].start < 23.5
