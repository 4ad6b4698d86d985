"""The one H.264 encoder and the one Opus encoder of a camera.

Both run in the camera's reader thread (PyAV releases the GIL while encoding). Output
packets carry a ``1/90000`` (video) or ``1/48000`` (audio) time base, which is what aiortc's
packetizers convert to RTP timestamps.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from fractions import Fraction
from typing import cast

import av
import av.error
from av.audio.resampler import AudioResampler
from av.video.frame import PictureType

from .config import CameraConfig
from .media import Packet
from .progress import Progress

logger = logging.getLogger(__name__)

VIDEO_TIME_BASE = Fraction(1, 90000)
AUDIO_RATE = 48000
AUDIO_TIME_BASE = Fraction(1, AUDIO_RATE)
OPUS_FRAME_SAMPLES = 960  # 20 ms
OPUS_PRE_SKIP = 120  # libopus's look-ahead with application=lowdelay, at 48 kHz
# The Opus identification header (RFC 7845) our encoder produces: recordings need it in the
# MP4 track ('dOps'); tests/test_recording.py checks it against a live encoder.
OPUS_HEAD = (
    b"OpusHead"
    + bytes([1, 2])
    + OPUS_PRE_SKIP.to_bytes(2, "little")
    + AUDIO_RATE.to_bytes(4, "little")
    + bytes([0, 0, 0])
)


HARDWARE_CODEC = "h264_v4l2m2m"
SOFTWARE_CODEC = "libx264"
# What opening or running an encoder raises when the codec or its device fails.
ENCODER_ERRORS: tuple[type[Exception], ...] = (av.error.FFmpegError, ValueError, OSError)
# A hardware encoder that swallows this many seconds of frames without a packet has hung.
STALL_SECONDS = 3.0


def pi_encoder_present() -> bool:
    """The Raspberry Pi 4's stateful H.264 encoder shows up as /dev/video11."""
    return os.path.exists("/dev/video11")


def choose_encoder(config: CameraConfig) -> str:
    if config.encoder != "auto":
        return config.encoder
    return HARDWARE_CODEC if pi_encoder_present() else SOFTWARE_CODEC


class VideoEncoder:
    """H.264 for WebRTC: no B-frames, in-band SPS/PPS, IDR on request."""

    def __init__(self, config: CameraConfig, codec_name: str) -> None:
        self.codec_name = codec_name
        self._config = config
        self._force_idr = True
        self._context = self._open(codec_name)
        self._frames_without_output = 0
        self._stall_frames = max(10, round(config.fps * STALL_SECONDS))

    def _open(self, codec_name: str) -> av.VideoCodecContext:
        config = self._config
        context = cast(av.VideoCodecContext, av.CodecContext.create(codec_name, "w"))
        context.width = config.width
        context.height = config.height
        context.pix_fmt = "yuv420p"
        context.time_base = VIDEO_TIME_BASE
        context.framerate = Fraction(config.fps).limit_denominator(1001)
        context.bit_rate = config.bitrate_kbps * 1000
        gop = max(1, round(config.fps * config.gop_seconds))
        context.gop_size = gop
        context.max_b_frames = 0
        if codec_name == "libx264":
            kbps = config.bitrate_kbps
            context.options = {
                "preset": "ultrafast",
                "tune": "zerolatency",
                "profile": "baseline",
                "forced-idr": "1",
                # A VBV a few frames deep keeps frame sizes even, which keeps latency even.
                "x264-params": (
                    f"keyint={gop}:min-keyint={gop}:scenecut=0:"
                    f"vbv-maxrate={kbps}:vbv-bufsize={max(kbps // 2, 100)}"
                ),
            }
        else:
            context.options = {"num_capture_buffers": "16"}
        context.open()
        return context

    def request_keyframe(self) -> None:
        # A bool write is atomic; the reader thread picks it up on the next frame.
        self._force_idr = True

    def encode(self, frame: av.VideoFrame, pts: int) -> list[Packet]:
        config = self._config
        if (frame.width, frame.height, frame.format.name) != (
            config.width,
            config.height,
            "yuv420p",
        ):
            frame = frame.reformat(width=config.width, height=config.height, format="yuv420p")
        frame.pts = pts
        frame.time_base = VIDEO_TIME_BASE
        if self._force_idr:
            self._force_idr = False
            frame.pict_type = PictureType.I
        else:
            frame.pict_type = PictureType.NONE
        packets = self._context.encode(frame)
        for packet in packets:
            packet.time_base = VIDEO_TIME_BASE
        self._frames_without_output = 0 if packets else self._frames_without_output + 1
        return list(packets)

    @property
    def stalled(self) -> bool:
        """Frames go in, nothing comes out: a hung hardware encoder (libx264 never is)."""
        return self._frames_without_output >= self._stall_frames


