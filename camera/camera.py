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
  ``_demand_ended``), ``_decode_until``, ``_mic_gain`` and ``controls`` (a whole new dict
  at a time), which the readers only read;
* the **video reader thread** owns the encoder, the bitstream filter, ``_last_video_pts``,
  the analyzer and the frame times; it publishes ``_latest`` (frame and time, one tuple
  assigned at once), ``_copy_size``, the counters and the encoder's name as single
  assignments the loop may read at any time, like ``device``/``mode``/``_video_config``
  (set on each open of a webcam, ``on_mode``); the loop copies ``_frame_times``
  (``tuple()`` of a deque is one step under the GIL) before iterating it;
* the audio encoder belongs to whichever single thread delivers the camera's audio (the
  microphone's reader, ``camera.microphone``, or the video reader for ``audio:
  source``/``demo``);
* ``config`` is replaced (one assignment) by the loop when settings that need no restart
  change (:meth:`Camera.reconfigure`); the source keys in it never change for the life
  of the camera, so the reader threads may read it at any time. The analyzer adopts new
  detector settings at its next frame (``camera.analysis``).

Everything a reader thread hands to the loop goes through ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import av
import av.error
from av.bitstream import BitStreamFilterContext

from .alsa import Alsa
from .analysis import Analyzer, Observation
from .config import CameraConfig, ControlSetting
from .encoder import AUDIO_RATE, VIDEO_TIME_BASE, AudioEncoder, SharedVideoEncoder
from .errors import CameraOffline
from .hub import PacketHub
from .media import Packet
from .microphone import Microphone, mic_name
from .modes import ModeChoice
from .progress import Progress
from .sources import make_video_source
from .speaker import attenuate
from .substream import Substream
from .supervisor import SupervisedReader
from .threads import forbid_loop, require_loop
from .tuner import Tuner
from .v4l2 import V4L2, VideoDevice

Status = Literal["starting", "online", "offline"]

SNAPSHOT_FRESH_S = 1.0
DECODE_LINGER_S = 10.0
ENCODER_LINGER_S = 5.0


@dataclass
class FrameCounters:
    """Totals since start for /metrics; written by the video reader, read by the loop."""

    input_frames: int = 0  # from the source
    dropped_frames: int = 0  # skipped: the source ran faster than the configured fps
    output_frames: int = 0  # into the video hub (encoded, or forwarded by ``copy``)


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
    mode: ModeChoice | None = None
    device: VideoDevice | None = None
    microphone: str | None = None  # online / offline, None without a microphone


