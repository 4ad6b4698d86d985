"""Injected dependencies: ``Annotated`` aliases the routes declare."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request
from pydantic import AfterValidator

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

# Database ids are signed 64-bit integers: a larger number from outside must be a 422, not
# an OverflowError deep in the database driver (a 500).
MAX_DB_ID = 2**63 - 1


def _fits_an_id(value: str | None) -> str | None:
    if value is not None and int(value) > MAX_DB_ID:
        raise ValueError(f"must be at most {MAX_DB_ID}")
    return value


Cursor = Annotated[
    str | None,
    Query(pattern=r"^[0-9]{1,19}$", description="The previous page's next_cursor."),
    AfterValidator(_fits_an_id),
]

CameraId = Annotated[
    str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$", description="Camera id from the config.")
]


def get_camera(camera_id: CameraId, services: ServicesDep, principal: PrincipalDep) -> Camera:
    camera = services.cameras.get(camera_id)  # 404 for unknown ids
    if not principal.can_see(camera_id):
        raise Forbidden(f"you may not see camera {camera_id!r}")
    return camera


CameraDep = Annotated[Camera, Depends(get_camera)]
