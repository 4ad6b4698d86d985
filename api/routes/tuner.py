"""``/api/cameras/{id}/tuner``: what the motion detector sees, live, with trial settings.

A WebSocket for admins, open while the dashboard's motion tuner is. The server attaches a
``camera.tuner.Tuner`` to the camera's analyzer (a copy of the detector's state with the
trial settings; the real detector is untouched) and sends one ``frame`` report per
analysed frame; the client sends ``{"type": "trial", "motion": {...}}`` (a merge patch over
the camera's saved motion settings) whenever a slider moves. Nothing is saved here: saving
is ``PATCH /api/cameras/{id}``. Open tuners are kept in ``Services.tuners``
(``api.services.tuners``) so that revoking their credentials closes them (4401). Protocol
and close codes: docs/api.md "Motion tuner".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, WebSocket
from pydantic import ValidationError
from starlette.websockets import WebSocketDisconnect

from camera.camera import Camera
from camera.errors import UnknownCamera
from camera.motion import MotionConfig
from camera.tuner import Report, Tuner

from .. import config_layers as layers
from ..accounts import Principal
from ..security import authorize_websocket, services_of
from ..services.tuners import TunerSocket

router = APIRouter(tags=["config"])

MAX_TUNERS = 4  # per camera: each costs one more detector step per analysed frame
CLOSE_NOT_ADMIN = 4403
CLOSE_NO_CAMERA = 4404
CLOSE_CAMERA_CHANGED = 4410  # the camera restarted or was removed: open the tuner again
CLOSE_BUSY = 4429


@router.websocket("/api/cameras/{camera_id}/tuner")
async def tuner(
    websocket: WebSocket,
    camera_id: Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")],
    principal: Annotated[Principal, Depends(authorize_websocket)],
) -> None:
    services = services_of(websocket)
    await websocket.accept()
    if not principal.is_admin:
        await websocket.close(CLOSE_NOT_ADMIN, "only an admin may tune motion detection")
        return
    try:
        camera = services.cameras.get(camera_id)
    except UnknownCamera:
        await websocket.close(CLOSE_NO_CAMERA, f"no camera {camera_id}")
        return
    if camera.tuners >= MAX_TUNERS:
        await websocket.close(CLOSE_BUSY, "too many motion tuners open on this camera")
        return
    socket = services.tuners.open(principal, camera.id)
    loop = asyncio.get_running_loop()

    def deliver(report: Report) -> None:  # on the camera's reader thread
        loop.call_soon_threadsafe(socket.offer, report)

    session = Tuner(camera.config.motion, deliver)
    camera.attach_tuner(session)
    try:
        await websocket.send_json(
            {
                "type": "hello",
                "camera": camera.id,
                "motion": camera.config.motion.model_dump(mode="json"),
                "analysis_fps": camera.config.analysis_fps,
            }
        )
        receiving = asyncio.create_task(_receive(websocket, camera, session), name="tuner-in")
        try:
            await _send(websocket, socket, lambda: _current(services.cameras, camera))
        finally:
            receiving.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                await receiving
    except WebSocketDisconnect:
        pass
    finally:
        camera.detach_tuner(session)
        services.tuners.closed(socket)


def _current(cameras: Any, camera: Camera) -> bool:
    try:
        return bool(cameras.get(camera.id) is camera)
    except UnknownCamera:
        return False


async def _send(websocket: WebSocket, socket: TunerSocket, current: Any) -> None:
    while True:
        try:
            report = await asyncio.wait_for(socket.reports.get(), 1.0)
        except TimeoutError:
            if not current():
                await websocket.close(CLOSE_CAMERA_CHANGED, "the camera changed: reopen")
                return
            continue
        if report is None:  # closed from outside: the credentials were revoked
            await websocket.close(socket.close_code or 1000, "credentials revoked")
            return
        await websocket.send_text(json.dumps(report, separators=(",", ":")))


async def _receive(websocket: WebSocket, camera: Camera, session: Tuner) -> None:
    while True:
        text = await websocket.receive_text()
        try:
            try:
                message = json.loads(text)
            except ValueError:
                message = None
            if not isinstance(message, dict) or message.get("type") != "trial":
                raise ValueError('send {"type": "trial", "motion": {...}}')
            patch = message.get("motion")
            if not isinstance(patch, dict):
                raise ValueError("motion must be an object (a merge patch of the settings)")
            saved = camera.config.motion.model_dump(mode="json")
            session.trial = MotionConfig.model_validate(layers.merge_patch(saved, patch))
        except ValidationError as error:
            problems = [
                {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                for e in error.errors()
            ]
            await websocket.send_json({"type": "error", "detail": str(error), "errors": problems})
        except ValueError as error:
            await websocket.send_json({"type": "error", "detail": str(error)})
