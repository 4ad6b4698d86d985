"""Helpers for the recording tests: reading clips back, frame by frame."""

from __future__ import annotations

import io
from dataclasses import dataclass

import av

from camera.demo import read_stamp


@dataclass
class ClipReport:
    first_keyframe: bool
    video_packets: int
    audio_packets: int
    first_stamp_ms: int  # demo camera capture time of the first frame (Unix ms mod 2**40)
    last_stamp_ms: int
    video_seconds: float
    audio_seconds: float
    width: int
    height: int
    video_end: float  # seconds from the file's start: the last picture
    audio_end: float  # the last audio packet (0 without audio)
    keyframes: list[float]  # seconds after the first picture of each video keyframe


def read_clip(data: bytes) -> ClipReport:
    """Demux every packet and decode the first and last pictures' demo timestamps."""
    with av.open(io.BytesIO(data)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        streams = [video] + ([audio] if audio is not None else [])
        video_pts: list[int] = []
        audio_pts: list[int] = []
        first_keyframe = None
        keyframe_pts: list[int] = []
        for packet in container.demux(streams):
            if packet.size == 0 or packet.pts is None:
                continue
            if packet.stream.type == "video":
                if first_keyframe is None:
                    first_keyframe = bool(packet.is_keyframe)
                if packet.is_keyframe:
                    keyframe_pts.append(packet.pts)
                video_pts.append(packet.pts)
            else:
                audio_pts.append(packet.pts)
        video_base = video.time_base
        audio_base = audio.time_base if audio is not None else None
    stamps = []
    with av.open(io.BytesIO(data)) as container:
        for frame in container.decode(video=0):
            stamps.append(read_stamp(frame.to_ndarray(format="gray")))
            width, height = frame.width, frame.height
    assert video_base is not None
    video_seconds = float((video_pts[-1] - video_pts[0]) * video_base)
    audio_seconds = audio_end = 0.0
    if audio_pts and audio_base is not None:
        audio_seconds = float((audio_pts[-1] - audio_pts[0]) * audio_base)
        audio_end = float(audio_pts[-1] * audio_base)
    return ClipReport(
        first_keyframe=bool(first_keyframe),
        video_packets=len(video_pts),
        audio_packets=len(audio_pts),
        first_stamp_ms=stamps[0],
        last_stamp_ms=stamps[-1],
        video_seconds=video_seconds,
        audio_seconds=audio_seconds,
        width=width,
        height=height,
        video_end=float(video_pts[-1] * video_base),
        audio_end=audio_end,
        keyframes=[float((pts - video_pts[0]) * video_base) for pts in keyframe_pts],
    )
