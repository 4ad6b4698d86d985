"""ICE servers for both ends of a call: static STUN/TURN entries and minted TURN credentials.

A TURN server configured with a shared secret (coturn's ``use-auth-secret``, the "REST API
for TURN" draft) accepts any username of the form ``<expiry unix time>:<label>`` whose
password is ``base64(HMAC-SHA1(secret, username))``, until that time. Sentrycam mints such
a pair per session, so the browser only ever holds a password that expires after
``webrtc.turn_ttl_seconds``; the secret itself never leaves the server.

Pure functions of the configuration and a clock: used by ``GET /api/webrtc`` (the browser)
and by the server's own aiortc peers (``camera.webrtc``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from aiortc import RTCConfiguration, RTCIceServer

from .config import IceServer, WebRTCConfig


@dataclass(frozen=True)
class IceServerEntry:
    """One entry of ``RTCConfiguration.iceServers``, credentials resolved."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None


@dataclass(frozen=True)
class IceServers:
    """The servers for one session, and when the earliest minted credential expires."""

    servers: tuple[IceServerEntry, ...]
    expires_at: int | None  # Unix time; None when nothing was minted


def turn_credential(secret: str, username: str) -> str:
    """coturn's ``use-auth-secret`` password for ``username``."""
    mac = hmac.new(secret.encode("utf-8"), username.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


def mint(secret: str, label: str, now: float, ttl_seconds: int) -> tuple[str, str, int]:
    """A time-limited TURN username and password: ``(username, credential, expiry)``."""
    expiry = int(now) + ttl_seconds
    username = f"{expiry}:{label}"
    return username, turn_credential(secret, username), expiry


def resolve(config: WebRTCConfig, label: str, now: float) -> IceServers:
    """The configured servers with credentials for one session labelled ``label``."""
    entries: list[IceServerEntry] = []
    expiries: list[int] = []
    for server in config.ice_servers:
        entries.append(_entry(server, config.turn_ttl_seconds, label, now, expiries))
    return IceServers(tuple(entries), min(expiries) if expiries else None)


def _entry(
    server: IceServer, ttl: int, label: str, now: float, expiries: list[int]
) -> IceServerEntry:
    urls = tuple(server.urls)
    if server.auth_secret is None:
        return IceServerEntry(urls, server.username, server.credential)
    username, credential, expiry = mint(server.auth_secret, label, now, ttl)
    expiries.append(expiry)
    return IceServerEntry(urls, username, credential)


def rtc_configuration(servers: IceServers) -> RTCConfiguration:
    """An aiortc configuration; an empty list, never None (aiortc would add a public STUN)."""
    return RTCConfiguration(
        iceServers=[
            RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
            for s in servers.servers
        ]
    )
