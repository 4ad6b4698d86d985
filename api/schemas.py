"""Wire models of the REST API (a contract: add fields, never rename or remove them)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from .accounts import NAME_PATTERN


class Problem(BaseModel):
    detail: str = Field(description="What went wrong, for a person to read.")


MqttState = Literal["connecting", "connected", "retrying"]


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    cameras_online: int
    cameras_total: int
    mqtt: MqttState | None = Field(
        None,
        description="The MQTT bridge's state; absent when MQTT is off. Details (admins): "
        "GET /api/mqtt.",
    )
    database: Literal["ok", "failing"] = Field(
        "ok", description="failing while events cannot be written (they wait, bounded)."
    )
    events_waiting: int = Field(0, description="Event changes queued for the database.")
    events_dropped: int = Field(
        0, description="Queued items dropped (oldest first) because the database was away."
    )


class MqttStatus(BaseModel):
    """The MQTT bridge, for an admin fixing its connection (never the password)."""

    enabled: bool = Field(description="False: no mqtt section in the config file.")
    state: MqttState | Literal["off"]
    broker: str | None = Field(None, description="mqtt://host:port or mqtts://host:port.")
    tls: bool | None = None
    username: str | None = None
    client_id: str | None = None
    topic_prefix: str | None = None
    discovery: bool | None = None
    discovery_prefix: str | None = None
    connected_since: float | None = Field(None, description="Unix seconds; null: not connected.")
    last_error: str | None = Field(None, description="The last connection failure, in words.")
    last_error_at: float | None = None
    failures: int = Field(0, description="Failed attempts since the last connection.")
    next_retry_at: float | None = Field(None, description="Unix seconds of the next attempt.")
    published: int = Field(0, description="Messages the broker accepted since start.")
    queued: int = Field(0, description="Messages waiting for the broker.")
    dropped: int = Field(0, description="Messages dropped because too many were waiting.")
    commands_obeyed: int = 0
    commands_ignored: int = Field(0, description="Invalid or unauthorised command messages.")


class CameraLinks(BaseModel):
    whep: str
    snapshot: str
    talk: str | None = Field(None, description="Talk-back endpoint; null: no speaker.")


class LightStream(BaseModel):
    width: int
    height: int
    fps: float
    bitrate_kbps: int


class CameraMode(BaseModel):
    fourcc: str = Field(description="V4L2 pixel format, e.g. MJPG, YUYV, H264.")
    format: str = Field(description="MJPEG, H.264, YUYV ...")
    width: int
    height: int
    fps: float = Field(description="Rate asked of the device.")
    passthrough: bool = Field(description="The camera's H.264 is forwarded untouched.")
    reason: str = Field(description="Why this mode was chosen.")


class CameraDevice(BaseModel):
    path: str = Field(description="/dev/videoN it was last opened as.")
    identity: str = Field(description="Stable identity (survives renumbering).")
    card: str


class CameraOut(BaseModel):
    id: str
    name: str
    status: Literal["starting", "online", "offline"]
    error: str | None = Field(description="Why the camera is offline, credentials redacted.")
    source_kind: Literal["demo", "v4l2", "url", "file"]
    width: int | None
    height: int | None
    fps: float = Field(description="Frames per second delivered by the source, last 2 s.")
    bitrate_kbps: float = Field(description="Bitrate of the shared stream, last 2 s; 0 when idle.")
    encoder: str = Field(description="libx264, h264_v4l2m2m or copy.")
    audio: bool
    viewers: int
    max_viewers: int
    links: CameraLinks
    mode: CameraMode | None = Field(None, description="Webcams: the mode it was opened in.")
    device: CameraDevice | None = Field(None, description="Webcams: the device last opened.")
    microphone: Literal["starting", "online", "offline"] | None = Field(
        None, description="The ALSA microphone's state; null without one."
    )
    speaker: bool = Field(False, description="The camera has a speaker for talk-back.")
    light: LightStream | None = Field(
        None, description="The light second stream (quality=low|auto); null: none."
    )


class CameraList(BaseModel):
    cameras: list[CameraOut]
    config_source: Literal["file", "autodetect-v4l2", "autodetect-demo"]
    notice: str | None = Field(description="Something the user should know about the setup.")


class IceServerOut(BaseModel):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class WebRTCSettings(BaseModel):
    ice_servers: list[IceServerOut] = Field(
        description="Pass as RTCConfiguration.iceServers; empty unless configured."
    )
    expires_at: int | None = Field(
        None,
        description="Unix time when the TURN logins minted for this session expire "
        "(null: none minted); fetch again before then.",
    )


class ViewerQuality(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quality: Literal["high", "low", "auto"] = Field(
        description="high: the main stream; low: the light one; auto: chosen by the link."
    )
    layer: Literal["high", "low"] | None = Field(
        None, description="(answer only) the stream this viewer is on or moving to now."
    )


class TalkState(BaseModel):
    speaker: bool = Field(description="The camera has a speaker to talk through.")
    talking: bool = Field(description="Someone talks through it now.")
    user: str | None = Field(None, description="Who talks (null: nobody).")
    since: str | None = Field(None, description="Since when (ISO 8601, UTC).")


# ----- accounts ------------------------------------------------------------------------------

UserName = Annotated[str, Field(pattern=NAME_PATTERN, description="Letters, digits, . _ @ -")]
Password = Annotated[str, Field(min_length=1, max_length=256)]
CameraIds = Annotated[
    list[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]] | None,
    Field(description="Cameras a viewer may see; null = all. Ignored for admins."),
]


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Password


class SetupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Annotated[str, Field(min_length=1, max_length=32, description="Printed at start-up.")]
    username: UserName
    password: Password


class SetupState(BaseModel):
    needed: bool = Field(description="True until the first admin exists.")


class Me(BaseModel):
    name: str
    role: Literal["admin", "viewer"]
    cameras: list[str] | None
    via: Literal["session", "token", "cli"]
    csrf_token: str | None = Field(
        description="Send as X-CSRF-Token on state-changing requests from clients that "
        "omit the Origin header."
    )


class PasswordChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: Password
    new_password: Password


class PasswordSetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: Password


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: UserName
    password: Password
    role: Literal["admin", "viewer"] = "viewer"
    cameras: CameraIds = None


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["admin", "viewer"] | None = None
    cameras: CameraIds = None


class UserOut(BaseModel):
    name: str
    role: Literal["admin", "viewer"]
    cameras: list[str] | None
    created_at: datetime
    password_changed_at: datetime


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=64)]
    user: UserName | None = Field(None, description="Admins may create tokens for others.")
    expires_days: float | None = Field(None, gt=0, le=3650, description="null: never expires.")


class TokenOut(BaseModel):
    id: int
    name: str
    user: str
    prefix: str = Field(description="The token's first characters, to tell tokens apart.")
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked: bool


class TokenCreated(TokenOut):
    token: str = Field(description="Shown once; only a hash is stored.")


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    client: str
    ok: bool
    detail: str


# ----- events --------------------------------------------------------------------------------

EventKind = Literal[
    "motion",
    "sound",
    "offline",
    "online",
    "frozen",
    "tamper",
    "storage",
    "mqtt",
    "undervoltage",
    "throttled",
    "overheat",
    "disk_low",
    "memory",
    "encoder",
]
RecordingKind = Literal["clip", "continuous"]
RecordingState = Literal["recording", "complete", "interrupted"]


class EventLinks(BaseModel):
    self: str
    snapshot: str | None
    clip: str | None = Field(description="The recording showing this event (/api/recordings/N).")


class ClipSummary(BaseModel):
    id: int
    state: RecordingState
    duration: float = Field(description="Seconds recorded so far, or in all once complete.")
    size: int = Field(description="Bytes.")
    sha256: str | None = Field(description="Hex SHA-256 of the file, once complete.")


class EventOut(BaseModel):
    id: int
    camera: str
    kind: EventKind
    start: str = Field(description="ISO 8601, UTC.")
    end: str | None = Field(description="ISO 8601, UTC; null while the event lasts.")
    score: float = Field(
        description="motion: peak fraction of the frame moving (0-1); sound: peak dBFS."
    )
    regions: list[list[float]] = Field(description="[x, y, w, h] boxes, normalised 0-1.")
    zones: list[str]
    alert: bool = Field(description="Whether this event raised an alert (armed, no cooldown).")
    acknowledged: bool
    acknowledged_by: str | None
    detail: str
    links: EventLinks
    clip: ClipSummary | None = Field(
        None, description="The clip showing this event; null if none (or deleted since)."
    )


class EventPage(BaseModel):
    events: list[EventOut]
    next_cursor: str | None = Field(description="Pass as cursor for the next (older) page.")


class ArmState(BaseModel):
    model_config = ConfigDict(extra="forbid")
    armed: bool


class ArmingOut(ArmState):
    """A camera's arming: now, by whom, and its next change (docs/api.md)."""

    mode: Literal["always", "never", "weekly"] = Field(description="The camera's schedule.")
    scheduled: bool = Field(description="What the schedule alone says now.")
    override: bool = Field(description="A manual arm/disarm overrides the schedule now.")
    next_change: datetime | None = Field(
        description="When ``armed`` changes by itself next (the schedule, or the end of the "
        "manual override); null: not within a week."
    )
    next_armed: bool | None = Field(description="What it changes to then.")
    timezone: str = Field(description="The time zone the schedule's periods are in.")


