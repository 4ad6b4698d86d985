"""Access control seam.

Every router is built with ``dependencies=[Depends(authorize)]`` (see ``api.app``), so the
access-control issue replaces this one function (and adds per-camera checks through
``camera_access``) without touching any route. Today the appliance has no users yet and
everything is allowed; docs/security.md tracks this.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request


@dataclass(frozen=True)
class Principal:
    name: str
    cameras: frozenset[str] | None  # None: every camera

    def can_see(self, camera_id: str) -> bool:
        return self.cameras is None or camera_id in self.cameras


ANONYMOUS_ADMIN = Principal(name="anonymous", cameras=None)


async def authorize(request: Request) -> Principal:
    principal = ANONYMOUS_ADMIN
    request.state.principal = principal
    return principal
