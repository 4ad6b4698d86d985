"""Relighting: the background as it would look in the frame's light (motion step 3).

Light that changes slowly or all at once (dusk, dawn, a cloud, auto exposure) and light
that falls from one side change every pixel of a still scene through a smooth function of
its brightness and its place; something that moves does not. Undoing that function before
the background is subtracted keeps the detector quiet through changes of light without
making it blind: a moving object covers a small share of the pixels, which moves no
quantile much and falls out of a trimmed least-squares fit. Pure functions of two arrays.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import numpy.typing as npt

from .opencv import cv2

Gray = npt.NDArray[np.uint8]
Floats = npt.NDArray[np.float32]

# Quantiles (percent) matched between background and frame to undo a change of light.
# Not the outer 2 % at either end: a parked object in a plain scene would be all of it.
_KNOTS = np.array([2, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 98], np.float64)
_KNOT_NUDGE = np.arange(len(_KNOTS), dtype=np.float64) * 1e-3
_BIN_TOPS = np.arange(256, dtype=np.float64) + 1.0  # a histogram bin's upper edge
_MAX_SLOPE = 4.0
_TERMS = 9  # light from one side: offset, gain (1, x, y, x², xy, y²), offset x, y
_RIDGE = 5e-4  # per point: keeps directions the points cannot tell apart at zero
_CLIPPED = 0.5  # frame levels this close to black or white are clipped
_MAX_SHADE = 1.0  # light from one side scales a pixel by x0 .. x2 at most
_NEGLIGIBLE = 0.5  # levels: a change of light from one side this small is left out
_FIT_STEP = 8  # light from one side is fitted on every 8th pixel of every 8th row


def relight(background: Floats, frame: Floats) -> Floats:
    """The background as it would look in the frame's light.

    Light that changes slowly or all at once (dusk, a cloud, auto exposure) changes
    brightness through one monotonic tone curve, whatever the mix of offset, gain and
    gamma, clipped at black and white. Matching quantiles of the background to the same
    quantiles of the frame recovers it (a moving object covers a small share of the
    pixels and barely moves any quantile). Light that falls from one side is then
    fitted by :func:`_shade`.
    """
    levels = cast(Gray, cv2.convertScaleAbs(background))  # whole levels: the curve's input
    curve = _tone_curve(_quantiles(levels), _quantiles(cast(Gray, cv2.convertScaleAbs(frame))))
    return _shade(cast(Floats, cv2.LUT(levels, curve)), frame)


def _quantiles(levels: Gray) -> npt.NDArray[np.float64]:
    """The ``_KNOTS`` percentiles of a picture, from its histogram."""
    histogram = cv2.calcHist([levels], [0], None, [256], [0, 256]).ravel()
    cumulative = np.cumsum(histogram, dtype=np.float64)
    # where the cumulative count reaches each rank, interpolated inside the bin
    ranks = _KNOTS / 100.0 * cumulative[-1]
    return cast(npt.NDArray[np.float64], np.interp(ranks, cumulative, _BIN_TOPS))


def _tone_curve(source: npt.NDArray[np.float64], target: npt.NDArray[np.float64]) -> Floats:
    """A 256-entry table through the knots; beyond the outer ones it goes on with the
    slope of the outer two segments (one alone is too short to be reliable)."""
    # np.interp needs increasing knots: flat stretches of a histogram repeat quantiles.
    source = np.maximum.accumulate(source) + _KNOT_NUDGE
    levels = np.arange(256, dtype=np.float64)
    curve = np.interp(levels, source, target)
    for lo, hi, outside in ((0, 2, levels < source[0]), (-3, -1, levels > source[-1])):
        slope = (target[hi] - target[lo]) / max(source[hi] - source[lo], 1e-3)
        slope = min(max(slope, 0.0), _MAX_SLOPE)
        end = lo if lo == 0 else hi
        curve[outside] = target[end] + (levels[outside] - source[end]) * slope
    return np.clip(curve, 0.0, 255.0).astype(np.float32).reshape(256, 1)


def _shade(relit: Floats, frame: Floats) -> Floats:
    """``relit`` with light from one side: a gain that varies as a quadratic over the
    picture and an offset that varies linearly, fitted by least squares to the frame on
    a sparse grid, twice (the second time without the fifth of the points that fit
    worst: where something moves). Pixels clipped to pure black or white say nothing
    about the light and are left out. What the points cannot tell stays unchanged. The
    fields are smooth: worked out on the grid and enlarged."""
    step = _FIT_STEP
    rows, cols = relit.shape
    start = step // 2
    base = relit[start::step, start::step]
    level = base / np.float32(255.0)
    seen = frame[start::step, start::step]
    y = ((np.arange(base.shape[0], dtype=np.float32) * step + start) / rows - 0.5)[:, None]
    x = ((np.arange(base.shape[1], dtype=np.float32) * step + start) / cols - 0.5)[None, :]
    ones = np.ones_like(level)
    gains = [level, level * x, level * y, level * x * x, level * x * y, level * y * y]
    terms = np.stack([ones, *gains, ones * x, ones * y], -1).reshape(-1, _TERMS)
    usable = ((seen > _CLIPPED) & (seen < 255.0 - _CLIPPED)).ravel()
    c = _robust_fit(terms, (seen - base).ravel(), usable)
    if c is None:
        return relit
    size = (cols, rows)
    gain = c[1] + x * (c[2] + c[4] * x + c[5] * y) + y * (c[3] + c[6] * y)
    np.clip(gain, -255.0 * _MAX_SHADE, 255.0 * _MAX_SHADE, out=gain)  # x0 .. x2
    offset = c[0] + c[7] * x + c[8] * y
    if np.abs(gain).max() < _NEGLIGIBLE and np.abs(offset).max() < _NEGLIGIBLE:
        return relit  # the usual case: no light from one side
    change = cv2.multiply(relit, cv2.resize(gain, size), scale=1.0 / 255.0)
    shaded = cv2.add(cv2.add(relit, change), cv2.resize(offset, size))
    return cast(Floats, np.clip(shaded, 0.0, 255.0, out=shaded))


def _robust_fit(terms: Floats, target: Floats, usable: npt.NDArray[np.bool_]) -> Floats | None:
    """Least squares twice, the second time without the worst fifth; None when too few
    points are usable (a picture clipped almost everywhere)."""
    if np.count_nonzero(usable) < 4 * _TERMS:
        return None
    ridge = np.eye(_TERMS, dtype=np.float32) * np.float32(_RIDGE * terms.shape[0])
    keep = usable
    coef = np.zeros(_TERMS, np.float32)
    for _ in range(2):
        chosen = terms[keep]
        coef = np.linalg.solve(chosen.T @ chosen + ridge, chosen.T @ target[keep])
        misfit = np.abs(terms @ coef - target)
        misfit[~usable] = np.inf
        cut = int(np.count_nonzero(usable) * 0.8)
        keep = misfit <= np.partition(misfit, cut)[cut]
    return cast(Floats, coef.astype(np.float32))
