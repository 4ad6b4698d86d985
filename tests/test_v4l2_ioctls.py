"""The V4L2 ioctl paths (device description, modes, controls) against a fake driver.

linuxpy's ioctl helpers are replaced by a small fake of a UVC webcam, so the logic around
them (capture nodes only, stepwise sizes, control order and read-back, refusals) is tested
here; the guest bed (tests/hardware) runs the same paths on real drivers.
"""

from __future__ import annotations

import errno
import os
from types import SimpleNamespace

import pytest
from linuxpy.video import device as v4l

from camera import controls as controls_module
from camera.controls import ControlError, read_controls, set_controls
from camera.v4l2 import V4L2, DeviceUnavailable

MJPG = 0x47504A4D
YUYV = 0x56595559


def ctrl(cid, name, ctype, lo, hi, default, flags=0):
    return SimpleNamespace(
        id=cid, name=name.encode(), type=ctype, minimum=lo, maximum=hi, step=1,
        default_value=default, flags=flags,
    )  # fmt: skip


class FakeWebcam:
    """What a UVC webcam answers, as linuxpy's helpers would return it."""

    def __init__(self, capture: bool = True) -> None:
        self.capture = capture
        self.values = {1: 128, 2: 3, 3: 250, 4: 1}
        self.set_calls: list[tuple[str, int]] = []
        self.controls = [
            ctrl(1, "Brightness", 1, 0, 255, 128),
            ctrl(2, "Auto Exposure", 3, 0, 3, 3),
            ctrl(3, "Exposure Time, Absolute", 1, 3, 2047, 250, flags=0x10),
            ctrl(4, "Power Line Frequency", 3, 0, 2, 1),
            ctrl(5, "Trigger", 4, 0, 0, 0),  # a button: not offered
        ]

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        caps = 0x84A00001 if self.capture else 0x84A08000
        monkeypatch.setattr(
            v4l,
            "read_capabilities",
            lambda fd: SimpleNamespace(
                capabilities=caps, device_caps=caps & 0x7FFFFFFF, card=b"HD Pro Webcam C920",
                driver=b"uvcvideo", bus_info=b"usb-0000:00:14.0-1.3",
            ),
        )  # fmt: skip
        monkeypatch.setattr(v4l, "iter_read_formats", self._formats)
        monkeypatch.setattr(v4l, "iter_read_frame_sizes", self._sizes)
        monkeypatch.setattr(v4l, "iter_read_frame_intervals", self._intervals)
        monkeypatch.setattr(v4l, "iter_read_controls", lambda fd: iter(self.controls))
        monkeypatch.setattr(v4l, "ioctl", self._querymenu)
        monkeypatch.setattr(v4l, "get_controls_values", self._get)
        monkeypatch.setattr(v4l, "set_controls_values", self._set)

    def _formats(self, fd, buffer_type):
        for pixel_format in (MJPG, YUYV, 0x42303159):  # the last: Y10B, unreadable
            yield SimpleNamespace(pixel_format=pixel_format)

    def _sizes(self, fd, pixel_format):
        if pixel_format == MJPG:
            for width, height in ((1280, 720), (640, 480)):
                info = SimpleNamespace(width=width, height=height)
                yield SimpleNamespace(type=v4l.FrameSizeType.DISCRETE, info=info)
        else:  # a range of sizes
            info = SimpleNamespace(min_width=160, max_width=640, min_height=120, max_height=480)
            yield SimpleNamespace(type=v4l.FrameSizeType.STEPWISE, info=info)

    def _intervals(self, fd, pixel_format, width, height):
        if pixel_format == MJPG:
            for fps in (30, 15):
                yield SimpleNamespace(type=v4l.FrameIntervalType.DISCRETE, min_fps=fps, max_fps=fps)
        else:
            yield SimpleNamespace(type=v4l.FrameIntervalType.CONTINUOUS, min_fps=5, max_fps=30)

    def _querymenu(self, fd, request, item):
        labels = {2: ["Auto Mode", "Manual Mode", None, "Aperture Priority Mode"],
                  4: ["Disabled", "50 Hz", "60 Hz"]}  # fmt: skip
        label = labels[item.id][item.index]
        if label is None:
            raise OSError(errno.EINVAL, "no such item")
        item.name = label.encode()

    def _get(self, fd, infos, which=None):
        return [self.values[info.id] for info in infos]

    def _set(self, fd, pairs):
        for info, value in pairs:
            if info.id == 3 and self.values[2] != 1:
                raise OSError(errno.EACCES, "Permission denied")  # auto exposure is on
            self.values[info.id] = value
            self.set_calls.append((info.name.decode(), value))
            if info.id == 2:  # manual exposure makes the absolute time active
                self.controls[2].flags = 0 if value == 1 else 0x10


