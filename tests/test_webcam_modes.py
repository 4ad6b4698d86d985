"""Webcam mode choice, device identity and microphones, on recorded enumerations.

The enumerations below are what real devices report (a Logitech C920 through
``v4l2-ctl --list-formats-ext``; vivid's were read in the QEMU guest bed), so the choice is
proven on the shapes USB cameras have without one plugged in. The guest bed
(tests/hardware) proves the same code on real drivers.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from camera.alsa import Alsa, parse_stream
from camera.controls import Control, ControlError, coerce, control_name
from camera.modes import Mode, ModeRequest, ModeUnavailable, choose_mode, describe_modes
from camera.v4l2 import V4L2, camera_id_for, identity_of, usb_info

# Logitech C920 (USB 2): raw YUYV is slow above 640x480; MJPEG and H.264 reach 30 fps.
C920 = (
    *(Mode("YUYV", w, h, r) for w, h, r in [
        (640, 480, (30.0, 24.0, 20.0, 15.0, 10.0, 7.5, 5.0)),
        (1280, 720, (10.0, 7.5, 5.0)),
        (1920, 1080, (5.0,)),
    ]),
    *(Mode("MJPG", w, h, (30.0, 24.0, 20.0, 15.0, 10.0, 7.5, 5.0)) for w, h in [
        (640, 480), (1280, 720), (1920, 1080),
    ]),
    *(Mode("H264", w, h, (30.0, 24.0, 20.0, 15.0, 10.0, 7.5, 5.0)) for w, h in [
        (640, 480), (1280, 720), (1920, 1080),
    ]),
)  # fmt: skip
# A cheap raw-only USB 2 webcam.
RAW_ONLY = (
    Mode("YUYV", 640, 480, (30.0, 15.0)),
    Mode("YUYV", 1280, 720, (5.0,)),
)
# vivid's webcam input (as read in the guest), first formats.
VIVID = tuple(
    Mode(fourcc, w, h, rates)
    for fourcc in ("YUYV", "UYVY", "NV12")
    for w, h, rates in [
        (320, 180, (60.0, 30.0, 15.0)),
        (640, 360, (40.0, 30.0, 25.0, 15.0)),
        (640, 480, (25.0, 15.0, 12.5, 10.0)),
        (1280, 720, (12.5, 10.0, 5.0)),
        (1920, 1080, (5.0, 4.0)),
    ]
)


def test_h264_from_the_camera_is_forwarded_when_allowed():
    choice = choose_mode(C920, ModeRequest(passthrough=True))
    assert (choice.fourcc, choice.width, choice.height, choice.fps) == ("H264", 1280, 720, 30)
    assert choice.passthrough
    assert choice.input_format == "h264"


def test_mjpeg_at_full_rate_when_the_encoder_is_ours():
    choice = choose_mode(C920, ModeRequest(passthrough=False))
    assert (choice.fourcc, choice.width, choice.height, choice.fps) == ("MJPG", 1280, 720, 30)
    assert not choice.passthrough
    assert choice.reason.startswith("wanted 1280x720 at 30 fps")


def test_raw_only_camera_keeps_a_smooth_rate_rather_than_5_fps_at_720p():
    choice = choose_mode(RAW_ONLY, ModeRequest())
    assert (choice.width, choice.height, choice.fps) == (640, 480, 30)
    assert "1280x720 is offered at only 5 fps" in choice.reason


def test_vivid_default_request_no_longer_asks_for_an_unoffered_mode():
    # Seen in the guest before: 1280x720 at 30 fps failed with "Invalid argument".
    choice = choose_mode(VIVID, ModeRequest())
    assert (choice.fourcc, choice.width, choice.height, choice.fps) == ("YUYV", 640, 480, 25)


def test_rate_is_the_highest_offered_up_to_the_wanted_one():
    assert Mode("MJPG", 640, 480, (60.0, 30.0, 15.0)).rate_for(20) == 15
    assert Mode("MJPG", 640, 480, (60.0,)).rate_for(30) == 60  # thinned by the camera
    assert Mode("MJPG", 640, 480, ()).rate_for(12) == 12
    assert Mode("MJPG", 640, 480, (29.97,)).rate_for(30) == 29.97


def test_explicit_size_is_required():
    choice = choose_mode(C920, ModeRequest(width=1920, height=1080, explicit_size=True))
    assert (choice.width, choice.height) == (1920, 1080)
    with pytest.raises(ModeUnavailable, match=r"offers no 1600x900; it offers .*MJPEG"):
        choose_mode(C920, ModeRequest(width=1600, height=900, explicit_size=True))


def test_explicit_format_and_rate_are_required():
    choice = choose_mode(C920, ModeRequest(input_format="yuyv422", width=640, height=480))
    assert choice.fourcc == "YUYV"
    with pytest.raises(ModeUnavailable, match="does not offer mjpeg; it offers YUYV"):
        choose_mode(RAW_ONLY, ModeRequest(input_format="mjpeg"))
    with pytest.raises(ModeUnavailable, match="at most 5 fps where 30 fps is configured"):
        choose_mode(
            RAW_ONLY,
            ModeRequest(width=1280, height=720, explicit_size=True, explicit_fps=True),
        )


def test_copy_needs_h264_from_the_device():
    with pytest.raises(ModeUnavailable, match="does not offer h264"):
        choose_mode(RAW_ONLY, ModeRequest(passthrough=True, require_h264=True))


def test_unreadable_formats_are_named():
    with pytest.raises(ModeUnavailable, match="no format Sentrycam can read"):
        choose_mode((Mode("Y10B", 640, 480, (30.0,)),), ModeRequest())
    assert describe_modes(()) == ""
    assert describe_modes(VIVID).startswith("YUYV 320x180@60/30/15")


def test_larger_size_beats_smaller_when_the_wanted_one_is_missing():
    modes = (Mode("MJPG", 640, 480, (30.0,)), Mode("MJPG", 1920, 1080, (30.0,)))
    choice = choose_mode(modes, ModeRequest())
    assert (choice.width, choice.height) == (1920, 1080)
    assert "1280x720 is not offered" in choice.reason


# ----- identity from sysfs --------------------------------------------------------------


def fake_usb_webcam(root: Path, serial: str | None, port: str = "1-1.3", node: str = "video0"):
    usb = root / "sys/devices/pci0000:00/0000:00:14.0/usb1" / port
    interface = usb / f"{port}:1.0"
    (interface / "video4linux" / node).mkdir(parents=True)
    for name, value in {
        "idVendor": "046d",
        "idProduct": "082d",
        "product": "HD Pro Webcam C920",
    }.items():
        (usb / name).write_text(value + "\n")
    if serial:
        (usb / "serial").write_text(serial + "\n")
    sound = interface.parent / f"{port}:1.2" / "sound" / "card1"
    sound.mkdir(parents=True)
    classes = root / "sys/class"
    (classes / "video4linux").mkdir(parents=True, exist_ok=True)
    (classes / "sound").mkdir(parents=True, exist_ok=True)
    os.symlink(interface / "video4linux" / node, classes / "video4linux" / node)
    (interface / "video4linux" / node / "device").symlink_to(interface)
    os.symlink(sound, classes / "sound" / "card1")
    (sound / "device").symlink_to(sound.parent.parent)
    return interface


def test_usb_identity_uses_the_serial_and_survives_renumbering(tmp_path):
    interface = fake_usb_webcam(tmp_path, "A1B2C3D4")
    usb = usb_info(interface)
    assert usb is not None
    assert (usb.vendor, usb.product, usb.serial, usb.port) == ("046d", "082d", "A1B2C3D4", "1-1.3")
    assert identity_of(usb, "usb-0000:00:14.0-1.3", 0) == "usb-046d:082d-A1B2C3D4"
    assert identity_of(usb, "x", 2) == "usb-046d:082d-A1B2C3D4-index2"


def test_usb_identity_without_serial_falls_back_to_the_port(tmp_path):
    usb = usb_info(fake_usb_webcam(tmp_path, None, port="1-1.4"))
    assert identity_of(usb, "usb-0000:00:14.0-1.4", 0) == "usb-046d:082d-port-1-1.4"
    assert identity_of(None, "platform:vivid-000", 0) == "platform:vivid-000"


def test_nodes_are_listed_in_numeric_order(tmp_path):
    folder = tmp_path / "sys/class/video4linux"
    folder.mkdir(parents=True)
    for name in ("video10", "video2", "video0"):
        (folder / name).mkdir()
    v4l2 = V4L2(str(tmp_path / "sys"), "/dev")
    assert v4l2.nodes() == ["/dev/video0", "/dev/video2", "/dev/video10"]


def test_missing_device_is_unavailable(tmp_path):
    from camera.v4l2 import DeviceUnavailable

    v4l2 = V4L2(str(tmp_path / "sys"), str(tmp_path / "dev"))
    with pytest.raises(DeviceUnavailable, match="not connected"):
        v4l2.resolve("v4l2:usb-046d:082d-A1B2C3D4")
    with pytest.raises(DeviceUnavailable, match="does not exist"):
        v4l2.resolve(str(tmp_path / "dev/video7"))


def test_camera_ids_from_card_names_are_unique():
    taken: set[str] = set()
    first = camera_id_for("HD Pro Webcam C920", taken)
    taken.add(first)
    assert (first, camera_id_for("HD Pro Webcam C920", taken)) == (
        "hd-pro-webcam-c920",
        "hd-pro-webcam-c920-2",
    )
    assert camera_id_for("***", set()) == "webcam"


# ----- microphones ----------------------------------------------------------------------

C920_STREAM = """HD Pro Webcam C920 at usb-0000:00:14.0-1.3, high speed : USB Audio

