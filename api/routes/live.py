"""``/api/ws``: the live channel (camera status, events, alerts), with resume."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, WebSocket

from ..accounts import Principal
from ..deps import MAX_DB_ID
from ..payloads import camera_message
from ..prepared_frames import frame_writer
from ..security import authorize_websocket, services_of
from ..services.live_channel import LiveConnection

router = APIRouter(tags=["live"])


@router.websocket("/api/ws")
async def live(
    websocket: WebSocket,
    principal: Annotated[Principal, Depends(authorize_websocket)],
    last_id: Annotated[
        int | None,
        Query(
            ge=0,
            le=MAX_DB_ID,
            description="The last message id seen: everything after it is replayed.",
        ),
    ] = None,
) -> None:
    services = services_of(websocket)
    await websocket.accept()
    cameras = [c for c in services.cameras.all() if principal.can_see(c.id)]
    hello = {
        "type": "hello",
        "user": principal.name,
        "cameras": [
            {**camera_message(camera), "armed": services.events.armed(camera.id)}
            for camera in cameras
        ],
    }
    connection = LiveConnection(websocket, principal, frame_writer(websocket.scope))
    await services.live.serve(connection, hello, last_id)
