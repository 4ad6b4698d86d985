"""One camera at run time: its reader threads, its single encoder and its packet hubs.

    source thread ──frames──▶ VideoEncoder ──packets──▶ video PacketHub ──▶ viewers
         │                                   (or H.264 packets as they come: ``copy``)
         ├──frames──▶ latest frame (snapshots; motion detection attaches here)
         └──audio──▶ AudioEncoder (Opus) ──▶ audio PacketHub ──▶ viewers

Media work happens in the reader thread; hubs live on the event loop. The encoder runs
only while the video hub has subscribers.

Thread ownership (checked by ``camera.threads`` where a mistake would be silent):

* the **event loop** owns the hubs, ``status``/``error``, the listeners, the frame
  waiters, and writes the demand flags (``_video_demand``, ``_audio_demand``,
  ``_demand_ended``), ``_decode_until`` and ``_mic_gain``, which the readers only read;
* the **video reader thread** owns the encoder, the bitstream filter, ``_last_video_pts``,
  the analyzer and the frame times; it publishes ``_latest`` (frame and time, one tuple
  assigned at once) and ``_encoder_name``/``_copy_size`` as single assignments the loop
  may read at any time; the loop copies ``_frame_times`` (``tuple()`` of a deque is one
  step under the GIL) before iterating it;
* the audio encoder belongs to whichever single thread delivers the camera's audio (the
  microphone's reader, or the video reader for ``audio: source``/``demo``).

Everything a reader thread hands to the loop goes through ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import av
import av.error
from av.bitstream import BitStreamFilterContext

from .analysis import Analyzer, Observation
from .config import CameraConfig
from .encoder import AUDIO_RATE, VIDEO_TIME_BASE, AudioEncoder, VideoEncoder, open_video_encoder
from .errors import CameraOffline
from .hub import PacketHub
from .media import Packet
from .sources import MicSource, make_video_source
from .speaker import attenuate
from .substream import Substream
from .supervisor import SupervisedReader
from .threads import forbid_loop, require_loop

Status = Literal["starting", "online", "offline"]

SNAPSHOT_FRESH_S = 1.0
DECODE_LINGER_S = 10.0
ENCODER_LINGER_S = 5.0


@dataclass(frozen=True)
class CameraInfo:
    """A point-in-time view of a camera for the API."""

    id: str
    name: str
    status: Status
    error: str | None
    source_kind: Literal["demo", "v4l2", "url", "file"]
    width: int | None
    height: int | None
    fps: float
    bitrate_kbps: float
    encoder: str
    audio: bool


class Camera:
    def __init__(self, config: CameraConfig, loop: asyncio.AbstractEventLoop) -> None:
        self.config = config
        self.id = config.id
        self._loop = loop
        self.logger = logging.getLogger(f"sentrycam.camera.{config.id}")
        self._copy = config.encoder == "copy"
        self.video = PacketHub(
            "video",
            keyframed=True,
            on_keyframe_request=None if self._copy else self._request_keyframe,
            on_demand=self._set_video_demand,
            cache_gop=self._copy,
        )
        # The light second encoding (camera.substream), fed from the same frames.
        self.light: Substream | None = (
            Substream(config, self._publish, self.logger) if config.substream.enabled else None
        )
        self.audio: PacketHub | None = (
            PacketHub("audio", keyframed=False, on_demand=self._set_audio_demand)
            if config.audio
            else None
        )
        self._epoch = time.monotonic()  # immutable: the capture clock's origin
        # ----- owned by the event loop
        self.status: Status = "starting"
        self.error: str | None = None
        self._frame_waiters: list[asyncio.Future[None]] = []
        self.status_listeners: list[Callable[[Camera], None]] = []
        self.observation_listeners: list[Callable[[Observation], None]] = []
        # ----- written by the loop, read by the reader threads (single assignments)
        self._video_demand = False
        self._demand_ended = 0.0
        self._audio_demand = False
        self._decode_until = 0.0
        self._mic_gain = 1.0  # below 1 while someone talks through the speaker (talk.py)
        # ----- owned by the video reader thread
        self._encoder: VideoEncoder | None = None
        self._last_video_pts = -1
        self._frame_times: collections.deque[float] = collections.deque(maxlen=64)
        self._copy_decoding = False
        self._bsf: tuple[object, BitStreamFilterContext] | None = None
        self._analysis_failed_at = 0.0
        self._analyzer = Analyzer(config, self._observed)
        # ----- written by the reader threads, read by the loop (single assignments)
        self._latest: tuple[av.VideoFrame, float] | None = None  # frame, monotonic time
        self._encoder_name = "copy" if self._copy else "libx264"
        self.encoder_starts = 0  # encoders opened since start (one at a time, ever)
        self._copy_size: tuple[int, int] | None = None
        # ----- owned by the thread that delivers audio (one per camera)
        self._audio_encoder: AudioEncoder | None = None
        self._readers = self._make_readers()

    # ----- life cycle -------------------------------------------------------------------

    def _make_readers(self) -> list[SupervisedReader]:
        source = make_video_source(self.config, copy=self._copy)
        readers = [
            SupervisedReader(
                f"camera-{self.id}-video",
                lambda stop: source.run(self, stop),
                self._status_from_thread,
                self.logger,
            )
        ]
        audio = self.config.audio
        if audio and audio not in ("source", "demo"):
            mic = MicSource(audio)
            readers.append(
                SupervisedReader(
                    f"camera-{self.id}-mic",
                    lambda stop: mic.run(self, stop),
                    lambda online, error: None,
                    self.logger,
                )
            )
        return readers

    def start(self) -> None:
        for reader in self._readers:
            reader.start()

    async def stop(self) -> None:
        self.video.close()
        if self.light:
            self.light.close()
        if self.audio:
            self.audio.close()
        await asyncio.gather(*(asyncio.to_thread(r.stop) for r in self._readers))
        # libav frees codec contexts when they are collected.
        self._encoder = None
        self._audio_encoder = None
        if self.light:
            self.light.release()

    # ----- status -----------------------------------------------------------------------

    def _status_from_thread(self, online: bool, error: str | None) -> None:
        self._loop.call_soon_threadsafe(self.set_status, online, error)

    def set_status(self, online: bool, error: str | None) -> None:
        """A status change, on the loop (the readers report theirs through here)."""
        require_loop("a camera's status")
        status: Status = "online" if online else "offline"
        changed = status != self.status
        if changed:
            self.logger.info("camera %s is %s%s", self.id, status, f": {error}" if error else "")
        self.status = status
        self.error = error
        if not online:
            self.video.reset()
            if self.light:
                self.light.hub.reset()
        if changed:
            for listener in self.status_listeners:
                listener(self)

    @property
    def restarts(self) -> int:
        """How often the camera's sources had to be reopened since start."""
        return sum(reader.restarts for reader in self._readers)

    @property
    def encoding(self) -> bool:
        """Whether the camera's one video encoder is running now."""
        return self._encoder is not None

    def info(self) -> CameraInfo:
        now = time.monotonic()
        latest = self._latest
        frame = latest[0] if latest is not None else None
        times = [t for t in tuple(self._frame_times) if now - t <= 2.0]
        fps = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
        width, height = (frame.width, frame.height) if frame is not None else (None, None)
        if not self._copy:
            width, height = self.config.width, self.config.height
        return CameraInfo(
            id=self.id,
            name=self.config.display_name,
            status=self.status,
            error=self.error,
            source_kind=self.config.source_kind,
            width=width,
            height=height,
            fps=round(fps, 1) if self.status == "online" else 0.0,
            bitrate_kbps=round(self.video.stats.bitrate_kbps(now), 1),
            encoder=self._encoder_name,
            audio=self.audio is not None,
        )

    # ----- demand from the hubs (event loop) ---------------------------------------------

    def _set_video_demand(self, wanted: bool) -> None:
        if not wanted:
            self._demand_ended = time.monotonic()
        self._video_demand = wanted

    def _set_audio_demand(self, wanted: bool) -> None:
        self._audio_demand = wanted

    def set_microphone_gain(self, gain: float) -> None:
        """Mute (0) or duck the microphone while the speaker talks; 1 restores it."""
        require_loop("the microphone's gain")
        self._mic_gain = gain

    def _request_keyframe(self) -> None:
        encoder = self._encoder
        if encoder is not None:
            encoder.request_keyframe()
        # A new encoder starts with an IDR anyway.

    # ----- the Sink protocol (reader threads) --------------------------------------------

    def on_video_frame(self, frame: av.VideoFrame) -> None:
        forbid_loop("decoding and encoding video")
        now = time.monotonic()
        if self._frame_times and now - self._frame_times[-1] < 0.5 / self.config.fps:
            return  # the source runs faster than configured
        self._readers[0].mark_online()
        self._frame_times.append(now)
        self._store_frame(frame, now)
        pts = self._next_video_pts(now)
        if self.light:
            self.light.on_frame(frame, now, pts)
        if self._video_demand:
            if self._encoder is None:
                self._encoder = open_video_encoder(self.config)
                self._encoder_name = self._encoder.codec_name
                self.encoder_starts += 1
                self.logger.info("encoder %s started", self._encoder_name)
            for packet in self._encoder.encode(frame, pts):
                self._publish(self.video, packet, packet.is_keyframe)
        # Linger a little: a viewer reconnecting (page reload, network blip) should not pay
        # for a new encoder, nor the allocator for a churn of large buffers.
        elif self._encoder is not None and now - self._demand_ended >= ENCODER_LINGER_S:
            self._encoder = None
            self.logger.info("encoder stopped: nobody is watching")

    def on_video_packet(self, packet: Packet, stream: av.video.stream.VideoStream) -> None:
        forbid_loop("demuxing video")
        now = time.monotonic()
        self._readers[0].mark_online()
        self._frame_times.append(now)
        # Passthrough cameras decode only for the detectors, snapshots and the light stream.
        light = self.light is not None and self.light.wanted
        if light or self._analysing or now < self._decode_until:
            self._decode(packet, stream)
        else:
            self._copy_decoding = False
        if not self._video_demand:
            return
        if self._bsf is None or self._bsf[0] is not stream:
            self._bsf = (stream, BitStreamFilterContext("h264_mp4toannexb", stream))
            context = stream.codec_context
            self._copy_size = (context.width, context.height) if context.width else None
        for out in self._bsf[1].filter(packet):
            keyframe = out.is_keyframe
            out.pts = out.dts = self._next_video_pts(now)
            out.time_base = VIDEO_TIME_BASE
            self._publish(self.video, out, keyframe)

    @property
    def _analysing(self) -> bool:
        config = self.config
        return config.motion.enabled or config.health.frozen_seconds > 0 or config.health.tamper

    def _decode(self, packet: Packet, stream: av.video.stream.VideoStream) -> None:
        if not self._copy_decoding and not packet.is_keyframe:
            return
        self._copy_decoding = True
        try:
            frames = stream.codec_context.decode(packet)
        except av.error.FFmpegError:
            self._copy_decoding = False
            return
        for frame in frames:
            now = time.monotonic()
            self._store_frame(frame, now)
            if self.light:
                self.light.on_frame(frame, now, int((now - self._epoch) * 90000))

    def on_audio_frame(self, frame: av.AudioFrame) -> None:
        forbid_loop("encoding audio")
        hub = self.audio
        if hub is None:
            return
        gain = self._mic_gain
        if gain < 1.0:
            # Our own speaker would come back through the microphone: no sound events, and
            # viewers hear it muted or ducked.
            frame = attenuate(frame, gain)
        else:
            self._analyse(frame, time.time())
        if not self._audio_demand:
            self._audio_encoder = None
            return
        if self._audio_encoder is None:
            self._audio_encoder = AudioEncoder()
        start = int((time.monotonic() - self._epoch) * AUDIO_RATE)
        for packet in self._audio_encoder.encode(frame, start):
            self._publish(hub, packet, True)

    # ----- clocks and formats (for the recorder) -----------------------------------------

    def wall_time(self, pts: int) -> float:
        """Unix time of a video timestamp (90 kHz since the camera's epoch)."""
        return time.time() - time.monotonic() + self._epoch + pts / 90000

    def capture_pts(self, wall: float) -> int:
        """The video timestamp of a Unix time: the inverse of :meth:`wall_time`."""
        return int((wall - time.time() + time.monotonic() - self._epoch) * 90000)

    def video_size(self) -> tuple[int, int] | None:
        """Width and height of the published H.264 stream, if known."""
        if self._copy:
            return self._copy_size
        return self.config.width, self.config.height

    # ----- helpers -----------------------------------------------------------------------

    def _next_video_pts(self, now: float) -> int:
        # Capture-clock timestamps, monotonic across reconnects, so RTP never goes back.
        pts = max(int((now - self._epoch) * 90000), self._last_video_pts + 1)
        self._last_video_pts = pts
        return pts

    def _publish(self, hub: PacketHub, packet: Packet, keyframe: bool) -> None:
        self._loop.call_soon_threadsafe(hub.publish, packet, keyframe)

    def _store_frame(self, frame: av.VideoFrame, now: float) -> None:
        self._latest = (frame, now)
        wall = time.time()
        if self._analysing and self._analyzer.due(wall):
            self._analyse(frame, wall)
        if self._frame_waiters:
            self._loop.call_soon_threadsafe(self._wake_frame_waiters)

    def _analyse(self, frame: av.VideoFrame | av.AudioFrame, wall: float) -> None:
        # The detectors are a consumer, not part of the live path: a failure there is
        # logged (once a minute at most) and must never take the camera offline.
        try:
            if isinstance(frame, av.VideoFrame):
                self._analyzer.video(frame, wall)
            else:
                self._analyzer.audio(frame, wall)
        except Exception:
            if wall - self._analysis_failed_at > 60:
                self._analysis_failed_at = wall
                self.logger.exception("event detection failed on a frame")

    def _observed(self, observation: Observation) -> None:
        for listener in self.observation_listeners:
            self._loop.call_soon_threadsafe(listener, observation)

    def _wake_frame_waiters(self) -> None:
        waiters, self._frame_waiters = self._frame_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def latest_frame(self, timeout: float = 5.0) -> av.VideoFrame:
        """The current picture; waits for a fresh one if the last is stale."""
        now = time.monotonic()
        latest = self._latest
        if latest is not None and now - latest[1] <= SNAPSHOT_FRESH_S:
            return latest[0]
        if self.status == "offline":
            raise CameraOffline(f"camera {self.id} is offline: {self.error}")
        self._decode_until = now + DECODE_LINGER_S
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._frame_waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            raise CameraOffline(f"camera {self.id} sent no picture in {timeout:.0f}s") from None
        latest = self._latest
        assert latest is not None
        return latest[0]
