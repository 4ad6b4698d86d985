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
from .tuner import Tuner

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
    alerting: bool = True  # may raise an alert (motion: it touched a zone that alerts)


def luma(frame: av.VideoFrame) -> motion.Gray:
    """The Y plane as a 2-D uint8 view (no copy for planar YUV frames)."""
    if frame.format.name in ("yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "nv12"):
        plane = frame.planes[0]
        rows = np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)
        return rows[:, : plane.width]
    return cast(motion.Gray, frame.to_ndarray(format="gray"))


class Analyzer:
    """Runs in the camera's video reader thread, which owns everything here except the
    two fields the event loop writes as single assignments: ``_wanted`` (new settings,
    adopted at the next frame, so a detector never sees half of a change) and
    ``tuners`` (a tuple, replaced whole). The audio path (the microphone's thread for an
    ALSA device) reads ``_wanted.sound`` and owns the sound state."""

    def __init__(self, config: CameraConfig, emit: Callable[[Observation], None]) -> None:
        self._config = config
        self._wanted = config
        self._emit = emit
        self._motion = motion.MotionState()
        self._health = health.HealthState()
        self._sound = sound.SoundState()
        self._best: tuple[float, av.VideoFrame] | None = None
        self._interval = 1.0 / config.analysis_fps
        self._last = -1e9
        self.tuners: tuple[Tuner, ...] = ()

    def reconfigure(self, config: CameraConfig) -> None:
        """New detector settings (from the loop); the state (background, events) stays."""
        self._wanted = config

    def due(self, t: float) -> bool:
        wanted = self._wanted
        if wanted is not self._config:
            self._config = wanted
            self._interval = 1.0 / wanted.analysis_fps
        return t - self._last >= self._interval * 0.9

    def video(self, frame: av.VideoFrame, t: float) -> None:
        """Analyse one frame taken at Unix time ``t`` (the caller keeps to analysis_fps)."""
        self._last = t
        gray = motion.downscale(luma(frame), ANALYSIS_HEIGHT)
        before, result = self._motion, None
        if self._config.motion.enabled or before.event is not None:
            self._motion, result = motion.step(self._motion, gray, self._config.motion, t)
            if result.event is not None:
                self._motion_event(result, frame, t)
        for tuner in self.tuners:
            tuner.feed(before, gray, t, result)
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
                alerting=self._alerting(summary.zones),
            )
        )

    def _alerting(self, touched: tuple[str, ...]) -> bool:
        """Without zones any motion may alert; with zones, only one touching an alerting
        zone (the event's zones so far)."""
        zones = self._config.motion.zones
        return not zones or any(zone.alert for zone in zones if zone.name in touched)

    def audio(self, frame: av.AudioFrame, t: float) -> None:
        config = self._wanted
        if not config.sound.enabled:
            return
        samples = sound.mono(frame)
        self._sound, results = sound.step(self._sound, samples, frame.sample_rate, config.sound, t)
        for result in results:
            if result.event is not None:
                self._emit(
                    Observation(
                        config.id,
                        "sound",
                        result.event,
                        result.t,
                        score=result.peak_dbfs,
                        detail=f"{result.level_dbfs:.1f} dBFS",
                    )
                )
