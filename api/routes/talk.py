"""Talk-back (WHIP-style): POST an SDP offer that sends the browser's microphone, DELETE to
stop; GET says who is talking. One talker per camera; viewers only if ``talk.viewers``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response

from camera.talk import NoSpeaker, TalkBusy

from ..deps import CameraDep, PrincipalDep, ServicesDep
from ..errors import Conflict, Forbidden, NotFound
from ..payloads import talk_state
from ..schemas import Problem, TalkState
from .whep import SDP_OFFER_BODY, SessionId, read_offer

router = APIRouter(tags=["talk"])


@router.get("/api/cameras/{camera_id}/talk", response_model=TalkState)
async def talk_status(camera: CameraDep, services: ServicesDep) -> dict[str, Any]:
    """Whether someone talks through the camera's speaker now, and who."""
    return {
        "speaker": camera.config.speaker is not None,
        **talk_state(services.talk.current(camera.id)),
    }


@router.post(
    "/api/cameras/{camera_id}/talk",
    status_code=201,
    response_class=Response,
    openapi_extra=SDP_OFFER_BODY,
    responses={
        201: {
            "content": {"application/sdp": {}},
            "description": "The SDP answer (receive only); `Location` names the session.",
        },
        400: {"model": Problem},
        403: {"model": Problem, "description": "Viewers may not talk (talk.viewers)."},
        409: {"model": Problem, "description": "Someone else is talking, or no speaker."},
        413: {"model": Problem},
        415: {"model": Problem},
    },
)
async def talk_start(
    request: Request,
    camera: CameraDep,
    services: ServicesDep,
    principal: PrincipalDep,
    content_type: Annotated[str | None, Header()] = None,
) -> Response:
    """Talk through the camera's speaker: post an offer sending one Opus audio track."""
    if not principal.is_admin and not services.talk.config.viewers:
        raise Forbidden("only admins may talk through cameras (talk.viewers is off)")
    offer = await read_offer(request, content_type)
    expires = principal.expires_at.timestamp() if principal.expires_at is not None else None
    try:
        session = await services.talk.start(
            camera, offer, principal.user_id, principal.name, principal.credential, expires
        )
    except TalkBusy as busy:
        raise Conflict(str(busy)) from None
    except NoSpeaker as error:
        raise Conflict(str(error)) from None
    return Response(
        session.answer_sdp,
        status_code=201,
        media_type="application/sdp",
        headers={"Location": f"/api/cameras/{camera.id}/talk/{session.id}"},
    )


@router.delete(
    "/api/cameras/{camera_id}/talk/{session_id}",
    status_code=204,
    response_class=Response,
    responses={404: {"model": Problem}},
)
async def talk_stop(
    camera: CameraDep, session_id: SessionId, services: ServicesDep, principal: PrincipalDep
) -> Response:
    """Stop talking (your own session; an admin may end anyone's)."""
    session = services.talk.session(session_id)
    mine = session is not None and (principal.is_admin or session.user_id == principal.user_id)
    if session is None or session.camera.id != camera.id or not mine:
        raise NotFound("no such talk session (it may have ended already)")
    await services.talk.stop(session)
    return Response(status_code=204)
