"""Configuration layers: the file, the dashboard's overlay, and what they make together."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from api import config_layers as layers
from api.config_show import render
from api.config_store import (
    InvalidSettings,
    Layers,
    load_layered,
    validate,
    write_atomically,
)
from camera.errors import ConfigError

FILE: dict[str, Any] = {
    "webrtc": {"ice_addresses": ["127.0.0.1"]},
    "cameras": [
        {"id": "porch", "source": "rtsp://viewer:${SENTRYCAM_PW}@192.0.2.1/s", "audio": "source"},
        {"id": "garage", "source": "demo", "motion": {"threshold": 30}},
    ],
}


def test_merge_changes_adds_and_removes_cameras_by_id() -> None:
    overlay = {
        "cameras": {
            "porch": {"motion": {"threshold": 40}, "audio": None},
            "garage": None,
            "shed": {"source": "demo"},
        },
        "events": {"cooldown_seconds": 10},
    }
    merged = layers.merge(FILE, overlay)
    assert [c["id"] for c in merged["cameras"]] == ["porch", "shed"]
    porch = merged["cameras"][0]
    assert porch["motion"] == {"threshold": 40}
    assert "audio" not in porch  # null: back to the default (no audio)
    assert porch["source"].startswith("rtsp://viewer:${SENTRYCAM_PW}@")  # still a reference
    assert merged["events"] == {"cooldown_seconds": 10}
    assert merged["webrtc"] == FILE["webrtc"]
    assert FILE["cameras"][1]["motion"] == {"threshold": 30}  # the inputs are not touched


def test_difference_is_the_smallest_overlay() -> None:
    target = layers.merge(FILE, {})
    target["cameras"][1]["motion"]["threshold"] = 30  # as in the file: no entry
    target["cameras"][0]["name"] = "Porch"
    assert layers.difference(FILE, target) == {"cameras": {"porch": {"name": "Porch"}}}
    assert layers.difference(FILE, FILE) == {}


def test_a_removed_camera_added_again_does_not_inherit_the_files_keys() -> None:
    effective = {**FILE, "cameras": [FILE["cameras"][1], {"id": "porch", "source": "demo"}]}
    overlay = layers.difference(FILE, effective)
    assert overlay["cameras"]["porch"] == {"source": "demo", "audio": None}
    # (in the file's place: the overlay does not reorder the file's cameras)
    assert layers.merge(FILE, overlay)["cameras"][0] == {"id": "porch", "source": "demo"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text("ab", max_size=2),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("xyz"), inner),
    max_leaves=8,
)
camera_lists = st.lists(
    st.fixed_dictionaries(
        {"id": st.sampled_from(["a", "b", "c", "d"])},
        optional={"source": st.text("xy", min_size=1, max_size=2), "motion": json_values},
    ),
    max_size=4,
    unique_by=lambda camera: camera["id"],
)
configs = st.fixed_dictionaries(
    {"cameras": camera_lists},
    optional={"events": st.dictionaries(st.sampled_from("xyz"), json_values)},
)


@settings(max_examples=200, deadline=None)
@given(base=configs, effective=configs)
def test_merging_the_difference_gives_back_the_configuration(
    base: dict[str, Any], effective: dict[str, Any]
) -> None:
    def no_nulls(value: Any) -> Any:  # null means "absent" in a merge patch
        if isinstance(value, dict):
            return {k: no_nulls(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [no_nulls(v) for v in value]
        return value

    effective = no_nulls(effective)
    merged = layers.merge(base, layers.difference(base, effective))
    by_id = {camera["id"]: camera for camera in merged.pop("cameras")}
    assert by_id == {camera["id"]: camera for camera in effective.pop("cameras")}
    assert merged == effective
    # The file's cameras keep their order, the dashboard's come after them.
    known = [c["id"] for c in base["cameras"]]
    order = list(by_id)
    assert order == [i for i in known if i in by_id] + [i for i in order if i not in known]


def test_origins_say_where_each_value_comes_from() -> None:
    overlay = {"cameras": {"porch": {"motion": {"threshold": 40}}, "shed": {"source": "demo"}}}
    found = Layers(FILE, None, overlay)
    dumped = validate_with_env(found.effective).model_dump(mode="json")
    where = layers.origins(dumped, found.base, found.overlay, detected=False)
    assert where["cameras.porch.motion.threshold"] == "dashboard"
    assert where["cameras.porch.source"] == "file"
    assert where["cameras.porch.motion.min_area"] == "default"
    assert where["cameras.garage.motion.threshold"] == "file"
    assert where["cameras.shed.source"] == "dashboard"
    assert where["webrtc.ice_addresses"] == "file"
    assert where["server.port"] == "default"


def validate_with_env(raw: dict[str, Any]) -> Any:
    os.environ["SENTRYCAM_PW"] = "hunter2-secret"
    try:
        return validate(raw)
    finally:
        del os.environ["SENTRYCAM_PW"]


def test_secrets_are_redacted_and_sending_them_back_changes_nothing() -> None:
    current = {
        "source": "rtsp://viewer:hunter2@192.0.2.1/s",
        "ice": {"credential": "s3cret", "username": "me"},
    }
    shown = layers.redacted(current)
    assert shown == {
        "source": "rtsp://***@192.0.2.1/s",
        "ice": {"credential": "***", "username": "me"},
    }
    assert layers.keep_secrets(shown, current) == current
    changed = {**shown, "source": "rtsp://viewer:new@192.0.2.1/s"}
    assert layers.keep_secrets(changed, current)["source"] == "rtsp://viewer:new@192.0.2.1/s"


def test_if_match() -> None:
    tag = layers.version({"a": 1})
    assert tag == layers.version({"a": 1}) != layers.version({"a": 2})
    assert layers.matches(None, [tag])
    assert layers.matches(tag, [tag])
    assert layers.matches(f'"old", W/{tag}', [tag])
    assert layers.matches("*", [tag])
    assert not layers.matches('"old"', [tag])


def test_validation_names_cameras_by_id_and_says_what_is_allowed() -> None:
    raw = layers.merge(FILE, {"cameras": {"garage": {"motion": {"threshold": 900}}}})
    with pytest.raises(InvalidSettings) as refused:
        validate_with_env(raw)
    (error,) = refused.value.errors
    assert error.field == "cameras.garage.motion.threshold"
    assert "less than or equal to 255" in error.message
    assert error.value == 900
    with pytest.raises(InvalidSettings) as unset:
        validate(FILE)  # SENTRYCAM_PW is not set
    assert "SENTRYCAM_PW" in str(unset.value)


def test_writes_are_atomic_keep_the_previous_version_and_are_private(tmp_path: Path) -> None:
    target = tmp_path / "data" / "settings.yaml"
    write_atomically(target, "one: 1\n")
    assert not target.with_name("settings.yaml.prev").exists()
    write_atomically(target, "two: 2\n")
    assert target.read_text() == "two: 2\n"
    assert target.with_name("settings.yaml.prev").read_text() == "one: 1\n"
    assert target.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in target.parent.iterdir() if p.name.startswith(".")] == []


def test_a_bad_overlay_does_not_stop_the_camera_but_refuses_changes(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"cameras": [{"id": "demo", "source": "demo"}]}))
    (tmp_path / "settings.yaml").write_text("cameras:\n  demo:\n    fps: 500\n")
    loaded = load_layered(config, tmp_path)
    assert loaded.settings.cameras[0].fps == 30  # the file alone
    assert loaded.overlay_error is not None
    assert "cameras.demo.fps" in loaded.overlay_error
    assert loaded.notice == loaded.overlay_error
    config.write_text("cameras:\n  - {id: demo, source: demo, fps: 500}\n")
    with pytest.raises(ConfigError, match="less than or equal to 60"):
        load_layered(config, tmp_path)  # a bad file still stops start-up


def test_changes_to_a_detected_webcam_that_is_gone_are_left_out(tmp_path: Path) -> None:
    (tmp_path / "settings.yaml").write_text(
        "cameras:\n  video0: {motion: {threshold: 40}}\n  extra: {source: demo}\n"
    )
    loaded = load_layered(None, tmp_path)  # no webcams here: the demo camera is found
    assert [c.id for c in loaded.settings.cameras] == ["demo", "extra"]
    assert loaded.source == "autodetect-demo"
    assert loaded.notice is None  # the admin chose cameras in the dashboard


def test_config_show_prints_each_values_origin(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SENTRYCAM_PW", "hunter2-secret")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(FILE))
    (tmp_path / "settings.yaml").write_text("cameras:\n  garage:\n    motion: {min_area: 0.01}\n")
    text = render(load_layered(config, tmp_path), str(tmp_path / "settings.yaml"))
    lines = {line.split(":")[0].strip(): line for line in text.splitlines() if "#" in line}
    assert lines["min_area"].endswith("# dashboard")
    assert "hunter2" not in text
    assert "${SENTRYCAM_PW}" in text  # shown as written
    assert text.count("threshold: 30") == 1
    assert yaml.safe_load(text)["cameras"][1]["motion"]["min_area"] == 0.01  # valid YAML
