"""V4L2 webcams: what is plugged in, what each one is, and which modes it offers.

Devices are read from sysfs (``/sys/class/video4linux``) and with V4L2 ioctls through
linuxpy (``VIDIOC_QUERYCAP``, ``ENUM_FMT``, ``ENUM_FRAMESIZES``, ``ENUM_FRAMEINTERVALS``).
Only video capture nodes are listed: UVC metadata nodes, M2M codecs and the Pi's ISP are
not cameras.

A device's **identity** survives renumbering (docs/config.md, "Device identity"):
``usb-<vendor>:<product>-<serial>`` for a USB camera with a serial number, else
``usb-<vendor>:<product>-port-<bus-port path>`` (stable while it stays in the same port),
else the driver's bus info (``platform:vivid-000``); ``-index<N>`` is appended for a second
capture node of one device. Cameras found without config are matched by it, and sources
written ``v4l2:<identity>`` are resolved to the current ``/dev/videoN`` at every open.

Everything here blocks (ioctls, sysfs): call it from a reader thread or ``to_thread``.
"""

from __future__ import annotations

import errno
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CameraError
from .modes import FFMPEG_FORMATS, Mode

logger = logging.getLogger(__name__)

IDENTITY_PREFIX = "v4l2:"
_CAP_VIDEO_CAPTURE = 0x00000001
_CAP_VIDEO_M2M = 0x00008000
_CAP_DEVICE_CAPS = 0x80000000
# Frame sizes tried on devices that give a range instead of a list.
_STEPWISE_SIZES = ((320, 240), (640, 360), (640, 480), (1280, 720), (1920, 1080))
_COMMON_RATES = (60.0, 30.0, 25.0, 15.0, 10.0, 5.0)  # likewise for a range of rates


class DeviceUnavailable(CameraError):
    """The camera's device is not connected (or cannot be opened)."""


@dataclass(frozen=True)
class UsbInfo:
    vendor: str  # idVendor, 4 hex digits
    product: str  # idProduct
    serial: str | None
    port: str  # sysfs name of the USB device: bus-port path, e.g. 1-1.3
    sysfs: str  # the USB device's directory in sysfs (microphones pair on it)
    manufacturer: str | None = None
    product_name: str | None = None


@dataclass(frozen=True)
class VideoDevice:
    path: str  # /dev/videoN now
    identity: str
    card: str
    driver: str
    bus_info: str
    by_id: str | None = None
    by_path: str | None = None
    usb: UsbInfo | None = None
    modes: tuple[Mode, ...] = field(default=())

    @property
    def bus(self) -> str:
        return "usb" if self.usb else self.bus_info.split(":", 1)[0] or "unknown"


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def _usb_parent(device_dir: Path) -> Path | None:
    """The USB device (the directory with ``idVendor``) above a sysfs device, if any."""
    for parent in (device_dir, *device_dir.parents):
        if (parent / "idVendor").is_file():
            return parent
        if parent.name == "devices":
            break
    return None


def usb_info(device_dir: Path) -> UsbInfo | None:
    usb = _usb_parent(device_dir)
    if usb is None:
        return None
    return UsbInfo(
        vendor=_read(usb / "idVendor") or "0000",
        product=_read(usb / "idProduct") or "0000",
        serial=_read(usb / "serial") or None,
        port=usb.name,
        sysfs=str(usb),
        manufacturer=_read(usb / "manufacturer"),
        product_name=_read(usb / "product"),
    )


def identity_of(usb: UsbInfo | None, bus_info: str, index: int) -> str:
    if usb is not None:
        base = f"usb-{usb.vendor}:{usb.product}-"
        base += usb.serial if usb.serial else f"port-{usb.port}"
    else:
        base = bus_info or "unknown"
    base = re.sub(r"[^A-Za-z0-9:._-]", "_", base)
    return base if index == 0 else f"{base}-index{index}"


def _links(dev_root: Path, kind: str) -> dict[str, str]:
    """``/dev/v4l/by-id`` (or by-path) symlinks, by the node they point to."""
    links: dict[str, str] = {}
    folder = dev_root / "v4l" / kind
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return links
    for entry in entries:
        target = os.path.realpath(entry)
        links.setdefault(target, str(entry))
    return links


