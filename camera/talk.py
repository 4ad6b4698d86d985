"""Talk-back: a browser's microphone played on the camera's speaker, one talker at a time.

A WHIP-style session (``POST /api/cameras/{id}/talk`` with an SDP offer, ``DELETE`` to
end): the offer sends one audio track; our answer only receives. aiortc decodes the Opus
(once: there is one talker per camera) and a ``camera.speaker.Speaker`` thread writes it
to the camera's ALSA ``speaker:``. While someone talks, the camera's own microphone is
muted or ducked (``talk.microphone``) so the speaker does not come back through it, and
its sound detector rests. Sessions end on DELETE, when the peer goes away, when it never
connects, after ``talk.max_seconds``, when the camera restarts or is removed
(:meth:`TalkService.camera_changed`) and when the credentials they were opened with are
revoked (:meth:`TalkService.close_where`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from pydantic import BaseModel, ConfigDict, Field

from .camera import Camera
from .config import WebRTCConfig
from .errors import BadOffer, CameraError
from .ice import resolve, rtc_configuration
from .speaker import Speaker
from .webrtc import close_peer, parse_offer

logger = logging.getLogger(__name__)


class TalkConfig(BaseModel):
    """Who may talk through the cameras' speakers, and what the microphone does meanwhile."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    viewers: bool = Field(
        False, description="Viewers may talk too (admins always may, on cameras they see)."
    )
    microphone: Literal["mute", "duck"] = Field(
        "mute", description="While someone talks: silence the camera's microphone, or duck it."
    )
    duck_db: float = Field(
        -20.0, ge=-60, le=0, description="How far 'duck' lowers the microphone, in dB."
    )
    max_seconds: float = Field(
        300, ge=5, le=3600, description="A talk session ends by itself after this long."
    )


class NoSpeaker(CameraError):
    """The camera has no ``speaker:`` configured."""


class TalkBusy(CameraError):
    """Someone else is talking through this camera."""

    def __init__(self, message: str, talker: str) -> None:
        super().__init__(message)
        self.talker = talker


SpeakerOpener = Callable[[Camera], tuple[str, str]]  # -> (target, PyAV format)


def alsa_speaker(camera: Camera) -> tuple[str, str]:
    assert camera.config.speaker is not None
    return camera.config.speaker, "alsa"


@dataclass
class TalkSession:
    id: str
    camera: Camera
    pc: RTCPeerConnection
    speaker: Speaker
    user_id: int | None
    user_name: str
    credential: str | None = None  # the session or token it was opened with (revocation)
    expires_at: float | None = None  # epoch seconds when that credential ends
    answer_sdp: str = ""
    started: float = field(default_factory=time.time)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def validate_talk_offer(sdp: str) -> None:
    parsed = parse_offer(sdp)
    audio = [m for m in parsed.media if m.kind == "audio"]
    if len(parsed.media) != 1 or len(audio) != 1:
        raise BadOffer("a talk offer has exactly one audio section and nothing else")
    if audio[0].direction not in ("sendonly", "sendrecv", None):
        raise BadOffer("the audio section must send")
    if not any(c.mimeType.lower() == "audio/opus" for c in audio[0].rtp.codecs):
        raise BadOffer("the offer does not send Opus")
    if audio[0].ice is None or not audio[0].ice.usernameFragment or not audio[0].dtls:
        raise BadOffer("the audio section has no ICE credentials or DTLS fingerprint")


