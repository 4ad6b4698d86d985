"""Build the FastAPI app from services: ``create_app(services)``. No module-level state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from camera import __version__

from .errors import install_error_handlers
from .routes import cameras, health, whep
from .security import authorize
from .services import Services

ROUTERS = (health.router, cameras.router, whep.router)


def web_dir() -> Path:
    """The dashboard's files: ``web/`` beside this package, in a checkout and in a wheel."""
    return Path(__file__).resolve().parent.parent / "web"


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
    )
    app.state.services = services
    install_error_handlers(app)
    for router in ROUTERS:
        # Every router goes through the access-control dependency (api.security).
        app.include_router(router, dependencies=[Depends(authorize)])
    app.mount("/", StaticFiles(directory=web_dir(), html=True), name="web")
    return app
