"""Wire models of the notification routes (a contract: add fields, never rename)."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .config import CAMERA_PATTERN, KIND_PATTERN

CameraChoice = Annotated[str, Field(pattern=CAMERA_PATTERN)]
KindChoice = Annotated[str, Field(pattern=KIND_PATTERN)]


def _b64url(value: str, length: int | None, what: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise ValueError(f"{what} is not base64url") from None
    if length is not None and len(raw) != length:
        raise ValueError(f"{what} must be {length} bytes, not {len(raw)}")
    return raw


class PushKeys(BaseModel):
    model_config = ConfigDict(extra="forbid")
    p256dh: Annotated[str, Field(max_length=128, description="The browser's P-256 key.")]
    auth: Annotated[str, Field(max_length=64, description="The 16-byte auth secret.")]

    @field_validator("p256dh")
    @classmethod
    def _point(cls, value: str) -> str:
        if _b64url(value, 65, "p256dh")[0] != 4:
            raise ValueError("p256dh must be an uncompressed P-256 point")
        return value

    @field_validator("auth")
    @classmethod
    def _auth(cls, value: str) -> str:
        _b64url(value, 16, "auth")
        return value


class SubscriptionIn(BaseModel):
    """``PushSubscription.toJSON()`` plus the device's name and choices."""

    model_config = ConfigDict(extra="forbid")
    endpoint: Annotated[str, Field(min_length=8, max_length=2048)]
    expirationTime: float | None = Field(None, description="As the browser sends it; unused.")
    keys: PushKeys
    name: Annotated[str, Field(min_length=1, max_length=64)] = "This device"
    cameras: list[CameraChoice] | None = Field(
        None, max_length=100, description="Cameras to be told about ('*': system); null: all."
    )
    kinds: list[KindChoice] | None = Field(
        None, max_length=50, description="Event kinds to be told about; null: all."
    )
    previous_endpoint: Annotated[str, Field(max_length=2048)] | None = Field(
        None,
        description="The service worker renewing a subscription: the old endpoint, whose "
        "name and choices carry over (when not given) and which is removed.",
    )


class SubscriptionCreated(BaseModel):
    id: int


class SubscriptionOut(BaseModel):
    id: int
    name: str
    user: str
    endpoint: str
    cameras: list[str] | None
    kinds: list[str] | None
    created_at: datetime
    last_sent_at: datetime | None
    last_error: str | None


class PushKey(BaseModel):
    public_key: str = Field(description="VAPID key: base64url uncompressed P-256 point.")


class TestResult(BaseModel):
    delivered: bool
    outcome: Literal["sent", "gone", "failed"]
    detail: str


class SnoozeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    minutes: float = Field(60, gt=0, le=7 * 24 * 60, description="How long; at most a week.")
    everyone: bool = Field(False, description="Admins: every user's devices and every channel.")


class SnoozeOut(BaseModel):
    camera: str
    until: datetime | None = Field(description="null: not snoozed.")
    everyone: bool
    by: str | None


class LogEntryOut(BaseModel):
    id: int
    at: datetime
    event_id: int | None
    camera: str
    kind: str
    channel: Literal["web_push", "webhook", "apprise"]
    target: str
    outcome: Literal["sent", "suppressed", "failed"]
    reason: str = Field(
        description="sent: alert, summary, test; suppressed: no_rights, filtered, disarmed, "
        "snoozed, schedule, quiet_hours, cooldown; failed: gone, error."
    )
    detail: str


class LogPage(BaseModel):
    entries: list[LogEntryOut]
    next_before: int | None = Field(description="Pass as before= for older entries.")
