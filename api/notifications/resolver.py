"""The connection-time half of ``api.notifications.endpoints``: a resolver for aiohttp that
drops every address that is not public, so a push endpoint whose name later resolves to the
LAN or the machine itself (DNS rebinding) is refused. Its own module so that aiohttp
(about 8 MB resident) is imported only when Web Push starts, not with the routes.
"""

from __future__ import annotations

import socket
from typing import Any

from aiohttp import ThreadedResolver
from aiohttp.abc import AbstractResolver, ResolveResult

from .endpoints import public_address


class PublicResolver(AbstractResolver):
    """Resolves like aiohttp's default, then drops every non-public address."""

    def __init__(self) -> None:
        self._inner = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        public = [entry for entry in found if public_address(entry["host"])]
        if not public:
            raise OSError(f"{host} resolves only to private or loopback addresses")
        return public

    async def close(self) -> None:
        await self._inner.close()


def connector_options(insecure: bool) -> dict[str, Any]:
    """Keyword arguments for ``aiohttp.TCPConnector``."""
    return {"limit": 100, "ttl_dns_cache": 300} | (
        {} if insecure else {"resolver": PublicResolver()}
    )
