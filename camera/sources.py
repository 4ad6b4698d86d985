"""Media sources: what opens a device, URL, file or the demo scene, and feeds a sink.

Every ``run`` method blocks in the camera's reader thread until the source ends, fails
(raises) or ``stop`` is set. Reconnecting is the caller's job (``camera.supervisor``):
a source only has to fail loudly.
"""

from __future__ import annotations

import glob
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import av
import av.error
from av.container import InputContainer

from .config import CameraConfig
from .demo import DemoScene, tone
from .errors import CameraError
from .media import Packet

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


def find_v4l2_devices() -> list[str]:
    """Capture devices under /dev/video*, skipping metadata and codec nodes where we can tell."""
    devices = []
    for path in sorted(glob.glob("/dev/video*"), key=lambda p: (len(p), p)):
        name = os.path.basename(path)
        sys_name = f"/sys/class/video4linux/{name}/name"
        try:
            with open(sys_name, encoding="utf-8") as handle:
                label = handle.read().strip()
        except OSError:
            label = ""
        # The Pi's codec and ISP nodes are not cameras.
        if label.startswith(("bcm2835-codec", "bcm2835-isp", "rpivid", "pispbe")):
            continue
        index_path = f"/sys/class/video4linux/{name}/index"
        try:
            with open(index_path, encoding="utf-8") as handle:
                if handle.read().strip() != "0":
                    continue  # UVC exposes a second, metadata-only node per camera
        except OSError:
            pass
        devices.append(path)
    return devices


def _open_args(config: CameraConfig) -> tuple[str, dict[str, Any]]:
    kind = config.source_kind
    options: dict[str, str] = {}
    kwargs: dict[str, Any] = {"timeout": (OPEN_TIMEOUT_S, READ_TIMEOUT_S)}
    if kind == "v4l2":
        kwargs["format"] = "v4l2"
        options = {
            "video_size": f"{config.width}x{config.height}",
            "framerate": f"{config.fps:g}",
        }
        if config.input_format:
            options["input_format"] = config.input_format
    elif kind == "url":
        options = dict(LOW_DELAY_OPTIONS)
        if config.source.startswith("rtsp"):
            options["rtsp_transport"] = "tcp"
        if config.source.startswith("udp"):
            options.update({"fifo_size": "1000000", "overrun_nonfatal": "1"})
    kwargs["options"] = options
    return config.source, kwargs


@contextmanager
def open_container(config: CameraConfig) -> Iterator[InputContainer]:
    target, kwargs = _open_args(config)
    container = av.open(target, "r", **kwargs)
    try:
        yield container
    finally:
        container.close()


class ContainerSource:
    """A V4L2 device, URL or file, read with PyAV; video and optionally its audio."""

    def __init__(self, config: CameraConfig, copy: bool) -> None:
        self._config = config
        self._copy = copy
        self._realtime = config.source_kind == "file"  # files play at their own pace

    def run(self, sink: Sink, stop: threading.Event) -> None:
        with open_container(self._config) as container:
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


class MicSource:
    """An ALSA capture device as the camera's audio."""

    def __init__(self, device: str) -> None:
        self._device = device
        use_system_alsa_config()

    def run(self, sink: Sink, stop: threading.Event) -> None:
        container = av.open(
            self._device,
            "r",
            format="alsa",
            options={"sample_rate": "48000", "channels": "1"},
            timeout=(OPEN_TIMEOUT_S, READ_TIMEOUT_S),
        )
        try:
            stream = container.streams.audio[0]
            for packet in container.demux(stream):
                if stop.is_set():
                    return
                for audio_frame in stream.codec_context.decode(packet):
                    sink.on_audio_frame(audio_frame)
        finally:
            container.close()


def make_video_source(config: CameraConfig, copy: bool) -> DemoSource | ContainerSource:
    if config.source_kind == "demo":
        return DemoSource(config)
    return ContainerSource(config, copy)


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
