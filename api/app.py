"""Build the FastAPI app from services: ``create_app(services)``. No module-level state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from camera import __version__

from .errors import install_error_handlers
from .headers import SecurityHeaders
from .hosts import AllowedHosts
from .routes import (
    audit,
    auth,
    camera_config,
    cameras,
    config,
    devices,
    events,
    health,
    live,
    metrics,
    mqtt,
    notifications,
    pages,
    push,
    recordings,
    system,
    talk,
    tokens,
    tuner,
    users,
    whep,
)
from .security import authorize, authorize_websocket
from .services import Services

HTTP_ROUTERS = (
    health.router,
    auth.router,
    cameras.router,
    camera_config.router,
    config.router,
    whep.router,
    talk.router,
    devices.router,
    events.router,
    recordings.router,
    system.router,
    metrics.router,
    users.router,
    tokens.router,
    audit.router,
    mqtt.router,
    push.router,
    notifications.router,
    pages.router,  # last: its /{asset} route would shadow nothing, but keep it at the end
)
WEBSOCKET_ROUTERS = (live.router, tuner.router)


def create_app(services: Services) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await services.start()
        try:
            yield
        finally:
            await services.stop()

    app = FastAPI(
        title="Sentrycam",
        version=__version__,
        description="Home security camera appliance. See docs/api.md.",
        lifespan=lifespan,
        # Served by api.routes.health behind access control; no Swagger UI (it loads
        # scripts from a CDN, which neither the CSP nor an offline appliance allows).
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    install_error_handlers(app)
    # Deny by default: every router goes through access control (api.security).
    for router in HTTP_ROUTERS:
        app.include_router(router, dependencies=[Depends(authorize)])
    for router in WEBSOCKET_ROUTERS:
        app.include_router(router, dependencies=[Depends(authorize_websocket)])
    app.add_middleware(SecurityHeaders)
    # Outermost: a request for a foreign host name (DNS rebinding) reaches nothing.
    app.add_middleware(AllowedHosts, allowed=services.settings.security.allowed_hosts)
    return app
