"""Media sources: what opens a device, URL, file or the demo scene, and feeds a sink.

Every ``run`` method blocks in the camera's reader thread until the source ends, fails
(raises) or ``stop`` is set. Reconnecting is the caller's job (``camera.supervisor``):
a source only has to fail loudly.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

import av
import av.error
from av.container import InputContainer

from .alsa import AudioDevice
from .config import CameraConfig, ControlSetting
from .controls import ControlError, set_controls
from .demo import DemoScene, tone
from .errors import CameraError
from .media import Packet
from .modes import ModeChoice, ModeRequest, ModeUnavailable, choose_mode
from .v4l2 import V4L2, VideoDevice

logger = logging.getLogger(__name__)

OPEN_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 5.0

# Low-delay demuxing (docs/media-notes.md): a small probe, and no frame-rate estimate
# (fpsprobesize=0: FFmpeg otherwise reads 20 frames, 1.3 s at 15 fps, before opening).
# The probed packets are kept (no fflags=nobuffer): dropping them made a camera that comes
# back wait for its next keyframe after the probe, about a GOP more (bench/source_recovery).
LOW_DELAY_OPTIONS = {
    "flags": "low_delay",
    "probesize": "65536",
    "analyzeduration": "0",
    "fpsprobesize": "0",
}


class SourceError(CameraError):
    """The source opened but cannot be used as configured."""


B_FRAMES = (
    "encoder 'copy' cannot pass on this H.264 stream: it has B-frames (frames sent out of "
    "display order), which would play out of order; use encoder: libx264, or turn B-frames "
    "off in the camera's settings"
)


class Sink(Protocol):
    """Where a source delivers media (implemented by ``camera.camera.Camera``)."""

    def on_video_frame(self, frame: av.VideoFrame) -> None: ...

    def on_video_packet(self, packet: Packet, stream: av.video.stream.VideoStream) -> None: ...

    def on_audio_frame(self, frame: av.AudioFrame) -> None: ...

    def on_mode(self, device: VideoDevice, mode: ModeChoice) -> None: ...


def mode_request(config: CameraConfig, copy: bool) -> ModeRequest:
    """What a camera's config asks of a webcam (keys it did not set are preferences)."""
    explicit = config.explicit
    return ModeRequest(
        width=config.width,
        height=config.height,
        fps=config.fps,
        input_format=config.input_format,
        explicit_size="width" in explicit or "height" in explicit,
        explicit_fps="fps" in explicit,
        passthrough=copy,
        require_h264=copy,
    )


def _open_args(config: CameraConfig, mode: ModeChoice | None) -> tuple[str, dict[str, Any]]:
    kind = config.source_kind
    options: dict[str, str] = {}
    kwargs: dict[str, Any] = {"timeout": (OPEN_TIMEOUT_S, READ_TIMEOUT_S)}
    if kind == "v4l2" and mode is not None:
        kwargs["format"] = "v4l2"
        options = {
            "video_size": f"{mode.width}x{mode.height}",
            "framerate": f"{mode.fps:g}",
            "input_format": mode.input_format,
        }
    elif kind == "url":
        options = dict(LOW_DELAY_OPTIONS)
        if config.source.startswith("rtsp"):
            options["rtsp_transport"] = "tcp"
        if config.source.startswith("udp"):
            options.update({"fifo_size": "1000000", "overrun_nonfatal": "1"})
    kwargs["options"] = options
    return config.source, kwargs


@contextmanager
def open_container(
    config: CameraConfig, device: VideoDevice | None = None, mode: ModeChoice | None = None
) -> Iterator[InputContainer]:
    target, kwargs = _open_args(config, mode)
    container = av.open(device.path if device else target, "r", **kwargs)
    try:
        yield container
    finally:
        container.close()


Controls = Callable[[], Mapping[str, ControlSetting]]


