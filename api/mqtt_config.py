"""The ``mqtt:`` section of the config file: the broker to publish to, and the topic names.

MQTT is off when the section is absent. A contract (docs/config.md, docs/home-assistant.md):
keys are stable, unknown keys are refused.
"""

from __future__ import annotations

import re

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    FilePath,
    SecretStr,
    field_validator,
    model_validator,
)

# Topic levels made of letters, digits, _ and -, separated by single slashes: no wildcards
# (+ #), no empty levels, nothing that needs escaping in a Home Assistant template.
TOPIC_PATTERN = r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$"
PLAIN_PORT = 1883
TLS_PORT = 8883


class MqttConfig(BaseModel):
    """A connection to an MQTT broker, and Home Assistant discovery."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(
        min_length=1,
        max_length=253,
        description="The broker's host name or IP address.",
    )
    port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="The broker's port; default 1883, or 8883 with tls.",
    )
    username: str | None = Field(
        None, min_length=1, max_length=256, description="User name to log in with."
    )
    password: SecretStr | None = Field(
        None,
        description="Password to log in with; keep it out of the file: ${SENTRYCAM_MQTT_PASSWORD}.",
    )
    tls: bool | FilePath = Field(
        False,
        description="false: plain TCP; true: TLS checked against the system's CAs; a path: "
        "TLS checked against that CA file (PEM).",
    )
    client_id: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="MQTT client identifier; default sentrycam-<topic_prefix with / as _>.",
    )
    topic_prefix: str = Field(
        "sentrycam",
        max_length=128,
        pattern=TOPIC_PATTERN,
        description="First level(s) of every topic Sentrycam publishes, e.g. sentrycam or "
        "home/cameras. Unique per Sentrycam on one broker.",
    )
    discovery_prefix: str = Field(
        "homeassistant",
        max_length=128,
        pattern=TOPIC_PATTERN,
        description="Home Assistant's discovery prefix (its MQTT integration's setting).",
    )
    discovery: bool = Field(
        True, description="Publish Home Assistant discovery configs (one device per camera)."
    )
    dashboard_url: AnyHttpUrl | None = Field(
        None,
        description="Address of the dashboard as Home Assistant users reach it, for the "
        "devices' 'visit' link; default http(s)://<this host's name>:<server.port>/.",
    )
    keepalive: int = Field(
        60,
        ge=5,
        le=3600,
        description="Seconds between pings; the broker drops a silent client after 1.5x.",
    )

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if re.search(r"[\s/@]", value) or "://" in value:
            raise ValueError("a host name or IP address only (no scheme, user or path)")
        return value

    @model_validator(mode="after")
    def _password_needs_user(self) -> MqttConfig:
        if self.password is not None and self.username is None:
            raise ValueError("password is set but username is not")
        return self

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return TLS_PORT if self.tls is not False else PLAIN_PORT

    @property
    def node_slug(self) -> str:
        """The topic prefix as one identifier level (unique ids, discovery node ids)."""
        return self.topic_prefix.replace("/", "_")

    @property
    def effective_client_id(self) -> str:
        return self.client_id or f"sentrycam-{self.node_slug}"
