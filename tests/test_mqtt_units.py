"""The pure parts of MQTT: config, topics, discovery configs, live messages, commands,
backoff and failure wording (no broker: milliseconds)."""

from __future__ import annotations

import json

import pytest
from aiomqtt import MqttCodeError, MqttError
from aiomqtt.exceptions import MqttConnectError
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from api.mqtt_config import MqttConfig
from api.mqtt_discovery import (
    CameraDevice,
    Discovery,
    Topics,
    camera_configs,
    is_own_config,
    model_of,
)
from api.mqtt_state import (
    ALERT_AFTER_S,
    ArmCommand,
    Ignored,
    Publish,
    SnapshotWanted,
    describe,
    parse_command,
    retry_delay,
    should_alert,
    updates_for,
)
from api.settings import parse_settings
from camera.errors import ConfigError

TOPICS = Topics("sentrycam")
# (component, entity) of every camera's Home Assistant entities.
ENTITIES = [
    ("camera", "snapshot"),
    ("binary_sensor", "motion"),
    ("binary_sensor", "sound"),
    ("binary_sensor", "tamper"),
    ("binary_sensor", "connectivity"),
    ("switch", "armed"),
    ("sensor", "fps"),
    ("sensor", "viewers"),
]
CAMERAS = frozenset({"porch", "garage"})


def discovery(prefix: str = "sentrycam") -> Discovery:
    topics = Topics(prefix)
    node = prefix.replace("/", "_")
    return Discovery(topics, "homeassistant", node, "1.2.3", "http://cam.local:8080/")


# ----- config -----------------------------------------------------------------------------


def test_defaults_and_derived_values(tmp_path):
    config = MqttConfig(host="broker.lan")
    assert config.effective_port == 1883
    assert config.topic_prefix == "sentrycam"
    assert config.discovery_prefix == "homeassistant"
    assert config.discovery is True
    assert config.effective_client_id == "sentrycam-sentrycam"
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    assert MqttConfig(host="b", tls=True).effective_port == 8883
    assert MqttConfig(host="b", tls=str(ca)).tls == ca  # type: ignore[arg-type]
    assert MqttConfig(host="b", tls=True, port=1884).effective_port == 1884
    nested = MqttConfig(host="b", topic_prefix="home/cams")
    assert nested.node_slug == "home_cams"
    assert nested.effective_client_id == "sentrycam-home_cams"
    assert parse_settings({}).mqtt is None  # off when absent


@pytest.mark.parametrize(
    ("mqtt", "expected"),
    [
        ({}, "mqtt.host"),
        ({"host": "mqtt://broker"}, "mqtt.host"),
        ({"host": "b", "port": 0}, "mqtt.port"),
        ({"host": "b", "password": "x"}, "username is not"),
        ({"host": "b", "topic_prefix": "a/#"}, "mqtt.topic_prefix"),
        ({"host": "b", "topic_prefix": "a//b"}, "mqtt.topic_prefix"),
        ({"host": "b", "discovery_prefix": "/ha"}, "mqtt.discovery_prefix"),
        ({"host": "b", "tls": "/no/such/ca.pem"}, "mqtt.tls"),
        ({"host": "b", "client_id": "has space"}, "mqtt.client_id"),
        ({"host": "b", "dashboard_url": "ftp://x"}, "mqtt.dashboard_url"),
        ({"host": "b", "colour": "red"}, "mqtt.colour"),
    ],
)
def test_bad_mqtt_config_names_the_key(mqtt, expected):
    with pytest.raises(ConfigError, match=expected.replace(".", r"\.")):
        parse_settings({"mqtt": mqtt})


def test_password_comes_from_the_environment_and_stays_secret(monkeypatch):
    monkeypatch.setenv("SENTRYCAM_MQTT_PASSWORD", "s3cret-pw")
    settings = parse_settings(
        {"mqtt": {"host": "b", "username": "u", "password": "${SENTRYCAM_MQTT_PASSWORD}"}}
    )
    assert settings.mqtt is not None
    assert settings.mqtt.password is not None
    assert settings.mqtt.password.get_secret_value() == "s3cret-pw"
    assert "s3cret-pw" not in repr(settings)


# ----- topics and discovery ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "camera"),
    [
        ("sentrycam/porch/armed/set", "porch"),
        ("sentrycam/porch/armed", None),
        ("sentrycam//armed/set", None),
        ("sentrycam/a/b/armed/set", None),
        ("other/porch/armed/set", None),
        ("sentrycam/porch/armed/set/x", None),
    ],
)
def test_command_topics(topic, camera):
    assert TOPICS.command_camera(topic) == camera


