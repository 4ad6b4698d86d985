"""Recording: pre-roll, event clips and continuous segments, remuxed from the hub's packets.

    video PacketHub ──┐                    ┌──▶ clip (pre-roll + events + post-roll)
                      ├──▶ Recorder ───────┤
    audio PacketHub ──┘   (pre-roll ring)  └──▶ continuous segment (fixed length)
                                 │
                                 └── commands ──▶ writer thread: PyAV's MP4 muxer, fsync

The recorder is one more subscriber of the camera's hubs: it gets the very packets viewers
get and only remuxes them, so recording costs no decode and no encode (the camera's one
encoder runs while a recorder is subscribed, as it does for a viewer). The event loop side
keeps the last seconds of packets (starting at a keyframe) and decides when files open and
close; a thread per camera does every file operation.

Files are fragmented MP4 (``empty_moov``, a fragment at least every second, each packet
handed to the kernel at once, ``fsync`` every second): a file cut by a crash or a power
loss plays up to its last fragment. The :class:`Archive` (api/recordings.py) allocates ids
and paths, keeps the database in step and frees disk space.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import io
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

import av
import av.error

from .config import RecordingConfig
from .encoder import AUDIO_RATE, OPUS_HEAD
from .media import Packet

if TYPE_CHECKING:
    from .camera import Camera
    from .hub import Subscription

logger = logging.getLogger(__name__)

RecordingKind = Literal["clip", "continuous"]

VIDEO_CLOCK = 90000
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
# Extra pre-roll kept beyond the configured seconds: detection runs a few frames late.
PRE_ROLL_MARGIN_S = 1.5
MAX_QUEUED_BYTES = 48 * 1024 * 1024  # a stalled disk drops packets rather than memory
RETRY_AFTER_FAILURE_S = 3.0
AUDIO_WAIT_LIMIT = 3 * AUDIO_RATE  # audio kept waiting for the video to catch up
SUBSCRIPTION_PACKETS = 900  # 30 s of video at 30 fps: the drain task is never that late


@dataclass(frozen=True)
class Timed:
    """A packet with the timestamp and keyframe flag it had when it reached the recorder."""

    pts: int  # 90 kHz (video) or 48 kHz (audio), the camera's capture clock
    keyframe: bool
    packet: Packet


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


@dataclass
class RecordingInfo:
    id: int
    camera: str
    kind: RecordingKind
    path: str  # relative to the archive root
    start: float  # Unix seconds of the first frame
    audio: bool
    events: list[int] = field(default_factory=list)
    end: float | None = None
    result: FileResult | None = None


class Archive(Protocol):
    """Where recordings go (implemented by api.recordings.RecordingService)."""

    root: Path

    def allocate(self, camera: str, kind: RecordingKind, start: float) -> tuple[int, str]:
        """A new recording id and its path relative to ``root``."""
        ...

    def opened(self, info: RecordingInfo) -> None: ...

    def closed(self, info: RecordingInfo) -> None: ...


def parameter_sets(data: bytes) -> bytes | None:
    """The first SPS and PPS of an Annex B access unit, with start codes; None if absent."""
    units = [unit.rstrip(b"\x00") for unit in data.split(b"\x00\x00\x01")[1:]]
    sps = next((u for u in units if u and u[0] & 0x1F == 7), None)
    pps = next((u for u in units if u and u[0] & 0x1F == 8), None)
    if sps is None or pps is None:
        return None
    return b"\x00\x00\x00\x01" + sps + b"\x00\x00\x00\x01" + pps


# ----- the writer thread ----------------------------------------------------------------


class _Templates:
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
        templates: _Templates,
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
        os.close(self._fd)
        size = self.path.stat().st_size if self.path.exists() else 0
        duration = max(self._last_video, 0) / VIDEO_CLOCK
        digest = file_sha256(self.path) if size and self.video_packets else None
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


@dataclass
class _Open:
    key: int
    path: Path
    video: VideoFormat
    audio: bool
    start_pts: int


@dataclass
class _Write:
    key: int
    timed: Timed
    video: bool


@dataclass
class _Close:
    key: int


class WriterThread:
    """Does every file operation of one camera's recordings, in order, off the event loop."""

    def __init__(
        self, name: str, loop: asyncio.AbstractEventLoop, on_failure: Callable[[int], None]
    ) -> None:
        self._loop = loop
        self._on_failure = on_failure
        self._queue: queue.SimpleQueue[_Open | _Write | _Close | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._queued_bytes = 0
        self._results: dict[int, asyncio.Future[FileResult]] = {}
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def backlog(self) -> int:
        return self._queued_bytes

    def open(self, key: int, path: Path, video: VideoFormat, audio: bool, start_pts: int) -> None:
        self._results[key] = self._loop.create_future()
        self._queue.put(_Open(key, path, video, audio, start_pts))

    def write(self, key: int, timed: Timed, video: bool) -> bool:
        """Queue a packet; False when the disk is too far behind (the packet is dropped)."""
        size = timed.packet.size
        with self._lock:
            if self._queued_bytes + size > MAX_QUEUED_BYTES:
                return False
            self._queued_bytes += size
        self._queue.put(_Write(key, timed, video))
        return True

    def close(self, key: int) -> asyncio.Future[FileResult]:
        self._queue.put(_Close(key))
        # A failed write may have settled it already; it stays here until then.
        future = self._results[key]
        future.add_done_callback(lambda _: self._results.pop(key, None))
        return future

    async def stop(self) -> None:
        self._queue.put(None)
        await asyncio.to_thread(self._thread.join)

    def _run(self) -> None:
        templates = _Templates()
        files: dict[int, Mp4File] = {}
        failed: dict[int, str] = {}
        while (command := self._queue.get()) is not None:
            if isinstance(command, _Write):
                with self._lock:
                    self._queued_bytes -= command.timed.packet.size
                handle = files.get(command.key)
                if handle is None:
                    continue
                try:
                    if command.video:
                        handle.write_video(command.timed)
                    else:
                        handle.write_audio(command.timed)
                except (av.error.FFmpegError, OSError, ValueError) as error:
                    # Disk full, disk gone: keep what was written; the recorder goes on in
                    # a new file once the archive has made room.
                    logger.error("writing %s failed: %s", handle.path, error)
                    failed[command.key] = str(error)
                    result = handle.close(str(error))
                    del files[command.key]
                    self._resolve(command.key, result)
                    self._report_failure(command.key)
            elif isinstance(command, _Open):
                try:
                    files[command.key] = Mp4File(
                        command.path,
                        templates,
                        command.video,
                        command.audio,
                        command.start_pts,
                    )
                except (av.error.FFmpegError, OSError, ValueError) as error:
                    logger.error("cannot create %s: %s", command.path, error)
                    failed[command.key] = f"cannot create the file: {error}"
                    self._report_failure(command.key)
            else:
                handle = files.pop(command.key, None)
                if handle is not None:
                    self._resolve(command.key, handle.close())
                else:
                    reason = failed.pop(command.key, "not written")
                    self._resolve(command.key, FileResult(0, 0.0, None, 0, 0, reason))
        for key, handle in files.items():
            self._resolve(key, handle.close())

    def _report_failure(self, key: int) -> None:
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._on_failure, key)

    def _resolve(self, key: int, result: FileResult) -> None:
        def settle() -> None:
            future = self._results.get(key)
            if future is not None and not future.done():
                future.set_result(result)

        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting
            self._loop.call_soon_threadsafe(settle)