Capture:
  Status: Stop
  Interface 3
    Altset 1
    Format: S16_LE
    Channels: 2
    Endpoint: 0x84 (4 IN) (ASYNC)
    Rates: 16000, 24000, 32000
"""


def test_usb_microphone_rates_and_channels():
    assert parse_stream(C920_STREAM) == ((16000, 24000, 32000), (2,))
    assert parse_stream("Capture:\n    Channels: 1\n    Rates: 8000 - 48000 (continuous)\n") == (
        (8000, 16000, 44100, 48000),
        (1,),
    )
    assert parse_stream("") == ((), ())


def test_webcam_microphone_is_paired_by_its_usb_parent(tmp_path):
    interface = fake_usb_webcam(tmp_path, "A1B2C3D4")
    card = tmp_path / "proc/asound/card1"
    (card / "pcm0c").mkdir(parents=True)
    (card / "id").write_text("C920\n")
    (card / "stream0").write_text(C920_STREAM)
    (card / "pcm0c" / "info").write_text("card: 1\ndevice: 0\nname: USB Audio\n")
    (tmp_path / "proc/asound/cards").write_text(
        " 1 [C920           ]: USB-Audio - HD Pro Webcam C920\n"
        "                      HD Pro Webcam C920 at usb-0000:00:14.0-1.3, high speed\n"
    )
    alsa = Alsa(str(tmp_path / "proc/asound"), str(tmp_path / "sys"))
    (mic,) = alsa.devices()
    assert mic.alsa == "hw:CARD=C920,DEV=0"
    assert mic.card_name == "HD Pro Webcam C920"
    # Opened as the device allows: its best rate (no 48 kHz here), its fewest channels.
    assert (mic.open_rate(), mic.open_channels()) == (32000, 2)
    assert alsa.paired_with(usb_info(interface)) == mic
    assert alsa.paired_with(None) is None
    assert alsa.resolve("hw:1,0") == mic
    assert alsa.resolve("hw:CARD=C920,DEV=0") == mic
    assert alsa.resolve("default") is None


# ----- controls -------------------------------------------------------------------------

POWER_LINE = Control(
    "power_line_frequency", "Power Line Frequency", "menu", 0, 2, 1, 1, 1,
    {0: "Disabled", 1: "50 Hz", 2: "60 Hz"},
)  # fmt: skip
BRIGHTNESS = Control("brightness", "Brightness", "integer", 0, 255, 1, 128, 128)


def test_control_names_follow_v4l2_ctl():
    assert control_name("Exposure Time, Absolute") == "exposure_time_absolute"
    assert control_name("White Balance, Automatic") == "white_balance_automatic"


def test_control_values_are_checked():
    assert coerce(POWER_LINE, "50 Hz") == 1
    assert coerce(POWER_LINE, 2) == 2
    assert coerce(BRIGHTNESS, 200) == 200
    for control, value, message in [
        (POWER_LINE, "55 Hz", "not one of"),
        (POWER_LINE, 7, "not one of"),
        (BRIGHTNESS, 999, "outside 0..255"),
        (BRIGHTNESS, True, "takes a number"),
        (BRIGHTNESS, 1.5, "takes a number"),
    ]:
        with pytest.raises(ControlError, match=message):
            coerce(control, value)
    assert POWER_LINE.json()["menu"] == {"0": "Disabled", "1": "50 Hz", "2": "60 Hz"}
