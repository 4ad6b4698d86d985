"""Cameras added, changed and removed at run time, and sources tried first (admins).

A camera object has the schema of a camera in the YAML file (docs/config.md). Changes go
through ``api.services.config_service`` (validated whole, stored in the data dir, applied
to that camera only) and are audited.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from camera.config import CameraConfig
from camera.probe import probe
from camera.redact import redact

from .. import config_layers as layers
from ..config_store import FieldError, InvalidSettings, validate
from ..deps import AdminDep, CameraId, ServicesDep
from ..errors import NotFound, Unprocessable
from ..models import Event, Recording
from ..services import Services
from ..services.config_service import describe
from .config import ERRORS, IfMatch, Patch, audit

router = APIRouter(tags=["config"])
CameraBody = Annotated[
    dict[str, Any],
    Body(description="A camera object, as in the YAML file's cameras: list (docs/config.md)."),
]


def camera_body(services: Services, camera_id: str) -> dict[str, Any]:
    service = services.configuration
    config = next(c for c in service.settings.cameras if c.id == camera_id)
    prefix = f"cameras.{camera_id}."
    return {
        "camera": layers.redacted(config.model_dump(mode="json")),
        "origins": {
            path.removeprefix(prefix): where
            for path, where in service.origins().items()
            if path.startswith(prefix)
        },
        "etag": service.camera_version(camera_id),
    }


@router.get("/api/cameras/{camera_id}/config", responses=ERRORS)
async def get_camera_config(
    camera_id: CameraId, admin: AdminDep, services: ServicesDep, response: Response
) -> dict[str, Any]:
    """One camera's effective settings (secrets redacted), where each comes from, and the
    version (``etag``, also the ``ETag`` header) to send back in ``If-Match``."""
    if not any(c.id == camera_id for c in services.configuration.settings.cameras):
        raise NotFound(f"no camera with id {camera_id!r}")
    body = camera_body(services, camera_id)
    response.headers["ETag"] = body["etag"]
    return body


@router.post("/api/cameras", status_code=201, responses=ERRORS)
async def add_camera(
    body: CameraBody,
    request: Request,
    admin: AdminDep,
    services: ServicesDep,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """Add a camera; it starts at once (409 if the id exists)."""
    applied = await services.configuration.add_camera(body, if_match, admin.name)
    camera_id = str(body["id"])
    await audit(services, request, admin.name, f"camera:{camera_id}", {"added": body})
    response.headers["Location"] = f"/api/cameras/{camera_id}"
    answer = camera_body(services, camera_id)
    response.headers["ETag"] = answer["etag"]
    return {**answer, "applied": describe(applied)}


@router.patch("/api/cameras/{camera_id}", responses=ERRORS)
async def patch_camera(
    camera_id: CameraId,
    patch: Patch,
    request: Request,
    admin: AdminDep,
    services: ServicesDep,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """Change a camera (only what is sent; null resets a key to its default). Detector,
    recording and schedule changes apply to the running camera; source changes restart
    it (its viewers reconnect)."""
    services.cameras.get(camera_id)  # 404 first
    applied = await services.configuration.patch_camera(camera_id, patch, if_match, admin.name)
    await audit(services, request, admin.name, f"camera:{camera_id}", patch)
    answer = camera_body(services, camera_id)
    response.headers["ETag"] = answer["etag"]
    return {**answer, "applied": describe(applied)}


@router.delete("/api/cameras/{camera_id}", responses=ERRORS)
async def remove_camera(
    camera_id: CameraId,
    request: Request,
    admin: AdminDep,
    services: ServicesDep,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """Remove a camera: its viewers are hung up, its recorder closes its files, it stops.
    Its recordings and events stay (the answer counts them); retention deletes them in
    time, or an admin does."""
    services.cameras.get(camera_id)  # 404 first
    applied = await services.configuration.remove_camera(camera_id, if_match, admin.name)
    await audit(services, request, admin.name, f"camera:{camera_id}", {"removed": camera_id})
    await services.events.flush()
    await services.recordings.flush()
    events, recordings = await services.db.run(lambda db: _kept(db, camera_id))
    return {
        "removed": camera_id,
        "kept": {"events": events, "recordings": recordings},
        "detail": f"camera {camera_id} is removed; its {events} events and {recordings} "
        "recordings are kept",
        "applied": describe(applied),
    }


def _kept(db: Session, camera_id: str) -> tuple[int, int]:
    events = db.scalar(select(func.count()).select_from(Event).where(Event.camera == camera_id))
    recordings = db.scalar(
        select(func.count()).select_from(Recording).where(Recording.camera == camera_id)
    )
    return int(events or 0), int(recordings or 0)


@router.post("/api/sources/test", responses=ERRORS)
async def test_source(body: CameraBody, admin: AdminDep, services: ServicesDep) -> dict[str, Any]:
    """Open a source as a camera with these settings would, and show its first picture
    (``snapshot``, a JPEG data URL) or why it fails (``error``, in words; ``detail``,
    FFmpeg's). ``id`` may be left out. Nothing is saved."""
    config = _camera_config({"id": "test", **body})
    user = _user_of(services, config)
    if user is not None:
        return {
            "ok": False,
            "error": f"camera {user} is using {redact(config.source)}; a device can be "
            "opened by one camera at a time",
        }
    result = await asyncio.wait_for(asyncio.to_thread(probe, config), timeout=30)
    snapshot = None
    if result.jpeg is not None:
        snapshot = "data:image/jpeg;base64," + base64.b64encode(result.jpeg).decode()
    return {
        "ok": result.ok,
        "error": result.error,
        "detail": result.detail,
        "codec": result.codec,
        "width": result.width,
        "height": result.height,
        "fps": result.fps,
        "audio": result.audio,
        "snapshot": snapshot,
    }


def _camera_config(body: dict[str, Any]) -> CameraConfig:
    """The body as a camera, with ``${SENTRYCAM_*}`` expanded; 422 naming bad fields."""
    try:
        return validate({"cameras": [body]}).cameras[0]
    except InvalidSettings as error:
        prefix = f"cameras.{body.get('id')}."
        found = [FieldError(e.field.removeprefix(prefix), e.message, e.value) for e in error.errors]
        raise Unprocessable(found) from None


def _user_of(services: Services, config: CameraConfig) -> str | None:
    """A running camera that holds the same device (V4L2 node or ALSA microphone)."""
    for camera in services.cameras.all():
        other = camera.config
        if config.source_kind == "v4l2" and other.source == config.source:
            return camera.id
        if config.audio and config.audio not in ("source", "demo") and other.audio == config.audio:
            return camera.id
    return None
