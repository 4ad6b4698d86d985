"""The machine's health: GET /api/system (api.services.system_monitor)."""

from __future__ import annotations

from fastapi import APIRouter

from ..appliance_schemas import SystemOut
from ..deps import PrincipalDep, ServicesDep
from ..schemas import Problem

router = APIRouter(tags=["system"])


@router.get("/api/system", response_model=SystemOut, responses={401: {"model": Problem}})
async def system(principal: PrincipalDep, services: ServicesDep) -> SystemOut:
    """Temperature, throttling and under-voltage, CPU per core, memory, disk space and
    writes, uptime, and the system alerts active now (any logged-in user)."""
    return SystemOut.model_validate(services.system.report())
