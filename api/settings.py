"""Application settings: the whole config file, loaded, expanded and validated.

The file is a contract (docs/config.md): keys are stable, unknown keys are refused so a
typo never silently falls back to a default. This module owns the application's sections
(server, database, security, events, storage) and the file as a whole; the camera
sections (``cameras:``, ``webrtc:``) are defined by ``camera.config``. String values may
reference environment variables as ``${SENTRYCAM_NAME}`` so passwords in camera URLs need
not sit in the file. Without a file (or with no cameras in it), the cameras are detected.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from camera.config import CameraConfig, WebRTCConfig
from camera.errors import ConfigError
from camera.manager import ConfigSource, autodetect_cameras
from camera.publish_config import PublishTarget
from camera.talk import TalkConfig

from .appliance_config import MetricsConfig, SystemConfig
from .mqtt_config import MqttConfig
from .notifications.config import NotificationsConfig

ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
ENV_PREFIX = "SENTRYCAM_"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names the server answers to besides the built-in home-network ones "
        "(IP addresses, localhost, single-label names, .local/.lan/.home/.home.arpa/.internal, "
        'this machine\'s name): a name (cam.example.com), a wildcard (*.example.com), or "*" '
        "to answer to any (turns the DNS-rebinding defence off).",
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

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        for host in value:
            if not re.fullmatch(r"\*|(\*\.)?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?", host):
                raise ValueError(f"{host!r} is not a host name, *.domain or *")
        return [host.lower() for host in value]

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ipaddress.ip_network(network, strict=False)
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
    talk: TalkConfig = Field(default_factory=TalkConfig)
    publish: list[PublishTarget] = Field(
        default_factory=list,
        description="Cameras sent to media servers (RTP or WHIP) for many viewers.",
    )
    events: EventsConfig = Field(default_factory=EventsConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    mqtt: MqttConfig | None = Field(
        None, description="An MQTT broker to publish to (Home Assistant); absent: MQTT is off."
    )
    notifications: NotificationsConfig = Field(default_factory=NotificationsConfig)
    system: SystemConfig = Field(default_factory=SystemConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
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
        return self.webrtc.viewer_cap(camera)


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


@dataclass(frozen=True)
class LoadedConfig:
    settings: Settings
    source: ConfigSource
    notice: str | None
    # The raw layers (api.config_store.Layers) when loaded from disk; None for settings
    # built in code (tests), whose layers are then the settings themselves.
    layers: Any = None
    overlay_error: str | None = None  # why the dashboard's overlay is not applied


def load_config(path: Path | None) -> LoadedConfig:
    """Read the config file, or build one from the hardware when there is no file."""
    settings = load_settings(path) if path is not None else Settings()
    if path is not None and settings.cameras:
        return LoadedConfig(settings, "file", None)
    cameras, source, notice = autodetect_cameras()
    return LoadedConfig(settings.model_copy(update={"cameras": cameras}), source, notice)
