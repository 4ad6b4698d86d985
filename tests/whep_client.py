"""A real WHEP viewer for tests and benchmarks: aiortc peer, httpx signalling, decoded media."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import av
import httpx
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack


@dataclass
class Viewer:
    pc: RTCPeerConnection
    location: str
    tracks: dict[str, MediaStreamTrack] = field(default_factory=dict)

    async def next_video_frame(self, timeout: float = 10.0) -> av.VideoFrame:
        frame = await asyncio.wait_for(self.tracks["video"].recv(), timeout)
        assert isinstance(frame, av.VideoFrame)
        return frame

    async def next_audio_frame(self, timeout: float = 10.0) -> av.AudioFrame:
        frame = await asyncio.wait_for(self.tracks["audio"].recv(), timeout)
        assert isinstance(frame, av.AudioFrame)
        return frame


async def make_offer(video: bool = True, audio: bool = True) -> RTCPeerConnection:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    if video:
        pc.addTransceiver("video", direction="recvonly")
    if audio:
        pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    return pc


async def connect(
    client: httpx.AsyncClient, camera_id: str, *, video: bool = True, audio: bool = True
) -> Viewer:
    """POST an offer to the camera's WHEP endpoint and wire up the answer."""
    pc = await make_offer(video, audio)
    tracks: dict[str, MediaStreamTrack] = {}
    got_tracks = asyncio.Event()
    expected = int(video) + int(audio)

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        tracks[track.kind] = track
        if len(tracks) >= expected:
            got_tracks.set()

    response = await client.post(
        f"/api/cameras/{camera_id}/whep",
        content=pc.localDescription.sdp,
        headers={"Content-Type": "application/sdp"},
    )
    if response.status_code != 201:
        await pc.close()
        raise WhepRefused(response.status_code, response.text)
    await pc.setRemoteDescription(RTCSessionDescription(response.text, "answer"))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(got_tracks.wait(), 5)
    return Viewer(pc, response.headers["location"], tracks)


async def hang_up(client: httpx.AsyncClient, viewer: Viewer) -> int:
    response = await client.delete(viewer.location)
    for track in viewer.tracks.values():
        with contextlib.suppress(MediaStreamError):
            track.stop()
    await viewer.pc.close()
    return response.status_code


class WhepRefused(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