class V4L2:
    """Reads devices from a sysfs and /dev tree (the real ones, or a copy in tests)."""

    def __init__(self, sysfs: str = "/sys", dev: str = "/dev") -> None:
        self.sysfs = Path(sysfs)
        self.dev = Path(dev)

    def nodes(self) -> list[str]:
        """Every /dev/videoN, in numeric order."""
        folder = self.sysfs / "class" / "video4linux"
        try:
            names = [p.name for p in folder.iterdir() if p.name.startswith("video")]
        except OSError:
            return []
        names.sort(key=lambda n: int(n[5:]) if n[5:].isdigit() else 1 << 30)
        return [str(self.dev / name) for name in names]

    def devices(self, with_modes: bool = True) -> list[VideoDevice]:
        """Every video capture device now (those that cannot be opened are left out)."""
        by_id, by_path = _links(self.dev, "by-id"), _links(self.dev, "by-path")
        found = []
        for node in self.nodes():
            try:
                device = self.describe(node, with_modes, by_id, by_path)
            except OSError as error:
                logger.debug("%s: %s", node, error)
                continue
            if device is not None:
                found.append(device)
        return found

    def describe(
        self,
        node: str,
        with_modes: bool = True,
        by_id: dict[str, str] | None = None,
        by_path: dict[str, str] | None = None,
    ) -> VideoDevice | None:
        """One node, or None if it is no video capture device (metadata, codec, output)."""
        from linuxpy.video import device as v4l  # imported here: ctypes set-up is slow

        name = os.path.basename(node)
        sys_dir = self.sysfs / "class" / "video4linux" / name
        index = int(_read(sys_dir / "index") or 0)
        fd = os.open(node, os.O_RDWR | os.O_NONBLOCK)
        try:
            caps = v4l.read_capabilities(fd)
            device_caps = (
                caps.device_caps if caps.capabilities & _CAP_DEVICE_CAPS else caps.capabilities
            )
            if not device_caps & _CAP_VIDEO_CAPTURE or device_caps & _CAP_VIDEO_M2M:
                return None
            modes = tuple(read_modes(fd)) if with_modes else ()
        finally:
            os.close(fd)
        bus_info = caps.bus_info.decode(errors="replace")
        usb = usb_info(Path(os.path.realpath(sys_dir / "device")))
        real = os.path.realpath(node)
        return VideoDevice(
            path=node,
            identity=identity_of(usb, bus_info, index),
            card=caps.card.decode(errors="replace").strip(),
            driver=caps.driver.decode(errors="replace"),
            bus_info=bus_info,
            by_id=(by_id if by_id is not None else _links(self.dev, "by-id")).get(real),
            by_path=(by_path if by_path is not None else _links(self.dev, "by-path")).get(real),
            usb=usb,
            modes=modes,
        )

    def resolve(self, source: str) -> VideoDevice:
        """The device a camera's ``source`` names now: ``v4l2:<identity>``, a by-id/by-path
        link or ``/dev/videoN``. Raises :class:`DeviceUnavailable` when it is absent."""
        if source.startswith(IDENTITY_PREFIX):
            wanted = source[len(IDENTITY_PREFIX) :]
            for device in self.devices(with_modes=False):  # modes of the one found only
                if device.identity == wanted:
                    return self.describe(device.path) or device
            raise DeviceUnavailable(f"webcam {wanted} is not connected")
        node = os.path.realpath(source)
        if not os.path.exists(node):
            raise DeviceUnavailable(f"{source} does not exist (unplugged?)")
        try:
            found = self.describe(node)
        except OSError as error:
            if error.errno in (errno.ENODEV, errno.ENOENT, errno.ENXIO):
                raise DeviceUnavailable(f"{source}: {error.strerror}") from None
            raise
        if found is None:
            raise DeviceUnavailable(f"{source} is not a video capture device")
        return found


def read_modes(fd: int) -> list[Mode]:
    """Every (format, size) of a capture device with its frame rates, for the formats
    FFmpeg can read (test drivers offer dozens more; each costs ioctls per size)."""
    from linuxpy.video import device as v4l

    modes = []
    for image_format in v4l.iter_read_formats(fd, v4l.BufferType.VIDEO_CAPTURE):
        pixel_format = image_format.pixel_format
        fourcc = v4l.human_pixel_format(pixel_format).strip()
        if fourcc not in FFMPEG_FORMATS:
            continue
        for width, height in _sizes(fd, pixel_format):
            rates: set[float] = set()
            for interval in v4l.iter_read_frame_intervals(fd, pixel_format, width, height):
                ends = sorted(float(r) for r in (interval.min_fps, interval.max_fps) if r)
                rates.update(round(r, 2) for r in ends)
                if ends and interval.type != v4l.FrameIntervalType.DISCRETE:
                    rates.update(r for r in _COMMON_RATES if ends[0] <= r <= ends[-1])
            modes.append(Mode(fourcc, width, height, tuple(sorted(rates, reverse=True))))
    return modes


def _sizes(fd: int, pixel_format: int) -> list[tuple[int, int]]:
    from linuxpy.video import device as v4l

    sizes = []
    for size in v4l.iter_read_frame_sizes(fd, pixel_format):
        info = size.info
        if size.type == v4l.FrameSizeType.DISCRETE:
            sizes.append((info.width, info.height))
            continue
        for width, height in _STEPWISE_SIZES:  # a range: offer the usual sizes within it
            if (
                info.min_width <= width <= info.max_width
                and info.min_height <= height <= info.max_height
            ):
                sizes.append((width, height))
    return sizes


def camera_id_for(card: str, taken: set[str]) -> str:
    """A camera id from a device's card name (``HD Pro Webcam C920`` -> ``hd-pro-webcam-c920``),
    unique among ``taken``."""
    base = re.sub(r"[^a-z0-9]+", "-", card.lower()).strip("-")[:28] or "webcam"
    if not base[0].isalnum():
        base = "cam" + base
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate
