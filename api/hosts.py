"""Which ``Host`` names the server answers to: the defence against DNS rebinding.

A page on ``evil.example`` whose DNS name is re-pointed at the camera's LAN address becomes
same-origin with the camera in the victim's browser: ``own_origin`` would trust its Host,
the login and setup pages would take its requests. Refusing every request whose Host is not
a name the appliance can really be reached by closes that door. The default admits what a
home network uses and a public DNS name cannot be: IP literals, ``localhost``, single-label
names (``sentrycam``), names under ``.local``, ``.lan``, ``.home``, ``.home.arpa``,
``.internal``, ``.localhost`` and ``.test``, and this machine's own host name;
``security.allowed_hosts`` adds names (``cam.example.com``, ``*.example.com``) or, with
``"*"``, turns the check off.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import re
import socket
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

# Names no public DNS answers for: mDNS, home routers' zones, RFC 6762 / 8375 / 6761.
PRIVATE_SUFFIXES = (".local", ".lan", ".home", ".home.arpa", ".internal", ".localhost", ".test")


def host_name(header: str) -> str | None:
    """The host of a ``Host`` header without its port, lowercased; None if malformed."""
    try:
        host = urlsplit(f"//{header.strip()}").hostname
    except ValueError:
        return None
    return host.rstrip(".") if host else None


def host_allowed(header: str, extra: list[str], own_names: frozenset[str]) -> bool:
    host = host_name(header)
    if not host:
        return False
    if "*" in extra:
        return True
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    if not re.fullmatch(r"[a-z0-9_.-]+", host):
        return False
    if "." not in host or host.endswith(PRIVATE_SUFFIXES) or host in own_names:
        return True
    for pattern in extra:
        if (pattern.startswith("*.") and host.endswith(pattern[1:])) or host == pattern:
            return True
    return False


def own_host_names() -> frozenset[str]:
    names = {socket.gethostname().lower()}
    with contextlib.suppress(OSError):  # resolver trouble: the short name is enough
        names.add(socket.getfqdn().lower())
    return frozenset(name.rstrip(".") for name in names if name)


class AllowedHosts:
    """Pure ASGI middleware: HTTP requests and WebSocket handshakes with a foreign Host get
    400 (a WebSocket is refused before it is accepted)."""

    def __init__(self, app: ASGIApp, allowed: list[str]) -> None:
        self.app = app
        self._allowed = [name.lower() for name in allowed]
        self._own = own_host_names()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        host = headers.get(b"host", b"").decode("latin-1")
        if host_allowed(host, self._allowed, self._own):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        detail = "this server does not answer to that host name (see security.allowed_hosts)"
        body = json.dumps({"detail": detail}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
