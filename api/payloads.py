"""The JSON shapes of events, recordings and camera status, as the REST API and the live
WebSocket channel send them. A contract (docs/api.md): add fields, never rename or remove.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from camera.camera import Camera
from camera.talk import TalkSession

from .models import Event, Recording

SYSTEM_CAMERA = "*"  # events not tied to one camera (storage); only admins see them


def iso(t: float | datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``; stored naive datetimes (SQLite) are UTC."""
    if t is None:
        return None
    moment = datetime.fromtimestamp(t, UTC) if isinstance(t, float | int) else t
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat().replace("+00:00", "Z")


def camera_message(camera: Camera) -> dict[str, Any]:
    """A camera's status on the live channel (``{"type": "camera", ...}``)."""
    return {
        "type": "camera",
        "camera": camera.id,
        "status": camera.status,
        "error": camera.error,
        "at": time.time(),
    }


def talk_message(camera: str, session: TalkSession | None) -> dict[str, Any]:
    """Who talks through a camera's speaker now (``user`` null: nobody)."""
    return {"type": "talk", "camera": camera, **talk_state(session)}


def talk_state(session: TalkSession | None) -> dict[str, Any]:
    return {
        "talking": session is not None,
        "user": session.user_name if session else None,
        "since": iso(session.started) if session else None,
    }


def event_json(event: Event, clip: dict[str, Any] | None = None) -> dict[str, Any]:
    """An event; ``clip`` is the summary of the recording showing it (``recording_summary``)."""
    base = f"/api/events/{event.id}"
    return {
        "id": event.id,
        "camera": event.camera,
        "kind": event.kind,
        "start": iso(event.start),
        "end": iso(event.end),
        "score": round(event.score, 4),
        "regions": event.regions,
        "zones": event.zones,
        "alert": event.alert,
        "acknowledged": event.acknowledged_at is not None,
        "acknowledged_by": event.acknowledged_by,
        "detail": event.detail,
        "links": {
            "self": base,
            "snapshot": f"{base}/snapshot.jpg" if event.snapshot else None,
            "clip": f"/api/recordings/{clip['id']}" if clip else None,
        },
        "clip": clip,
    }


def recording_summary(recording: Recording) -> dict[str, Any]:
    """What an event shows of its clip (the full record is at ``/api/recordings/{id}``)."""
    return {
        "id": recording.id,
        "state": recording.state,
        "duration": round(recording.duration, 3),
        "size": recording.size,
        "sha256": recording.sha256,
    }


def writing_summary(recording_id: int) -> dict[str, Any]:
    """The summary of a clip still being written (events begin and end during its post-roll)."""
    return {"id": recording_id, "state": "recording", "duration": 0.0, "size": 0, "sha256": None}


def recording_json(row: Recording) -> dict[str, Any]:
    """A recording (an event clip or a continuous segment)."""
    base = f"/api/recordings/{row.id}"
    return {
        "id": row.id,
        "camera": row.camera,
        "kind": row.kind,
        "start": iso(row.start),
        "end": iso(row.end),
        "duration": round(row.duration, 3),
        "size": row.size,
        "sha256": row.sha256,
        "audio": row.audio,
        "state": row.state,
        "events": list(row.events),
        "detail": row.detail,
        "links": {
            "self": base,
            "video": f"{base}/video.mp4",
            "download": f"{base}/video.mp4?download=1",
            "strip": f"{base}/strip.jpg",
        },
    }
