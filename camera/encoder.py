"""The one H.264 encoder and the one Opus encoder of a camera.

Both run in the camera's reader thread (PyAV releases the GIL while encoding). Output
packets carry a ``1/90000`` (video) or ``1/48000`` (audio) time base, which is what aiortc's
packetizers convert to RTP timestamps.
"""

from __future__ import annotations

import logging
import os
from fractions import Fraction
from typing import cast

import av
import av.error
from av.audio.resampler import AudioResampler
from av.video.frame import PictureType

from .config import CameraConfig
from .media import Packet

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


def pi_encoder_present() -> bool:
    """The Raspberry Pi 4's stateful H.264 encoder shows up as /dev/video11."""
    return os.path.exists("/dev/video11")


def choose_encoder(config: CameraConfig) -> str:
    if config.encoder != "auto":
        return config.encoder
    return "h264_v4l2m2m" if pi_encoder_present() else "libx264"


class VideoEncoder:
    """H.264 for WebRTC: no B-frames, in-band SPS/PPS, IDR on request."""

    def __init__(self, config: CameraConfig, codec_name: str) -> None:
        self.codec_name = codec_name
        self._config = config
        self._force_idr = True
        self._context = self._open(codec_name)

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
        return list(packets)


def open_video_encoder(config: CameraConfig) -> VideoEncoder:
    """Open the configured encoder; ``auto`` falls back to libx264 if the Pi's fails."""
    name = choose_encoder(config)
    try:
        return VideoEncoder(config, name)
    except (av.error.FFmpegError, ValueError) as error:
        if config.encoder != "auto" or name == "libx264":
            raise
        logger.warning("%s unavailable (%s); falling back to libx264", name, error)
        return VideoEncoder(config, "libx264")


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
