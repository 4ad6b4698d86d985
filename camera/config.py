"""Camera settings: the ``cameras:`` and ``webrtc:`` sections of the config file.

Typed pydantic models (``extra="forbid"``, ranges, descriptions): the file is a contract
(docs/config.md), keys are stable, unknown keys are refused so a typo never silently falls
back to a default. The detectors' own sections (``motion:``, ``sound:``, ``health:``) live
beside their pure steps. The application's sections (server, database, security, events,
storage) and the loading of the file are in ``api.settings``.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .health import HealthConfig
from .motion import MotionConfig
from .schedule import ScheduleConfig
from .sound import SoundConfig

Encoder = Literal["auto", "libx264", "h264_v4l2m2m", "copy"]
InputFormat = Literal["mjpeg", "yuyv422", "h264"]
ControlSetting = int | bool | str
V4L2_PREFIXES = ("/dev/video", "/dev/v4l/", "v4l2:")


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


class SubstreamConfig(_Model):
    """The light second encoding for weak links and phone grids, encoded only on demand."""

    enabled: bool = Field(
        True, description="Offer the light stream (quality=low|auto); false: main only."
    )
    width: int = Field(
        640, ge=160, le=1920, multiple_of=2, description="Width of the light stream."
    )
    height: int = Field(
        360, ge=90, le=1080, multiple_of=2, description="Height of the light stream."
    )
    fps: float = Field(15.0, gt=0, le=30, description="Frame rate (at most the camera's).")
    bitrate_kbps: int = Field(300, ge=50, le=4000, description="Target bitrate.")


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
            "'demo', a V4L2 webcam (/dev/v4l/by-id/..., v4l2:<identity> as listed by "
            "GET /api/devices, or /dev/videoN), an FFmpeg URL (rtsp://, http://, udp://, "
            "tcp://) or a file path."
        ),
    )
    input_format: InputFormat | None = Field(
        None,
        description="V4L2 pixel format to require of the device (mjpeg, yuyv422, h264); "
        "unset: the best mode it offers (docs/config.md).",
    )
    audio: str | None = Field(
        None,
        description=(
            "Microphone: an ALSA device (hw:CARD=C920,DEV=0, hw:1,0, default), 'auto' for "
            "the webcam's own built-in microphone (same USB device), 'source' for the "
            "audio track of a URL or file source, 'demo' for a test tone, or null for none."
        ),
    )
    width: int = Field(
        1280,
        ge=160,
        le=3840,
        multiple_of=2,
        description="Output width; for a webcam, set it to require that size of the device.",
    )
    height: int = Field(720, ge=120, le=2160, multiple_of=2, description="Output height.")
    fps: float = Field(30.0, gt=0, le=60, description="Frame rate (asked of webcams).")
    controls: dict[str, ControlSetting] = Field(
        default_factory=dict,
        description="V4L2 controls set on every open (brightness: 140, "
        "power_line_frequency: '50 Hz'); the dashboard's changes are kept on top of these.",
    )
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
    schedule: ScheduleConfig = Field(
        default_factory=ScheduleConfig,
        description="When the camera is armed (raises alerts): always, never or weekly.",
    )
    substream: SubstreamConfig = Field(default_factory=SubstreamConfig)
    speaker: str | None = Field(
        None,
        description="ALSA playback device for talk-back (hw:1,0, plughw:CARD=...); "
        "null: the camera has no speaker.",
    )

    @property
    def display_name(self) -> str:
        return self.name or self.id

    @property
    def source_kind(self) -> Literal["demo", "v4l2", "url", "file"]:
        if self.source == "demo":
            return "demo"
        if self.source.startswith(V4L2_PREFIXES):
            return "v4l2"
        if "://" in self.source:
            return "url"
        return "file"

    @property
    def explicit(self) -> set[str]:
        """The keys the config file set (the rest are defaults a webcam may override)."""
        return set(self.model_fields_set)

    @field_validator("controls")
    @classmethod
    def _control_names(cls, value: dict[str, ControlSetting]) -> dict[str, ControlSetting]:
        for name in value:
            if not re.fullmatch(r"[a-z0-9_]{1,64}", name):
                raise ValueError(f"{name!r} is not a control name like brightness")
        return value

    def substream_config(self) -> CameraConfig:
        """This camera's settings as the light stream's encoder sees them."""
        sub = self.substream
        return self.model_copy(
            update={
                "width": sub.width,
                "height": sub.height,
                "fps": min(sub.fps, self.fps),
                "bitrate_kbps": sub.bitrate_kbps,
                # Copy cameras decode for the light stream and encode it themselves.
                "encoder": "auto" if self.encoder == "copy" else self.encoder,
            }
        )

    @field_validator("speaker")
    @classmethod
    def _speaker_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_:,.=-]{1,64}", value):
            raise ValueError("must be an ALSA device name such as hw:1,0 or plughw:CARD=X")
        return value

    @field_validator("source")
    @classmethod
    def _no_shell(cls, value: str) -> str:
        # The source is handed to FFmpeg as one argument, never to a shell; still refuse
        # control characters so a config cannot smuggle anything odd into logs or URLs.
        if any(ord(c) < 32 for c in value):
            raise ValueError("must not contain control characters")
        return value


ICE_SCHEMES = ("stun:", "stuns:", "turn:", "turns:")


class IceServer(_Model):
    """A STUN or TURN server, with a fixed login or a shared secret to mint logins from."""

    urls: list[str] = Field(
        min_length=1,
        description="stun:host:port, turn:host:port?transport=udp|tcp or turns:host:443 "
        "URLs of one server.",
    )
    username: str | None = Field(None, description="Fixed TURN username.")
    credential: str | None = Field(None, description="Fixed TURN password.")
    auth_secret: str | None = Field(
        None,
        min_length=16,
        description="coturn's static-auth-secret (use-auth-secret): Sentrycam mints a "
        "login per session that expires after webrtc.turn_ttl_seconds; the secret never "
        "reaches a browser. Use ${SENTRYCAM_TURN_SECRET}.",
    )

    @field_validator("urls")
    @classmethod
    def _ice_urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(ICE_SCHEMES) or any(ord(c) <= 32 for c in url):
                raise ValueError(f"{url!r} is not a stun:, stuns:, turn: or turns: URL")
        return value

    @model_validator(mode="after")
    def _one_kind_of_login(self) -> IceServer:
        if self.auth_secret is not None and (self.username or self.credential):
            raise ValueError("give either auth_secret or username/credential, not both")
        if (self.username is None) != (self.credential is None):
            raise ValueError("username and credential go together")
        turn = any(url.startswith(("turn:", "turns:")) for url in self.urls)
        if turn and self.auth_secret is None and self.username is None:
            raise ValueError("a TURN server needs username/credential or auth_secret")
        return self


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
    turn_ttl_seconds: int = Field(
        3600,
        ge=60,
        le=86400,
        description="Lifetime of the TURN logins minted from an auth_secret.",
    )
    max_viewers: int = Field(10, ge=1, le=100, description="Default viewer cap per camera.")
    connect_timeout_s: float = Field(20.0, gt=0, le=120)

    @field_validator("ice_addresses")
    @classmethod
    def _valid_ips(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            for address in value:
                ipaddress.ip_address(address)
        return value

    def viewer_cap(self, camera: CameraConfig) -> int:
        """The camera's own viewer cap, else this section's default."""
        return camera.max_viewers or self.max_viewers
