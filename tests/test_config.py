from __future__ import annotations

from pathlib import Path

import pytest

from api.settings import load_config, load_settings
from camera.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sentrycam.yaml"
    path.write_text(text)
    return path


def test_full_example_config_is_valid(monkeypatch):
    monkeypatch.setenv("SENTRYCAM_GARAGE_PASSWORD", "example")
    monkeypatch.setenv("SENTRYCAM_MQTT_PASSWORD", "example")
    monkeypatch.setenv("SENTRYCAM_WEBHOOK_SECRET", "whsec_" + "QUJD" * 11)
    monkeypatch.setenv("SENTRYCAM_NTFY_TOPIC", "porch-alerts")
    monkeypatch.setenv("SENTRYCAM_TELEGRAM", "123:token/456")
    example = Path(__file__).parent.parent / "docs" / "config.example.yaml"
    settings = load_settings(example)
    assert settings.notifications.web_push.contact == "mailto:you@example.org"
    assert settings.cameras
    assert all(camera.id for camera in settings.cameras)
    assert settings.mqtt is not None


def test_defaults(tmp_path):
    settings = load_settings(write(tmp_path, "cameras:\n  - id: porch\n    source: demo\n"))
    camera = settings.cameras[0]
    assert (camera.width, camera.height, camera.fps, camera.encoder) == (1280, 720, 30.0, "auto")
    assert settings.webrtc.ice_servers == []  # never phones out by default
    assert settings.max_viewers(camera) == 10


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cameras:\n  - id: a\n    source: demo\n    fps: 500\n", "cameras.0.fps"),
        ("cameras:\n  - id: a\n    source: demo\n    encoder: h265\n", "'libx264'"),
        ("cameras:\n  - id: Bad Id\n    source: demo\n", "cameras.0.id"),
        ("cameras:\n  - id: a\n    source: demo\n    colour: red\n", "colour"),
        ("cameras:\n  - id: a\n  - id: a\n    source: demo\n", "cameras.0.source"),
        ("cameras:\n  - {id: a, source: demo}\n  - {id: a, source: demo}\n", "used twice"),
        ("webrtc:\n  ice_addresses: [not-an-ip]\n", "webrtc.ice_addresses"),
        ("server:\n  port: 70000\n", "server.port"),
        ("- just\n- a list\n", "mapping"),
        ("cameras: [\n", "not valid YAML"),
    ],
)
def test_bad_config_names_key_value_and_file(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    message = str(error.value)
    assert str(path) in message
    assert expected in message


def test_bad_value_is_quoted(tmp_path):
    path = write(tmp_path, "cameras:\n  - id: a\n    source: demo\n    fps: 500\n")
    with pytest.raises(ConfigError, match=r"less than or equal to 60.*got 500"):
        load_settings(path)


def test_secrets_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SENTRYCAM_PORCH_PASSWORD", "s3cret")
    path = write(
        tmp_path,
        "cameras:\n  - id: porch\n    source: rtsp://admin:${SENTRYCAM_PORCH_PASSWORD}@cam/1\n",
    )
    assert load_settings(path).cameras[0].source == "rtsp://admin:s3cret@cam/1"


def test_missing_or_foreign_environment_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("SENTRYCAM_NOPE", raising=False)
    path = write(tmp_path, "cameras:\n  - id: a\n    source: rtsp://${SENTRYCAM_NOPE}@x\n")
    with pytest.raises(ConfigError, match=r"cameras\[0\]\.source.*SENTRYCAM_NOPE is not set"):
        load_settings(path)
    path = write(tmp_path, "cameras:\n  - id: a\n    source: ${HOME}\n")
    with pytest.raises(ConfigError, match="only"):
        load_settings(path)


def test_unreadable_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.yaml")


def test_no_config_falls_back_to_demo_when_no_webcam(monkeypatch):
    monkeypatch.setattr("camera.v4l2.V4L2.devices", lambda self, with_modes=True: [])
    loaded = load_config(None)
    assert loaded.source == "autodetect-demo"
    assert [c.source for c in loaded.settings.cameras] == ["demo"]
    assert loaded.notice
    assert "demo" in loaded.notice


def test_no_config_uses_every_webcam_by_identity(monkeypatch):
    from camera.v4l2 import VideoDevice

    found = [
        VideoDevice("/dev/video2", "usb-046d:082d-AB12", "HD Pro Webcam C920", "uvcvideo", "usb-1"),
        VideoDevice("/dev/video0", "usb-046d:082d-CD34", "HD Pro Webcam C920", "uvcvideo", "usb-2"),
        VideoDevice("/dev/video4", "platform:vivid-000", "vivid", "vivid", "platform:vivid-000"),
    ]
    monkeypatch.setattr("camera.v4l2.V4L2.devices", lambda self, with_modes=True: found)
    monkeypatch.setattr("camera.alsa.Alsa.devices", lambda self: [])
    loaded = load_config(None)
    assert loaded.source == "autodetect-v4l2"
    cameras = loaded.settings.cameras
    # Named from the device, ordered and matched by identity: not by /dev/videoN.
    assert [c.id for c in cameras] == ["vivid", "hd-pro-webcam-c920", "hd-pro-webcam-c920-2"]
    assert [c.source for c in cameras] == [
        "v4l2:platform:vivid-000",
        "v4l2:usb-046d:082d-AB12",
        "v4l2:usb-046d:082d-CD34",
    ]
    assert all(c.source_kind == "v4l2" and c.audio is None for c in cameras)
    assert "/dev/video2" in (loaded.notice or "")
