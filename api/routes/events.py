"""Events: list with filters and pagination, one event, its snapshot, acknowledge, arming."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..accounts import Principal
from ..db import aware
from ..deps import CameraDep, Cursor, PrincipalDep, ServicesDep
from ..errors import Forbidden, NotFound
from ..files import safe_file
from ..models import Event
from ..payloads import SYSTEM_CAMERA, event_json
from ..schemas import ActivityOut, ArmingOut, ArmState, EventKind, EventOut, EventPage, Problem
from ..security import client_address
from ..services import Services
from ..services.event_store import clip_of, clips_of

router = APIRouter(tags=["events"])
ERRORS: dict[int | str, dict[str, Any]] = {403: {"model": Problem}, 404: {"model": Problem}}
EventId = Annotated[int, Path(ge=1, le=2**62)]


@router.get("/api/events", response_model=EventPage, responses=ERRORS)
async def list_events(
    principal: PrincipalDep,
    services: ServicesDep,
    camera: Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")] = None,
    kind: EventKind | None = None,
    since: Annotated[datetime | None, Query(description="Events starting at or after.")] = None,
    until: Annotated[datetime | None, Query(description="Events starting before.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Cursor = None,
) -> EventPage:
    """Newest first. Page with ``cursor`` = the previous page's ``next_cursor``."""
    if camera is not None and not principal.can_see(camera):
        raise Forbidden(f"you may not see camera {camera!r}")
    visible = [c.id for c in services.cameras.all() if principal.can_see(c.id)]
    if principal.can_see(SYSTEM_CAMERA):  # storage alerts: for those who see every camera
        visible.append(SYSTEM_CAMERA)
    since = aware(since) if since else None
    until = aware(until) if until else None
    await services.events.flush()
    await services.recordings.flush()

    def query(db: Session) -> tuple[list[Event], dict[int, dict[str, Any]]]:
        statement = select(Event).order_by(Event.id.desc()).limit(limit + 1)
        if not principal.is_admin or principal.cameras is not None:
            statement = statement.where(Event.camera.in_(visible))
        if camera is not None:
            statement = statement.where(Event.camera == camera)
        if kind is not None:
            statement = statement.where(Event.kind == kind)
        if since is not None:
            statement = statement.where(Event.start >= since)
        if until is not None:
            statement = statement.where(Event.start < until)
        if cursor is not None:
            statement = statement.where(Event.id < int(cursor))
        events = list(db.scalars(statement))
        return events, clips_of(db, events)

    rows, clips = await services.db.run(query)
    more = len(rows) > limit
    rows = rows[:limit]
    return EventPage(
        events=[EventOut.model_validate(_json(e, clips)) for e in rows],
        next_cursor=str(rows[-1].id) if more and rows else None,
    )


def _json(event: Event, clips: dict[int, dict[str, Any]]) -> dict[str, Any]:
    return event_json(event, clips.get(event.clip_id) if event.clip_id is not None else None)


async def _event_out(services: Services, event: Event) -> EventOut:
    clip = await services.db.run(lambda db: clip_of(db, event))
    return EventOut.model_validate(event_json(event, clip))


async def _event(services: Services, principal: Principal, event_id: int) -> Event:
    await services.events.flush()
    await services.recordings.flush()
    event = await services.db.run(lambda db: db.get(Event, event_id))
    if event is None:
        raise NotFound(f"no event {event_id}")
    if not principal.can_see(event.camera):
        raise Forbidden(f"you may not see camera {event.camera!r}")
    return event


@router.get("/api/events/{event_id}", response_model=EventOut, responses=ERRORS)
async def get_event(event_id: EventId, principal: PrincipalDep, services: ServicesDep) -> EventOut:
    return await _event_out(services, await _event(services, principal, event_id))


@router.get(
    "/api/events/{event_id}/snapshot.jpg",
    response_class=FileResponse,
    responses={**ERRORS, 200: {"content": {"image/jpeg": {}}}},
)
async def event_snapshot(
    event_id: EventId, principal: PrincipalDep, services: ServicesDep
) -> FileResponse:
    """The picture of the event's best moment."""
    event = await _event(services, principal, event_id)
    if event.snapshot is None:
        raise NotFound("this event has no snapshot")
    path = safe_file(services.events.snapshot_dir, event.snapshot)
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private"})


@router.post("/api/events/{event_id}/ack", response_model=EventOut, responses=ERRORS)
async def acknowledge(
    event_id: EventId, request: Request, principal: PrincipalDep, services: ServicesDep
) -> EventOut:
    """Mark an event as seen (by you)."""
    await _event(services, principal, event_id)
    await services.events.acknowledge(event_id, principal.name)
    client = client_address(request)
    await services.db.run(
        lambda db: services.accounts.audit(
            db, principal.name, "event_acknowledged", str(event_id), client
        )
    )
    return await _event_out(services, await _event(services, principal, event_id))


def arming_out(services: Services, camera_id: str) -> ArmingOut:
    state = services.arming.state(camera_id)
    config = services.cameras.config(camera_id)
    mode = config.schedule.mode if config else "always"
    zone = services.arming.zone(config) if config else UTC
    return ArmingOut(
        armed=state.armed,
        mode=mode,
        scheduled=state.scheduled,
        override=state.override,
        next_change=state.next_change,
        next_armed=state.next_armed,
        timezone=str(zone),
    )


@router.get("/api/cameras/{camera_id}/arm", response_model=ArmingOut, responses=ERRORS)
async def get_armed(camera: CameraDep, services: ServicesDep) -> ArmingOut:
    """Whether the camera is armed, what its schedule says and when that changes next."""
    return arming_out(services, camera.id)


@router.put("/api/cameras/{camera_id}/arm", response_model=ArmingOut, responses=ERRORS)
async def set_armed(
    body: ArmState,
    request: Request,
    camera: CameraDep,
    principal: PrincipalDep,
    services: ServicesDep,
) -> ArmingOut:
    """Arm or disarm a camera by hand, until its schedule's next change: disarmed cameras
    still record events but raise no alert."""
    await services.arming.manual(camera.id, body.armed)
    client = client_address(request)
    action = "camera_armed" if body.armed else "camera_disarmed"
    await services.db.run(
        lambda db: services.accounts.audit(db, principal.name, action, camera.id, client)
    )
    return arming_out(services, camera.id)


@router.get("/api/cameras/{camera_id}/activity", response_model=ActivityOut, responses=ERRORS)
async def activity(
    camera: CameraDep,
    services: ServicesDep,
    hours: Annotated[int, Query(ge=1, le=168)] = 24,
) -> ActivityOut:
    """Events per hour over the last ``hours`` hours, by kind (the dashboard's chart)."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    first = now - timedelta(hours=hours - 1)
    await services.events.flush()

    def query(db: Session) -> list[tuple[str, datetime]]:
        statement = select(Event.kind, Event.start).where(
            Event.camera == camera.id, Event.start >= first
        )
        return [(kind, start) for kind, start in db.execute(statement)]

    counts: dict[str, list[int]] = {}
    for kind, start in await services.db.run(query):
        index = int((aware(start) - first).total_seconds() // 3600)
        if 0 <= index < hours:
            counts.setdefault(kind, [0] * hours)[index] += 1
    labels = [(first + timedelta(hours=i)).isoformat().replace("+00:00", "Z") for i in range(hours)]
    return ActivityOut(camera=camera.id, hours=labels, counts=counts)
