"""Capture devices (``GET /api/devices``) and a webcam's V4L2 controls."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from camera.config import ControlSetting
from camera.controls import Control

from ..deps import AdminDep, CameraDep, ServicesDep
from ..schemas import Problem

router = APIRouter(tags=["devices"])

CONTROLS_EXAMPLE = {"brightness": 140, "power_line_frequency": "50 Hz"}
ControlsIn = Annotated[
    dict[str, ControlSetting],
    Body(
        examples=[CONTROLS_EXAMPLE],
        description="Control name to value (menu: index or label).",
    ),
]


def _controls_json(camera: str, path: str, controls: list[Control]) -> dict[str, Any]:
    return {"camera": camera, "device": path, "controls": [c.json() for c in controls]}


@router.get("/api/devices", responses={403: {"model": Problem}})
async def list_devices(services: ServicesDep, admin: AdminDep) -> dict[str, Any]:
    """Every webcam and microphone plugged in now, with its modes, identity, paired
    microphone and the camera using it (docs/api.md, "Devices"). Admins only."""
    return await services.devices.listing()


@router.get(
    "/api/cameras/{camera_id}/controls",
    responses={404: {"model": Problem}, 409: {"model": Problem}, 503: {"model": Problem}},
)
async def get_controls(camera: CameraDep, services: ServicesDep) -> dict[str, Any]:
    """The webcam's V4L2 controls with their ranges and current values."""
    path, controls = await services.devices.read_controls(camera)
    return _controls_json(camera.id, path, controls)


@router.patch(
    "/api/cameras/{camera_id}/controls",
    responses={
        400: {"model": Problem},
        403: {"model": Problem},
        404: {"model": Problem},
        409: {"model": Problem},
        503: {"model": Problem},
    },
)
async def patch_controls(
    camera: CameraDep,
    services: ServicesDep,
    admin: AdminDep,
    values: ControlsIn,
) -> dict[str, Any]:
    """Set controls now (all or none), keep them across restarts and reconnects."""
    path, controls = await services.devices.set_controls(camera, values)
    return _controls_json(camera.id, path, controls)
