"""The notification log and per-camera snoozes (docs/api.md, Notifications)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from ..db import aware
from ..deps import CameraDep, PrincipalDep, ServicesDep
from ..errors import Forbidden
from ..notifications import store
from ..notifications.schemas import LogEntryOut, LogPage, SnoozeIn, SnoozeOut
from ..payloads import SYSTEM_CAMERA
from ..schemas import Problem
from ..security import client_address

router = APIRouter(tags=["notifications"])
ERRORS: dict[int | str, dict[str, Any]] = {403: {"model": Problem}, 404: {"model": Problem}}


@router.get("/api/notifications/log", response_model=LogPage)
async def notification_log(
    principal: PrincipalDep,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> LogPage:
    """What the notification policy decided and how deliveries went, newest first: every
    entry for admins; for others, their own devices' entries about cameras they may see."""
    await services.notifications.log.flush()
    owner: int | None = None
    cameras: list[str] | None = None
    if not principal.is_admin:
        owner = principal.user_id
        cameras = [c.id for c in services.cameras.all() if principal.can_see(c.id)] + [""]
        if principal.can_see(SYSTEM_CAMERA):
            cameras.append(SYSTEM_CAMERA)
    rows = await services.db.run(
        lambda db: store.log_entries(db, limit + 1, before, owner, cameras)
    )
    more = len(rows) > limit
    rows = rows[:limit]
    entries = [
        LogEntryOut.model_validate(
            {c: getattr(row, c) for c in LogEntryOut.model_fields if c != "at"}
            | {"at": aware(row.at)}
        )
        for row in rows
    ]
    return LogPage(entries=entries, next_before=rows[-1].id if more and rows else None)


def _snooze_out(camera: str, rows: list[Any], user_id: int) -> SnoozeOut:
    mine = [r for r in rows if r.camera == camera and r.user_id in (user_id, None)]
    if not mine:
        return SnoozeOut(camera=camera, until=None, everyone=False, by=None)
    last = max(mine, key=lambda r: aware(r.until))
    return SnoozeOut(
        camera=camera, until=aware(last.until), everyone=last.user_id is None, by=last.created_by
    )


@router.get("/api/notifications/snoozes", response_model=list[SnoozeOut])
async def list_snoozes(principal: PrincipalDep, services: ServicesDep) -> list[SnoozeOut]:
    """Cameras snoozed for you (by you, or by an admin for everyone), until when."""
    rows = await services.db.run(lambda db: store.active_snoozes(db, principal.user_id))
    cameras = sorted({r.camera for r in rows if principal.can_see(r.camera)})
    return [_snooze_out(camera, rows, principal.user_id) for camera in cameras]


@router.get("/api/cameras/{camera_id}/snooze", response_model=SnoozeOut, responses=ERRORS)
async def get_snooze(
    camera: CameraDep, principal: PrincipalDep, services: ServicesDep
) -> SnoozeOut:
    rows = await services.db.run(lambda db: store.active_snoozes(db, principal.user_id))
    return _snooze_out(camera.id, rows, principal.user_id)


@router.put("/api/cameras/{camera_id}/snooze", response_model=SnoozeOut, responses=ERRORS)
async def snooze(
    body: SnoozeIn,
    request: Request,
    camera: CameraDep,
    principal: PrincipalDep,
    services: ServicesDep,
) -> SnoozeOut:
    """No notifications about this camera for ``minutes`` (your devices; with
    ``everyone``, an admin's snooze silences every device and channel)."""
    if body.everyone and not principal.is_admin:
        raise Forbidden("only an admin may snooze a camera for everyone")
    until = datetime.now(UTC) + timedelta(minutes=body.minutes)
    owner = None if body.everyone else principal.user_id
    client = client_address(request)

    def save(db: Any) -> None:
        store.snooze(db, camera.id, owner, until, principal.name)
        services.accounts.audit(db, principal.name, "camera_snoozed", camera.id, client)

    await services.db.run(save)
    services.notifications.changed()
    return SnoozeOut(camera=camera.id, until=until, everyone=body.everyone, by=principal.name)


@router.delete(
    "/api/cameras/{camera_id}/snooze", status_code=204, response_class=Response, responses=ERRORS
)
async def unsnooze(
    camera: CameraDep,
    principal: PrincipalDep,
    services: ServicesDep,
    everyone: Annotated[bool, Query(description="Admins: end the snooze for everyone.")] = False,
) -> Response:
    if everyone and not principal.is_admin:
        raise Forbidden("only an admin may end a snooze for everyone")
    owner = None if everyone else principal.user_id
    await services.db.run(lambda db: store.unsnooze(db, camera.id, owner))
    services.notifications.changed()
    return Response(status_code=204)
