"""Choosing a V4L2 capture mode from what the device offers: a pure step, no I/O.

A mode is a pixel format at a frame size with the frame rates offered there
(``VIDIOC_ENUM_FMT`` / ``ENUM_FRAMESIZES`` / ``ENUM_FRAMEINTERVALS``, read by
``camera.v4l2``). :func:`choose_mode` picks the one to open for a camera, in this order
(docs/config.md, "How a webcam mode is chosen"):

1. a rate that is smooth: at least the wanted rate, or :data:`SMOOTH_FPS` when less is
   wanted; a mode that only reaches 5 fps loses to a smaller one that reaches 30 (USB 2
   cameras offer raw YUYV at 720p at 10 fps or less, and MJPEG at full rate);
2. the wanted size exactly, else the nearest larger one (scaled down by the encoder's
   input), else the nearest smaller one;
3. H.264 (forwarded untouched when passthrough is allowed), then MJPEG, then raw formats.

What the config sets explicitly is a requirement, not a wish: a configured size, rate or
``input_format`` the device lacks raises :class:`ModeUnavailable`, naming what it offers.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import CameraError

SMOOTH_FPS = 15.0
RATE_SLACK = 0.95  # 29.97 counts as 30

# V4L2 fourcc -> FFmpeg's v4l2 ``input_format`` name. Formats not listed cannot be read.
FFMPEG_FORMATS = {
    "H264": "h264",
    "MJPG": "mjpeg",
    "JPEG": "mjpeg",
    "YUYV": "yuyv422",
    "UYVY": "uyvy422",
    "YVYU": "yvyu422",
    "NV12": "nv12",
    "NV21": "nv21",
    "YU12": "yuv420p",
    "422P": "yuv422p",
    "RGB3": "rgb24",
    "BGR3": "bgr24",
    "GREY": "gray",
}
# Config ``input_format`` values -> the fourccs they accept.
INPUT_FORMATS = {
    "h264": ("H264",),
    "mjpeg": ("MJPG", "JPEG"),
    "yuyv422": ("YUYV",),
}
LABELS = {"H264": "H.264", "MJPG": "MJPEG", "JPEG": "JPEG"}


class ModeUnavailable(CameraError):
    """The device offers no mode matching what the camera's config asks for."""


@dataclass(frozen=True)
class Mode:
    """One pixel format at one frame size, with the frame rates the device offers there."""

    fourcc: str
    width: int
    height: int
    rates: tuple[float, ...]  # frames per second, highest first; empty when unknown

    @property
    def kind(self) -> str:
        """``h264``, ``mjpeg`` or ``raw``."""
        fmt = FFMPEG_FORMATS.get(self.fourcc, "raw")
        return fmt if fmt in ("h264", "mjpeg") else "raw"

    @property
    def label(self) -> str:
        return LABELS.get(self.fourcc, self.fourcc)

    def rate_for(self, wanted: float) -> float:
        """The offered rate to ask for: the highest up to ``wanted``, else the lowest above
        it (the camera thins frames it does not need), or ``wanted`` when unknown."""
        if not self.rates:
            return wanted
        below = [r for r in self.rates if r <= wanted / RATE_SLACK]
        return max(below) if below else min(self.rates)


@dataclass(frozen=True)
class ModeRequest:
    """What the camera's config asks for; ``explicit_*`` say which keys were set."""

    width: int = 1280
    height: int = 720
    fps: float = 30.0
    input_format: str | None = None
    explicit_size: bool = False
    explicit_fps: bool = False
    passthrough: bool = False  # H.264 may be forwarded untouched (encoder copy or auto)
    require_h264: bool = False  # encoder: copy


@dataclass(frozen=True)
class ModeChoice:
    fourcc: str
    width: int
    height: int
    fps: float  # the rate asked of the device
    passthrough: bool
    reason: str

    @property
    def input_format(self) -> str:
        return FFMPEG_FORMATS[self.fourcc]

    @property
    def label(self) -> str:
        return LABELS.get(self.fourcc, self.fourcc)

    def describe(self) -> str:
        return f"{self.label} {self.width}x{self.height} at {self.fps:g} fps"