class EncoderChoice:
    """Which codec a camera's encoder uses, and ``auto``'s fallback that holds.

    ``auto`` takes the Pi 4's hardware encoder when it is there. When it cannot open, fails
    mid-stream or stalls, the camera goes on with libx264 **for the rest of the run**: a
    flaky hardware encoder is never tried again until the service restarts, so a camera
    does not flap between the two (each switch costs a keyframe and a glitch for every
    viewer). Explicit codecs are never swapped: their failures go to the supervisor.
    Owned by the camera's video reader thread; ``fallback`` is read by the loop.
    """

    def __init__(self, config: CameraConfig) -> None:
        self.config = config  # the mode the webcam is open in (reader thread)
        self.camera = config.id
        self.fallback: str | None = None  # why the hardware encoder is not used

    def codec(self) -> str:
        return SOFTWARE_CODEC if self.fallback else choose_encoder(self.config)

    def fall_back(self, failed: str, reason: str) -> bool:
        """Give up ``failed`` for libx264; False when that is not ``auto``'s to do."""
        if self.config.encoder != "auto" or failed == SOFTWARE_CODEC:
            return False
        self.fallback = f"{failed} {reason}; using {SOFTWARE_CODEC}"
        logger.warning("camera %s: %s", self.config.id, self.fallback)
        return True

    def open(self) -> VideoEncoder:
        name = self.codec()
        try:
            return VideoEncoder(self.config, name)
        except ENCODER_ERRORS as error:
            if not self.fall_back(name, f"cannot open ({error})"):
                raise
            return VideoEncoder(self.config, SOFTWARE_CODEC)


class SharedVideoEncoder:
    """A camera's one video encoder, open while someone needs it (reader thread only).

    Chooses the codec with :class:`EncoderChoice`; a hardware encoder that fails mid-stream
    or stalls is dropped for libx264 on the next frame (``on_fallback(reason)`` is called
    once, from the reader thread). Times every encode for /metrics and marks it busy for
    the service watchdog (``progress``). ``name``, ``starts`` and ``seconds`` are single
    assignments the loop may read.
    """

    def __init__(
        self, config: CameraConfig, progress: Progress, on_fallback: Callable[[str], None]
    ) -> None:
        self.choice = EncoderChoice(config)
        self.progress = progress
        self._on_fallback = on_fallback
        self._announced = False
        self.current: VideoEncoder | None = None
        self.name = self.choice.codec()
        self.starts = 0  # encoders opened since start (one at a time, ever)
        self.seconds = 0.0  # wall time spent encoding

    def configure(self, config: CameraConfig) -> None:
        """The webcam opened in another mode: the next frame opens an encoder at its size
        and rate (reader thread)."""
        self.choice.config = config
        self.current = None

    def request_keyframe(self) -> None:
        current = self.current
        if current is not None:
            current.request_keyframe()
        # A new encoder starts with an IDR anyway.

    def close(self) -> None:
        self.current = None  # libav frees the codec context when it is collected

    def encode(self, frame: av.VideoFrame, pts: int) -> list[Packet]:
        if self.current is None:
            self.current = self.choice.open()
            self.name = self.current.codec_name
            self.starts += 1
            logger.info("camera %s: encoder %s started", self.choice.camera, self.name)
            self._announce()
        encoder = self.current
        self.progress.begin()
        started = time.perf_counter()
        try:
            packets = encoder.encode(frame, pts)
        except ENCODER_ERRORS as error:
            if not self.choice.fall_back(encoder.codec_name, f"failed mid-stream ({error})"):
                raise
            packets = []
        finally:
            self.seconds += time.perf_counter() - started
            self.progress.end()
        if encoder.stalled and self.choice.fall_back(encoder.codec_name, "gives no pictures"):
            packets = []
        if encoder.codec_name != self.choice.codec():
            self.current = None  # libx264 opens on the next frame
            self._announce()
        return packets

    def _announce(self) -> None:
        if self.choice.fallback is not None and not self._announced:
            self._announced = True
            self._on_fallback(self.choice.fallback)


class AudioEncoder:
    """Opus, 48 kHz stereo, 20 ms frames: what browsers expect from WebRTC audio."""

    def __init__(self, bitrate: int = 48000) -> None:
        self._resampler = AudioResampler(
            format="s16", layout="stereo", rate=AUDIO_RATE, frame_size=OPUS_FRAME_SAMPLES
        )
        context = av.CodecContext.create("libopus", "w")
        context.sample_rate = AUDIO_RATE
        context.layout = "stereo"
        context.format = "s16"
        context.time_base = AUDIO_TIME_BASE
        context.bit_rate = bitrate
        context.options = {"application": "lowdelay", "frame_duration": "20"}
        context.open()
        self._context = context
        self._next_pts: int | None = None

    @property
    def extradata(self) -> bytes | None:
        return self._context.extradata

    def encode(self, frame: av.AudioFrame, start_pts: int) -> list[Packet]:
        """Encode a frame; ``start_pts`` (in 1/48000) anchors the stream after a gap."""
        frame.pts = None
        packets: list[Packet] = []
        for chunk in self._resampler.resample(frame):
            if self._next_pts is None or start_pts - self._next_pts > AUDIO_RATE // 5:
                self._next_pts = start_pts
            chunk.pts = self._next_pts
            chunk.time_base = AUDIO_TIME_BASE
            self._next_pts += chunk.samples
            for packet in self._context.encode(chunk):
                packet.time_base = AUDIO_TIME_BASE
                packets.append(packet)
        return packets