def test_one_device_per_camera_with_every_entity():
    configs = dict(camera_configs(discovery(), CameraDevice("porch", "Porch", "Sentrycam IP")))
    assert sorted(configs) == sorted(
        f"homeassistant/{component}/sentrycam_porch/{key}/config" for component, key in ENTITIES
    )
    devices = {json.dumps(c["device"], sort_keys=True) for c in configs.values()}
    assert len(devices) == 1  # one Home Assistant device
    device = next(iter(configs.values()))["device"]
    assert device == {
        "identifiers": ["sentrycam_porch"],
        "name": "Porch",
        "manufacturer": "Sentrycam",
        "model": "Sentrycam IP",
        "sw_version": "1.2.3",
        "configuration_url": "http://cam.local:8080/#/camera/porch",
    }
    both = [{"topic": "sentrycam/status"}, {"topic": "sentrycam/porch/status"}]
    for topic, config in configs.items():
        expected = both[:1] if "connectivity" in topic else both
        assert config["availability"] == expected, topic
        assert config["availability_mode"] == "all"
    switch = configs["homeassistant/switch/sentrycam_porch/armed/config"]
    assert switch["command_topic"] == "sentrycam/porch/armed/set"
    assert switch["state_topic"] == "sentrycam/porch/armed"
    camera = configs["homeassistant/camera/sentrycam_porch/snapshot/config"]
    assert camera["topic"] == "sentrycam/porch/snapshot"
    assert (
        configs["homeassistant/binary_sensor/sentrycam_porch/tamper/config"]["device_class"]
        == "tamper"
    )


def test_unique_ids_are_stable_and_distinct_across_instances():
    device = CameraDevice("porch", "Porch", "m")
    first = {c["unique_id"] for _, c in camera_configs(discovery(), device)}
    again = {c["unique_id"] for _, c in camera_configs(discovery(), device)}
    other = {c["unique_id"] for _, c in camera_configs(discovery("home/cams"), device)}
    assert first == again
    assert len(first) == 8
    assert not first & other
    assert model_of("v4l2") == "Sentrycam USB webcam"
    assert model_of("something") == "Sentrycam camera"


def test_own_configs_are_recognised_and_others_left_alone():
    mine = discovery()
    own = "homeassistant/binary_sensor/sentrycam_shed/motion/config"
    assert is_own_config(mine, own, {"state_topic": "sentrycam/shed/motion"})
    assert is_own_config(mine, own.replace("binary_sensor", "camera"), {"topic": "sentrycam/x"})
    other = "homeassistant/binary_sensor/sentrycam_garage_porch/motion/config"
    assert not is_own_config(mine, other, {"state_topic": "sentrycam_garage/porch/motion"})
    assert not is_own_config(mine, "homeassistant/light/kitchen/config", {"state_topic": "x"})
    assert not is_own_config(mine, own, {"state_topic": 3})


# ----- live messages ----------------------------------------------------------------------


def event(phase: str, kind: str = "motion", camera: str = "porch", **extra: object) -> dict:
    body = {
        "id": 7,
        "camera": camera,
        "kind": kind,
        "end": None if phase == "start" else "2026-01-01T00:00:01Z",
        "links": {"snapshot": "/api/events/7/snapshot.jpg"},
        **extra,
    }
    return {"id": 1, "type": "event", "phase": phase, "event": body}


def test_event_start_and_end_become_states_events_and_snapshots():
    start = updates_for(TOPICS, event("start"), CAMERAS)
    published = start[0]
    assert isinstance(published, Publish)
    assert (published.topic, published.retain) == ("sentrycam/events", False)
    assert json.loads(published.payload) == event("start")["event"]  # as the REST API
    assert start[1:] == [
        Publish("sentrycam/porch/motion", b"ON", retain=True),
        SnapshotWanted("porch", 7),
    ]
    end = updates_for(TOPICS, event("end"), CAMERAS)
    assert end[1] == Publish("sentrycam/porch/motion", b"OFF", retain=True)
    tamper = updates_for(TOPICS, event("start", kind="tamper"), CAMERAS)
    assert Publish("sentrycam/porch/tamper", b"ON", retain=True) in tamper
    # Events without a binary sensor, or without a snapshot, go to the events topic only.
    offline = updates_for(TOPICS, event("start", kind="offline", links={}), CAMERAS)
    assert [u.topic for u in offline if isinstance(u, Publish)] == ["sentrycam/events"]
    assert len(offline) == 1
    system = updates_for(TOPICS, event("start", kind="storage", camera="*"), CAMERAS)
    assert len(system) == 1
    assert updates_for(TOPICS, event("update"), CAMERAS) == []
    assert updates_for(TOPICS, event("ack"), CAMERAS) == []
    # An instant event (start message already ended) never turns a sensor ON.
    instant = updates_for(TOPICS, {**event("start"), "event": event("end")["event"]}, CAMERAS)
    assert Publish("sentrycam/porch/motion", b"OFF", retain=True) in instant