def describe_modes(modes: list[Mode] | tuple[Mode, ...], formats: int = 4) -> str:
    """``MJPEG 1280x720@30/15, 640x480@30; YUYV 640x480@30`` (for errors and logs): the
    formats Sentrycam can read, the first ``formats`` of them (test drivers offer dozens)."""
    by_format: dict[str, list[str]] = {}
    readable = [m for m in modes if m.fourcc in FFMPEG_FORMATS] or list(modes)
    for mode in readable:
        if mode.label not in by_format and len(by_format) == formats:
            continue
        rates = "/".join(f"{r:g}" for r in mode.rates) or "?"
        by_format.setdefault(mode.label, []).append(f"{mode.width}x{mode.height}@{rates}")
    return "; ".join(f"{label} {', '.join(sizes)}" for label, sizes in by_format.items())


def choose_mode(modes: list[Mode] | tuple[Mode, ...], request: ModeRequest) -> ModeChoice:
    """The mode to open (see the module docstring), or :class:`ModeUnavailable`."""
    offered = describe_modes(modes) or "nothing"
    usable = [m for m in modes if m.fourcc in FFMPEG_FORMATS]
    if not usable:
        raise ModeUnavailable(f"the device offers no format Sentrycam can read ({offered})")
    wanted_format = "h264" if request.require_h264 else request.input_format
    if wanted_format:
        usable = [m for m in usable if m.fourcc in INPUT_FORMATS.get(wanted_format, ())]
        if not usable:
            raise ModeUnavailable(f"the device does not offer {wanted_format}; it offers {offered}")
    if request.explicit_size:
        usable = [m for m in usable if (m.width, m.height) == (request.width, request.height)]
        if not usable:
            raise ModeUnavailable(
                f"the device offers no {request.width}x{request.height}"
                f"{' in ' + wanted_format if wanted_format else ''}; it offers {offered}"
            )
    if request.explicit_fps:
        fast = [m for m in usable if not m.rates or max(m.rates) >= request.fps * RATE_SLACK]
        if not fast:
            top = max(max(m.rates) for m in usable)
            raise ModeUnavailable(
                f"the device offers at most {top:g} fps where {request.fps:g} fps is "
                f"configured; it offers {offered}"
            )
        usable = fast
    best = min(usable, key=lambda mode: _rank(mode, request))
    fps = best.rate_for(request.fps)
    passthrough = best.kind == "h264" and request.passthrough
    return ModeChoice(
        best.fourcc, best.width, best.height, fps, passthrough, _reason(best, fps, request, modes)
    )


def _smooth(rate: float, request: ModeRequest) -> bool:
    return rate >= min(request.fps, SMOOTH_FPS) * RATE_SLACK


def _kind_rank(mode: Mode, request: ModeRequest) -> int:
    order = ("h264", "mjpeg", "raw") if request.passthrough else ("mjpeg", "raw", "h264")
    return order.index(mode.kind)


def _size_rank(mode: Mode, request: ModeRequest) -> tuple[int, int]:
    area, wanted = mode.width * mode.height, request.width * request.height
    if (mode.width, mode.height) == (request.width, request.height):
        return (0, 0)
    if mode.width >= request.width and mode.height >= request.height:
        return (1, area - wanted)
    return (2, wanted - area)


def _rank(mode: Mode, request: ModeRequest) -> tuple[object, ...]:
    rate = mode.rate_for(request.fps)
    return (
        not _smooth(rate, request),
        _size_rank(mode, request),
        _kind_rank(mode, request),
        -min(rate, request.fps),
    )


def _reason(
    best: Mode, fps: float, request: ModeRequest, modes: list[Mode] | tuple[Mode, ...]
) -> str:
    wanted = f"{request.width}x{request.height} at {request.fps:g} fps"
    parts = []
    if (best.width, best.height) != (request.width, request.height):
        same = [m for m in modes if (m.width, m.height) == (request.width, request.height)]
        if same:
            top = max(max(m.rates, default=0.0) for m in same)
            parts.append(f"{request.width}x{request.height} is offered at only {top:g} fps")
        else:
            parts.append(f"{request.width}x{request.height} is not offered")
    if best.kind == "h264":
        parts.append(
            "H.264 from the camera" + (", forwarded untouched" if request.passthrough else "")
        )
    elif best.kind == "mjpeg":
        parts.append("MJPEG reaches full rate" if _smooth(fps, request) else "MJPEG")
    else:
        kinds = {m.kind for m in modes}
        parts.append(
            "raw: no " + " or ".join(k.upper() for k in ("h264", "mjpeg") if k not in kinds)
            if kinds == {"raw"}
            else "raw"
        )
    return f"wanted {wanted}; " + "; ".join(parts)
