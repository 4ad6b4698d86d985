"""Recording policy: which packets go into which file, event clips and continuous segments.

    video PacketHub ──┐                    ┌──▶ clip (pre-roll + events + post-roll)
                      ├──▶ Recorder ───────┤
    audio PacketHub ──┘   (pre-roll ring)  └──▶ continuous segment (fixed length)
                                 │
                                 └── commands ──▶ writer thread (camera.recording_writer)

The recorder is one more subscriber of the camera's hubs: it gets the very packets viewers
get and only remuxes them, so recording costs no decode and no encode (the camera's one
encoder runs while a recorder is subscribed, as it does for a viewer). It runs on the event
loop: it keeps the pre-roll (:mod:`camera.preroll`) and decides when files open and close;
a thread per camera does every file operation (:mod:`camera.recording_writer`,
:mod:`camera.mp4`). The :class:`Archive` (api.services.recording_archive) allocates ids
and paths, keeps the database in step and frees disk space.

Thread ownership: every field of a :class:`Recorder` belongs to the event loop; the writer
thread only reaches it through ``call_soon_threadsafe`` (results and failures).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from .config import RecordingConfig
from .encoder import AUDIO_RATE
from .mp4 import FileResult, VideoFormat, parameter_sets
from .preroll import VIDEO_CLOCK, PreRoll, Timed
from .recording_writer import WriterThread
from .threads import require_loop

if TYPE_CHECKING:
    from .camera import Camera
    from .hub import Subscription

logger = logging.getLogger(__name__)

RecordingKind = Literal["clip", "continuous"]

# Extra pre-roll kept beyond the configured seconds: detection runs a few frames late.
PRE_ROLL_MARGIN_S = 1.5
RETRY_AFTER_FAILURE_S = 3.0
AUDIO_WAIT_LIMIT = 3 * AUDIO_RATE  # audio kept waiting for the video to catch up
SUBSCRIPTION_PACKETS = 900  # 30 s of video at 30 fps: the drain task is never that late


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
    def pre_roll_seconds(self) -> float:
        """Seconds of video held for the next clip (whole GOPs, from a keyframe)."""
        return self._pre_roll.seconds

    @property
    def writer(self) -> WriterThread:
        """The writer thread (its progress for the service watchdog, bytes for /metrics)."""
        return self._writer

    @property
    def latest_video_pts(self) -> int | None:
        """Capture timestamp (90 kHz) of the newest video packet received."""
        return self._latest_video

    @property
    def recording(self) -> dict[str, int | None]:
        return {
            "clip": self._clip.info.id if self._clip else None,
            "continuous": self._segment.info.id if self._segment else None,
        }

    # ----- events (called by the archive's owner, on the loop) --------------------------------

    def event_started(self, event_id: int, at: float) -> int | None:
        """An event began at Unix time ``at``: the id of the clip that will show it."""
        require_loop("a recorder")
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
