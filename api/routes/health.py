from __future__ import annotations

from fastapi import APIRouter

from camera import __version__

from ..deps import ServicesDep
from ..schemas import Health

router = APIRouter(tags=["health"])


@router.get("/api/health", response_model=Health)
async def health(services: ServicesDep) -> Health:
    """Liveness for systemd, load balancers and monitoring; no secrets, no auth."""
    cameras = services.cameras.all()
    return Health(
        status="ok",
        version=__version__,
        cameras_online=sum(c.status == "online" for c in cameras),
        cameras_total=len(cameras),
    )
