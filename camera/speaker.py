"""A camera's speaker: decoded talk-back audio written to ALSA by a thread of its own.

    loop: talk track recv() ─▶ bounded queue ─▶ thread camera-<id>-speaker:
                                               resample (s16, 48 kHz, stereo) ─▶ PyAV muxer
                                               (format "alsa" on the device; "wav" in tests)

aiortc's receiver decodes the Opus once (the one talker); ALSA writes block, so they happen
here, never on the loop. A backlog beyond ``QUEUE_FRAMES`` (a stalled device) drops the
oldest audio: late speech is worse than a gap. The microphone side (muting or ducking the
camera's own microphone while someone talks) is ``attenuate``, used by ``camera.camera``.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading

import av
import numpy as np
from av.audio.resampler import AudioResampler

from .threads import forbid_loop

QUEUE_FRAMES = 25  # 0.5 s of 20 ms frames
RATE = 48000

logger = logging.getLogger(__name__)


class Speaker:
    """Plays frames on one output (``target`` opened with PyAV format ``fmt``)."""

    def __init__(self, name: str, target: str, fmt: str) -> None:
        self._target = target
        self._format = fmt
        self._queue: queue.Queue[av.AudioFrame | None] = queue.Queue(QUEUE_FRAMES)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.frames_written = 0
        self.error: str | None = None

    def start(self) -> None:
        self._thread.start()

    def play(self, frame: av.AudioFrame) -> None:
        """Queue a frame (any thread); drops the oldest when the device lags."""
        while True:
            try:
                self._queue.put_nowait(frame)
                return
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    self._queue.get_nowait()

    def stop(self) -> None:
        """Finish what is queued, close the device (blocks: call from a worker thread)."""
        self.play_end()
        self._thread.join(10)

    def play_end(self) -> None:
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=2)

    def _run(self) -> None:
        forbid_loop("writing to a speaker")
        try:
            container = av.open(self._target, "w", format=self._format)
        except (av.error.FFmpegError, OSError) as error:
            self.error = f"cannot open speaker {self._target!r}: {error}"
            logger.warning("%s", self.error)
            self._drain()
            return
        try:
            stream = container.add_stream("pcm_s16le", rate=RATE, layout="stereo")
            resampler = AudioResampler(format="s16", layout="stereo", rate=RATE)
            while (frame := self._queue.get()) is not None:
                frame.pts = None
                for chunk in resampler.resample(frame):
                    container.mux(stream.encode(chunk))
                    self.frames_written += 1
            container.mux(stream.encode(None))
        except (av.error.FFmpegError, OSError) as error:
            self.error = f"speaker {self._target!r} failed: {error}"
            logger.warning("%s", self.error)
            self._drain()
        finally:
            container.close()

    def _drain(self) -> None:
        while self._queue.get() is not None:
            pass


def attenuate(frame: av.AudioFrame, gain: float) -> av.AudioFrame:
    """A copy of ``frame`` at ``gain`` (0: silence), same format, rate, layout and time."""
    samples = frame.to_ndarray()
    if np.issubdtype(samples.dtype, np.integer):
        scaled = (samples.astype(np.float32) * gain).astype(samples.dtype)
    else:
        scaled = (samples * gain).astype(samples.dtype)
    out = av.AudioFrame.from_ndarray(
        scaled,  # type: ignore[arg-type]  # same dtype as to_ndarray gave
        format=frame.format.name,
        layout=frame.layout.name,
    )
    out.sample_rate = frame.sample_rate
    out.pts = frame.pts
    if frame.time_base is not None:
        out.time_base = frame.time_base
    return out
