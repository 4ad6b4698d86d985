"""What a notification says: the same words on every channel (docs/api.md, "Web Push
payload"). Pure functions of the event as the live channel sends it."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, tzinfo
from typing import Any

from .policy import SYSTEM_CAMERA

KIND_TITLES = {
    "motion": "Motion",
    "sound": "Sound",
    "tamper": "Tampering",
    "frozen": "Frozen picture",
    "offline": "Camera offline",
    "online": "Camera back online",
    "storage": "Storage",
    "undervoltage": "Undervoltage",
    "overheat": "Overheating",
    "disk_low": "Disk almost full",
    "test": "Test notification",
}


def kind_title(kind: str) -> str:
    return KIND_TITLES.get(kind, kind.replace("_", " ").capitalize())


def topic(camera: str, kind: str) -> str:
    """RFC 8030 ``Topic`` (at most 32 URL-safe base64 characters): one per camera and
    kind, so a push service holding messages for an offline phone keeps only the latest."""
    digest = hashlib.sha256(f"{camera}/{kind}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:32]


def event_url(event_id: int) -> str:
    """The dashboard link that opens an event."""
    return f"/#/events/{event_id}"


def notification(
    event: dict[str, Any], camera_name: str, folded: int, zone: tzinfo, test: bool = False
) -> dict[str, Any]:
    """The Web Push payload (JSON): title, body, camera, event, kind, url, image, tag."""
    camera = str(event["camera"])
    kind = str(event["kind"])
    where = "System" if camera == SYSTEM_CAMERA else camera_name
    start = datetime.fromisoformat(str(event["start"]).replace("Z", "+00:00"))
    parts = [start.astimezone(zone).strftime("%H:%M:%S")]
    if event.get("detail"):
        parts.append(str(event["detail"]))
    if folded > 0:
        parts.append(f"and {folded} more")
    return {
        "title": "Sentrycam: test notification" if test else f"{kind_title(kind)} · {where}",
        "body": " · ".join(parts),
        "camera": camera,
        "event": event["id"],
        "kind": kind,
        "url": "/" if test else event_url(int(event["id"])),
        "image": (event.get("links") or {}).get("snapshot"),
        "tag": "sentrycam-test" if test else f"sentrycam-{camera}",
        "folded": folded,
        "test": test,
        "at": event["start"],
    }


def absolute(base_url: str | None, path: str | None) -> str | None:
    """A dashboard path as a full URL for messages read elsewhere (webhooks, Apprise)."""
    if path is None or base_url is None:
        return path
    return base_url + path