def test_camera_status_and_arming():
    def status(value: str, camera: str = "porch") -> list:
        return updates_for(TOPICS, {"type": "camera", "camera": camera, "status": value}, CAMERAS)

    assert status("online") == [Publish("sentrycam/porch/status", b"online", retain=True)]
    assert status("offline")[0].payload == b"offline"  # type: ignore[union-attr]
    assert status("starting")[0].payload == b"offline"  # type: ignore[union-attr]
    assert status("online", camera="unknown") == []
    disarmed = {"type": "armed", "camera": "garage", "armed": False}
    assert updates_for(TOPICS, disarmed, CAMERAS) == [
        Publish("sentrycam/garage/armed", b"OFF", retain=True)
    ]
    assert updates_for(TOPICS, {"type": "recording", "camera": "porch"}, CAMERAS) == []
    assert updates_for(TOPICS, {"type": "event", "phase": "start", "event": 3}, CAMERAS) == []


# ----- commands ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "payload", "retained", "expected"),
    [
        ("sentrycam/porch/armed/set", b"OFF", False, ArmCommand("porch", False)),
        ("sentrycam/porch/armed/set", b"on\n", False, ArmCommand("porch", True)),
        ("sentrycam/shed/armed/set", b"ON", False, "no configured camera"),
        ("sentrycam/porch/armed/set", b"ON", True, "retained"),
        ("sentrycam/porch/armed/set", b"toggle", False, "must be ON or OFF"),
        ("sentrycam/porch/armed/set", b"\xff\xfe", False, "must be ON or OFF"),
        ("sentrycam/porch/motion", b"ON", False, "not a command topic"),
    ],
)
def test_only_valid_commands_of_configured_cameras_are_obeyed(topic, payload, retained, expected):
    result = parse_command(TOPICS, topic, payload, retained, CAMERAS)
    if isinstance(expected, ArmCommand):
        assert result == expected
    else:
        assert isinstance(result, Ignored)
        assert expected in result.reason


# ----- connection failures ----------------------------------------------------------------


def test_backoff_doubles_to_a_minute():
    assert [retry_delay(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert retry_delay(1000) == 60


def test_failures_are_worded_for_the_owner():
    broker = "mqtt://b:1883"
    refused = describe(MqttConnectError(ReasonCode(PacketTypes.CONNACK, "Not authorized")), broker)
    assert refused.login_refused
    assert "check mqtt.username and mqtt.password" in refused.text
    assert describe(MqttConnectError(4), broker).login_refused  # MQTT 3.1.1 code
    other = describe(MqttCodeError(3, "x"), broker)
    assert not other.login_refused
    assert "refused the connection" in other.text
    down = describe(MqttError("[Errno 111] Connection refused"), broker)
    assert down.text == "mqtt://b:1883: [Errno 111] Connection refused"
    assert "ValueError: bug" in describe(ValueError("bug"), broker).text


def test_one_alert_per_outage():
    assert should_alert(login_refused=True, down_for=0, alerted=False)
    assert not should_alert(login_refused=False, down_for=ALERT_AFTER_S - 1, alerted=False)
    assert should_alert(login_refused=False, down_for=ALERT_AFTER_S, alerted=False)
    assert not should_alert(login_refused=True, down_for=3600, alerted=True)


def test_a_lost_connection_says_why():
    try:
        try:
            raise MqttCodeError(7, "Unexpected disconnection")
        except MqttCodeError as cause:
            raise MqttError("Disconnected during message iteration") from cause
    except MqttError as error:
        text = describe(error, "mqtt://b:1883").text
    assert text.startswith("mqtt://b:1883: Disconnected during message iteration (")
    assert "Unexpected disconnection" in text or "[code:7]" in text
