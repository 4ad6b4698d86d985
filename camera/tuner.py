"""The motion tuner: a trial motion config run beside a camera's real detector.

While an admin moves the sliders, the dashboard needs to see what the detector would see
with those settings on the live scene, without touching the real detector. A
:class:`Tuner` is attached to a camera's analyzer for as long as someone has the tuner
open; on every analysed frame (in the reader thread) it steps its own copy of the motion
state (taken from the real one when it starts: the states are immutable, so the copy is
the reference) with the trial config and hands a report to ``deliver``, which must pass
it to the event loop thread-safely. Nothing is saved: the real detector changes only when
the settings are saved through the API.

A report (a JSON object, docs/api.md "Motion tuner"):
``score`` against ``min_area``, the pixel ``threshold`` in use (lowered in flat scenes),
``regions`` that counted, ``changed`` (the changed pixels after the masks, a bitmap of
``width`` x ``height`` packed 8 pixels a byte, row by row, base64), ``streak`` of frames
with motion against ``frames_to_start``, ``event`` (what the trial would do now:
``start``, ``update``, ``end`` or null) and ``saved``: the real detector's verdict on the
same frame.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import numpy as np

from . import motion

Report = dict[str, Any]


class Tuner:
    def __init__(self, trial: motion.MotionConfig, deliver: Callable[[Report], None]) -> None:
        self.trial = trial  # written by the loop (one assignment), read by the reader thread
        self._deliver = deliver
        self._state: motion.MotionState | None = None  # owned by the reader thread
        self._streak = 0

    def feed(
        self,
        real_before: motion.MotionState,
        gray: motion.Gray,
        t: float,
        real: motion.MotionResult | None,
    ) -> None:
        """One analysed frame (reader thread): ``real_before`` is the real detector's state
        before this frame, ``real`` its verdict (None when it is switched off)."""
        if self._state is None:
            self._state = real_before
        trial = self.trial
        self._state, result, seen = motion.inspect(self._state, gray, trial, t)
        self._streak = self._streak + 1 if result.motion else 0
        self._deliver(report(result, seen, trial, real, t, self._streak, gray.shape))


def report(
    result: motion.MotionResult,
    seen: motion.Seen,
    trial: motion.MotionConfig,
    real: motion.MotionResult | None,
    t: float,
    streak: int,
    shape: tuple[int, ...],
) -> Report:
    rows, cols = shape[0], shape[1]
    changed = seen.changed
    bitmap = (
        ""
        if changed is None
        else base64.b64encode(np.packbits(changed, axis=None).tobytes()).decode()
    )
    return {
        "type": "frame",
        "at": t,
        "width": cols,
        "height": rows,
        "threshold": trial.threshold,
        "effective_threshold": round(seen.threshold, 2),
        "min_area": trial.min_area,
        "score": round(result.score, 5),
        "changed_fraction": 0.0 if changed is None else round(float(changed.mean()), 5),
        "changed": bitmap,
        "motion": result.motion,
        "regions": [[round(v, 4) for v in box] for box in result.regions],
        "zones": result.zones,
        "streak": streak,
        "frames_to_start": trial.frames_to_start,
        "event": result.event,
        "would_start": result.event == "start",
        "active": result.event in ("start", "update"),
        "recalibrated": result.recalibrated,
        "saved": None
        if real is None
        else {"motion": real.motion, "score": round(real.score, 5), "event": real.event},
    }
