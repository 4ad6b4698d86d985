"""MQTT and Home Assistant discovery against a real broker (Debian's mosquitto) and a real
client subscribed to ``#``: discovery, states, snapshots, commands, reconnects, failures."""

from __future__ import annotations

import asyncio
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from api.tls import make_self_signed
from tests.conftest import demo_config, free_port
from tests.mosquitto import Subscriber, running_broker
from tests.test_cli import run_serve
from tests.test_mqtt_units import ENTITIES
from tests.waiting import wait_until
from tests.whep_client import connect, hang_up

HA_USER, HA_PASSWORD = "homeassistant", "ha-secret-4"
CAM_USER, CAM_PASSWORD = "sentrycam", "broker-secret-7"

# What Home Assistant's MQTT discovery documents for each platform we use (its docs'
# "Configuration Variables"): every key we send must be one of these.
COMMON = {
    "availability",
    "availability_mode",
    "availability_topic",
    "device",
    "enabled_by_default",
    "encoding",
    "entity_category",
    "icon",
    "json_attributes_template",
    "json_attributes_topic",
    "name",
    "object_id",
    "origin",
    "payload_available",
    "payload_not_available",
    "qos",
    "unique_id",
}
PLATFORMS: dict[str, tuple[set[str], set[str]]] = {  # component: (required, optional)
    "camera": ({"topic"}, {"image_encoding"}),
    "binary_sensor": (
        {"state_topic"},
        {"device_class", "expire_after", "force_update", "off_delay", "payload_off",
         "payload_on", "value_template"},
    ),
    "switch": (
        {"command_topic"},
        {"command_template", "device_class", "optimistic", "payload_off", "payload_on",
         "retain", "state_off", "state_on", "state_topic", "value_template"},
    ),
    "sensor": (
        {"state_topic"},
        {"device_class", "expire_after", "force_update", "last_reset_value_template",
         "options", "state_class", "suggested_display_precision", "unit_of_measurement",
         "value_template"},
    ),
}  # fmt: skip
DEVICE_KEYS = {
    "configuration_url",
    "connections",
    "hw_version",
    "identifiers",
    "manufacturer",
    "model",
    "model_id",
    "name",
    "serial_number",
    "suggested_area",
    "sw_version",
    "via_device",
}


def motion_clip(path: Path, fps: int = 10) -> Path:
    """6 s, looped by the file source: still, a box crossing from 2 s to 3.5 s, still."""
    width, height = 320, 180
    with av.open(str(path), "w") as output:
        stream = output.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "x264-params": f"keyint={fps}:bframes=0"}
        y, x = np.mgrid[0:height, 0:width]
        background = (96 + 40 * np.sin(x / 9.0) * np.cos(y / 13.0)).astype(np.uint8)
        for index in range(6 * fps):
            t = index / fps
            picture = background.copy()
            if 2.0 <= t < 3.5:
                left = int(20 + (t - 2.0) * 150)
                picture[60:110, left : left + 50] = 240
            frame = av.VideoFrame.from_ndarray(np.dstack([picture] * 3), format="rgb24")
            frame = frame.reformat(format="yuv420p")
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return path


def porch_config(clip: Path, mqtt: dict[str, Any]) -> dict[str, Any]:
    return {
        "webrtc": {"ice_addresses": ["127.0.0.1"]},
        "events": {"cooldown_seconds": 0},
        "mqtt": mqtt,
        "cameras": [
            {
                "id": "porch",
                "name": "Porch",
                "source": str(clip),
                "width": 320,
                "height": 180,
                "fps": 10,
                "motion": {"quiet_seconds": 1, "frames_to_start": 2},
                "health": {"frozen_seconds": 0, "tamper": False},
            }
        ],
    }


def check_discovery_config(topic: str, config: dict[str, Any]) -> None:
    component = topic.split("/")[1]
    required, optional = PLATFORMS[component]
    assert required <= config.keys(), (topic, required - config.keys())
    unknown = config.keys() - required - optional - COMMON
    assert not unknown, (topic, unknown)
    assert config["device"].keys() <= DEVICE_KEYS
    assert config["device"]["configuration_url"].startswith("http")
    assert config["unique_id"]
    assert config["origin"]["name"] == "Sentrycam"
    for availability in config["availability"]:
        assert availability["topic"].startswith("sentrycam/")
    for key in ("state_topic", "command_topic", "topic"):
        if key in config:
            assert "+" not in config[key]
            assert "#" not in config[key]


