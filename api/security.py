"""Access control: every route denied unless the caller is known and allowed.

``authorize`` is a dependency on every router (``api.app``). It lets through, without
credentials, only the short allowlist in ``PUBLIC`` (login, setup, health, the login page's
assets). Everything else needs a browser session cookie or an ``Authorization: Bearer``
token, and cookie-authenticated requests that change state must come from the server's
own origin (or a configured one): cross-site requests are refused. WebSockets get the same
checks in ``authorize_websocket`` (CORS does not cover them). Per-camera rights are enforced
where a camera is looked up (``api.deps.get_camera``) and wherever cameras are listed.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from fastapi import Request, WebSocket
from starlette.exceptions import WebSocketException
from starlette.requests import HTTPConnection

from .accounts import Principal
from .errors import Forbidden, Unauthorized

if TYPE_CHECKING:
    from .services import Services

SESSION_COOKIE = "sentrycam_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WS_UNAUTHORIZED = 4401
WS_FORBIDDEN = 4403

# (method, route path) reachable without credentials. Keep it short; tests walk the route
# table and check that everything else answers 401.
PUBLIC: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/api/health"),
        ("POST", "/api/auth/login"),
        ("GET", "/api/auth/setup"),
        ("POST", "/api/auth/setup"),
        ("GET", "/login"),
        ("GET", "/setup"),
        ("GET", "/sw.js"),
    }
)
# Reachable without credentials from the addresses in metrics.allow only (Prometheus).
ALLOWLISTED = frozenset({("GET", "/metrics")})
# Static files the login and setup pages need before anyone is logged in.
# The installable app's manifest and icons (browsers fetch them without cookies) and the
# service worker (``/sw.js`` in PUBLIC: static code that holds no data) are public too.
PUBLIC_ASSETS = frozenset(
    {
        "login.js",
        "base.css",
        "forms.css",
        "login.css",
        "favicon.svg",
        "manifest.webmanifest",
        "icon-192.png",
        "icon-512.png",
        "icon-maskable-192.png",
        "icon-maskable-512.png",
    }
)


def is_public(method: str, route_path: str, params: dict[str, str]) -> bool:
    if route_path == "/{asset}" and method in ("GET", "HEAD"):
        return params.get("asset") in PUBLIC_ASSETS
    return (method if method != "HEAD" else "GET", route_path) in PUBLIC


def services_of(connection: HTTPConnection) -> Services:
    services: Services = connection.app.state.services
    return services


# ----- where a request comes from -----------------------------------------------------------


def _trusted(address: str, proxies: Iterable[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(p, strict=False) for p in proxies)


def client_address(connection: HTTPConnection) -> str:
    """The client's IP; behind a trusted proxy, the nearest untrusted X-Forwarded-For hop."""
    peer = connection.client.host if connection.client else "unknown"
    proxies = services_of(connection).settings.security.trusted_proxies
    if not proxies or not _trusted(peer, proxies):
        return peer
    hops = [h.strip() for h in connection.headers.get("x-forwarded-for", "").split(",")]
    for hop in reversed([h for h in hops if h]):
        if not _trusted(hop, proxies):
            return hop
    return peer


def own_origin(connection: HTTPConnection) -> str:
    """scheme://host[:port] of this server as the client addressed it."""
    scheme = connection.url.scheme.replace("ws", "http")
    host = connection.headers.get("host", "")
    proxies = services_of(connection).settings.security.trusted_proxies
    peer = connection.client.host if connection.client else ""
    if proxies and _trusted(peer, proxies):
        scheme = connection.headers.get("x-forwarded-proto", scheme).split(",")[0].strip()
        host = connection.headers.get("x-forwarded-host", host).split(",")[0].strip()
    return _normalise(f"{scheme}://{host}")


def _normalise(origin: str) -> str:
    parts = urlsplit(origin.lower())
    port = parts.port
    default = {"http": 80, "https": 443}.get(parts.scheme)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def origin_allowed(connection: HTTPConnection, origin: str) -> bool:
    if origin == "null":  # sandboxed frames, file:// pages, some redirects: never ours
        return False
    try:
        candidate = _normalise(origin)
    except ValueError:
        return False
    allowed = services_of(connection).settings.security.allowed_origins
    return candidate == own_origin(connection) or candidate in {_normalise(o) for o in allowed}


# ----- who is asking -------------------------------------------------------------------------


async def resolve_principal(connection: HTTPConnection) -> Principal | None:
    services = services_of(connection)
    authorization = connection.headers.get("authorization", "")
    scheme, _, credential = authorization.partition(" ")
    if scheme.lower() == "bearer" and credential.strip():
        token = credential.strip()
        return await services.db.run(lambda db: services.accounts.resolve_token(db, token))
    cookie = connection.cookies.get(SESSION_COOKIE)
    if cookie:
        return await services.db.run(lambda db: services.accounts.resolve_session(db, cookie))
    return None


def check_cross_site(request: Request, principal: Principal | None) -> None:
    """Refuse state-changing requests a foreign page could have made with our cookie."""
    if request.method in SAFE_METHODS:
        return
    origin = request.headers.get("origin")
    if origin is not None:
        if not origin_allowed(request, origin):
            raise Forbidden("cross-site request refused (Origin not allowed)")
        return
    if principal is None or principal.via != "session":
        return  # bearer tokens and anonymous public calls carry no ambient credentials
    # No Origin (old browsers, some privacy settings): the CSRF token must come along.
    sent = request.headers.get(CSRF_HEADER, "")
    if not principal.csrf_token or not hmac.compare_digest(sent, principal.csrf_token):
        raise Forbidden("missing or wrong CSRF token")


async def authorize(request: Request) -> Principal | None:
    """The dependency on every router: deny by default."""
    route = request.scope.get("route")
    route_path = getattr(route, "path", request.url.path)
    principal = await resolve_principal(request)
    check_cross_site(request, principal)
    if (
        principal is None
        and not is_public(request.method, route_path, request.path_params)
        and not _allowlisted(request, route_path)
    ):
        raise Unauthorized("log in first (session cookie or Authorization: Bearer token)")
    request.state.principal = principal
    return principal


def _allowlisted(request: Request, route_path: str) -> bool:
    method = request.method if request.method != "HEAD" else "GET"
    if (method, route_path) not in ALLOWLISTED:
        return False
    return services_of(request).settings.metrics.allows(client_address(request))


async def authorize_websocket(websocket: WebSocket) -> Principal:
    """Origin check and authentication for a WebSocket handshake, before it is accepted.

    A refused handshake is answered with HTTP 403 (the close code cannot reach a client
    whose connection was never accepted).
    """
    origin = websocket.headers.get("origin")
    if origin is not None and not origin_allowed(websocket, origin):
        raise WebSocketException(WS_FORBIDDEN, "cross-site WebSocket refused")
    principal = await resolve_principal(websocket)
    if principal is None:
        raise WebSocketException(WS_UNAUTHORIZED, "log in first")
    return principal


def require_admin(principal: Principal | None) -> Principal:
    if principal is None:
        raise Unauthorized("log in first")
    if not principal.is_admin:
        raise Forbidden("only an admin may do this")
    return principal
