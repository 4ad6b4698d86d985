from __future__ import annotations

import asyncio
from fractions import Fraction

import av
from fastapi import APIRouter, Query, Response

from camera.camera import Camera

from ..deps import CameraDep, PrincipalDep, ServicesDep
from ..schemas import CameraLinks, CameraList, CameraOut, Problem
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
        links=CameraLinks(whep=f"{base}/whep", snapshot=f"{base}/snapshot.jpg"),
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


def _jpeg(frame: av.VideoFrame, width: int | None, quality: int) -> bytes:
    """JPEG through FFmpeg's mjpeg encoder (keeps OpenCV off the live-view path)."""
    out_w, out_h = frame.width, frame.height
    if width is not None and width < frame.width:
        out_w, out_h = width // 2 * 2, max(2, round(frame.height * width / frame.width / 2) * 2)
    encoder = av.CodecContext.create("mjpeg", "w")
    encoder.width, encoder.height = out_w, out_h
    encoder.pix_fmt = "yuvj420p"
    encoder.time_base = Fraction(1, 1)
    # FFmpeg's quantiser runs 2 (best) .. 31 (worst); map the familiar 10..95 onto it.
    encoder.qmin = encoder.qmax = round(2 + (95 - quality) * 29 / 85)
    encoder.open()
    image = frame.reformat(width=out_w, height=out_h, format="yuvj420p")
    return b"".join(bytes(packet) for packet in encoder.encode(image))


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
    data = await asyncio.to_thread(_jpeg, frame, width, quality)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
