"""Camera health from the picture: frozen (identical frames) and tamper (covered, moved).

A pure step like ``camera.motion.step``: ``(state, gray, config, t) -> (state, changes)``.

- **frozen**: consecutive analysed frames differ by less than ``FROZEN_DIFF`` on average for
  ``frozen_seconds``: a hung encoder or a stuck stream that still delivers the same picture.
- **tamper, covered**: the picture has almost no detail (luma spread under ``flat_stddev``)
  for ``tamper_seconds``: lens covered, sprayed, pointed at a wall, or black.
- **tamper, moved**: the picture's structure (gradient magnitudes, insensitive to lighting)
  no longer matches the reference scene for ``tamper_seconds``. The reference follows the
  scene slowly (every ``reference_seconds`` while nothing is wrong), so parked cars and
  daylight do not count; a camera turned to face elsewhere does. After an alarm the new
  view becomes the reference.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, cast

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from .opencv import cv2

Gray = npt.NDArray[np.uint8]
FROZEN_DIFF = 0.25  # mean absolute difference (0-255) below which two frames are "the same"
MOVED_SIMILARITY = 0.35  # gradient correlation below which the scene is another scene


class HealthConfig(BaseModel):
    """Picture health checks of a camera (the ``health:`` section)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    frozen_seconds: float = Field(
        10.0, ge=0, le=3600, description="Identical frames this long raise 'frozen'; 0: off."
    )
    tamper: bool = Field(True, description="Detect a covered, black or moved view.")
    tamper_seconds: float = Field(
        3.0, gt=0, le=600, description="How long the view must stay covered or moved."
    )
    flat_stddev: float = Field(
        4.0, ge=0, le=64, description="Luma spread under which the view counts as covered."
    )
    reference_seconds: float = Field(
        60.0, gt=0, le=86400, description="How often the reference scene follows the view."
    )


Kind = Literal["frozen", "tamper"]


@dataclass(frozen=True, slots=True)
class HealthChange:
    kind: Kind
    phase: Literal["start", "end"]
    detail: str
    t: float


@dataclass(frozen=True, slots=True, eq=False)
class HealthState:
    previous: Gray | None = None
    same_since: float | None = None
    frozen: bool = False
    reference: npt.NDArray[np.float32] | None = None
    reference_at: float = 0.0
    odd_since: float | None = None
    odd_reason: str = ""
    tampered: bool = False


def _structure(gray: Gray) -> npt.NDArray[np.float32]:
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    magnitude = cast(npt.NDArray[np.float32], cv2.magnitude(gx, gy))
    magnitude = magnitude - np.float32(magnitude.mean())
    norm = float(np.linalg.norm(magnitude))
    return magnitude / np.float32(norm) if norm > 0 else magnitude


def step(
    state: HealthState, gray: Gray, config: HealthConfig, t: float
) -> tuple[HealthState, list[HealthChange]]:
    changes: list[HealthChange] = []
    state = _frozen(state, gray, config, t, changes)
    if config.tamper:
        state = _tamper(state, gray, config, t, changes)
    return replace(state, previous=gray), changes


def _frozen(
    state: HealthState, gray: Gray, config: HealthConfig, t: float, out: list[HealthChange]
) -> HealthState:
    if config.frozen_seconds <= 0 or state.previous is None or state.previous.shape != gray.shape:
        return replace(state, same_since=None)
    same = float(cv2.absdiff(gray, state.previous).mean()) < FROZEN_DIFF
    if not same:
        if state.frozen:
            out.append(HealthChange("frozen", "end", "the picture moves again", t))
        return replace(state, same_since=None, frozen=False)
    since = state.same_since if state.same_since is not None else t
    if not state.frozen and t - since >= config.frozen_seconds:
        out.append(HealthChange("frozen", "start", f"identical frames for {t - since:.0f} s", t))
        return replace(state, same_since=since, frozen=True)
    return replace(state, same_since=since)


def _tamper(
    state: HealthState, gray: Gray, config: HealthConfig, t: float, out: list[HealthChange]
) -> HealthState:
    reason = ""
    structure = None
    if float(gray.std()) < config.flat_stddev:
        reason = "the view is covered or black"
    else:
        structure = _structure(gray)
        reference = state.reference
        if (
            reference is not None
            and reference.shape == structure.shape
            and float((reference * structure).sum()) < MOVED_SIMILARITY
        ):
            reason = "the view has moved"
    if not reason:
        if state.tampered:
            out.append(HealthChange("tamper", "end", "the view is back to normal", t))
        fresh = state.reference is None or t - state.reference_at >= config.reference_seconds
        if fresh and structure is not None:
            state = replace(state, reference=structure, reference_at=t)
        return replace(state, odd_since=None, odd_reason="", tampered=False)
    since = state.odd_since if state.odd_since is not None else t
    if not state.tampered and t - since >= config.tamper_seconds:
        out.append(HealthChange("tamper", "start", reason, t))
        # The new view becomes the reference: one alarm per tampering, not one per frame.
        new_reference = structure if structure is not None else state.reference
        return replace(
            state,
            odd_since=since,
            odd_reason=reason,
            tampered=True,
            reference=new_reference,
            reference_at=t,
        )
    return replace(state, odd_since=since, odd_reason=reason)
