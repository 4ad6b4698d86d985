"""The ``notifications:`` config section (docs/config.md), self-contained so a settings
layer can expose it as it is."""

from __future__ import annotations

import re
from datetime import time
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

KIND_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
CAMERA_PATTERN = r"^([a-z0-9][a-z0-9_-]{0,31}|\*)$"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$"
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _kinds(value: list[str] | None) -> list[str] | None:
    for kind in value or []:
        if not re.fullmatch(KIND_PATTERN, kind):
            raise ValueError(f"{kind!r} is not an event kind (lower-case letters, digits, _)")
    return value


def _cameras(value: list[str] | None) -> list[str] | None:
    for camera in value or []:
        if not re.fullmatch(CAMERA_PATTERN, camera):
            raise ValueError(f"{camera!r} is not a camera id (or '*' for system alerts)")
    return value


class Filters(_Model):
    """Which events a channel wants; null means every one it may see."""

    cameras: list[str] | None = Field(
        None, description="Camera ids (and '*' for system alerts); null: every camera."
    )
    kinds: list[str] | None = Field(
        None, description="Event kinds (motion, sound, offline, ...); null: every kind."
    )

    _check_kinds = field_validator("kinds")(_kinds)
    _check_cameras = field_validator("cameras")(_cameras)


class Window(_Model):
    """A daily time window in local time; one that ends before it starts crosses midnight."""

    start: time = Field(description="HH:MM, local time.")
    end: time = Field(description="HH:MM, local time; before start: the window ends next day.")
    days: list[Day] = Field(
        default_factory=lambda: list(DAYS),
        description="Days the window starts on (mon ... sun); default: every day.",
    )

    @model_validator(mode="after")
    def _not_empty(self) -> Window:
        if self.start == self.end:
            raise ValueError("start and end are the same: the window would be empty")
        return self


class WebPushConfig(_Model):
    contact: str | None = Field(
        None,
        description="The VAPID 'sub': mailto:you@example.org or an https: URL. Web Push "
        "is off until it is set. Apple rejects localhost addresses.",
    )
    insecure_endpoints: bool = Field(
        False,
        description="Accept http:// push endpoints and private/loopback addresses: for "
        "testing with a local push service only.",
    )
    ttl_seconds: int = Field(
        3600,
        ge=0,
        le=2419200,
        description="How long a push service keeps an alert for a phone that is offline.",
    )

    @field_validator("contact")
    @classmethod
    def _contact(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if re.fullmatch(r"mailto:[^@\s]+@[^@\s]+", value):
            host = value.rsplit("@", 1)[1]
        elif value.startswith("https://") and urlsplit(value).hostname:
            host = urlsplit(value).hostname or ""
        else:
            raise ValueError("must be mailto:someone@example.org or an https:// URL")
        if host.lower() in ("localhost", "127.0.0.1", "[::1]", "::1"):
            raise ValueError("Apple's push service rejects localhost addresses: use a real one")
        return value


class Webhook(Filters):
    name: str = Field(pattern=NAME_PATTERN, description="Shown in the notification log.")
    url: str = Field(description="http(s) URL the event JSON is POSTed to.")
    secret: str = Field(
        description="Standard Webhooks secret, whsec_<base64> (at least 24 bytes); "
        "use ${SENTRYCAM_...} to keep it out of the file."
    )
    timeout_seconds: float = Field(10, gt=0, le=60, description="Per attempt.")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str) -> str:
        import base64
        import binascii

        raw = value.removeprefix("whsec_")
        try:
            decoded = base64.b64decode(raw + "==", validate=False)
        except binascii.Error:
            raise ValueError("must be whsec_ followed by base64") from None
        if len(decoded) < 24:
            raise ValueError("too short: at least 24 random bytes, base64-encoded")
        return value


class AppriseTarget(Filters):
    url: str = Field(description="An Apprise URL: ntfy://, tgram://, mailto://, json:// ...")
    name: str | None = Field(
        None, pattern=NAME_PATTERN, description="Shown in the log; default: the URL's scheme."
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^[a-z][a-z0-9+.-]*://", value):
            raise ValueError("must be an Apprise URL like ntfy://topic or json://host/path")
        return value

    @property
    def label(self) -> str:
        return self.name or self.url.split("://", 1)[0]


class NotificationsConfig(_Model):
    cooldown_seconds: float = Field(
        60,
        ge=0,
        le=86400,
        description="After a notification about a camera, a recipient gets no other one "
        "about it for this long; what happens meanwhile folds into one 'and N more'.",
    )
    quiet_hours: list[Window] = Field(
        default_factory=list, description="Windows in which no notification goes out."
    )
    schedule: list[Window] = Field(
        default_factory=list,
        description="Weekly windows in which notifications go out; empty: all the time.",
    )
    timezone: str | None = Field(
        None, description="IANA zone of quiet_hours and schedule; default: the system's."
    )
    base_url: str | None = Field(
        None,
        description="The dashboard's address as people reach it (https://cam.example.org), "
        "for links in webhooks and Apprise messages.",
    )
    log_keep_days: float = Field(30, gt=0, le=3650, description="Log entries older go.")
    log_max_entries: int = Field(
        100_000, ge=1000, le=10_000_000, description="At most this many log entries."
    )
    web_push: WebPushConfig = Field(default_factory=WebPushConfig)
    webhooks: list[Webhook] = Field(default_factory=list)
    apprise: list[AppriseTarget] = Field(
        default_factory=list,
        description="Apprise URLs, or {url, name, cameras, kinds} to filter.",
    )

    @field_validator("apprise", mode="before")
    @classmethod
    def _plain_urls(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"url": item} if isinstance(item, str) else item for item in value]
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r} (e.g. Europe/Berlin)") from None
        return value

    @field_validator("base_url")
    @classmethod
    def _base(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^/\s]+(/[^\s]*)?", value):
            raise ValueError("must be like https://cam.example.org")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _unique_names(self) -> NotificationsConfig:
        names = [w.name for w in self.webhooks]
        if len(names) != len(set(names)):
            raise ValueError("two webhooks have the same name")
        return self
