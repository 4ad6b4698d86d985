"""Recordings: list, one, play (HTTP ranges), download with SHA-256, thumbnail strip."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ..accounts import Principal
from ..db import aware
from ..deps import AdminDep, Cursor, PrincipalDep, ServicesDep
from ..errors import Forbidden, NotFound
from ..files import safe_file
from ..models import Recording
from ..payloads import recording_json
from ..schemas import Problem, RecordingKind, RecordingOut, RecordingPage, StorageOut
from ..security import client_address
from ..services import Services

router = APIRouter(tags=["recordings"])
ERRORS: dict[int | str, dict[str, Any]] = {403: {"model": Problem}, 404: {"model": Problem}}
SCAN_BATCH = 500  # rows read at a time when filtering by event
RecordingId = Annotated[int, Path(ge=1, le=2**62)]
CameraFilter = Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]


@router.get("/api/recordings", response_model=RecordingPage, responses=ERRORS)
async def list_recordings(
    principal: PrincipalDep,
    services: ServicesDep,
    camera: CameraFilter = None,
    kind: RecordingKind | None = None,
    since: Annotated[
        datetime | None, Query(description="Recordings ending at or after (or still going).")
    ] = None,
    until: Annotated[datetime | None, Query(description="Recordings starting before.")] = None,
    event: Annotated[int | None, Query(ge=1, le=2**62, description="Clips of this event.")] = None,
    order: Annotated[
        Literal["newest", "oldest"], Query(description="oldest suits a timeline.")
    ] = "newest",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Cursor = None,
) -> RecordingPage:
    """Recordings overlapping ``since``..``until``; page with ``cursor``."""
    if camera is not None and not principal.can_see(camera):
        raise Forbidden(f"you may not see camera {camera!r}")
    visible = [c.id for c in services.cameras.all() if principal.can_see(c.id)]
    since = aware(since) if since else None
    until = aware(until) if until else None
    await services.recordings.flush()

    def query(db: Session) -> list[Recording]:
        newest = order == "newest"
        statement = select(Recording).limit(limit + 1)
        statement = statement.order_by(
            Recording.start.desc() if newest else Recording.start,
            Recording.id.desc() if newest else Recording.id,
        )
        if not principal.is_admin or principal.cameras is not None:
            statement = statement.where(Recording.camera.in_(visible))
        if camera is not None:
            statement = statement.where(Recording.camera == camera)
        if kind is not None:
            statement = statement.where(Recording.kind == kind)
        if since is not None:
            statement = statement.where((Recording.end >= since) | Recording.end.is_(None))
        if until is not None:
            statement = statement.where(Recording.start < until)
        if cursor is not None:
            pivot = db.get(Recording, int(cursor))
            if pivot is None:
                return []
            if newest:
                statement = statement.where(
                    (Recording.start < pivot.start)
                    | ((Recording.start == pivot.start) & (Recording.id < pivot.id))
                )
            else:
                statement = statement.where(
                    (Recording.start > pivot.start)
                    | ((Recording.start == pivot.start) & (Recording.id > pivot.id))
                )
        if event is None:
            return list(db.scalars(statement))
        # The event list is JSON (no portable SQL test for membership): read the pages in
        # order and keep the matching rows until the page is full, so the LIMIT counts
        # matches, not candidates, and the cursor stays right.
        return _clips_of_event(db, statement.limit(None), event, limit + 1)

    rows = await services.db.run(query)
    more = len(rows) > limit
    rows = rows[:limit]
    return RecordingPage(
        recordings=[RecordingOut.model_validate(recording_json(r)) for r in rows],
        next_cursor=str(rows[-1].id) if more and rows else None,
    )


def _clips_of_event(
    db: Session, statement: Select[Recording], event: int, wanted: int
) -> list[Recording]:
    found: list[Recording] = []
    result = db.scalars(statement.execution_options(yield_per=SCAN_BATCH))
    try:
        for row in result:
            if event in row.events:
                found.append(row)
                if len(found) == wanted:
                    break
    finally:
        result.close()
    return found


async def _recording(services: Services, principal: Principal, recording_id: int) -> Recording:
    await services.recordings.flush()
    row = await services.db.run(lambda db: db.get(Recording, recording_id))
    if row is None:
        raise NotFound(f"no recording {recording_id}")
    if not principal.can_see(row.camera):
        raise Forbidden(f"you may not see camera {row.camera!r}")
    return row


@router.get("/api/recordings/{recording_id}", response_model=RecordingOut, responses=ERRORS)
async def get_recording(
    recording_id: RecordingId, principal: PrincipalDep, services: ServicesDep
) -> RecordingOut:
    row = await _recording(services, principal, recording_id)
    return RecordingOut.model_validate(recording_json(row))


@router.get(
    "/api/recordings/{recording_id}/video.mp4",
    response_class=FileResponse,
    responses={
        **ERRORS,
        200: {"content": {"video/mp4": {}}},
        206: {"description": "The requested byte range."},
        416: {"description": "The range is outside the file."},
    },
)
async def recording_video(
    recording_id: RecordingId,
    principal: PrincipalDep,
    services: ServicesDep,
    download: Annotated[bool, Query(description="Send as an attachment.")] = False,
) -> FileResponse:
    """The fragmented MP4 (H.264, Opus). Range requests work, so phones can seek.

    Complete recordings carry ``X-Content-SHA256`` (hex) and ``Repr-Digest`` (RFC 9530)
    with the SHA-256 of the whole file, also stored in the recording and its events.
    """
    row = await _recording(services, principal, recording_id)
    path = safe_file(services.recordings.root, row.path)
    headers = {"Cache-Control": "private, no-cache"}
    if row.state != "recording" and row.sha256:
        headers["X-Content-SHA256"] = row.sha256
        digest = base64.b64encode(bytes.fromhex(row.sha256)).decode()
        headers["Repr-Digest"] = f"sha-256=:{digest}:"
    name = None
    if download:
        name = f"sentrycam-{row.camera}-{aware(row.start):%Y%m%dT%H%M%SZ}-{row.id}.mp4"
    return FileResponse(
        path,
        media_type="video/mp4",
        headers=headers,
        filename=name,
        content_disposition_type="attachment",
    )


@router.get(
    "/api/recordings/{recording_id}/strip.jpg",
    response_class=Response,
    responses={**ERRORS, 200: {"content": {"image/jpeg": {}}}},
)
async def recording_strip(
    recording_id: RecordingId,
    principal: PrincipalDep,
    services: ServicesDep,
    tiles: Annotated[int, Query(ge=1, le=20)] = 8,
) -> Response:
    """``tiles`` pictures side by side, tile i from ``(i + 0.5) / tiles`` of the duration."""
    row = await _recording(services, principal, recording_id)
    safe_file(services.recordings.root, row.path)
    try:
        strip = await services.recordings.thumbnails.strip(row, tiles)
    except (ValueError, OSError) as error:
        raise NotFound(f"no picture in recording {recording_id}: {error}") from None
    headers = {"Cache-Control": "private, max-age=3600"}
    if isinstance(strip, bytes):
        return Response(strip, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
    return FileResponse(strip, media_type="image/jpeg", headers=headers)


@router.delete("/api/recordings/{recording_id}", status_code=204, responses=ERRORS)
async def delete_recording(
    recording_id: RecordingId, request: Request, principal: AdminDep, services: ServicesDep
) -> Response:
    """Delete a recording for good (admins). One being written cannot be deleted (409)."""
    row = await _recording(services, principal, recording_id)
    await services.recordings.delete(row.id)
    client = client_address(request)
    await services.db.run(
        lambda db: services.accounts.audit(
            db, principal.name, "recording_deleted", f"{row.camera}/{row.id}", client
        )
    )
    return Response(status_code=204)


@router.get("/api/storage", response_model=StorageOut, responses=ERRORS)
async def storage(principal: PrincipalDep, services: ServicesDep) -> StorageOut:
    """Free space, the guard's reserve and what each camera is writing."""
    status = services.recordings.status()
    status["recording"] = {
        camera: state for camera, state in status["recording"].items() if principal.can_see(camera)
    }
    if not principal.is_admin:
        status["root"] = None
    return StorageOut.model_validate(status)