class Camera:
    def __init__(
        self,
        config: CameraConfig,
        loop: asyncio.AbstractEventLoop,
        *,
        copy: bool | None = None,
        v4l2: V4L2 | None = None,
        alsa: Alsa | None = None,
        controls: Mapping[str, ControlSetting] | None = None,
    ) -> None:
        self.config = config
        self.id = config.id
        self._loop = loop
        self.logger = logging.getLogger(f"sentrycam.camera.{config.id}")
        # ``copy`` overrides the config: an ``auto`` webcam that offers H.264 forwards it.
        self._copy = config.encoder == "copy" if copy is None else copy
        self._v4l2 = v4l2 or V4L2()
        self.video = PacketHub(
            "video",
            keyframed=True,
            on_keyframe_request=None if self._copy else self._request_keyframe,
            on_demand=self._set_video_demand,
            cache_gop=self._copy,
        )
        # The light second encoding (camera.substream), fed from the same frames.
        self.light: Substream | None = (
            Substream(config, self._publish, self.logger, self._fell_back)
            if config.substream.enabled
            else None
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
        # ----- written by the loop (whole dict at once), read by the video reader
        self.controls: dict[str, ControlSetting] = dict(
            config.controls if controls is None else controls
        )
        self.observation_listeners: list[Callable[[Observation], None]] = []
        self.encoder_listeners: list[Callable[[Camera, str], None]] = []  # fallbacks
        # ----- written by the loop, read by the reader threads (single assignments)
        self._video_demand = False
        self._demand_ended = 0.0
        self._audio_demand = False
        self._decode_until = 0.0
        self._mic_gain = 1.0  # below 1 while someone talks through the speaker (talk.py)
        # ----- owned by the video reader thread
        self.reader_progress = Progress(f"camera {self.id} reader")
        self.encoder_progress = Progress(f"camera {self.id} encoder")
        self._encoder = SharedVideoEncoder(config, self.encoder_progress, self._fell_back)
        self._last_video_pts = -1
        self._frame_times: collections.deque[float] = collections.deque(maxlen=64)
        self._copy_decoding = False
        self._bsf: tuple[object, BitStreamFilterContext] | None = None
        self._analysis_failed_at = 0.0
        self._analyzer = Analyzer(config, self._observed)
        # ----- written by the reader threads, read by the loop (single assignments)
        self._latest: tuple[av.VideoFrame, float] | None = None  # frame, monotonic time
        self.counters = FrameCounters()
        self._copy_size: tuple[int, int] | None = None
        self.device: VideoDevice | None = None  # the webcam as last opened
        self.mode: ModeChoice | None = None  # the mode it was opened in
        self._video_config = config  # the config with the chosen mode's size and rate
        # ----- owned by the thread that delivers audio (one per camera)
        self._audio_encoder: AudioEncoder | None = None
        name = mic_name(config)
        self.mic = (
            Microphone(self.id, name, self, self._webcam, alsa or Alsa(), loop, self.logger)
            if name
            else None
        )
        self._readers = self._make_readers()

    # ----- life cycle -------------------------------------------------------------------

    def _make_readers(self) -> list[SupervisedReader]:
        source = make_video_source(
            self.config, copy=self._copy, v4l2=self._v4l2, controls=lambda: self.controls
        )
        readers = [
            SupervisedReader(
                f"camera-{self.id}-video",
                lambda stop: self.reader_progress.around(lambda: source.run(self, stop)),
                self._status_from_thread,
                self.logger,
            )
        ]
        if self.mic is not None:
            readers.append(self.mic.reader)
        return readers

    def progress(self) -> list[Progress]:
        """What the service watchdog checks: the readers and the encoders (camera.progress)."""
        parts = [self.reader_progress, self.encoder_progress]
        if self.light is not None:
            parts.append(self.light.progress)
        return [*parts, self.mic.progress] if self.mic is not None else parts

    def _webcam(self) -> VideoDevice:
        """The webcam as last opened, else as found now (its microphone pairs on it)."""
        return self.device or self._v4l2.resolve(self.config.source)

    def wake(self) -> None:
        """A device came (back): retry opening now rather than after the backoff."""
        for reader in self._readers:
            reader.wake()

    def device_gone(self, reason: str) -> None:
        """The webcam's node vanished (unplugged): offline now, not at the read timeout."""
        self.declare_offline(reason)

    def declare_offline(self, reason: str) -> None:
        """Offline now, as decided outside the video reader (an unplugged node, a reader
        stuck inside a read): the next frame it delivers reports the camera online again."""
        require_loop("a camera's status")
        if self.status != "offline":
            self._readers[0].mark_unknown()
            self.set_status(False, reason)

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
        self._encoder.close()
        self._audio_encoder = None
        if self.light:
            self.light.release()

    # ----- status -----------------------------------------------------------------------

    def _status_from_thread(self, online: bool, error: str | None) -> None:
        self._loop.call_soon_threadsafe(self.set_status, online, error)

    @property
    def microphone(self) -> str | None:
        """The ALSA microphone's state (starting, online, offline), None without one."""
        return self.mic.status if self.mic is not None else None

    def on_mode(self, device: VideoDevice, mode: ModeChoice) -> None:
        """The source opened the webcam in ``mode`` (video reader thread)."""
        forbid_loop("choosing a webcam mode")
        if mode != self.mode or device.path != (self.device and self.device.path):
            self.logger.info(
                "camera %s: %s (%s, %s): %s (%s)",
                self.id,
                device.path,
                device.card,
                device.identity,
                mode.describe(),
                mode.reason,
            )
        self.device = device
        if mode == self.mode:
            return
        self.mode = mode
        fps = min(mode.fps, self.config.fps)
        self._video_config = self.config.model_copy(
            update={"width": mode.width, "height": mode.height, "fps": fps}
        )
        self._encoder.configure(self._video_config)  # reopened at the new size

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

    def reconfigure(self, config: CameraConfig) -> None:
        """Take over settings that need no restart: name, viewer cap, detectors, recording
        policy, schedule (``camera.manager.IN_PLACE_KEYS``). On the loop."""
        require_loop("a camera's settings")
        self.config = config
        self._analyzer.reconfigure(config)

    def attach_tuner(self, tuner: Tuner) -> None:
        """Run a motion tuner on every analysed frame until :meth:`detach_tuner`."""
        require_loop("a camera's tuners")
        self._analyzer.tuners = (*self._analyzer.tuners, tuner)

    def detach_tuner(self, tuner: Tuner) -> None:
        require_loop("a camera's tuners")
        self._analyzer.tuners = tuple(t for t in self._analyzer.tuners if t is not tuner)

    @property
    def tuners(self) -> int:
        return len(self._analyzer.tuners)

    @property
    def restarts(self) -> int:
        """How often the camera's sources had to be reopened since start."""
        return sum(reader.restarts for reader in self._readers)

    @property
    def encoding(self) -> bool:
        """Whether the camera's one video encoder is running now."""
        return self._encoder.current is not None

    @property
    def encoder_starts(self) -> int:
        """Video encoders opened since start (one at a time, ever)."""
        return self._encoder.starts

    @property
    def encode_seconds(self) -> float:
        """Wall time spent in the video encoder since start."""
        return self._encoder.seconds

    def info(self) -> CameraInfo:
        now = time.monotonic()
        latest = self._latest
        frame = latest[0] if latest is not None else None
        times = [t for t in tuple(self._frame_times) if now - t <= 2.0]
        fps = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
        width, height = (frame.width, frame.height) if frame is not None else (None, None)
        if not self._copy:
            width, height = self._video_config.width, self._video_config.height
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
            encoder="copy" if self._copy else self._encoder.name,
            audio=self.audio is not None,
            mode=self.mode,
            device=self.device,
            microphone=self.microphone,
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
        self._encoder.request_keyframe()

    # ----- the Sink protocol (reader threads) --------------------------------------------

    def on_video_frame(self, frame: av.VideoFrame) -> None:
        forbid_loop("decoding and encoding video")
        self.reader_progress.tick()
        self.counters.input_frames += 1
        now = time.monotonic()
        if self._frame_times and now - self._frame_times[-1] < 0.5 / self._video_config.fps:
            self.counters.dropped_frames += 1
            return  # the source runs faster than configured
        self._readers[0].mark_online()
        self._frame_times.append(now)
        self._store_frame(frame, now)
        pts = self._next_video_pts(now)
        if self.light:
            self.light.on_frame(frame, now, pts)
        if self._video_demand:
            packets = self._encoder.encode(frame, pts)
            self.counters.output_frames += len(packets)
            for packet in packets:
                self._publish(self.video, packet, packet.is_keyframe)
        # Linger a little: a viewer reconnecting (page reload, network blip) should not pay
        # for a new encoder, nor the allocator for a churn of large buffers.
        elif self._encoder.current is not None and now - self._demand_ended >= ENCODER_LINGER_S:
            self._encoder.close()
            self.logger.info("encoder stopped: nobody is watching")

    def _fell_back(self, reason: str) -> None:
        for listener in self.encoder_listeners:
            self._loop.call_soon_threadsafe(listener, self, reason)

    def on_video_packet(self, packet: Packet, stream: av.video.stream.VideoStream) -> None:
        forbid_loop("demuxing video")
        self.reader_progress.tick()
        self.counters.input_frames += 1
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
            self.counters.output_frames += 1
            self._publish(self.video, out, keyframe)

    @property
    def _analysing(self) -> bool:
        config = self.config
        detecting = config.motion.enabled or config.health.frozen_seconds > 0
        return detecting or config.health.tamper or bool(self._analyzer.tuners)

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
        (self.mic.progress if self.mic is not None else self.reader_progress).tick()
        hub = self.audio
        if hub is None:
            return
        if self.mic is not None:
            self.mic.reader.mark_online()  # the microphone delivers
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
        return self._video_config.width, self._video_config.height

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
