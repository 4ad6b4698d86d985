"""GET /metrics: Prometheus's text format (api.metrics).

Never open to the LAN by default: it needs an API token (``Authorization: Bearer``, the
series limited to the cameras its user may see), or a client address listed in
``metrics.allow`` (api.security lets those through without credentials).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from ..accounts import Principal
from ..deps import ServicesDep
from ..metrics import render
from ..schemas import Problem

router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format."},
        401: {"model": Problem},
    },
)
async def metrics(request: Request, services: ServicesDep) -> Response:
    """Per camera frame rates, drops, encoder time, bytes, viewers, events and bytes
    recorded; live clients; disk; the machine's health; process CPU and memory."""
    principal: Principal | None = request.state.principal
    may_see = principal.can_see if principal is not None else (lambda camera: True)
    return Response(render(services, may_see), media_type=CONTENT_TYPE_LATEST)
