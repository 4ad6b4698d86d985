"""Injected dependencies: ``Annotated`` aliases the routes declare."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from camera.camera import Camera
from camera.errors import UnknownCamera

from .security import Principal, authorize
from .services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
PrincipalDep = Annotated[Principal, Depends(authorize)]

CameraId = Annotated[
    str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$", description="Camera id from the config.")
]


def get_camera(camera_id: CameraId, services: ServicesDep, principal: PrincipalDep) -> Camera:
    # A camera the principal may not see is reported exactly like one that does not exist.
    if not principal.can_see(camera_id):
        raise UnknownCamera(f"no camera with id {camera_id!r}")
    return services.cameras.get(camera_id)


CameraDep = Annotated[Camera, Depends(get_camera)]
