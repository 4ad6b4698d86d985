"""Motion detection: a pure step over small grayscale frames.

The caller shrinks each analysed frame (5-10 per second) with :func:`downscale` and calls
:func:`step` with the previous state, the frame, the config and the frame's time in
seconds. Nothing here reads a clock, logs or keeps globals: tests drive it with arrays.

Per frame, at about 144 px high:

1. Blur lightly (5x5 Gaussian) so single-pixel sensor noise cannot pass the threshold.
2. Take the difference from a running-average background. The average is exponential with
   a time constant of ``background_seconds`` (not a per-frame alpha), so the adaptation
   does not depend on how many frames per second the caller analyses.
3. Relight the background (:func:`relight`): the change of light since the background
   was built (dusk, dawn, a cloud, auto exposure, the sun moving round) is fitted as a
   tone curve (quantiles of the background matched to the frame's) and a smooth gain and
   offset over the picture (a robust least-squares fit), and undone. A moving object
   covers a small share of the pixels and survives both fits.
4. Recalibrate instead of detecting when, even so, more than ``recalibrate_fraction`` of
   the frame changed at once (the camera knocked, the IR cut filter, a lamp lighting one
   part of the scene): the background becomes this frame and no motion is reported.
5. Threshold at ``threshold`` (in flat, low-contrast scenes such as night IR the threshold
   is lowered in proportion to the scene's contrast when ``improve_contrast``), drop
   masked pixels, dilate so the fragments of one object join, and label connected blobs.
6. Keep blobs whose changed pixels cover at least ``min_area`` of the frame and, when zones
   are defined, touch a zone. Their boxes are the regions, their pixels the score.
7. Events: ``frames_to_start`` consecutive analysed frames with motion start one; no motion
   for ``quiet_seconds`` ends it. The event's first motion time, peak score and the zones
   it touched travel in the state and come back on every result of the event.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Literal, cast

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .opencv import cv2
from .relight import relight

# OpenCV's stubs type every image as MatLike; casts below restate what the arrays hold.
Gray = npt.NDArray[np.uint8]
Floats = npt.NDArray[np.float32]
Coordinate = Annotated[float, Field(ge=0.0, le=1.0)]
Point = tuple[Coordinate, Coordinate]
Polygon = Annotated[list[Point], Field(min_length=3, max_length=64)]
Box = tuple[float, float, float, float]
EventKind = Literal["start", "update", "end"]

MIN_SIDE = 16  # smallest frame side step() accepts, in pixels
_BLUR_KERNEL = (5, 5)
_DILATE_KERNEL = np.ones((3, 3), np.uint8)
_DILATE_ITERATIONS = 2
_SAMPLE_STEP = 4  # the changed fraction (recalibration) on every 4th pixel
_CONTRAST_SPAN = 128.0  # 2nd-98th percentile spread of a scene with ordinary contrast
_MAX_CONTRAST_GAIN = 4.0


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Zone(_Model):
    """A named area of the picture; with zones defined, only motion touching one counts."""

    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$",
        description="Name reported in events: lowercase letters, digits, - and _.",
    )
    points: Polygon = Field(
        description="Polygon vertices as [x, y], normalised 0..1 from the top-left corner."
    )
    alert: bool = Field(
        True,
        description="Motion here raises alerts (when armed); false: it is recorded as an "
        "event, without an alert (a street beyond the garden).",
    )


class MotionConfig(_Model):
    """Tunables of the motion detector (the ``motion:`` section of a camera)."""

    enabled: bool = Field(True, description="Run motion detection on this camera.")
    threshold: int = Field(
        25,
        ge=1,
        le=255,
        description="Brightness change (0-255) for a pixel to count as changed, after the "
        "global brightness shift is removed. Lower is more sensitive.",
    )
    min_area: float = Field(
        0.001,
        ge=0.0,
        le=1.0,
        description="Smallest moving object that counts, as a fraction of the frame "
        "(0.001 is about 37 pixels of a 256x144 analysis frame).",
    )
    zones: list[Zone] = Field(
        default_factory=list,
        description="Named polygons; when any is defined only motion touching a zone counts.",
    )
    masks: list[Polygon] = Field(
        default_factory=list,
        description="Polygons (normalised 0..1) whose pixels never count: trees, roads, "
        "timestamp overlays.",
    )
    frames_to_start: int = Field(
        3,
        ge=1,
        le=100,
        description="Consecutive analysed frames with motion before an event starts.",
    )
    quiet_seconds: float = Field(
        5.0, ge=0.0, le=3600.0, description="An event ends after this long without motion."
    )
    recalibrate_fraction: float = Field(
        0.6,
        gt=0.0,
        le=1.0,
        description="When more than this fraction of the frame changes at once (lights, IR "
        "switch) the background is rebuilt instead of reporting motion.",
    )
    background_seconds: float = Field(
        5.0,
        gt=0.0,
        le=3600.0,
        description="Time constant of the running-average background: how fast stopped "
        "objects and lighting are absorbed into it.",
    )
    improve_contrast: bool = Field(
        True,
        description="Lower the threshold in flat, low-contrast scenes (night, IR, fog), "
        "by up to 4x.",
    )

    @field_validator("zones")
    @classmethod
    def _unique_zone_names(cls, zones: list[Zone]) -> list[Zone]:
        names = [zone.name for zone in zones]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"zone names must be unique, repeated: {', '.join(duplicates)}")
        return zones


@dataclass(frozen=True, slots=True)
class EventSummary:
    """What the caller stores in an event record: when, how much, where."""

    started_at: float  # time of the first frame with motion in the event
    last_motion_at: float
    peak_score: float
    zones: tuple[str, ...]  # every zone touched so far, sorted


@dataclass(frozen=True, slots=True)
class MotionResult:
    """The verdict on one frame.

    ``score`` is the fraction of the frame covered by changed pixels of counted blobs (after
    masks and zones), so ``motion`` is false exactly when ``score`` is 0 and ``regions`` is
    empty. ``event`` is "start" on the frame that starts an event, "update" on every later
    frame of it, "end" on the frame that ends it, else None; ``summary`` describes that
    event whenever ``event`` is set.
    """

    motion: bool
    score: float
    regions: list[Box]  # normalised (x, y, w, h) of each counted blob
    zones: list[str]  # zones touched in this frame
    event: EventKind | None
    recalibrated: bool
    summary: EventSummary | None


@dataclass(frozen=True, slots=True)
class _Tracker:
    """Event machine: the current motion streak and the event (candidate or active)."""

    streak: int = 0
    active: bool = False
    summary: EventSummary | None = None


@dataclass(frozen=True, slots=True, eq=False)
class _Geometry:
    """Masks and zones rasterised for one frame size."""

    key: tuple[tuple[int, ...], list[Zone], list[list[Point]]]
    keep: Gray | None  # 1 where pixels count, None when there is no mask
    zones: tuple[tuple[str, npt.NDArray[np.bool_]], ...]


@dataclass(frozen=True, slots=True, eq=False)
class MotionState:
    """Everything :func:`step` carries from one frame to the next; start with ``MotionState()``."""

    background: Floats | None = None
    last_t: float | None = None
    geometry: _Geometry | None = None
    tracker: _Tracker = _Tracker()

    @property
    def event(self) -> EventSummary | None:
        """The event in progress, if any."""
        return self.tracker.summary if self.tracker.active else None


@dataclass(frozen=True, slots=True)
class _Blobs:
    score: float = 0.0
    regions: tuple[Box, ...] = ()
    zones: tuple[str, ...] = ()


_NO_BLOBS = _Blobs()


def downscale(frame_gray_or_yuv_luma: npt.NDArray[np.uint8], height: int = 144) -> Gray:
    """Shrink a grayscale frame or Y plane to ``height`` rows, keeping the aspect ratio.

    Large reductions go through a bilinear resize to twice the target and a 2x2 area
    average: close to a full area average in noise (each output pixel still averages 16
    input pixels) at a fraction of its cost (about 0.3 ms from 1080p instead of 6 ms).
    Row-padded views (a decoder's Y plane with its line size) are accepted without a copy.
    """
    luma = frame_gray_or_yuv_luma
    if luma.ndim != 2 or luma.dtype != np.uint8:
        raise ValueError(f"expected a 2-D uint8 luma plane, got {luma.dtype} {luma.shape}")
    if height < MIN_SIDE:
        raise ValueError(f"height must be at least {MIN_SIDE}, got {height}")
    if luma.strides[1] != 1:
        luma = np.ascontiguousarray(luma)
    rows, cols = luma.shape
    size = (max(1, round(cols * height / rows)), height)
    if rows >= 4 * height:
        luma = cast(
            Gray, cv2.resize(luma, (2 * size[0], 2 * height), interpolation=cv2.INTER_LINEAR)
        )
    method = cv2.INTER_AREA if rows > height else cv2.INTER_LINEAR
    return cast(Gray, cv2.resize(luma, size, interpolation=method))


def step(
    state: MotionState, gray: Gray, config: MotionConfig, t: float
) -> tuple[MotionState, MotionResult]:
    """Analyse one downscaled frame taken at time ``t`` (seconds, non-decreasing).

    Raises ValueError for a frame that is not 2-D uint8 with sides of at least
    :data:`MIN_SIDE` pixels, or a time that is not finite. A frame of a new size rebuilds
    the background (reported as recalibrated), as does the very first frame.
    """
    state, result, _ = inspect(state, gray, config, t)
    return state, result


@dataclass(frozen=True, slots=True, eq=False)
class Seen:
    """What the detector saw in a frame, for the motion tuner: the pixel threshold it used
    (after the contrast gain) and the changed pixels after the masks (1 = changed), at
    the analysis size; ``changed`` is None when it did not look (off, recalibrating)."""

    threshold: float
    changed: Gray | None


def inspect(
    state: MotionState, gray: Gray, config: MotionConfig, t: float
) -> tuple[MotionState, MotionResult, Seen]:
    """:func:`step`, also returning what the detector saw."""
    if not math.isfinite(t):
        raise ValueError(f"frame time must be finite, got {t}")
    if not config.enabled:
        return *_disabled(state), Seen(float(config.threshold), None)
    frame = _prepare(_checked(gray))
    threshold = _threshold(gray, config)
    background = state.background
    if background is None or background.shape != frame.shape:
        return *_recalibrate(state, frame, config, t), Seen(threshold, None)
    diff = cast(Floats, cv2.subtract(frame, relight(background, frame)))
    sample = diff[::_SAMPLE_STEP, ::_SAMPLE_STEP]
    if np.count_nonzero(np.abs(sample) > threshold) > config.recalibrate_fraction * sample.size:
        return *_recalibrate(state, frame, config, t), Seen(threshold, None)
    geometry = _geometry(state.geometry, frame.shape, config)
    changed = _changed(diff, threshold, geometry)
    blobs = _blobs(changed, geometry, config)
    tracker, event = _track(state.tracker, blobs, t, config)
    background = _adapt(background, frame, state.last_t, t, config)
    result = _result(blobs, event, tracker, False)
    return MotionState(background, t, geometry, tracker), result, Seen(threshold, changed)


def _checked(gray: Gray) -> Gray:
    if gray.ndim != 2 or gray.dtype != np.uint8:
        raise ValueError(f"expected a 2-D uint8 frame, got {gray.dtype} {gray.shape}")
    if min(gray.shape) < MIN_SIDE:
        raise ValueError(f"frame sides must be at least {MIN_SIDE} pixels, got {gray.shape}")
    return np.ascontiguousarray(gray)


def _prepare(gray: Gray) -> Floats:
    return cast(Floats, cv2.GaussianBlur(gray.astype(np.float32), _BLUR_KERNEL, 0))


def _threshold(gray: Gray, config: MotionConfig) -> float:
    """The pixel threshold, divided by the contrast gain of a flat scene (at most 4x).

    The gain compares the spread between the 2nd and 98th brightness percentiles with that
    of an ordinary daytime scene; a scene with ordinary or more contrast has gain 1.
    """
    if not config.improve_contrast:
        return float(config.threshold)
    counts = np.bincount(gray[::2, ::2].ravel(), minlength=256).cumsum()
    low, high = np.searchsorted(counts, (0.02 * counts[-1], 0.98 * counts[-1]))
    gain = min(max(_CONTRAST_SPAN / max(int(high - low), 1), 1.0), _MAX_CONTRAST_GAIN)
    return config.threshold / gain


def _changed(diff: Floats, threshold: float, geometry: _Geometry) -> Gray:
    """1 where a pixel differs from the relit background by more than the threshold."""
    changed = cast(Gray, (np.abs(diff) > threshold).view(np.uint8))
    if geometry.keep is not None:
        changed = changed & geometry.keep
    return changed


def _blobs(changed: Gray, geometry: _Geometry, config: MotionConfig) -> _Blobs:
    """Connected blobs of changed pixels that are big enough and, with zones, in one.

    Blobs are the outer contours of the dilated changes (``findContours`` costs a tenth of
    ``connectedComponentsWithStats`` here); each candidate is filled with its own label so
    its changed pixels can be counted exactly.
    """
    rows, cols = changed.shape
    min_pixels = max(1, math.ceil(config.min_area * rows * cols))
    if cv2.countNonZero(changed) < min_pixels:
        return _NO_BLOBS
    joined = cv2.dilate(changed, _DILATE_KERNEL, iterations=_DILATE_ITERATIONS)
    outlines, _ = cv2.findContours(joined, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    boxes = [cv2.boundingRect(outline) for outline in outlines]
    # A blob whose bounding box is smaller than min_pixels cannot hold enough changes.
    candidates = [i for i, (_, _, w, h) in enumerate(boxes) if w * h >= min_pixels]
    if not candidates:
        return _NO_BLOBS
    labels = np.zeros((rows, cols), np.int32)
    for label, index in enumerate(candidates, start=1):
        cv2.drawContours(labels, outlines, index, label, thickness=cv2.FILLED)
    hit = changed.view(np.bool_)
    pixels = np.bincount(labels[hit], minlength=len(candidates) + 1)
    counted = pixels >= min_pixels
    counted[0] = False  # label 0: outside every candidate
    zones: list[str] = []
    if geometry.zones:
        counted, zones = _in_zones(counted, labels, hit, geometry)
    regions = tuple(
        _extent(labels, hit, label, boxes[candidates[label - 1]])
        for label in np.flatnonzero(counted).tolist()
    )
    score = float(pixels[counted].sum()) / (rows * cols)
    return _Blobs(score, regions, tuple(zones))


def _extent(
    labels: npt.NDArray[np.int32], hit: npt.NDArray[np.bool_], label: int, box: Sequence[int]
) -> Box:
    """Normalised bounding box of a blob's changed pixels (inside its dilated ``box``)."""
    x, y, w, h = box
    mine = (labels[y : y + h, x : x + w] == label) & hit[y : y + h, x : x + w]
    dx, dy, w, h = cv2.boundingRect(mine.view(np.uint8))
    rows, cols = labels.shape
    return (x + dx) / cols, (y + dy) / rows, w / cols, h / rows


def _in_zones(
    counted: npt.NDArray[np.bool_],
    labels: npt.NDArray[np.int32],
    hit: npt.NDArray[np.bool_],
    geometry: _Geometry,
) -> tuple[npt.NDArray[np.bool_], list[str]]:
    """Narrow ``counted`` to blobs with a changed pixel in a zone; name the zones touched."""
    inside_any = np.zeros_like(counted)
    names = []
    for name, area in geometry.zones:
        inside = np.zeros_like(counted)
        inside[labels[hit & area]] = True
        inside &= counted
        if inside.any():
            names.append(name)
            inside_any |= inside
    return inside_any, names


def _geometry(cached: _Geometry | None, shape: tuple[int, ...], config: MotionConfig) -> _Geometry:
    """Masks and zones as rasters for this frame size, reused while nothing changes."""
    key = (shape, config.zones, config.masks)
    if cached is not None and cached.key == key:
        return cached
    keep = None
    if config.masks:
        keep = 1 - _raster(config.masks, shape)
    zones = tuple(
        (zone.name, _raster([zone.points], shape).view(np.bool_)) for zone in config.zones
    )
    return _Geometry(key, keep, zones)


def _raster(polygons: list[list[Point]], shape: tuple[int, ...]) -> Gray:
    """1 inside any of the normalised polygons, 0 elsewhere (4 bits of sub-pixel precision)."""
    rows, cols = shape[0], shape[1]
    canvas = np.zeros((rows, cols), np.uint8)
    scale = np.array([cols * 16, rows * 16], np.float64)
    vertices = [np.round(np.array(polygon) * scale).astype(np.int32) for polygon in polygons]
    cv2.fillPoly(canvas, vertices, 1, lineType=cv2.LINE_8, shift=4)
    return canvas


def _adapt(
    background: Floats, frame: Floats, last_t: float | None, t: float, config: MotionConfig
) -> Floats:
    """Blend the frame into the background with weight 1 - exp(-dt / background_seconds)."""
    dt = 0.0 if last_t is None else max(0.0, t - last_t)
    alpha = -math.expm1(-dt / config.background_seconds)
    if alpha <= 0.0:
        return background
    return cast(Floats, cv2.addWeighted(frame, alpha, background, 1.0 - alpha, 0.0))


def _recalibrate(
    state: MotionState, frame: Floats, config: MotionConfig, t: float
) -> tuple[MotionState, MotionResult]:
    """Adopt the frame as background; the frame counts as one without motion."""
    tracker, event = _track(state.tracker, _NO_BLOBS, t, config)
    new_state = MotionState(frame, t, state.geometry, tracker)
    return new_state, _result(_NO_BLOBS, event, tracker, True)


def _disabled(state: MotionState) -> tuple[MotionState, MotionResult]:
    """Detection switched off: end an event in progress and forget the background."""
    ending = state.event
    result = _result(_NO_BLOBS, "end" if ending else None, _Tracker(summary=ending), False)
    return MotionState(), result


def _track(
    tracker: _Tracker, blobs: _Blobs, t: float, config: MotionConfig
) -> tuple[_Tracker, EventKind | None]:
    """Advance the event machine by one analysed frame."""
    if blobs.regions:
        return _on_motion(tracker, blobs, t, config)
    if not tracker.active:
        return _Tracker(), None
    assert tracker.summary is not None  # an active event always has a summary
    if t - tracker.summary.last_motion_at >= config.quiet_seconds:
        return _Tracker(summary=tracker.summary), "end"
    return _Tracker(0, True, tracker.summary), "update"


def _on_motion(
    tracker: _Tracker, blobs: _Blobs, t: float, config: MotionConfig
) -> tuple[_Tracker, EventKind | None]:
    previous = tracker.summary
    if previous is None or not (tracker.active or tracker.streak):
        summary = EventSummary(t, t, blobs.score, blobs.zones)
    else:
        zones = tuple(sorted({*previous.zones, *blobs.zones}))
        summary = EventSummary(previous.started_at, t, max(previous.peak_score, blobs.score), zones)
    streak = tracker.streak + 1
    if tracker.active:
        return _Tracker(streak, True, summary), "update"
    if streak >= config.frames_to_start:
        return _Tracker(streak, True, summary), "start"
    return _Tracker(streak, False, summary), None


def _result(
    blobs: _Blobs, event: EventKind | None, tracker: _Tracker, recalibrated: bool
) -> MotionResult:
    return MotionResult(
        motion=bool(blobs.regions),
        score=blobs.score,
        regions=list(blobs.regions),
        zones=list(blobs.zones),
        event=event,
        recalibrated=recalibrated,
        summary=tracker.summary if event else None,
    )