@pytest.fixture
def webcam(monkeypatch, tmp_path):
    fake = FakeWebcam()
    fake.install(monkeypatch)
    node = tmp_path / "dev" / "video0"
    node.parent.mkdir()
    node.write_bytes(b"")
    folder = tmp_path / "sys/class/video4linux/video0"
    folder.mkdir(parents=True)
    (folder / "index").write_text("0\n")
    return fake, str(node), V4L2(str(tmp_path / "sys"), str(tmp_path / "dev"))


def test_a_webcam_is_described_with_its_readable_modes(webcam):
    _, node, v4l2 = webcam
    (device,) = v4l2.devices()
    assert (device.path, device.card, device.driver) == (node, "HD Pro Webcam C920", "uvcvideo")
    assert device.identity == "usb-0000:00:14.0-1.3"  # no USB parent in this fake sysfs
    modes = {(m.fourcc, m.width, m.height): m.rates for m in device.modes}
    assert modes[("MJPG", 1280, 720)] == (30.0, 15.0)
    # A range of sizes and rates offers the usual ones within it; Y10B is left out.
    assert modes[("YUYV", 640, 480)] == (30.0, 25.0, 15.0, 10.0, 5.0)
    assert ("YUYV", 1280, 720) not in modes
    assert {m.fourcc for m in device.modes} == {"MJPG", "YUYV"}
    assert v4l2.resolve(node).identity == device.identity
    assert v4l2.resolve("v4l2:usb-0000:00:14.0-1.3").path == node


def test_codec_and_output_nodes_are_no_webcams(webcam, monkeypatch):
    _, node, v4l2 = webcam
    FakeWebcam(capture=False).install(monkeypatch)
    assert v4l2.devices() == []
    with pytest.raises(DeviceUnavailable, match="not a video capture device"):
        v4l2.resolve(node)


def test_controls_are_read_with_their_menus(webcam):
    _, node, _ = webcam
    found = {c.name: c for c in read_controls(node)}
    assert list(found) == [
        "brightness",
        "auto_exposure",
        "exposure_time_absolute",
        "power_line_frequency",
    ]
    assert found["auto_exposure"].menu == {
        0: "Auto Mode",
        1: "Manual Mode",
        3: "Aperture Priority Mode",
    }
    assert found["exposure_time_absolute"].inactive
    assert found["power_line_frequency"].json()["value"] == 1


def test_manual_exposure_is_set_after_its_automatic_mode(webcam):
    fake, node, _ = webcam
    result = set_controls(node, {"exposure_time_absolute": 500, "auto_exposure": "Manual Mode"})
    assert fake.set_calls == [("Auto Exposure", 1), ("Exposure Time, Absolute", 500)]
    values = {c.name: c.value for c in result}
    assert values["exposure_time_absolute"] == 500
    assert set_controls(node, {"brightness": 100}, read_back=False) == []


def test_wrong_controls_set_nothing(webcam):
    fake, node, _ = webcam
    with pytest.raises(ControlError, match="no control 'zoom'; it has auto_exposure"):
        set_controls(node, {"brightness": 100, "zoom": 3})
    with pytest.raises(ControlError, match=r"outside 0\.\.255"):
        set_controls(node, {"power_line_frequency": "60 Hz", "brightness": 300})
    assert fake.set_calls == []
    fake.values[2] = 3  # back in auto exposure: the driver refuses the manual time
    with pytest.raises(ControlError, match="refused exposure_time_absolute=600"):
        set_controls(node, {"exposure_time_absolute": 600})


def test_a_vanished_node_is_unavailable(tmp_path):
    with pytest.raises(DeviceUnavailable):
        read_controls(str(tmp_path / "video9"))
    assert os.path.exists(controls_module.__file__)