class TalkService:
    """At most one talk session per camera."""

    def __init__(
        self,
        webrtc: WebRTCConfig,
        config: TalkConfig,
        open_speaker: SpeakerOpener = alsa_speaker,
        on_change: Callable[[Camera, TalkSession | None], None] | None = None,
    ) -> None:
        self._webrtc = webrtc
        self.config = config
        self.open_speaker = open_speaker
        self._on_change = on_change
        self._by_camera: dict[str, TalkSession] = {}
        self._ending: set[asyncio.Task[bool]] = set()

    def current(self, camera_id: str) -> TalkSession | None:
        return self._by_camera.get(camera_id)

    async def start(
        self,
        camera: Camera,
        offer_sdp: str,
        user_id: int | None,
        user_name: str,
        credential: str | None = None,
        expires_at: float | None = None,
    ) -> TalkSession:
        if camera.config.speaker is None:
            raise NoSpeaker(f"camera {camera.id} has no speaker configured")
        validate_talk_offer(offer_sdp)
        busy = self._by_camera.get(camera.id)
        if busy is not None:
            raise TalkBusy(f"{busy.user_name} is talking on camera {camera.id}", busy.user_name)
        session_id = secrets.token_urlsafe(16)
        pc = RTCPeerConnection(
            rtc_configuration(resolve(self._webrtc, f"talk-{session_id[:8]}", time.time()))
        )
        target, fmt = self.open_speaker(camera)
        speaker = Speaker(f"camera-{camera.id}-speaker", target, fmt)
        session = TalkSession(
            session_id, camera, pc, speaker, user_id, user_name, credential, expires_at
        )
        self._by_camera[camera.id] = session  # claimed before the first await
        try:
            await self._answer(session, offer_sdp)
        except BaseException:
            await self.stop(session)
            raise
        speaker.start()
        self._set_microphone(camera, talking=True)
        session.tasks.append(
            asyncio.create_task(self._deadline(session), name=f"talk-deadline-{session_id[:6]}")
        )
        if self._on_change:
            self._on_change(camera, session)
        logger.info("%s talks on camera %s", user_name, camera.id)
        return session

    async def _answer(self, session: TalkSession, offer_sdp: str) -> None:
        pc = session.pc

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio":
                session.tasks.append(
                    asyncio.create_task(
                        self._pump(session, track), name=f"talk-audio-{session.id[:6]}"
                    )
                )

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self.stop(session)

        try:
            await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
            for transceiver in pc.getTransceivers():
                transceiver.direction = "recvonly"
            await pc.setLocalDescription(await pc.createAnswer())
        except (ValueError, AttributeError, KeyError, TypeError, AssertionError) as error:
            raise BadOffer(f"cannot answer this offer: {error or type(error).__name__}") from None
        session.answer_sdp = pc.localDescription.sdp

    async def _pump(self, session: TalkSession, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                session.speaker.play(frame)  # type: ignore[arg-type]

    async def _deadline(self, session: TalkSession) -> None:
        connect = self._webrtc.connect_timeout_s
        await asyncio.sleep(connect)
        if session.pc.connectionState != "connected":
            logger.info("talk session %s never connected; closing", session.id[:6])
        else:
            await asyncio.sleep(max(0.0, self.config.max_seconds - connect))
        await self.stop(session)

    async def stop(self, session: TalkSession) -> bool:
        """End a session (idempotent): hang up, drain the speaker, unmute the microphone."""
        if self._by_camera.get(session.camera.id) is not session:
            return False
        del self._by_camera[session.camera.id]
        current = asyncio.current_task()
        for task in session.tasks:
            if task is not current:
                task.cancel()
        await close_peer(session.pc)
        await asyncio.to_thread(session.speaker.stop)
        self._set_microphone(session.camera, talking=False)
        if self._on_change:
            self._on_change(session.camera, None)
        logger.info("%s stopped talking on camera %s", session.user_name, session.camera.id)
        return True

    def _set_microphone(self, camera: Camera, talking: bool) -> None:
        if not talking:
            camera.set_microphone_gain(1.0)
        elif self.config.microphone == "mute":
            camera.set_microphone_gain(0.0)
        else:
            camera.set_microphone_gain(10 ** (self.config.duck_db / 20))

    def session(self, session_id: str) -> TalkSession | None:
        return next((s for s in self._by_camera.values() if s.id == session_id), None)

    def sessions(self) -> list[TalkSession]:
        return list(self._by_camera.values())

    def camera_changed(self, old: Camera | None, new: Camera | None) -> None:
        """A camera restarted or was removed (``CameraManager.on_camera``, on the loop): a
        session on the old one ends (its speaker belongs to a camera that is gone)."""
        session = self._by_camera.get(old.id) if old is not None else None
        if session is None or session.camera is not old:
            return
        task = asyncio.create_task(self.stop(session), name=f"talk-end-{session.id[:6]}")
        self._ending.add(task)
        task.add_done_callback(self._ending.discard)

    async def close_where(self, ended: Callable[[TalkSession], bool]) -> int:
        """End every session ``ended`` picks (revoked credentials); how many."""
        closing = [s for s in self._by_camera.values() if ended(s)]
        for session in closing:
            await self.stop(session)
        return len(closing)

    async def close_all(self) -> None:
        for session in list(self._by_camera.values()):
            await self.stop(session)
        await asyncio.gather(*self._ending, return_exceptions=True)
