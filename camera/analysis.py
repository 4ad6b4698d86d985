"""A camera's detectors, run in its reader thread: motion, picture health, sound.

The pure steps (``camera.motion``, ``camera.health``, ``camera.sound``) decide; this class
feeds them downscaled frames and audio, keeps the full-size frame of the best moment of a
motion event, and turns their verdicts into :class:`Observation`s handed to ``emit``
(which the camera forwards to the event loop).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, cast

import av
import numpy as np

from . import health, motion, sound
from .config import CameraConfig
from .snapshots import PendingJpeg

Kind = Literal["motion", "sound", "offline", "online", "frozen", "tamper"]
Phase = Literal["start", "update", "end"]
ANALYSIS_HEIGHT = 144


@dataclass(frozen=True)
class Observation:
    camera: str
    kind: Kind
    phase: Phase
    at: float  # Unix seconds
    score: float = 0.0
    regions: list[tuple[float, float, float, float]] = field(default_factory=list)
    zones: list[str] = field(default_factory=list)
    detail: str = ""
    # The best moment so far: JPEG bytes, or a frame to encode off the reader thread.
    snapshot: bytes | PendingJpeg | None = None


def luma(frame: av.VideoFrame) -> motion.Gray:
    """The Y plane as a 2-D uint8 view (no copy for planar YUV frames)."""
    if frame.format.name in ("yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "nv12"):
        plane = frame.planes[0]
        rows = np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)
        return rows[:, : plane.width]
    return cast(motion.Gray, frame.to_ndarray(format="gray"))


class Analyzer:
    def __init__(self, config: CameraConfig, emit: Callable[[Observation], None]) -> None:
        self._config = config
        self._emit = emit
        self._motion = motion.MotionState()
        self._health = health.HealthState()
        self._sound = sound.SoundState()
        self._best: tuple[float, av.VideoFrame] | None = None
        self._interval = 1.0 / config.analysis_fps
        self._last = -1e9

    def due(self, t: float) -> bool:
        return t - self._last >= self._interval * 0.9

    def video(self, frame: av.VideoFrame, t: float) -> None:
        """Analyse one frame taken at Unix time ``t`` (the caller keeps to analysis_fps)."""
        self._last = t
        gray = motion.downscale(luma(frame), ANALYSIS_HEIGHT)
        if self._config.motion.enabled:
            self._motion, result = motion.step(self._motion, gray, self._config.motion, t)
            if result.event is not None:
                self._motion_event(result, frame, t)
        self._health, changes = health.step(self._health, gray, self._config.health, t)
        for change in changes:
            snapshot = PendingJpeg(frame, width=640) if change.phase == "start" else None
            self._emit(
                Observation(
                    self._config.id,
                    change.kind,
                    change.phase,
                    t,
                    detail=change.detail,
                    snapshot=snapshot,
                )
            )

    def _motion_event(self, result: motion.MotionResult, frame: av.VideoFrame, t: float) -> None:
        phase: Phase = result.event  # type: ignore[assignment]
        summary = result.summary
        assert summary is not None
        snapshot = None
        if phase == "start" or self._best is None or result.score > self._best[0]:
            self._best = (result.score, frame)
            if phase == "start":
                snapshot = PendingJpeg(frame)  # an early picture for the alert
        if phase == "end" and self._best is not None:
            snapshot = PendingJpeg(self._best[1])  # the best moment of the whole event
            self._best = None
        self._emit(
            Observation(
                self._config.id,
                "motion",
                phase,
                t,
                score=summary.peak_score if phase == "end" else result.score,
                regions=list(result.regions),
                zones=list(summary.zones),
                snapshot=snapshot,
            )
        )

    def audio(self, frame: av.AudioFrame, t: float) -> None:
        if not self._config.sound.enabled:
            return
        samples = sound.mono(frame)
        self._sound, results = sound.step(
            self._sound, samples, frame.sample_rate, self._config.sound, t
        )
        for result in results:
            if result.event is not None:
                self._emit(
                    Observation(
                        self._config.id,
                        "sound",
                        result.event,
                        result.t,
                        score=result.peak_dbfs,
                        detail=f"{result.level_dbfs:.1f} dBFS",
                    )
                )