# ----- the event loop side --------------------------------------------------------------


class PreRoll:
    """The last seconds of packets, whole GOPs, always starting at a keyframe."""

    def __init__(self, seconds: float) -> None:
        self._span = int(seconds * VIDEO_CLOCK)
        self.gops: collections.deque[list[Timed]] = collections.deque()
        self.audio: collections.deque[Timed] = collections.deque()

    def video(self, timed: Timed) -> None:
        if timed.keyframe:
            self.gops.append([timed])
        elif self.gops:
            self.gops[-1].append(timed)
        else:
            return  # nothing before the first keyframe is useful
        horizon = timed.pts - self._span
        while len(self.gops) >= 2 and self.gops[1][0].pts <= horizon:
            self.gops.popleft()

    def sound(self, timed: Timed) -> None:
        self.audio.append(timed)
        first = self.gops[0][0].pts if self.gops else timed.pts * VIDEO_CLOCK // AUDIO_RATE
        while self.audio and self.audio[0].pts * VIDEO_CLOCK // AUDIO_RATE < first - VIDEO_CLOCK:
            self.audio.popleft()

    def since(self, pts: int) -> tuple[list[Timed], list[Timed]]:
        """Video from the newest keyframe at or before ``pts`` (else the oldest), and audio."""
        if not self.gops:
            return [], []
        start = 0
        for index, gop in enumerate(self.gops):
            if gop[0].pts <= pts:
                start = index
        video = [timed for gop in list(self.gops)[start:] for timed in gop]
        audio_from = video[0].pts * AUDIO_RATE // VIDEO_CLOCK
        return video, [a for a in self.audio if a.pts >= audio_from]

    def clear(self) -> None:
        self.gops.clear()
        self.audio.clear()


