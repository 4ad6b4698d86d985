"""Publishing a camera by WHIP: one aiortc peer that sends the shared packets to a URL.

POST an SDP offer (sendonly H.264 + Opus, every candidate gathered first) with an optional
bearer token, apply the answer, keep the ``Location`` for DELETE. A failed or dropped
connection is retried with backoff (1 s to 60 s). The tracks are ``PacketTrack``s on the
camera's hubs, exactly like a viewer's: nothing is encoded for the media server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from urllib.parse import urljoin

from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription

from .camera import Camera
from .ice import IceServers, rtc_configuration
from .publish_config import WhipTarget
from .tracks import PacketTrack
from .webrtc import forward_keyframe_requests

BACKOFF_S = (1, 2, 5, 10, 30, 60)


async def publish_whip(
    camera: Camera,
    target: WhipTarget,
    ice: Callable[[str], IceServers],
    logger: logging.Logger,
) -> None:
    """Keep the camera published at ``target`` until cancelled."""
    import httpx  # only a camera that publishes needs it (and its CLI's rich and pygments)

    failures = 0
    while True:
        started = time.monotonic()
        try:
            await _one_session(camera, target, ice, logger)
        except (httpx.HTTPError, WhipRefused, ValueError) as error:
            logger.warning("publish %s to %s: %s", camera.id, target.url, error)
        if time.monotonic() - started > 60:
            failures = 0
        await asyncio.sleep(BACKOFF_S[min(failures, len(BACKOFF_S) - 1)])
        failures += 1


class WhipRefused(Exception):
    pass


async def _one_session(
    camera: Camera, target: WhipTarget, ice: Callable[[str], IceServers], logger: logging.Logger
) -> None:
    pc = RTCPeerConnection(rtc_configuration(ice(f"publish-{camera.id}")))
    done = asyncio.Event()
    tracks = [PacketTrack(camera.video, 60)]
    if target.audio and camera.audio is not None:
        tracks.append(PacketTrack(camera.audio, 50))
    for track in tracks:
        sender = pc.addTrack(track)
        _prefer(pc, sender, "video/H264" if track.kind == "video" else "audio/opus")
        if track.kind == "video":
            forward_keyframe_requests(sender, track.request_keyframe)

    @pc.on("connectionstatechange")
    def on_state() -> None:
        if pc.connectionState in ("failed", "closed"):
            done.set()

    headers = {"Content-Type": "application/sdp"}
    if target.bearer_token:
        headers["Authorization"] = f"Bearer {target.bearer_token}"
    location: str | None = None
    import httpx

    async with httpx.AsyncClient(timeout=15) as client:
        try:
            await pc.setLocalDescription(await pc.createOffer())
            response = await client.post(
                target.url, content=pc.localDescription.sdp, headers=headers
            )
            if response.status_code != 201:
                raise WhipRefused(f"HTTP {response.status_code}: {response.text[:200]}")
            location = urljoin(target.url, response.headers.get("location", ""))
            await pc.setRemoteDescription(RTCSessionDescription(response.text, "answer"))
            logger.info("publishing %s to %s", camera.id, target.url)
            await done.wait()
        finally:
            for track in tracks:
                track.stop()
            if location:
                with contextlib.suppress(httpx.HTTPError):
                    await client.delete(location, headers=headers)
            await pc.close()


def _prefer(pc: RTCPeerConnection, sender: RTCRtpSender, mime: str) -> None:
    transceiver = next(t for t in pc.getTransceivers() if t.sender is sender)
    transceiver.direction = "sendonly"
    codecs = RTCRtpSender.getCapabilities(sender.kind).codecs
    transceiver.setCodecPreferences([c for c in codecs if c.mimeType.lower() == mime.lower()])
