"""WebRTC viewer sessions: answer a WHEP offer with tracks fed by a camera's hubs.

One ``RTCPeerConnection`` per viewer; all of them share the camera's encoded packets.
aiortc objects live on the event loop of this process only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal

import aioice.ice
from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.exceptions import InvalidAccessError, InvalidStateError, OperationError
from aiortc.sdp import SessionDescription

from . import consent
from .adapt import AdaptConfig, AdaptState, initial_layer
from .adapt import step as adapt_step
from .camera import Camera
from .config import WebRTCConfig
from .errors import BadOffer, CameraOffline, ViewerLimitReached
from .hub import PacketHub
from .ice import resolve, rtc_configuration
from .link import LinkMonitor, leaves_the_lan
from .tracks import PacketTrack

logger = logging.getLogger(__name__)

MAX_OFFER_BYTES = 64 * 1024
_ORIGINAL_GET_HOST_ADDRESSES = aioice.ice.get_host_addresses


def restrict_ice_addresses(addresses: list[str] | None) -> None:
    """Offer only these local addresses as ICE host candidates (None: aioice's default).

    aioice has no setting for this; it looks addresses up through a module function, so
    we replace that function. aioice also skips 127.0.0.1 by default, which the loopback
    deployment (and the tests) need.
    """
    if addresses is None:
        aioice.ice.get_host_addresses = _ORIGINAL_GET_HOST_ADDRESSES
        return
    chosen = list(addresses)

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = get_host_addresses


Quality = Literal["high", "low", "auto"]
ADAPT_INTERVAL_S = 1.0


@dataclass
class ViewerSession:
    id: str
    camera_id: str
    pc: RTCPeerConnection
    tracks: list[PacketTrack]
    owner: int | None = None  # the user watching, so revoking them hangs up too
    credential: str | None = None  # the session or token it was opened with, likewise
    expires_at: float | None = None  # epoch seconds when that credential ends
    quality: Quality = "high"
    link: LinkMonitor | None = None  # the video sender's RTCP (quality=auto)
    high_kbps: float = 2000.0  # the main stream's bitrate (auto compares estimates to it)
    answer_sdp: str = ""
    created: float = field(default_factory=time.monotonic)
    connected: asyncio.Event = field(default_factory=asyncio.Event)


def parse_offer(sdp: str) -> SessionDescription:
    """Parse an SDP offer of bounded size; raise ``BadOffer`` saying what is wrong."""
    if len(sdp.encode("utf-8", "replace")) > MAX_OFFER_BYTES:
        raise BadOffer(f"the offer is larger than {MAX_OFFER_BYTES} bytes")
    if not sdp.lstrip().startswith("v=0"):
        raise BadOffer("not an SDP offer: it must start with 'v=0'")
    try:
        return SessionDescription.parse(sdp)
    except Exception as error:
        raise BadOffer(f"malformed SDP: {str(error) or type(error).__name__}") from None


def validate_offer(sdp: str) -> SessionDescription:
    """Parse an offer and check it asks for something we can send; raise ``BadOffer``."""
    parsed = parse_offer(sdp)
    kinds = [m.kind for m in parsed.media]
    if kinds.count("video") > 1 or kinds.count("audio") > 1:
        raise BadOffer("the offer may have at most one video and one audio section")
    receiving = [m for m in parsed.media if m.direction in (None, "recvonly", "sendrecv")]
    if not any(m.kind in ("video", "audio") for m in receiving):
        raise BadOffer("the offer has no audio or video section that can receive")
    for media in parsed.media:
        if media.ice is None or not media.ice.usernameFragment or not media.ice.password:
            raise BadOffer(f"the {media.kind} section has no ICE credentials")
        if not media.dtls or not media.dtls.fingerprints:
            raise BadOffer(f"the {media.kind} section has no DTLS fingerprint")
        if media.kind == "video" and not any(
            c.mimeType.lower() == "video/h264" for c in media.rtp.codecs
        ):
            raise BadOffer("the offer does not accept H.264 video, which is what cameras send")
    return parsed


class WebRTCService:
    """Creates, tracks and closes viewer sessions for every camera."""

    def __init__(self, config: WebRTCConfig) -> None:
        self._config = config
        self.adapt_config = AdaptConfig()
        self._sessions: dict[str, ViewerSession] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        restrict_ice_addresses(config.ice_addresses)
        consent.install()  # RFC 7675's 30 s, not aioice's 0.5 s per check

    def viewers(self, camera_id: str) -> int:
        return sum(1 for s in self._sessions.values() if s.camera_id == camera_id)

    def session(self, session_id: str) -> ViewerSession | None:
        return self._sessions.get(session_id)

    def sessions(self) -> list[ViewerSession]:
        return list(self._sessions.values())

    def _rtc_configuration(self, label: str) -> RTCConfiguration:
        # Our own peer uses the same servers as the browser, with logins of its own.
        return rtc_configuration(resolve(self._config, label, time.time()))

    async def answer(
        self,
        camera: Camera,
        offer_sdp: str,
        max_viewers: int,
        owner: int | None = None,
        credential: str | None = None,
        expires_at: float | None = None,
        quality: Quality = "high",
    ) -> ViewerSession:
        parsed = validate_offer(offer_sdp)
        if self.viewers(camera.id) >= max_viewers:
            raise ViewerLimitReached(
                f"camera {camera.id} already has {max_viewers} viewers, its limit"
            )
        if camera.status == "offline":
            raise CameraOffline(f"camera {camera.id} is offline: {camera.error}")
        session_id = secrets.token_urlsafe(16)
        pc = RTCPeerConnection(self._rtc_configuration(f"sentrycam-{session_id[:8]}"))
        session = ViewerSession(
            session_id, camera.id, pc, [], owner, credential, expires_at, quality
        )
        session.high_kbps = camera.config.bitrate_kbps
        self._sessions[session.id] = session
        try:
            self._add_tracks(session, camera, {m.kind for m in parsed.media})
            await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
            await pc.setLocalDescription(await pc.createAnswer())
        except (
            InvalidAccessError,
            InvalidStateError,
            OperationError,
            ValueError,
            # aiortc reports some inconsistent offers only by tripping over them:
            AssertionError,
            AttributeError,
            KeyError,
            IndexError,
            TypeError,
        ) as error:
            await self.close(session.id)
            raise BadOffer(f"cannot answer this offer: {error or type(error).__name__}") from None
        except BaseException:
            await self.close(session.id)
            raise
        session.answer_sdp = pc.localDescription.sdp
        self._watch(session)
        return session

    def _add_tracks(self, session: ViewerSession, camera: Camera, kinds: set[str]) -> None:
        config = camera.config
        hubs = [camera.video] if "video" in kinds else []
        if "audio" in kinds and camera.audio is not None:
            hubs.append(camera.audio)
        for hub in hubs:
            if hub.kind == "video":
                gop_frames = int(config.fps * config.gop_seconds)
                # Passthrough replays the cached GOP on join, so its queue must hold one.
                queue = (
                    gop_frames + int(config.fps) if config.encoder == "copy" else int(config.fps)
                )
            else:
                queue = 50  # one second of 20 ms Opus packets
            track = self._make_track(session, camera, hub, max(queue, 10))
            sender = session.pc.addTrack(track)
            self._prefer_codec(
                session.pc, sender, "video/H264" if hub.kind == "video" else "audio/opus"
            )
            if hub.kind == "video":
                forward_keyframe_requests(sender, track.request_keyframe)
                session.link = LinkMonitor(sender)
            session.tracks.append(track)

    def _make_track(
        self, session: ViewerSession, camera: Camera, hub: PacketHub, queue: int
    ) -> PacketTrack:
        light = camera.light
        if hub.kind != "video" or light is None:
            return PacketTrack(hub, queue)
        quality = session.quality
        return PacketTrack(
            hub,
            queue,
            light=light.hub,
            light_queue_size=max(int(light.config.fps), 10),
            layer="low" if quality == "low" else "high",
            choose=(lambda: initial_layer(leaves_the_lan(session.pc)))
            if quality == "auto"
            else None,
        )

    def set_quality(self, session_id: str, quality: Quality) -> ViewerSession | None:
        """Change a viewer's quality; the video moves at the next keyframe, no renegotiation."""
        session = self._sessions.get(session_id)
        if session is None:
            return None
        session.quality = quality
        if quality != "auto":
            for track in session.tracks:
                track.switch(quality)
        return session

    def video_track(self, session: ViewerSession) -> PacketTrack | None:
        return next((t for t in session.tracks if t.kind == "video"), None)

    async def _adapt(self, session: ViewerSession) -> None:
        """quality=auto: once a second, the link's RTCP through the pure step (adapt.py)."""
        track = self.video_track(session)
        link = session.link
        if track is None or link is None or len(track.layers) < 2:
            return
        state: AdaptState | None = None
        while session.id in self._sessions:
            await asyncio.sleep(ADAPT_INTERVAL_S)
            if session.quality != "auto" or track.readyState != "live":
                state = None
                continue
            sample = await link.sample()
            logger.debug("viewer %s link: %s", session.id[:6], sample)
            if state is None:
                state = AdaptState(track.target, float(session.high_kbps))
            state = adapt_step(state, sample, time.monotonic(), self.adapt_config)
            if state.layer != track.target:
                logger.info(
                    "viewer %s of %s: %s -> %s (loss %s, rtt %s, estimate %s kbit/s)",
                    session.id[:6],
                    session.camera_id,
                    track.target,
                    state.layer,
                    sample.loss,
                    sample.rtt_s,
                    sample.estimate_kbps,
                )
                track.switch(state.layer)

    @staticmethod
    def _prefer_codec(pc: RTCPeerConnection, sender: RTCRtpSender, mime: str) -> None:
        # Must happen before setRemoteDescription, or the answer keeps VP8 (docs/media-notes.md).
        transceiver = next(t for t in pc.getTransceivers() if t.sender is sender)
        capabilities = RTCRtpSender.getCapabilities(sender.kind)
        codecs = [c for c in capabilities.codecs if c.mimeType.lower() == mime.lower()]
        transceiver.setCodecPreferences(codecs)

    def _watch(self, session: ViewerSession) -> None:
        pc = session.pc

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            state = pc.connectionState
            logger.debug("viewer %s of %s: %s", session.id[:6], session.camera_id, state)
            if state == "connected" and not session.connected.is_set():
                session.connected.set()
                self._spawn(self._adapt(session), f"whep-adapt-{session.id[:6]}")
            elif state in ("failed", "closed"):
                await self.close(session.id)

        self._spawn(self._connect_deadline(session), f"whep-deadline-{session.id[:6]}")

    async def _connect_deadline(self, session: ViewerSession) -> None:
        try:
            await asyncio.wait_for(session.connected.wait(), self._config.connect_timeout_s)
        except TimeoutError:
            logger.info("viewer %s never connected; closing", session.id[:6])
            await self.close(session.id)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self, session_id: str) -> bool:
        session = self._sessions.pop(session_id, None)
        if session is None:
            return False
        for track in session.tracks:
            track.stop()
        await close_peer(session.pc)
        return True

    async def close_camera(self, camera_id: str) -> int:
        """Hang up every viewer of a camera (removed, or restarted with a new source: the
        dashboard reconnects by itself). Returns how many there were."""
        ids = [s.id for s in self._sessions.values() if s.camera_id == camera_id]
        await asyncio.gather(*(self.close(i) for i in ids))
        return len(ids)

    async def close_user(self, user_id: int) -> None:
        await self.close_where(lambda session: session.owner == user_id)

    async def close_where(self, ended: Callable[[ViewerSession], bool]) -> int:
        """Hang up every viewer session for which ``ended(session)``; how many."""
        ids = [s.id for s in tuple(self._sessions.values()) if ended(s)]
        await asyncio.gather(*(self.close(i) for i in ids))
        return len(ids)

    def all_sessions(self) -> tuple[ViewerSession, ...]:
        return tuple(self._sessions.values())

    async def close_all(self) -> None:
        await asyncio.gather(*(self.close(i) for i in list(self._sessions)))
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def close_peer(pc: RTCPeerConnection) -> None:
    try:
        await pc.close()
    except AttributeError:
        # aiortc cannot close a peer whose offer failed before every transceiver got a
        # transport (found by tests/test_sdp_fuzz.py); stop the transports that exist.
        for transceiver in pc.getTransceivers():
            transport = transceiver.receiver.transport
            if transport is not None:
                await transport.stop()
                await transport.transport.stop()


def forward_keyframe_requests(sender: RTCRtpSender, request: Callable[[], None]) -> None:
    """PLI/FIR from the viewer must reach the shared encoder.

    For packet tracks aiortc only sets a private flag that its own (skipped) encoder would
    read, so we wrap the sender's hook (docs/media-notes.md).
    """
    original = sender._send_keyframe

    def send_keyframe() -> None:
        original()
        request()

    sender._send_keyframe = send_keyframe  # type: ignore[method-assign]