async def test_home_assistant_sees_the_camera(start_server, tmp_path, monkeypatch):
    clip = motion_clip(tmp_path / "porch.mp4")
    users = {CAM_USER: CAM_PASSWORD, HA_USER: HA_PASSWORD}
    monkeypatch.setenv("SENTRYCAM_MQTT_PASSWORD", CAM_PASSWORD)
    with running_broker(users=users) as broker:
        mqtt = {
            "host": "127.0.0.1",
            "port": broker.port,
            "username": CAM_USER,
            "password": "${SENTRYCAM_MQTT_PASSWORD}",
        }
        # Left over from earlier runs: a camera since removed (ours: deleted) and another
        # Sentrycam's camera (topic prefix sentrycam_garage: left alone).
        stale = "homeassistant/binary_sensor/sentrycam_shed/motion/config"
        foreign = "homeassistant/binary_sensor/sentrycam_garage_porch/motion/config"
        async with Subscriber(broker.port, HA_USER, HA_PASSWORD) as old:
            for topic, state_topic in [
                (stale, "sentrycam/shed/motion"),
                (foreign, "sentrycam_garage/porch/motion"),
            ]:
                config = json.dumps({"state_topic": state_topic, "unique_id": topic})
                await old.client.publish(topic, config.encode(), qos=1, retain=True)
        configs = "homeassistant/{}/sentrycam_porch/{}/config"
        expected = {configs.format(component, key) for component, key in ENTITIES}
        async with Subscriber(broker.port, HA_USER, HA_PASSWORD) as watch:
            server = await start_server(porch_config(clip, mqtt))
            await server.wait_online("porch")
            bridge = server.services.mqtt
            await wait_until(lambda: bridge.state == "connected", 15, "connected")
            assert (await server.client.get("/api/health")).json()["mqtt"] == "connected"
            # "connected" comes before the configs are out: wait until the broker has them
            # all (QoS 1, so stored) and has the stale one deleted.
            await wait_until(
                lambda: (
                    expected <= {t for t, _, _ in watch.messages} and watch.latest(stale) == b""
                ),
                20,
                "every discovery config published and the stale one deleted",
            )

        # Home Assistant subscribes later: the retained discovery configs reach it.
        async with Subscriber(broker.port, HA_USER, HA_PASSWORD) as ha:
            await wait_until(
                lambda: expected <= {t for t, _, retain in ha.messages if retain},
                10,
                "every discovery config, retained",
            )
            unique_ids = set()
            for topic in expected:
                config = json.loads(ha.latest(topic) or b"")
                check_discovery_config(topic, config)
                unique_ids.add(config["unique_id"])
                assert config["device"]["name"] == "Porch"
            assert len(unique_ids) == len(expected)
            assert ha.latest(stale) is None  # deleted before we subscribed
            assert ha.latest(foreign) is not None
            motion = json.loads(ha.latest(configs.format("binary_sensor", "motion")) or b"")
            assert motion["device_class"] == "motion"
            assert motion["state_topic"] == "sentrycam/porch/motion"
            assert await ha.wait_for("sentrycam/status") == b"online"
            await ha.wait_for("sentrycam/porch/status", b"online")
            assert await ha.wait_for("sentrycam/porch/armed") == b"ON"

            # Real motion from the clip: the sensor goes ON, then OFF; a snapshot follows.
            await ha.wait_for("sentrycam/porch/motion", b"ON", timeout=20)
            await wait_until(
                lambda: ha.on("sentrycam/porch/motion")[-1] == b"OFF", 20, "motion OFF"
            )
            jpeg = await ha.wait_for("sentrycam/porch/snapshot", timeout=10)
            picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
            assert picture is not None
            assert picture.shape[:2] == (180, 320)

            def start_and_end() -> dict[str, Any] | None:
                """The end message of a motion event whose start message came too."""
                seen = [json.loads(p) for p in ha.on("sentrycam/events")]
                motion = [e for e in seen if e["kind"] == "motion" and e["camera"] == "porch"]
                started = {e["id"] for e in motion if e["end"] is None}
                return next((e for e in motion if e["end"] and e["id"] in started), None)

            ended = await wait_until(start_and_end, 20, "a motion event's start and end")
            rest = (await server.client.get(f"/api/events/{ended['id']}")).json()
            assert set(rest) == set(ended)

            # Home Assistant disarms the camera; the REST API agrees: disarmed by hand, like
            # the dashboard's shield (until the schedule's next change).
            await ha.client.publish("sentrycam/porch/armed/set", b"OFF", qos=1)
            await ha.wait_for("sentrycam/porch/armed", b"OFF")
            arming = (await server.client.get("/api/cameras/porch/arm")).json()
            assert (arming["armed"], arming["override"]) == (False, True)
            audit = (await server.client.get("/api/audit")).json()
            assert any(
                (a["actor"], a["action"], a["target"]) == ("mqtt", "camera_disarmed", "porch")
                for a in audit
            )

            # Only ON/OFF on a configured camera's command topic is obeyed.
            await ha.client.publish("sentrycam/garage/armed/set", b"ON", qos=1)
            await ha.client.publish("sentrycam/porch/armed/set", b"maybe", qos=1)
            await wait_until(lambda: bridge.commands_ignored == 2, 10, "2 ignored commands")
            assert (await server.client.get("/api/cameras/porch/arm")).json()["armed"] is False

            # Home Assistant restarts: it announces itself and gets everything again.
            before = len(ha.on(configs.format("switch", "armed")))
            await ha.client.publish("homeassistant/status", b"online", qos=1)
            await wait_until(
                lambda: len(ha.on(configs.format("switch", "armed"))) > before, 10, "republish"
            )

        status = (await server.client.get("/api/mqtt")).json()
        assert status["state"] == "connected"
        assert status["broker"] == f"mqtt://127.0.0.1:{broker.port}"
        assert status["commands_obeyed"] == 1
        assert CAM_PASSWORD not in json.dumps(status)

        # The broker crashes and comes back empty: Sentrycam reconnects by itself and
        # publishes everything again (the disarmed state included).
        broker.kill()
        await wait_until(lambda: bridge.state == "retrying", 15, "connection lost")
        health = (await server.client.get("/api/health")).json()
        assert health["mqtt"] == "retrying"
        assert "127.0.0.1" not in json.dumps(health)  # public: no broker address
        broker.start(same_port=True)
        await wait_until(lambda: bridge.state == "connected", 20, "reconnected")
        async with Subscriber(broker.port, HA_USER, HA_PASSWORD) as ha:
            await ha.wait_for(configs.format("switch", "armed"))
            assert await ha.wait_for("sentrycam/porch/armed") == b"OFF"
            assert await ha.wait_for("sentrycam/status") == b"online"
            await ha.wait_for("sentrycam/porch/snapshot")

        # A clean stop says offline itself (no will needed).
        async with Subscriber(broker.port, HA_USER, HA_PASSWORD) as ha:
            await server.services.mqtt.stop()
            await ha.wait_for("sentrycam/status", b"offline")