class ContainerSource:
    """A V4L2 device, URL or file, read with PyAV; video and optionally its audio.

    A webcam is looked up again at every open (it may have been renumbered), its mode is
    chosen from what it offers now (``camera.modes``) and its controls are applied.
    """

    def __init__(
        self,
        config: CameraConfig,
        copy: bool,
        v4l2: V4L2 | None = None,
        controls: Controls | None = None,
    ) -> None:
        self._config = config
        self._copy = copy
        self._realtime = config.source_kind == "file"  # files play at their own pace
        self._v4l2 = v4l2 or V4L2()
        self._controls = controls or (lambda: config.controls)
        self._v4l2_device = config.source_kind == "v4l2"

    def _webcam(self, sink: Sink) -> tuple[VideoDevice, ModeChoice]:
        device = self._v4l2.resolve(self._config.source)
        try:
            mode = choose_mode(device.modes, mode_request(self._config, self._copy))
        except ModeUnavailable as error:
            raise ModeUnavailable(f"{device.path} ({device.card}): {error}") from None
        wanted = dict(self._controls())
        if wanted:
            try:
                set_controls(device.path, wanted, read_back=False)
            except ControlError as error:
                logger.warning("%s: controls not applied: %s", device.path, error)
        sink.on_mode(device, mode)
        return device, mode

    def run(self, sink: Sink, stop: threading.Event) -> None:
        device = mode = None
        if self._config.source_kind == "v4l2":
            device, mode = self._webcam(sink)
        with open_container(self._config, device, mode) as container:
            if not container.streams.video:
                raise SourceError("the source has no video stream")
            video = container.streams.video[0]
            streams: list[av.stream.Stream] = [video]
            audio = None
            if self._config.audio == "source" and container.streams.audio:
                audio = container.streams.audio[0]
                streams.append(audio)
            if self._copy and video.codec_context.name != "h264":
                raise SourceError(
                    f"encoder 'copy' needs an H.264 source, this one sends "
                    f"{video.codec_context.name}"
                )
            if not self._copy:
                video.thread_type = "AUTO"
            self._demux(container, streams, video, audio, sink, stop)
            while self._realtime and not stop.is_set():
                container.seek(0)  # a file camera loops instead of going offline
                self._demux(container, streams, video, audio, sink, stop)

    def _demux(
        self,
        container: InputContainer,
        streams: list[av.stream.Stream],
        video: av.video.stream.VideoStream,
        audio: av.audio.stream.AudioStream | None,
        sink: Sink,
        stop: threading.Event,
    ) -> None:
        pacer = _Pacer() if self._realtime else None
        last_pts: int | None = None
        for packet in container.demux(*streams):
            if stop.is_set():
                return
            if packet.size == 0:
                continue  # flush packet at end of stream
            if pacer is not None and packet.stream is video:
                pacer.wait(packet, stop)
            if packet.stream is video:
                if self._v4l2_device:
                    packet = _owned(packet)
                if self._copy:
                    # Passthrough re-stamps packets in arrival (decode) order; a stream whose
                    # presentation order differs (B-frames) would play out of order.
                    if packet.pts is not None:
                        if last_pts is not None and packet.pts < last_pts:
                            raise SourceError(B_FRAMES)
                        last_pts = packet.pts
                    sink.on_video_packet(packet, video)
                else:
                    for frame in video.codec_context.decode(packet):
                        sink.on_video_frame(frame)
            elif audio is not None and packet.stream is audio:
                for audio_frame in audio.codec_context.decode(packet):
                    sink.on_audio_frame(audio_frame)


def _owned(packet: Packet) -> Packet:
    """A copy of a V4L2 packet in memory of its own.

    FFmpeg's v4l2 demuxer hands out packets that point into the driver's mmap'ed buffers
    (raw frames decoded from them too), and gives each buffer back to the driver when the
    packet is freed, through the demuxer's state. A packet or frame that outlives the
    container (the latest frame kept for snapshots, the pre-roll ring, a frame being
    encoded as JPEG) would then give a buffer back through freed memory: a crash when a
    webcam is unplugged (seen in the guest bed). One memcpy per frame avoids it.
    """
    copy = av.Packet(bytes(packet))
    copy.pts, copy.dts, copy.time_base = packet.pts, packet.dts, packet.time_base
    copy.is_keyframe = packet.is_keyframe
    return copy


class _Pacer:
    """Plays a file at its own frame rate instead of as fast as it can be read."""

    def __init__(self) -> None:
        self._origin: tuple[float, float] | None = None

    def wait(self, packet: Packet, stop: threading.Event) -> None:
        if packet.pts is None or packet.time_base is None:
            return
        media_time = float(packet.pts * packet.time_base)
        now = time.monotonic()
        if self._origin is None or media_time < self._origin[1]:
            self._origin = (now, media_time)
        due = self._origin[0] + (media_time - self._origin[1])
        if due > now:
            stop.wait(due - now)