@dataclass
class _File:
    """A recording the recorder is writing (or about to, at the next keyframe)."""

    info: RecordingInfo
    start_pts: int | None = None
    last_pts: int = 0
    parameter_sets: bytes | None = None
    active: set[int] = field(default_factory=set)  # events still going on (clips)
    end_pts: int | None = None  # when to stop (clips, once no event is active)
    skipping: bool = False  # dropped a packet: wait for a keyframe


class Recorder:
    """Event clips and continuous segments of one camera."""

    def __init__(self, camera: Camera, archive: Archive) -> None:
        self.camera = camera
        self.config: RecordingConfig = camera.config.recording
        self._archive = archive
        self._loop = asyncio.get_running_loop()
        self._pre_roll = PreRoll(
            (self.config.pre_roll_seconds + PRE_ROLL_MARGIN_S) if self.config.events else 0
        )
        self._audio = bool(self.config.audio and camera.audio is not None)
        self._writer = WriterThread(f"camera-{camera.id}-recorder", self._loop, self._failed)
        self._clip: _File | None = None
        self._segment: _File | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._subscriptions: list[Subscription] = []
        self._parameter_sets: bytes | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._retry_at = 0.0  # after a write error, new files wait a little
        self._waiting_audio: collections.deque[Timed] = collections.deque()
        self._audio_released = -1  # audio up to this pts (48 kHz) went to the files
        self._latest_video: int | None = None
        self.dropped = 0

    # ----- life cycle ----------------------------------------------------------------------

    def start(self) -> None:
        video = self.camera.video.subscribe(SUBSCRIPTION_PACKETS)
        self._subscriptions.append(video)
        self._tasks.append(asyncio.create_task(self._drain(video, True), name="recorder-video"))
        hub = self.camera.audio
        if self._audio and hub is not None:
            sound = hub.subscribe(SUBSCRIPTION_PACKETS * 2)
            self._subscriptions.append(sound)
            task = asyncio.create_task(self._drain(sound, False), name="recorder-audio")
            self._tasks.append(task)
        self.camera.status_listeners.append(self._camera_status)

    async def stop(self) -> None:
        """Close every file (the last fragment is written) and stop the thread."""
        for subscription in self._subscriptions:
            subscription.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._timer is not None:
            self._timer.cancel()
        for current in (self._clip, self._segment):
            if current is not None:
                self._close(current)
        self._clip = self._segment = None
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
        await self._writer.stop()
        with contextlib.suppress(ValueError):
            self.camera.status_listeners.remove(self._camera_status)

    @property
    def recording(self) -> dict[str, int | None]:
        return {
            "clip": self._clip.info.id if self._clip else None,
            "continuous": self._segment.info.id if self._segment else None,
        }

    # ----- events (called by the archive's owner, on the loop) --------------------------------

    def event_started(self, event_id: int, at: float) -> int | None:
        """An event began at Unix time ``at``: the id of the clip that will show it."""
        if not self.config.events:
            return None
        clip = self._clip
        if clip is None:
            clip = self._new_file("clip", at - self.config.pre_roll_seconds)
            self._clip = clip
            # Listed before the file opens: the archive announces it with its events.
            clip.active.add(event_id)
            clip.info.events.append(event_id)
            target = self.camera.capture_pts(at - self.config.pre_roll_seconds)
            video, audio = self._pre_roll.since(target)
            if video:
                self._begin(clip, video[0])
                for timed in video:
                    self._put(clip, timed, True)
                for timed in audio:
                    if timed.pts <= self._audio_released:  # the rest is still waiting
                        self._put(clip, timed, False)
        clip.active.add(event_id)
        clip.end_pts = None
        if event_id not in clip.info.events:
            clip.info.events.append(event_id)
        return clip.info.id

    def event_ended(self, event_id: int, at: float) -> None:
        clip = self._clip
        if clip is None or event_id not in clip.active:
            return
        clip.active.discard(event_id)
        if clip.active:
            return
        clip.end_pts = self.camera.capture_pts(at + self.config.post_roll_seconds)
        # If the camera goes quiet, no packet will pass the end: a timer closes it then.
        if self._timer is not None:
            self._timer.cancel()
        delay = max(0.0, at + self.config.post_roll_seconds - time.time()) + 1.0
        self._timer = self._loop.call_later(delay, self._end_quiet_clip)

    def _end_quiet_clip(self) -> None:
        self._timer = None
        clip = self._clip
        if (
            clip is not None
            and not clip.active
            and clip.end_pts is not None
            and self.camera.capture_pts(time.time()) >= clip.end_pts
        ):
            self._clip = None
            self._close(clip)

    # ----- packets ------------------------------------------------------------------------

    async def _drain(self, subscription: Subscription, video: bool) -> None:
        while True:
            try:
                packet = await subscription.get()
            except EOFError:
                return
            if packet.pts is None:
                continue
            timed = Timed(packet.pts, bool(packet.is_keyframe) if video else True, packet)
            try:
                if video:
                    self._on_video(timed)
                else:
                    self._on_audio(timed)
            except Exception:
                logger.exception("camera %s: recording a packet failed", self.camera.id)

    def _on_video(self, timed: Timed) -> None:
        self._video_packet(timed)
        self._latest_video = timed.pts
        self._release_audio()

    def _video_packet(self, timed: Timed) -> None:
        if timed.keyframe:
            sets = parameter_sets(bytes(timed.packet))
            if sets is not None:
                self._parameter_sets = sets
        self._pre_roll.video(timed)
        if self.config.continuous:
            self._segment_packet(timed)
        clip = self._clip
        if clip is None:
            return
        if clip.start_pts is not None:
            if clip.end_pts is not None and timed.pts >= clip.end_pts:
                self._clip = None
                self._close(clip)
                return
            too_long = timed.pts - clip.start_pts >= self.config.max_clip_seconds * VIDEO_CLOCK
            if timed.keyframe and (too_long or self._format_changed(clip, timed)):
                # The clip ends here; a new one goes on with the same events.
                self._clip = clip = self._continue(clip)
        if clip.start_pts is None or clip.skipping:
            if not timed.keyframe:
                return
            if clip.start_pts is None:
                self._begin(clip, timed)
                if clip.start_pts is None:
                    return
            clip.skipping = False
        self._put(clip, timed, True)

    def _on_audio(self, timed: Timed) -> None:
        self._pre_roll.sound(timed)
        self._waiting_audio.append(timed)
        self._release_audio()

    def _release_audio(self) -> None:
        """Hand audio to the files only as far as the video has come.

        Sound reaches the recorder before the pictures of the same moment (the video is
        encoded first): written at once, a file would end with sound past its last picture,
        and the next segment would repeat it.
        """
        waiting = self._waiting_audio
        if self._latest_video is None:
            limit = -1
        else:
            frame = AUDIO_RATE / self.camera.config.fps
            limit = int(self._latest_video * AUDIO_RATE / VIDEO_CLOCK + frame)
        while waiting and waiting[0].pts <= limit:
            timed = waiting.popleft()
            self._audio_released = timed.pts
            for current in (self._clip, self._segment):
                if current is not None and current.start_pts is not None and not current.skipping:
                    self._put(current, timed, False)
        # Sound without pictures (the video source is gone) is not recorded.
        while waiting and waiting[-1].pts - waiting[0].pts > AUDIO_WAIT_LIMIT:
            waiting.popleft()

    def _segment_packet(self, timed: Timed) -> None:
        segment = self._segment
        if segment is not None and segment.start_pts is not None and timed.keyframe:
            long_enough = timed.pts - segment.start_pts >= self.config.segment_seconds * VIDEO_CLOCK
            if long_enough or self._format_changed(segment, timed):
                self._segment = None
                self._close(segment)
                segment = None
        if segment is None:
            if not timed.keyframe or time.monotonic() < self._retry_at:
                return
            segment = self._new_file("continuous", self.camera.wall_time(timed.pts))
            self._segment = segment
            self._begin(segment, timed)
            if segment.start_pts is None:
                return
        elif segment.skipping:
            if not timed.keyframe:
                return
            segment.skipping = False
        self._put(segment, timed, True)

    def _format_changed(self, current: _File, timed: Timed) -> bool:
        return (
            timed.keyframe
            and current.parameter_sets is not None
            and self._parameter_sets is not None
            and self._parameter_sets != current.parameter_sets
        )

    # ----- files --------------------------------------------------------------------------

    def _new_file(self, kind: RecordingKind, start: float) -> _File:
        recording_id, path = self._archive.allocate(self.camera.id, kind, start)
        info = RecordingInfo(recording_id, self.camera.id, kind, path, start, self._audio)
        return _File(info)

    def _begin(self, current: _File, first: Timed) -> None:
        """Open the file at keyframe ``first`` (its time is the recording's start)."""
        size = self.camera.video_size()
        sets = self._parameter_sets
        if size is None or sets is None or time.monotonic() < self._retry_at:
            current.skipping = True
            return
        current.start_pts = first.pts
        current.parameter_sets = sets
        current.info.start = self.camera.wall_time(first.pts)
        path = self._archive.root / current.info.path
        self._writer.open(current.info.id, path, VideoFormat(sets, *size), self._audio, first.pts)
        self._archive.opened(current.info)

    def _continue(self, clip: _File) -> _File:
        following = self._new_file("clip", time.time())
        following.active = set(clip.active)
        following.info.events = sorted(clip.active)
        following.end_pts = clip.end_pts
        self._close(clip)
        return following

    def _put(self, current: _File, timed: Timed, video: bool) -> None:
        if current.start_pts is None:
            return
        if not self._writer.write(current.info.id, timed, video):
            self.dropped += 1
            current.skipping = True
            if self.dropped % 100 == 1:
                logger.warning(
                    "camera %s: the disk is not keeping up; dropped %d packets",
                    self.camera.id,
                    self.dropped,
                )
            return
        if video:
            current.last_pts = timed.pts

    def _close(self, current: _File) -> None:
        if current.start_pts is None:
            # Never got a picture: nothing was written, no file exists.
            current.info.end = current.info.start
            current.info.result = FileResult(0, 0.0, None, 0, 0, "no video arrived")
            self._archive.closed(current.info)
            return
        current.info.end = self.camera.wall_time(current.last_pts)
        future = self._writer.close(current.info.id)

        async def finish() -> None:
            current.info.result = await future
            self._archive.closed(current.info)

        task = asyncio.create_task(finish(), name=f"recording-{current.info.id}-close")
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def _failed(self, key: int) -> None:
        """The writer could not write a file (disk full, gone): go on in a new one."""
        self._retry_at = time.monotonic() + RETRY_AFTER_FAILURE_S
        clip, segment = self._clip, self._segment
        if clip is not None and clip.info.id == key:
            self._clip = self._continue(clip)
        if segment is not None and segment.info.id == key:
            self._segment = None
            self._close(segment)

    def _camera_status(self, camera: Camera) -> None:
        if camera.status != "offline":
            return
        # What came before the outage is not this camera's present: a clip opened after it
        # must not show it, and a continuous segment ends at the gap.
        self._pre_roll.clear()
        segment = self._segment
        if segment is not None:
            self._segment = None
            self._close(segment)
