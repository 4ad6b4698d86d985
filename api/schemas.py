"""Wire models of the REST API (a contract: add fields, never rename or remove them)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Problem(BaseModel):
    detail: str = Field(description="What went wrong, for a person to read.")


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    cameras_online: int
    cameras_total: int


class CameraLinks(BaseModel):
    whep: str
    snapshot: str


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
