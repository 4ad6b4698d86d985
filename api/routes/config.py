"""The configuration, read and changed at run time (admins): the whole, one section.

Changes are JSON Merge Patches (RFC 7396) checked with ``If-Match`` against the version
(``ETag``) the client read; docs/api.md "Configuration". Cameras have routes of their
own (``api.routes.camera_config``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Path, Request, Response

from .. import config_layers as layers
from ..deps import AdminDep, ServicesDep
from ..schemas import Problem
from ..security import client_address
from ..services import Services
from ..services.config_service import EDITABLE_SECTIONS, describe

router = APIRouter(tags=["config"])
ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"model": Problem},
    404: {"model": Problem},
    409: {"model": Problem, "description": "The dashboard's settings file is not applied."},
    412: {"model": Problem, "description": "Changed since the If-Match version: reload."},
    422: {"model": Problem, "description": "Invalid: ``errors`` names every field."},
}
Section = Annotated[Literal[EDITABLE_SECTIONS], Path(description="An editable section.")]  # type: ignore[valid-type]
IfMatch = Annotated[
    str | None,
    Header(description="The ETag this change is based on; 412 if it is not current."),
]
Patch = Annotated[dict[str, Any], Body(description="A JSON Merge Patch: null resets a key.")]


def config_body(services: Services) -> dict[str, Any]:
    service = services.configuration
    settings = service.settings
    return {
        "settings": layers.redacted(settings.model_dump(mode="json")),
        "origins": service.origins(),
        "etag": service.version(),
        "versions": {
            "cameras": {c.id: service.camera_version(c.id) for c in settings.cameras},
            "sections": {s: service.section_version(s) for s in EDITABLE_SECTIONS},
        },
        "editable": ["cameras", *EDITABLE_SECTIONS],
        "file": str(service.layers.path) if service.layers.path else None,
        "overlay": str(services.data_dir / "settings.yaml"),
        "overlay_error": service.overlay_error,
    }


@router.get("/api/config", responses=ERRORS)
async def get_config(admin: AdminDep, services: ServicesDep, response: Response) -> dict[str, Any]:
    """The effective configuration (secrets redacted), where each value comes from
    (``file``, ``detected``, ``dashboard`` or ``default``) and the versions to send back
    in ``If-Match``."""
    response.headers["ETag"] = services.configuration.version()
    response.headers["Cache-Control"] = "no-store"
    return config_body(services)


@router.patch("/api/config/{section}", responses=ERRORS)
async def patch_section(
    section: Section,
    patch: Patch,
    request: Request,
    admin: AdminDep,
    services: ServicesDep,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """Change part of a section (``events``, ...); applied at once where its owner can."""
    service = services.configuration
    applied = await service.patch_section(section, patch, if_match, admin.name)
    await audit(services, request, admin.name, f"section:{section}", patch)
    response.headers["ETag"] = service.section_version(section)
    settings = applied.settings.model_dump(mode="json")[section]
    return {section: layers.redacted(settings), "applied": describe(applied)}


async def audit(services: Services, request: Request, actor: str, target: str, change: Any) -> None:
    client = client_address(request)
    detail = json.dumps(layers.redacted(change), separators=(",", ":"))[:1000]
    await services.db.run(
        lambda db: services.accounts.audit(
            db, actor, "config_changed", target, client, detail=detail
        )
    )
