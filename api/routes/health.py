from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.utils import get_openapi

from camera import __version__

from ..deps import ServicesDep
from ..schemas import Health

router = APIRouter(tags=["health"])


@router.get("/api/health", response_model=Health, response_model_exclude_none=True)
async def health(services: ServicesDep) -> Health:
    """Liveness for systemd, load balancers and monitoring; no secrets, no auth. The MQTT
    state is one word (no broker address, no user name): details are at /api/mqtt."""
    cameras = services.cameras.all()
    return Health(
        status="ok",
        version=__version__,
        cameras_online=sum(c.status == "online" for c in cameras),
        cameras_total=len(cameras),
        mqtt=services.mqtt.state if services.mqtt is not None else None,
        database="ok" if services.events.database_ok else "failing",
        events_waiting=services.events.store.pending,
        events_dropped=sum(vars(services.events.store.dropped).values()),
    )


@router.get("/openapi.json", include_in_schema=False)
async def openapi(request: Request) -> dict[str, Any]:
    """The OpenAPI document of this API (for logged-in users and token holders)."""
    app = request.app
    if app.openapi_schema is None:
        app.openapi_schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
    schema: dict[str, Any] = app.openapi_schema
    return schema