class ActivityOut(BaseModel):
    camera: str
    hours: list[str] = Field(description="Start of each hour, ISO 8601 UTC, oldest first.")
    counts: dict[str, list[int]] = Field(description="Events per hour, by kind.")


class RecordingLinks(BaseModel):
    self: str
    video: str = Field(description="The MP4 (HTTP range requests supported).")
    download: str = Field(description="The MP4 as an attachment, with its SHA-256 in headers.")
    strip: str = Field(description="A JPEG strip of pictures spread over the recording.")


class RecordingOut(BaseModel):
    id: int
    camera: str
    kind: RecordingKind = Field(description="clip (an event's) or continuous (a segment).")
    start: str = Field(description="ISO 8601, UTC: the first frame (a keyframe).")
    end: str | None = Field(description="ISO 8601, UTC: the last frame; null while recording.")
    duration: float = Field(description="Seconds; 0 while recording.")
    size: int = Field(description="Bytes; 0 while recording.")
    sha256: str | None = Field(description="Hex SHA-256 of the file once complete.")
    audio: bool
    state: RecordingState = Field(
        description="recording (being written), complete, or interrupted (crash or disk "
        "error: playable up to its last fragment)."
    )
    events: list[int] = Field(description="Ids of the events this clip shows.")
    detail: str
    links: RecordingLinks


class RecordingPage(BaseModel):
    recordings: list[RecordingOut]
    next_cursor: str | None = Field(description="Pass as cursor for the next page.")


class StorageOut(BaseModel):
    root: str | None = Field(description="Where recordings are kept (admins only).")
    total_bytes: int | None
    free_bytes: int | None
    reserve_bytes: int | None = Field(description="Free space the disk guard keeps.")
    low: bool = Field(description="Free space is under the reserve right now.")
    deleted_for_space: int = Field(description="Recordings the guard deleted since start.")
    last_guard_action: str | None
    kept_bytes: int | None = Field(
        None,
        description="The disk guard's floor: the recordings' size when free space last met "
        "the reserve; it never deletes below this by more than one recording.",
    )
    filled_by_others: bool = Field(
        False, description="The disk is under the reserve because something else filled it."
    )
    recording: dict[str, dict[str, int | None]] = Field(
        description="Per camera: the id of the clip and the segment being written."
    )
