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
    monkeypatch.setattr("camera.manager.find_v4l2_devices", lambda: [])
    loaded = load_config(None)
    assert loaded.source == "autodetect-demo"
    assert [c.source for c in loaded.settings.cameras] == ["demo"]
    assert loaded.notice
    assert "demo" in loaded.notice


def test_no_config_uses_every_webcam(monkeypatch):
    monkeypatch.setattr("camera.manager.find_v4l2_devices", lambda: ["/dev/video0", "/dev/video2"])
    loaded = load_config(None)
    assert loaded.source == "autodetect-v4l2"
    assert [c.id for c in loaded.settings.cameras] == ["video0", "video2"]
    assert "/dev/video2" in (loaded.notice or "")
