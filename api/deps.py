"""Injected dependencies: ``Annotated`` aliases the routes declare."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from camera.camera import Camera

from .accounts import Principal
from .errors import Forbidden, Unauthorized
from .security import authorize, require_admin
from .services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
MaybePrincipal = Annotated[Principal | None, Depends(authorize)]


def current_user(principal: MaybePrincipal) -> Principal:
    if principal is None:
        raise Unauthorized("log in first")
    return principal


def current_admin(principal: MaybePrincipal) -> Principal:
    return require_admin(principal)


PrincipalDep = Annotated[Principal, Depends(current_user)]
AdminDep = Annotated[Principal, Depends(current_admin)]

CameraId = Annotated[
    str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$", description="Camera id from the config.")
]


def get_camera(camera_id: CameraId, services: ServicesDep, principal: PrincipalDep) -> Camera:
    camera = services.cameras.get(camera_id)  # 404 for unknown ids
    if not principal.can_see(camera_id):
        raise Forbidden(f"you may not see camera {camera_id!r}")
    return camera


CameraDep = Annotated[Camera, Depends(get_camera)]
