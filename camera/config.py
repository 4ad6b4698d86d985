"""Typed configuration: one YAML file, validated by pydantic, secrets from the environment.

The file is a contract (see docs/config.md): keys are stable, unknown keys are refused so a
typo never silently falls back to a default. String values may reference environment
variables as ``${SENTRYCAM_NAME}`` so passwords in camera URLs need not sit in the file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .errors import ConfigError
from .health import HealthConfig
from .motion import MotionConfig
from .sound import SoundConfig

ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
ENV_PREFIX = "SENTRYCAM_"

Encoder = Literal["auto", "libx264", "h264_v4l2m2m", "copy"]
InputFormat = Literal["mjpeg", "yuyv422", "h264"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


RecordTrigger = Literal["motion", "sound", "tamper", "frozen"]
DEFAULT_TRIGGERS: tuple[RecordTrigger, ...] = ("motion", "sound", "tamper")


class RecordingConfig(_Model):
    """What a camera records: event clips with pre-roll, and optionally everything."""

    events: bool = Field(
        True, description="Keep a clip of every event of the kinds in event_kinds."
    )
    event_kinds: list[RecordTrigger] = Field(
        default_factory=lambda: list(DEFAULT_TRIGGERS),
        description="Event kinds that start a clip.",
    )
    pre_roll_seconds: float = Field(
        5, ge=0, le=30, description="Seconds before the event kept in the clip."
    )
    post_roll_seconds: float = Field(
        5, ge=0, le=120, description="Seconds kept after the last event of the clip ends."
    )
    max_clip_seconds: float = Field(
        300, ge=10, le=3600, description="Longer clips are cut and continue in a new one."
    )
    continuous: bool = Field(False, description="Record everything, in fixed-length segments.")
    segment_seconds: float = Field(
        60, ge=2, le=3600, description="Length of a continuous segment (cut at a keyframe)."
    )
    keep_clip_days: float = Field(30, gt=0, le=3650, description="Event clips older go.")
    keep_continuous_days: float = Field(
        7, gt=0, le=3650, description="Continuous segments older go."
    )
    audio: bool = Field(True, description="Record the camera's audio too (when it has any).")

    @property
    def enabled(self) -> bool:
        return self.events or self.continuous


class CameraConfig(_Model):
    """One camera: a video source, optionally a microphone, and how to encode it."""

    id: Annotated[
        str,
        Field(
            pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$",
            description="Stable identifier used in URLs: lowercase letters, digits, - and _.",
        ),
    ]
    name: str | None = Field(None, max_length=64, description="Display name; defaults to id.")
    source: str = Field(
        min_length=1,
        description=(
            "'demo', a V4L2 device (/dev/videoN), an FFmpeg URL "
            "(rtsp://, http://, udp://, tcp://) or a file path."
        ),
    )
    input_format: InputFormat | None = Field(
        None, description="V4L2 pixel format to ask the device for (mjpeg, yuyv422, h264)."
    )
    audio: str | None = Field(
        None,
        description=(
            "Microphone: an ALSA device (hw:1,0, default), 'source' for the audio track of a "
            "URL or file source, 'demo' for a test tone, or null for none."
        ),
    )
    width: int = Field(1280, ge=160, le=3840, multiple_of=2)
    height: int = Field(720, ge=120, le=2160, multiple_of=2)
    fps: float = Field(30.0, gt=0, le=60)
    bitrate_kbps: int = Field(2000, ge=100, le=20000, description="Target video bitrate.")
    gop_seconds: float = Field(
        2.0, gt=0, le=10, description="Keyframe interval; viewers also force one on join."
    )
    encoder: Encoder = Field(
        "auto",
        description="auto picks h264_v4l2m2m when the Pi's encoder exists, else libx264; "
        "copy forwards H.264 from the source untouched.",
    )
    max_viewers: int | None = Field(
        None,
        ge=1,
        le=100,
        description="Viewer cap for this camera; defaults to webrtc.max_viewers.",
    )
    analysis_fps: float = Field(
        5.0, gt=0, le=30, description="Frames per second analysed for motion and health."
    )
    motion: MotionConfig = Field(default_factory=MotionConfig)
    sound: SoundConfig = Field(default_factory=SoundConfig)
    health: HealthConfig = Field(default_factory=HealthConfig)
    recording: RecordingConfig = Field(default_factory=RecordingConfig)

    @property
    def display_name(self) -> str:
        return self.name or self.id

    @property
    def source_kind(self) -> Literal["demo", "v4l2", "url", "file"]:
        if self.source == "demo":
            return "demo"
        if self.source.startswith("/dev/video"):
            return "v4l2"
        if "://" in self.source:
            return "url"
        return "file"

    @field_validator("source")
    @classmethod
    def _no_shell(cls, value: str) -> str:
        # The source is handed to FFmpeg as one argument, never to a shell; still refuse
        # control characters so a config cannot smuggle anything odd into logs or URLs.
        if any(ord(c) < 32 for c in value):
            raise ValueError("must not contain control characters")
        return value


class TLSConfig(_Model):
    cert: Path | None = Field(None, description="PEM certificate chain file.")
    key: Path | None = Field(None, description="PEM private key file.")
    self_signed: bool = Field(
        False,
        description="Generate a self-signed certificate in the data dir on first start "
        "(ignored when cert and key are set).",
    )

    @model_validator(mode="after")
    def _both_or_neither(self) -> TLSConfig:
        if (self.cert is None) != (self.key is None):
            raise ValueError("set both cert and key, or neither")
        return self

    @property
    def enabled(self) -> bool:
        return self.cert is not None or self.self_signed


class ServerConfig(_Model):
    host: str = Field("0.0.0.0", description="Address to listen on.")
    port: int = Field(8080, ge=1, le=65535)
    tls: TLSConfig = Field(default_factory=TLSConfig)


class DatabaseConfig(_Model):
    url: str | None = Field(
        None,
        description="SQLAlchemy URL, e.g. postgresql+psycopg://user:pw@host/db; "
        "default: SQLite file sentrycam.db in the data dir.",
    )


class ThrottleConfig(_Model):
    slow_after: int = Field(3, ge=1, le=100, description="Failures before logins slow down.")
    lock_after: int = Field(10, ge=2, le=1000, description="Failures before a lock.")
    window_minutes: float = Field(15, gt=0, le=1440, description="Failures counted over this.")
    lock_minutes: float = Field(15, gt=0, le=1440, description="How long a lock lasts.")


class SecurityConfig(_Model):
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Extra origins (scheme://host[:port]) allowed to make cookie-authenticated "
        "requests and WebSocket connections, besides the server's own.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Reverse proxies (IPs or CIDR ranges) whose X-Forwarded-For/-Proto/-Host "
        "headers are believed.",
    )
    session_days: float = Field(30, gt=0, le=365, description="Browser sessions last this long.")
    session_idle_days: float = Field(
        7, gt=0, le=365, description="A session unused for this long ends."
    )
    min_password_length: int = Field(10, ge=8, le=128)
    login_throttle: ThrottleConfig = Field(default_factory=ThrottleConfig)

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if not re.fullmatch(r"https?://[^/\s]+", origin):
                raise ValueError(f"{origin!r} is not an origin like https://host:port")
        return [origin.lower() for origin in value]

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for network in value:
            ipaddress.ip_network(network, strict=False)
        return value


class IceServer(_Model):
    urls: list[str] = Field(min_length=1)
    username: str | None = None
    credential: str | None = None


class WebRTCConfig(_Model):
    ice_servers: list[IceServer] = Field(
        default_factory=list,
        description="STUN/TURN servers; empty by default so the appliance never phones out.",
    )
    ice_addresses: list[str] | None = Field(
        None,
        description="Local IP addresses offered as ICE host candidates; null = every "
        "non-loopback address. Set ['127.0.0.1'] to stay on loopback.",
    )
    max_viewers: int = Field(10, ge=1, le=100, description="Default viewer cap per camera.")
    connect_timeout_s: float = Field(20.0, gt=0, le=120)

    @field_validator("ice_addresses")
    @classmethod
    def _valid_ips(cls, value: list[str] | None) -> list[str] | None:
        import ipaddress

        if value is not None:
            for address in value:
                ipaddress.ip_address(address)
        return value


class EventsConfig(_Model):
    cooldown_seconds: float = Field(
        60,
        ge=0,
        le=86400,
        description="After an alert, a camera's next events raise none "
        "for this long (they are still recorded).",
    )
    max_event_seconds: float = Field(
        300, ge=10, le=86400, description="Longer events are split (a busy street)."
    )
    keep_days: float = Field(30, gt=0, le=3650, description="Events older than this go.")


class StorageConfig(_Model):
    path: Path | None = Field(
        None, description="Where recordings go; default: recordings/ in the data dir."
    )
    reserve_percent: float = Field(
        10,
        ge=0,
        le=90,
        description="Free space kept on the recordings' filesystem, as a share of its size.",
    )
    reserve_mb: int = Field(
        1024,
        ge=0,
        le=10_000_000,
        description="Free space kept, in MiB. The guard keeps the smaller of the two "
        "reserves free, deleting the oldest recordings first.",
    )

    def reserve_bytes(self, total: int) -> int:
        return int(min(total * self.reserve_percent / 100, self.reserve_mb * 1024 * 1024))


class Settings(_Model):
    """The whole config file."""

    server: ServerConfig = Field(default_factory=ServerConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    security: SecurityConfig = Field(default_factory=SecurityConfig)
    webrtc: WebRTCConfig = Field(default_factory=WebRTCConfig)
    events: EventsConfig = Field(default_factory=EventsConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    cameras: list[CameraConfig] = Field(default_factory=list)

    @field_validator("cameras")
    @classmethod
    def _unique_ids(cls, cameras: list[CameraConfig]) -> list[CameraConfig]:
        seen: set[str] = set()
        for camera in cameras:
            if camera.id in seen:
                raise ValueError(f"camera id {camera.id!r} is used twice")
            seen.add(camera.id)
        return cameras

    def max_viewers(self, camera: CameraConfig) -> int:
        return camera.max_viewers or self.webrtc.max_viewers


def expand_env(value: Any, where: str = "") -> Any:
    """Replace ``${SENTRYCAM_X}`` references in every string of a parsed YAML tree."""
    if isinstance(value, dict):
        return {k: expand_env(v, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_env(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if not name.startswith(ENV_PREFIX):
            raise ConfigError(f"{where}: only ${{{ENV_PREFIX}...}} variables may be referenced")
        if name not in os.environ:
            raise ConfigError(f"{where}: environment variable {name} is not set")
        return os.environ[name]

    return ENV_PATTERN.sub(replace, value)


def _format_error(path: Path | None, error: ValidationError) -> str:
    origin = str(path) if path else "config"
    lines = [f"{origin}: invalid configuration"]
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        given = item.get("input")
        shown = "" if isinstance(given, dict | list) else f" (got {given!r})"
        lines.append(f"  {key}: {item['msg']}{shown}")
    return "\n".join(lines)


def parse_settings(data: Any, path: Path | None = None) -> Settings:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path or 'config'}: the top level must be a mapping")
    try:
        return Settings.model_validate(expand_env(data))
    except ValidationError as error:
        raise ConfigError(_format_error(path, error)) from None


def load_settings(path: Path) -> Settings:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read config file: {error.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    return parse_settings(data, path)
