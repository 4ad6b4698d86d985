"""WebRTC-HTTP Egress Protocol (RFC 9725): one POST with the offer, one DELETE to hang up.

The server gathers all its ICE candidates before answering, so clients need no trickle
ICE; PATCH is therefore not offered (405), as the RFC allows.
"""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query, Request, Response

from camera.errors import BadOffer
from camera.ice import resolve
from camera.webrtc import MAX_OFFER_BYTES

from ..deps import CameraDep, PrincipalDep, ServicesDep
from ..errors import NotFound, PayloadTooLarge, UnsupportedMediaType
from ..schemas import IceServerOut, Problem, ViewerQuality, WebRTCSettings

router = APIRouter(tags=["webrtc"])

SessionId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
# An SDP offer as the request body, for the OpenAPI document (WHEP and talk-back).
SDP_OFFER_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/sdp": {"schema": {"type": "string"}}},
    }
}
QualityQuery = Annotated[
    Literal["high", "low", "auto"],
    Query(description="high: the main stream; low: the light one; auto: chosen by the link."),
]


async def read_offer(request: Request, content_type: str | None) -> str:
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type != "application/sdp":
        raise UnsupportedMediaType("the offer must be sent as Content-Type: application/sdp")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_OFFER_BYTES:
            raise PayloadTooLarge(f"the offer is larger than {MAX_OFFER_BYTES} bytes")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadOffer("the offer is not UTF-8 text") from None


@router.get("/api/webrtc", response_model=WebRTCSettings)
async def webrtc_settings(services: ServicesDep, principal: PrincipalDep) -> WebRTCSettings:
    """What a browser needs before it makes its offer: the configured STUN/TURN servers,
    with TURN logins minted for this user when the server has a shared secret."""
    config = services.config.settings.webrtc
    resolved = resolve(config, f"u{principal.user_id}", time.time())
    return WebRTCSettings(
        ice_servers=[
            IceServerOut(urls=list(s.urls), username=s.username, credential=s.credential)
            for s in resolved.servers
        ],
        expires_at=resolved.expires_at,
    )


@router.post(
    "/api/cameras/{camera_id}/whep",
    status_code=201,
    response_class=Response,
    openapi_extra=SDP_OFFER_BODY,
    responses={
        201: {
            "content": {"application/sdp": {}},
            "description": "The SDP answer; `Location` names the session for DELETE.",
        },
        400: {"model": Problem, "description": "Malformed or unusable offer."},
        404: {"model": Problem},
        413: {"model": Problem},
        415: {"model": Problem},
        503: {"model": Problem, "description": "Viewer limit reached or camera offline."},
    },
)
async def whep_offer(
    request: Request,
    camera: CameraDep,
    services: ServicesDep,
    principal: PrincipalDep,
    content_type: Annotated[str | None, Header()] = None,
    quality: QualityQuery = "high",
) -> Response:
    """Start watching a camera: post an SDP offer, get the answer (H.264 + Opus).

    `quality`: `high` the main stream, `low` the camera's light stream, `auto` starts low
    on a link that leaves the LAN and moves between them with the link's loss, round trip
    and bandwidth estimate (at a keyframe, no renegotiation). Without a light stream
    (`substream.enabled: false`) every choice gets the main one."""
    offer = await read_offer(request, content_type)
    max_viewers = services.cameras.max_viewers(camera)
    expires = principal.expires_at.timestamp() if principal.expires_at is not None else None
    session = await services.webrtc.answer(
        camera, offer, max_viewers, principal.user_id, principal.credential, expires, quality
    )
    location = f"/api/cameras/{camera.id}/whep/{session.id}"
    return Response(
        session.answer_sdp,
        status_code=201,
        media_type="application/sdp",
        headers={"Location": location},
    )


@router.put(
    "/api/cameras/{camera_id}/whep/{session_id}/quality",
    response_model=ViewerQuality,
    responses={404: {"model": Problem}},
)
async def whep_quality(
    camera: CameraDep,
    session_id: SessionId,
    body: ViewerQuality,
    services: ServicesDep,
    principal: PrincipalDep,
) -> ViewerQuality:
    """Change a session's quality (high, low, auto) without renegotiating: the video moves
    to the other stream at its next keyframe."""
    _own_session(services, camera.id, session_id, principal)
    session = services.webrtc.set_quality(session_id, body.quality)
    assert session is not None
    track = services.webrtc.video_track(session)
    return ViewerQuality(quality=session.quality, layer=track.target if track else None)


def _own_session(
    services: ServicesDep, camera_id: str, session_id: str, principal: PrincipalDep
) -> None:
    session = services.webrtc.session(session_id)
    mine = session is not None and (principal.is_admin or session.owner == principal.user_id)
    if session is None or session.camera_id != camera_id or not mine:
        raise NotFound("no such viewer session (it may have ended already)")


@router.delete(
    "/api/cameras/{camera_id}/whep/{session_id}",
    status_code=204,
    response_class=Response,
    responses={404: {"model": Problem}},
)
async def whep_delete(
    camera: CameraDep, session_id: SessionId, services: ServicesDep, principal: PrincipalDep
) -> Response:
    """Hang up a viewer session (your own; an admin may hang up anyone's)."""
    _own_session(services, camera.id, session_id, principal)
    await services.webrtc.close(session_id)
    return Response(status_code=204)
