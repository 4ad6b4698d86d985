"""Fragmented MP4 files: writing one from encoded packets, and reading one back.

Files are fragmented MP4 (``empty_moov``, a fragment at least every second, each packet
handed to the kernel at once, ``fsync`` every second): a file cut by a crash or a power
loss plays up to its last fragment. Streams are made from codec-less templates, so no
encoder is ever opened: packets are only remuxed.

Used by the recorder's writer thread (:mod:`camera.recording_writer`) to write, and by the
archive (start-up repair, thumbnails) to inspect.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error

from .encoder import AUDIO_RATE, OPUS_HEAD
from .preroll import VIDEO_CLOCK, Timed

VIDEO_TIME_BASE = Fraction(1, VIDEO_CLOCK)
AUDIO_TIME_BASE = Fraction(1, AUDIO_RATE)
MP4_OPTIONS = {
    # ftyp+moov first, then self-contained fragments: playable up to the last one written.
    "movflags": "frag_keyframe+empty_moov+default_base_moof",
    "frag_duration": "1000000",  # µs: a fragment at least every second
    "flush_packets": "1",  # every packet goes to the kernel at once (kill -9 loses nothing)
    "max_interleave_delta": "1000000",  # a silent microphone must not hold video back
}
FSYNC_INTERVAL_S = 1.0  # power loss: at most about a second of a file is lost


@dataclass(frozen=True)
class VideoFormat:
    parameter_sets: bytes  # Annex B SPS + PPS
    width: int
    height: int


@dataclass
class FileResult:
    size: int
    duration: float
    sha256: str | None
    video_packets: int
    audio_packets: int
    error: str | None = None


def parameter_sets(data: bytes) -> bytes | None:
    """The first SPS and PPS of an Annex B access unit, with start codes; None if absent."""
    units = [unit.rstrip(b"\x00") for unit in data.split(b"\x00\x00\x01")[1:]]
    sps = next((u for u in units if u and u[0] & 0x1F == 7), None)
    pps = next((u for u in units if u and u[0] & 0x1F == 8), None)
    if sps is None or pps is None:
        return None
    return b"\x00\x00\x00\x01" + sps + b"\x00\x00\x00\x01" + pps


class StreamTemplates:
    """Codec-less stream templates: streams made from them are never opened as encoders."""

    def __init__(self) -> None:
        self._container = av.open(io.BytesIO(), "w", format="mp4")
        self.video = self._container.add_stream("h264")
        self.audio = self._container.add_stream("libopus", rate=AUDIO_RATE)


class Mp4File:
    """One fragmented MP4 being written (used by the writer thread only)."""

    def __init__(
        self,
        path: Path,
        templates: StreamTemplates,
        video: VideoFormat,
        audio: bool,
        start_pts: int,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._start = start_pts
        self._audio_start = start_pts * AUDIO_RATE // VIDEO_CLOCK
        self._last_video = -1
        self._last_audio = -1
        self.video_packets = 0
        self.audio_packets = 0
        self.parameter_sets = video.parameter_sets
        self._container = av.open(str(path), "w", format="mp4", options=MP4_OPTIONS)
        try:
            stream = self._container.add_stream_from_template(templates.video)
            context = stream.codec_context
            context.width, context.height = video.width, video.height
            context.extradata = video.parameter_sets
            stream.time_base = VIDEO_TIME_BASE
            self._video = stream
            self._audio = None
            if audio:
                sound = self._container.add_stream_from_template(templates.audio)
                sound.codec_context.extradata = OPUS_HEAD
                sound.time_base = AUDIO_TIME_BASE
                self._audio = sound
            self._container.start_encoding()  # writes ftyp + moov: the file exists now
        except BaseException:
            self._container.close()
            path.unlink(missing_ok=True)
            raise
        self._fd = os.open(path, os.O_RDONLY)
        self._synced = time.monotonic()
        _fsync_directory(path.parent)

    def write_video(self, timed: Timed) -> None:
        pts = timed.pts - self._start
        if pts <= self._last_video:
            return  # the muxer refuses timestamps going back; never happens in practice
        packet = av.Packet(bytes(timed.packet))
        packet.pts = packet.dts = pts
        packet.time_base = VIDEO_TIME_BASE
        packet.is_keyframe = timed.keyframe
        packet.stream = self._video
        self._container.mux(packet)
        self._last_video = pts
        self.video_packets += 1
        self._maybe_sync()

    def write_audio(self, timed: Timed) -> None:
        pts = timed.pts - self._audio_start
        if self._audio is None or pts < 0 or pts <= self._last_audio:
            return
        packet = av.Packet(bytes(timed.packet))
        packet.pts = packet.dts = pts
        packet.time_base = AUDIO_TIME_BASE
        packet.stream = self._audio
        self._container.mux(packet)
        self._last_audio = pts
        self.audio_packets += 1

    def _maybe_sync(self) -> None:
        now = time.monotonic()
        if now - self._synced >= FSYNC_INTERVAL_S:
            self._synced = now
            os.fsync(self._fd)

    def close(self, error: str | None = None) -> FileResult:
        try:
            self._container.close()
        except (av.error.FFmpegError, OSError) as failure:
            error = error or f"closing failed: {failure}"
        with contextlib.suppress(OSError):
            os.fsync(self._fd)
        with contextlib.suppress(OSError):
            os.close(self._fd)
        duration = max(self._last_video, 0) / VIDEO_CLOCK
        try:
            size = self.path.stat().st_size if self.path.exists() else 0
            digest = file_sha256(self.path) if size and self.video_packets else None
        except OSError as failure:  # the disk went away under the file (EIO)
            error = error or f"reading it back failed: {failure}"
            return FileResult(0, duration, None, self.video_packets, self.audio_packets, error)
        return FileResult(size, duration, digest, self.video_packets, self.audio_packets, error)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Probe:
    duration: float
    video_packets: int
    audio: bool


def probe(path: Path) -> Probe | None:
    """Read every packet of a recording (no decoding); None if it holds no picture."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return None
            video = container.streams.video[0]
            first = last = None
            count = 0
            for packet in container.demux(video):
                if packet.pts is None or packet.size == 0:
                    continue
                first = packet.pts if first is None else first
                last = packet.pts
                count += 1
            if count == 0 or first is None or last is None or video.time_base is None:
                return None
            duration = float((last - first) * video.time_base)
            return Probe(duration, count, bool(container.streams.audio))
    except (av.error.FFmpegError, OSError, ValueError):
        return None