class DemoSource:
    """The synthetic scene at the configured size and rate, with a tone if audio is on."""

    def __init__(self, config: CameraConfig) -> None:
        self._config = config
        self._scene = DemoScene(config.width, config.height)
        self._audio = config.audio == "demo"

    def run(self, sink: Sink, stop: threading.Event) -> None:
        interval = 1.0 / self._config.fps
        samples_per_frame = round(48000 * interval)
        sample = 0
        next_due = time.monotonic()
        while not stop.is_set():
            now = time.monotonic()
            if next_due > now:
                if stop.wait(next_due - now):
                    return
            elif now - next_due > 1.0:
                next_due = now  # fell far behind (suspended?): do not burst to catch up
            next_due += interval
            sink.on_video_frame(self._scene.video_frame(time.time()))
            if self._audio:
                sink.on_audio_frame(tone(sample, samples_per_frame))
                sample += samples_per_frame


SYSTEM_ALSA_CONFIG = "/usr/share/alsa/alsa.conf"


def use_system_alsa_config() -> None:
    """Point PyAV's bundled alsa-lib at the system's ALSA configuration.

    The wheel's alsa-lib looks for alsa.conf under its build prefix, which does not exist on
    the target machine; without it no PCM name (not even ``hw:1,0``) resolves.
    """
    if "ALSA_CONFIG_PATH" not in os.environ and os.path.exists(SYSTEM_ALSA_CONFIG):
        os.environ["ALSA_CONFIG_PATH"] = SYSTEM_ALSA_CONFIG


MicResolver = Callable[[], AudioDevice | str]


class MicSource:
    """An ALSA capture device as the camera's audio, opened at a rate and channel count it
    supports (many USB microphones only do 16 or 44.1 kHz mono); the Opus encoder's
    resampler is the only conversion. ``resolve`` names the device anew at every open
    (``audio: auto`` follows the webcam; cards renumber)."""

    def __init__(self, resolve: MicResolver, logger: logging.Logger = logger) -> None:
        self._resolve = resolve
        self._logger = logger
        self._opened: tuple[str, int, int] | None = None
        use_system_alsa_config()

    def _open(self) -> InputContainer:
        device = self._resolve()
        if isinstance(device, str):
            name, rate, channel_choices = device, 48000, [1, 2]
        else:
            name, rate = device.alsa, device.open_rate()
            channel_choices = [device.open_channels()]
        error: Exception | None = None
        for channels in channel_choices:
            try:
                container = av.open(
                    name,
                    "r",
                    format="alsa",
                    options={"sample_rate": str(rate), "channels": str(channels)},
                    timeout=(OPEN_TIMEOUT_S, READ_TIMEOUT_S),
                )
            except av.error.FFmpegError as failure:
                error = failure
                continue
            stream = container.streams.audio[0]
            opened = (name, stream.sample_rate, channels)
            if opened != self._opened:
                self._opened = opened
                self._logger.info("microphone %s opened at %d Hz, %d channel(s)", *opened)
            return container
        assert error is not None
        raise error

    def run(self, sink: Sink, stop: threading.Event) -> None:
        container = self._open()
        try:
            stream = container.streams.audio[0]
            for packet in container.demux(stream):
                if stop.is_set():
                    return
                for audio_frame in stream.codec_context.decode(packet):
                    sink.on_audio_frame(audio_frame)
        finally:
            container.close()


def make_video_source(
    config: CameraConfig, copy: bool, v4l2: V4L2 | None = None, controls: Controls | None = None
) -> DemoSource | ContainerSource:
    if config.source_kind == "demo":
        return DemoSource(config)
    return ContainerSource(config, copy, v4l2, controls)


def describe_error(error: BaseException) -> str:
    """A short, credential-free description of why a source failed."""
    from .redact import redact

    if isinstance(error, av.error.FFmpegError):
        text = error.strerror or type(error).__name__
        if isinstance(error, av.error.ExitError):
            text = "no data within the read timeout"
    else:
        text = str(error) or type(error).__name__
    return redact(text)
