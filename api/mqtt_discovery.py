"""MQTT topic names and Home Assistant discovery configs. Pure: no I/O, no clock.

Topics (a contract, docs/home-assistant.md), with ``P`` the topic prefix::

    P/status                  online | offline (retained; the broker sends the last will)
    P/events                  event JSON on every start and end (as the REST API)
    P/<camera>/status         online | offline (retained)
    P/<camera>/motion|sound|tamper    ON | OFF (retained)
    P/<camera>/armed          ON | OFF (retained);  P/<camera>/armed/set: the command
    P/<camera>/snapshot       JPEG of the latest event's best moment (retained)
    P/<camera>/fps, viewers   diagnostics (retained)

Discovery uses one config topic per entity,
``<discovery prefix>/<component>/<node>_<camera>/<entity>/config``: it works with every
Home Assistant version that has MQTT discovery (the device-based form needs 2024.12), and one
entity can change without touching the others. The entities of a camera share one
``device`` block, so Home Assistant shows one device per camera.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

BINARY_KINDS = ("motion", "sound", "tamper")
ON, OFF = "ON", "OFF"
ONLINE, OFFLINE = "online", "offline"
MANUFACTURER = "Sentrycam"


@dataclass(frozen=True)
class Topics:
    """Every topic name, from the prefix."""

    prefix: str

    @property
    def status(self) -> str:
        return f"{self.prefix}/status"

    @property
    def events(self) -> str:
        return f"{self.prefix}/events"

    @property
    def arm_commands(self) -> str:
        """The subscription filter for every camera's arm command."""
        return f"{self.prefix}/+/armed/set"

    def camera(self, camera: str, leaf: str) -> str:
        return f"{self.prefix}/{camera}/{leaf}"

    def arm_command(self, camera: str) -> str:
        return self.camera(camera, "armed/set")

    def command_camera(self, topic: str) -> str | None:
        """The camera an arm command topic names, or None when it is not one."""
        head, tail = f"{self.prefix}/", "/armed/set"
        if not (topic.startswith(head) and topic.endswith(tail)):
            return None
        camera = topic[len(head) : -len(tail)]
        return camera if camera and "/" not in camera else None


@dataclass(frozen=True)
class CameraDevice:
    """What discovery says about one camera."""

    id: str
    name: str
    model: str  # e.g. "USB webcam", "IP camera"


@dataclass(frozen=True)
class Discovery:
    """Everything a discovery config needs besides the camera."""

    topics: Topics
    discovery_prefix: str
    node: str  # the topic prefix as one level: unique ids and config topics
    version: str
    dashboard_url: str  # ends with "/"


MODELS = {"demo": "Demo camera", "v4l2": "USB webcam", "url": "IP camera", "file": "Video file"}


def model_of(source_kind: str) -> str:
    return f"{MANUFACTURER} {MODELS.get(source_kind, 'camera')}"


def _entities(topics: Topics, camera: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(component, entity key, platform-specific keys) of one camera's entities."""
    status = topics.camera(camera, "status")
    diagnostic = {"entity_category": "diagnostic", "state_class": "measurement"}
    return [
        ("camera", "snapshot", {"name": "Last event", "topic": topics.camera(camera, "snapshot")}),
        *(
            (
                "binary_sensor",
                kind,
                {
                    "name": kind.capitalize(),
                    "device_class": kind,
                    "state_topic": topics.camera(camera, kind),
                    "payload_on": ON,
                    "payload_off": OFF,
                },
            )
            for kind in BINARY_KINDS
        ),
        (
            "binary_sensor",
            "connectivity",
            {
                "name": "Connection",
                "device_class": "connectivity",
                "entity_category": "diagnostic",
                "state_topic": status,
                "payload_on": ONLINE,
                "payload_off": OFFLINE,
            },
        ),
        (
            "switch",
            "armed",
            {
                "name": "Armed",
                "icon": "mdi:shield-home",
                "state_topic": topics.camera(camera, "armed"),
                "command_topic": topics.arm_command(camera),
                "payload_on": ON,
                "payload_off": OFF,
                "qos": 1,
            },
        ),
        (
            "sensor",
            "fps",
            {
                "name": "Frame rate",
                "state_topic": topics.camera(camera, "fps"),
                "unit_of_measurement": "fps",
                "suggested_display_precision": 1,
                **diagnostic,
            },
        ),
        (
            "sensor",
            "viewers",
            {
                "name": "Viewers",
                "icon": "mdi:eye",
                "state_topic": topics.camera(camera, "viewers"),
                **diagnostic,
            },
        ),
    ]


def device_block(discovery: Discovery, camera: CameraDevice) -> dict[str, Any]:
    return {
        "identifiers": [f"{discovery.node}_{camera.id}"],
        "name": camera.name,
        "manufacturer": MANUFACTURER,
        "model": camera.model,
        "sw_version": discovery.version,
        "configuration_url": f"{discovery.dashboard_url}#/camera/{camera.id}",
    }


def camera_configs(discovery: Discovery, camera: CameraDevice) -> list[tuple[str, dict[str, Any]]]:
    """(config topic, config) of every entity of one camera, for retained publishing."""
    topics = discovery.topics
    bridge = {"topic": topics.status}
    own = {"topic": topics.camera(camera.id, "status")}
    device = device_block(discovery, camera)
    origin = {"name": MANUFACTURER, "sw_version": discovery.version}
    configs = []
    for component, key, specific in _entities(topics, camera.id):
        unique_id = f"{discovery.node}_{camera.id}_{key}"
        # The connection sensor must work while the camera is offline: only the bridge's
        # availability applies to it; every other entity needs both.
        availability = [bridge] if key == "connectivity" else [bridge, own]
        config: dict[str, Any] = {
            **specific,
            "unique_id": unique_id,
            "availability": availability,
            "availability_mode": "all",
            "device": device,
            "origin": origin,
        }
        node = f"{discovery.node}_{camera.id}"
        configs.append((f"{discovery.discovery_prefix}/{component}/{node}/{key}/config", config))
    return configs


def is_own_config(discovery: Discovery, config_topic: str, payload: dict[str, Any]) -> bool:
    """Whether a retained discovery config found on the broker was published by this
    Sentrycam (same node and topic prefix), e.g. for a camera since removed."""
    parts = config_topic.split("/")
    node = parts[-3] if len(parts) >= 4 else ""
    if not node.startswith(f"{discovery.node}_"):
        return False
    topic = payload.get("state_topic") or payload.get("topic")
    return isinstance(topic, str) and topic.startswith(f"{discovery.topics.prefix}/")
