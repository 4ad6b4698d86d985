from __future__ import annotations

import asyncio

from fastapi import APIRouter, Query, Response

from camera.camera import Camera
from camera.modes import ModeChoice
from camera.snapshots import encode_jpeg

from ..deps import CameraDep, PrincipalDep, ServicesDep
from ..schemas import (
    CameraDevice,
    CameraLinks,
    CameraList,
    CameraMode,
    CameraOut,
    LightStream,
    Problem,
)
from ..services import Services

router = APIRouter(tags=["cameras"])


def camera_out(camera: Camera, services: Services) -> CameraOut:
    info = camera.info()
    base = f"/api/cameras/{camera.id}"
    return CameraOut(
        id=info.id,
        name=info.name,
        status=info.status,
        error=info.error,
        source_kind=info.source_kind,
        width=info.width,
        height=info.height,
        fps=info.fps,
        bitrate_kbps=info.bitrate_kbps,
        encoder=info.encoder,
        audio=info.audio,
        viewers=services.webrtc.viewers(camera.id),
        max_viewers=services.cameras.max_viewers(camera),
        links=CameraLinks(
            whep=f"{base}/whep",
            snapshot=f"{base}/snapshot.jpg",
            talk=f"{base}/talk" if camera.config.speaker else None,
        ),
        mode=mode_out(info.mode),
        device=(
            CameraDevice(
                path=info.device.path, identity=info.device.identity, card=info.device.card
            )
            if info.device
            else None
        ),
        microphone=info.microphone,
        speaker=camera.config.speaker is not None,
        light=_light(camera),
    )


def mode_out(mode: ModeChoice | None) -> CameraMode | None:
    if mode is None:
        return None
    return CameraMode(
        fourcc=mode.fourcc,
        format=mode.label,
        width=mode.width,
        height=mode.height,
        fps=mode.fps,
        passthrough=mode.passthrough,
        reason=mode.reason,
    )


def _light(camera: Camera) -> LightStream | None:
    if camera.light is None:
        return None
    config = camera.light.config
    return LightStream(
        width=config.width, height=config.height, fps=config.fps, bitrate_kbps=config.bitrate_kbps
    )


@router.get("/api/cameras", response_model=CameraList)
async def list_cameras(services: ServicesDep, principal: PrincipalDep) -> CameraList:
    """Every camera the caller may see, with its live status."""
    cameras = [c for c in services.cameras.all() if principal.can_see(c.id)]
    return CameraList(
        cameras=[camera_out(c, services) for c in cameras],
        config_source=services.config.source,
        notice=services.config.notice,
    )


@router.get(
    "/api/cameras/{camera_id}",
    response_model=CameraOut,
    responses={404: {"model": Problem}},
)
async def get_camera(camera: CameraDep, services: ServicesDep) -> CameraOut:
    return camera_out(camera, services)


@router.get(
    "/api/cameras/{camera_id}/snapshot.jpg",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "The current picture."},
        404: {"model": Problem},
        503: {"model": Problem, "description": "The camera is offline."},
    },
)
async def snapshot(
    camera: CameraDep,
    width: int | None = Query(None, ge=32, le=3840, description="Scale down to this width."),
    quality: int = Query(80, ge=10, le=95, description="JPEG quality."),
) -> Response:
    """The current picture as JPEG, for thumbnails and home-automation tools."""
    frame = await camera.latest_frame()
    data = await asyncio.to_thread(encode_jpeg, frame, width, quality)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
