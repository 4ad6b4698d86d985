"""Trying a source before it is saved: open it as the camera would, show one picture.

``probe(config)`` blocks (call it in a worker thread): it opens the source with the same
options as a running camera (``camera.sources``), checks that ``encoder: copy`` gets
H.264, decodes the first picture and returns it as JPEG with what was found, or says in
plain words why it failed: the camera refused the password, nothing listens at that port,
no route to the address, no answer, no such device, device busy, not H.264 for ``copy``.
Credentials never appear in the answer.
"""

from __future__ import annotations

import errno
import time
from dataclasses import dataclass

import av
import av.error

from .config import CameraConfig
from .demo import DemoScene
from .redact import redact
from .snapshots import encode_jpeg
from .sources import SourceError, describe_error, open_container

FIRST_PICTURE_S = 10.0  # after opening, the first picture must come within this
SNAPSHOT_WIDTH = 640


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    error: str | None = None  # what went wrong, for a person
    detail: str | None = None  # FFmpeg's own words
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    audio: bool = False  # the source has an audio track of its own
    jpeg: bytes | None = None


def probe(config: CameraConfig) -> ProbeResult:
    if config.source_kind == "demo":
        frame = DemoScene(config.width, config.height).video_frame(time.time())
        jpeg = encode_jpeg(frame, width=SNAPSHOT_WIDTH)
        return ProbeResult(
            True,
            codec="demo",
            width=config.width,
            height=config.height,
            fps=config.fps,
            audio=config.audio == "demo",
            jpeg=jpeg,
        )
    try:
        return _open_and_decode(config)
    except Exception as error:  # every failure is the answer, in words
        return ProbeResult(False, error=explain(error, config), detail=describe_error(error))


def _open_and_decode(config: CameraConfig) -> ProbeResult:
    with open_container(config) as container:
        if not container.streams.video:
            raise SourceError("the source has no video stream")
        video = container.streams.video[0]
        codec = video.codec_context.name
        if config.encoder == "copy" and codec != "h264":
            raise SourceError(
                f"encoder 'copy' forwards H.264 untouched, but this source sends {codec}: "
                "choose another encoder (auto) or set the camera to H.264"
            )
        rate = video.average_rate or video.guessed_rate
        deadline = time.monotonic() + FIRST_PICTURE_S
        for packet in container.demux(video):
            for frame in video.codec_context.decode(packet):
                return ProbeResult(
                    True,
                    codec=codec,
                    width=frame.width,
                    height=frame.height,
                    fps=round(float(rate), 2) if rate else None,
                    audio=bool(container.streams.audio),
                    jpeg=encode_jpeg(frame, width=SNAPSHOT_WIDTH),
                )
            if time.monotonic() > deadline:
                break
        raise SourceError(f"no picture within {FIRST_PICTURE_S:.0f} s of opening")


def explain(error: BaseException, config: CameraConfig) -> str:
    """A failure in a person's words (credentials redacted)."""
    where = redact(config.source)
    if isinstance(error, SourceError):
        return str(error)
    if isinstance(error, av.error.HTTPUnauthorizedError):
        return f"the camera refused the user name or password (401 Unauthorized) at {where}"
    if isinstance(error, av.error.HTTPForbiddenError):
        return f"the camera refused access (403 Forbidden) at {where}"
    if isinstance(error, av.error.HTTPNotFoundError):
        return f"no stream at that path (404 Not Found): check the URL's path in {where}"
    code = getattr(error, "errno", None)
    reasons = {
        errno.ECONNREFUSED: "connection refused: nothing listens at that address and port "
        "(wrong port, or the camera's stream is off)",
        errno.EHOSTUNREACH: "no route to the host: check the address, and that the camera "
        "is on this network",
        errno.ENETUNREACH: "no route to that network: check the address",
        errno.ETIMEDOUT: "no answer from the camera in time",
        errno.ENOENT: "no such file or device",
        errno.EACCES: "permission denied (is the service user in the video or audio group?)",
        errno.EBUSY: "the device is busy: another program or camera is using it",
        errno.EIO: "input/output error from the device (unplugged?)",
    }
    if code in reasons:
        return f"{reasons[code]}: {where}"
    if isinstance(error, av.error.ExitError):
        return f"no answer from the camera in time: {where}"
    if isinstance(error, av.error.InvalidDataError):
        return f"FFmpeg cannot read this as video (wrong URL, path or format): {where}"
    return f"cannot open {where}: {describe_error(error)}"
