"""The ``publish:`` section: which camera goes to which media server, by RTP or WHIP."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RtpTarget(_Model):
    host: str = Field(description="Where the media server listens for RTP (an IP address).")
    video_port: int = Field(ge=1, le=65535, description="UDP port for the H.264 video.")
    audio_port: int | None = Field(
        None, ge=1, le=65535, description="UDP port for the Opus audio; null: no audio."
    )
    video_payload_type: int = Field(96, ge=96, le=127, description="RTP payload type of video.")
    audio_payload_type: int = Field(111, ge=96, le=127, description="RTP payload type of audio.")

    @field_validator("host")
    @classmethod
    def _ip(cls, value: str) -> str:
        ipaddress.ip_address(value)
        return value


class WhipTarget(_Model):
    url: str = Field(
        pattern=r"^https?://[^\s]+$", description="The media server's WHIP endpoint URL."
    )
    bearer_token: str | None = Field(
        None, description="Sent as Authorization: Bearer; use ${SENTRYCAM_...}."
    )
    audio: bool = Field(True, description="Publish the camera's audio too (when it has any).")


class PublishTarget(_Model):
    """One camera sent to one media server, by RTP or by WHIP."""

    camera: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")] = Field(
        description="Id of the camera to publish."
    )
    kind: Literal["rtp", "whip"] = Field(description="rtp (Janus Streaming, ...) or whip.")
    rtp: RtpTarget | None = Field(None, description="Where to send RTP (kind: rtp).")
    whip: WhipTarget | None = Field(None, description="Where to publish (kind: whip).")

    @model_validator(mode="after")
    def _settings_of_its_kind(self) -> PublishTarget:
        rtp, whip = self.rtp is not None, self.whip is not None
        if (self.kind == "rtp") != rtp or (self.kind == "whip") != whip:
            raise ValueError(f"kind {self.kind} needs its '{self.kind}:' settings, and no other")
        return self
