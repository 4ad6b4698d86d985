"""The dashboard's pages and assets (``web/``), through the same access control as the API.

The login and setup pages, and the few assets they need, are public (``PUBLIC`` /
``PUBLIC_ASSETS`` in ``api.security``); the dashboard itself needs a session, and a
browser without one is sent to the login page.
"""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import FileResponse, RedirectResponse

from ..deps import MaybePrincipal, PrincipalDep, ServicesDep
from ..files import safe_file

router = APIRouter(tags=["pages"], include_in_schema=False)

WEB_DIR = FilePath(__file__).resolve().parent.parent.parent / "web"
MEDIA_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".html": "text/html",
    ".webmanifest": "application/manifest+json",
    ".png": "image/png",
}
Asset = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]+\.(js|css|svg|png|webmanifest)$")]


def _page(name: str) -> FileResponse:
    return FileResponse(
        safe_file(WEB_DIR, name), media_type="text/html", headers={"Cache-Control": "no-cache"}
    )


@router.get("/")
async def dashboard(principal: PrincipalDep) -> FileResponse:
    return _page("index.html")


@router.get("/login", response_model=None)
async def login_page(
    principal: MaybePrincipal, services: ServicesDep
) -> FileResponse | RedirectResponse:
    if await services.setup_pending():
        return RedirectResponse("/setup", status_code=303)
    return _page("login.html")


@router.get("/setup", response_model=None)
async def setup_page(services: ServicesDep) -> FileResponse | RedirectResponse:
    if not await services.setup_pending():
        return RedirectResponse("/login", status_code=303)
    return _page("login.html")


@router.get("/sw.js")
async def service_worker(principal: MaybePrincipal) -> FileResponse:
    """The service worker (public, like the login page's files): scope ``/``."""
    return FileResponse(
        safe_file(WEB_DIR, "sw.js"),
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
    )


@router.get("/{asset}")
async def asset(asset: Asset, principal: MaybePrincipal) -> FileResponse:
    """A static file of the dashboard (public only for the login page's files)."""
    path = safe_file(WEB_DIR, asset)
    return FileResponse(
        path, media_type=MEDIA_TYPES[path.suffix], headers={"Cache-Control": "no-cache"}
    )