async def test_a_refused_login_is_reported_retried_and_harms_nothing(
    start_server, tmp_path, caplog
):
    config = demo_config(audio=None, width=320, height=180, fps=10)
    with running_broker(users={CAM_USER: CAM_PASSWORD}) as broker:
        wrong = "not-the-password-3"
        config["mqtt"] = {
            "host": "127.0.0.1",
            "port": broker.port,
            "username": CAM_USER,
            "password": wrong,
        }
        server = await start_server(config)
        bridge = server.services.mqtt
        await wait_until(lambda: bridge.link.failures >= 2, 15, "two refused attempts")
        status = (await server.client.get("/api/mqtt")).json()
        assert status["state"] == "retrying"
        assert "refused the login" in status["last_error"]
        assert "mqtt.password" in status["last_error"]
        assert status["next_retry_at"] > status["last_error_at"]
        assert (await server.client.get("/api/health")).json()["mqtt"] == "retrying"
        # One alert on the live channel (stored like every live message), for admins.
        (alert,) = (await server.client.get("/api/events", params={"kind": "mqtt"})).json()[
            "events"
        ]
        assert alert["alert"] is True
        assert alert["camera"] == "*"
        assert "refused the login" in alert["detail"]
        refusals = [r for r in caplog.records if "refused the login" in r.getMessage()]
        assert refusals
        assert refusals[0].levelname == "WARNING"
        everything = json.dumps(status) + json.dumps(alert) + caplog.text
        assert wrong not in everything

        # Live view does not notice.
        await server.wait_online("demo")
        viewer = await connect(server.client, "demo", audio=False)
        await viewer.next_video_frame()
        await hang_up(server.client, viewer)

        # The broker's password file is fixed: the next attempt gets in, no restart.
        broker.set_password(CAM_USER, wrong)
        await wait_until(lambda: bridge.state == "connected", 20, "connected")
        assert (await server.client.get("/api/health")).json()["mqtt"] == "connected"


async def test_a_killed_server_goes_offline_by_its_last_will(tmp_path):
    cert, key = tmp_path / "broker.pem", tmp_path / "broker.key"
    make_self_signed(cert, key)
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(cert.read_bytes())  # the broker's own self-signed certificate
    with running_broker(tls=(cert, key)) as broker:  # anonymous, TLS only
        config = (
            "webrtc:\n  ice_addresses: ['127.0.0.1']\n"
            f"mqtt:\n  host: 127.0.0.1\n  port: {broker.port}\n  tls: {ca_file}\n"
            "  topic_prefix: home/cams\n"
            "cameras:\n  - id: demo\n    source: demo\n    width: 320\n    height: 180\n"
        )
        async with Subscriber(broker.port, ca_file=ca_file) as ha:
            process = run_serve(tmp_path, config, free_port())
            try:
                await ha.wait_for("home/cams/status", b"online", timeout=60)
                await ha.wait_for("home/cams/demo/status", b"online", timeout=30)
                await ha.wait_for("homeassistant/switch/home_cams_demo/armed/config")
                process.kill()  # kill -9: no goodbye, the broker speaks for it
                await asyncio.to_thread(process.wait, 30)
                await wait_until(
                    lambda: ha.latest("home/cams/status") == b"offline", 15, "last will"
                )
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
                output, _ = process.communicate()
            assert "MQTT: connected to mqtts://127.0.0.1" in output
