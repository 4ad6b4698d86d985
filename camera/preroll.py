"""The pre-roll: the last seconds of a camera's packets, kept for the next event clip.

Packets are kept as :class:`Timed` (the timestamp and keyframe flag they had when they
reached the recorder), in whole GOPs so a clip always starts at a keyframe. Runs on the
event loop, owned by one :class:`camera.recorder.Recorder`.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass

from .encoder import AUDIO_RATE
from .media import Packet

VIDEO_CLOCK = 90000


@dataclass(frozen=True)
class Timed:
    """A packet with the timestamp and keyframe flag it had when it reached the recorder."""

    pts: int  # 90 kHz (video) or 48 kHz (audio), the camera's capture clock
    keyframe: bool
    packet: Packet


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

    @property
    def seconds(self) -> float:
        """How much video is held now, from the first keyframe to the newest packet."""
        if not self.gops:
            return 0.0
        return (self.gops[-1][-1].pts - self.gops[0][0].pts) / VIDEO_CLOCK
