"""A machine's capture devices as files, for a real server's ``GET /api/devices``: a sysfs
tree and a ``/proc/asound`` tree as the kernel lays them out, plus the V4L2 ioctl answers
(card, driver, bus, modes) as recorded from real devices (a Logitech C920 through
``v4l2-ctl``; vivid and snd-aloop in the QEMU guest bed, tests/hardware).

The machine: a USB C920 webcam with its own microphone, not used by any camera (a new
webcam); vivid (a platform device, no microphone) used by the camera ``yard``; the ALSA
loopback card, whose second capture device ``yard`` records.

``tests/js/fixtures/devices.json`` is what the server answers on this machine (the
dashboard's unit tests read it); ``tests/test_devices_fixture.py`` checks it still is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from camera.alsa import Alsa
from camera.modes import Mode
from camera.v4l2 import V4L2, VideoDevice, identity_of, usb_info
from tests.test_webcam_modes import C920_STREAM, fake_usb_webcam

FIXTURE = Path(__file__).parent / "js" / "fixtures" / "devices.json"


@dataclass(frozen=True)
class Recorded:
    """What the V4L2 ioctls answer for a node (and udev's links to it)."""

    card: str
    driver: str
    bus_info: str
    modes: tuple[Mode, ...]
    by_id: str | None = None
    by_path: str | None = None


C920_MODES = (
    Mode("YUYV", 640, 480, (30.0, 15.0, 5.0)),
    Mode("YUYV", 1280, 720, (10.0, 5.0)),
    Mode("MJPG", 1280, 720, (30.0, 15.0)),
    Mode("MJPG", 1920, 1080, (30.0, 15.0)),
    Mode("H264", 1920, 1080, (30.0, 15.0)),
)
VIVID_MODES = (
    Mode("YUYV", 640, 360, (40.0, 30.0, 25.0, 15.0)),
    Mode("YUYV", 1280, 720, (12.5, 10.0, 5.0)),
)
RECORDED = {
    "video0": Recorded(
        "HD Pro Webcam C920",
        "uvcvideo",
        "usb-0000:00:14.0-1.3",
        C920_MODES,
        by_id="/dev/v4l/by-id/usb-046d_HD_Pro_Webcam_C920_A1B2C3D4-video-index0",
        by_path="/dev/v4l/by-path/pci-0000:00:14.0-usb-0:1.3:1.0-video-index0",
    ),
    "video2": Recorded(
        "vivid",
        "vivid",
        "platform:vivid-000",
        VIVID_MODES,
        by_path="/dev/v4l/by-path/platform-vivid.0-video-index0",
    ),
}
# The camera using vivid and a loopback capture device; the demo camera uses neither.
CONFIG: dict[str, Any] = {
    "webrtc": {"ice_addresses": ["127.0.0.1"]},
    "cameras": [
        {"id": "demo", "source": "demo", "width": 320, "height": 180, "fps": 10},
        {
            "id": "yard",
            "name": "Yard",
            "source": "v4l2:platform:vivid-000",
            "audio": "hw:CARD=Loopback,DEV=1",
        },
    ],
}


class RecordedV4L2(V4L2):
    """sysfs (nodes, USB identity) from the tree; the ioctl answers from ``RECORDED``."""

    def describe(
        self,
        node: str,
        with_modes: bool = True,
        by_id: dict[str, str] | None = None,
        by_path: dict[str, str] | None = None,
    ) -> VideoDevice | None:
        name = os.path.basename(node)
        if name not in RECORDED:
            raise FileNotFoundError(node)
        recorded = RECORDED[name]
        usb = usb_info(Path(os.path.realpath(self.sysfs / "class/video4linux" / name / "device")))
        return VideoDevice(
            path=node,
            identity=identity_of(usb, recorded.bus_info, 0),
            card=recorded.card,
            driver=recorded.driver,
            bus_info=recorded.bus_info,
            by_id=recorded.by_id,
            by_path=recorded.by_path,
            usb=usb,
            modes=recorded.modes if with_modes else (),
        )


def _vivid(root: Path) -> None:
    platform = root / "sys/devices/platform/vivid.0"
    node = platform / "video4linux/video2"
    node.mkdir(parents=True)
    (node / "device").symlink_to(platform)
    os.symlink(node, root / "sys/class/video4linux/video2")


def _loopback(root: Path) -> None:
    platform = root / "sys/devices/platform/snd_aloop.0"
    sound = platform / "sound/card0"
    sound.mkdir(parents=True)
    (sound / "device").symlink_to(platform)
    os.symlink(sound, root / "sys/class/sound/card0")
    card = root / "proc/asound/card0"
    for device in (0, 1):
        (card / f"pcm{device}c").mkdir(parents=True)
        (card / f"pcm{device}c/info").write_text(f"card: 0\ndevice: {device}\nname: Loopback PCM\n")
    (card / "id").write_text("Loopback\n")


def _c920_microphone(root: Path) -> None:
    card = root / "proc/asound/card1"
    (card / "pcm0c").mkdir(parents=True)
    (card / "id").write_text("C920\n")
    (card / "stream0").write_text(C920_STREAM)
    (card / "pcm0c/info").write_text("card: 1\ndevice: 0\nname: USB Audio\n")


def build_machine(root: Path) -> tuple[RecordedV4L2, Alsa]:
    """The trees under ``root``, and the readers of them the server uses."""
    fake_usb_webcam(root, "A1B2C3D4")  # the C920: video0 and its sound card1
    _vivid(root)
    _loopback(root)
    _c920_microphone(root)
    (root / "proc/asound/cards").write_text(
        " 0 [Loopback       ]: Loopback - Loopback\n"
        "                      Loopback 1\n"
        " 1 [C920           ]: USB-Audio - HD Pro Webcam C920\n"
        "                      HD Pro Webcam C920 at usb-0000:00:14.0-1.3, high speed\n"
    )
    v4l2 = RecordedV4L2(str(root / "sys"), "/dev")
    return v4l2, Alsa(str(root / "proc/asound"), str(root / "sys"))
