"""What the MQTT bridge publishes for each live message, which commands it obeys, and how
it waits between connection attempts. Pure: no I/O, no clock (the bridge,
``api.services.mqtt_bridge``, carries the results out).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiomqtt import MqttCodeError, MqttError

from .mqtt_discovery import BINARY_KINDS, OFF, OFFLINE, ON, ONLINE, Topics

RETRY_FIRST_S = 1.0
RETRY_MAX_S = 60.0
ALERT_AFTER_S = 60.0  # unreachable this long: one alert
# A refused login: MQTT 3.1.1 CONNACK 4 and 5, MQTT 5 reason codes 134 and 135 ("bad user
# name or password", "not authorized"); paho hands over either form.
LOGIN_REFUSED = (4, 5, 134, 135)


@dataclass(frozen=True)
class Publish:
    topic: str
    payload: bytes
    retain: bool


@dataclass(frozen=True)
class SnapshotWanted:
    """Event ``event_id`` of ``camera`` has a snapshot: publish it once it is on disk."""

    camera: str
    event_id: int


@dataclass(frozen=True)
class ArmCommand:
    camera: str
    armed: bool


@dataclass(frozen=True)
class Ignored:
    reason: str


def state(topic: str, value: str) -> Publish:
    return Publish(topic, value.encode(), retain=True)


def camera_status(topics: Topics, camera: str, status: str) -> Publish:
    """A camera's availability: only "online" is online ("starting" is not yet)."""
    return state(topics.camera(camera, "status"), ONLINE if status == "online" else OFFLINE)


def armed(topics: Topics, camera: str, value: bool) -> Publish:
    return state(topics.camera(camera, "armed"), ON if value else OFF)


def updates_for(
    topics: Topics, message: dict[str, Any], cameras: frozenset[str]
) -> list[Publish | SnapshotWanted]:
    """What to publish for one live message (``EventService`` listener messages)."""
    kind = message.get("type")
    camera = message.get("camera")
    if kind == "camera" and camera in cameras:
        return [camera_status(topics, camera, str(message.get("status")))]
    if kind == "armed" and camera in cameras:
        return [armed(topics, camera, bool(message.get("armed")))]
    if kind != "event" or message.get("phase") not in ("start", "end"):
        return []
    event = message.get("event")
    if not isinstance(event, dict):
        return []
    out: list[Publish | SnapshotWanted] = [
        Publish(topics.events, json.dumps(event, separators=(",", ":")).encode(), retain=False)
    ]
    camera = event.get("camera")
    if camera not in cameras:
        return out  # system events (camera "*"): only the events topic
    if event.get("kind") in BINARY_KINDS:
        going_on = message["phase"] == "start" and event.get("end") is None
        out.append(state(topics.camera(camera, event["kind"]), ON if going_on else OFF))
    if (event.get("links") or {}).get("snapshot") and isinstance(event.get("id"), int):
        out.append(SnapshotWanted(camera, event["id"]))
    return out


def parse_command(
    topics: Topics, topic: str, payload: bytes, retained: bool, cameras: frozenset[str]
) -> ArmCommand | Ignored:
    """An arm command, or why a message on a command topic is not one."""
    camera = topics.command_camera(topic)
    if camera is None:
        return Ignored(f"{topic!r} is not a command topic")
    if camera not in cameras:
        return Ignored(f"{topic!r} names no configured camera")
    if retained:
        # A retained command would be obeyed again on every reconnect: never.
        return Ignored(f"{topic!r}: retained commands are not obeyed")
    word = payload.decode("utf-8", "replace").strip().upper()
    if word not in (ON, OFF):
        return Ignored(f"{topic!r}: payload must be ON or OFF (got {payload[:20]!r})")
    return ArmCommand(camera, word == ON)


def retry_delay(failures: int) -> float:
    """Seconds before attempt ``failures + 1``: 1, 2, 4 ... 60 s."""
    return float(min(RETRY_MAX_S, RETRY_FIRST_S * 2 ** max(0, failures - 1)))


def should_alert(login_refused: bool, down_for: float, alerted: bool) -> bool:
    """One alert per outage: at once when the login is refused (it will not fix itself),
    otherwise once the broker has been unreachable for ``ALERT_AFTER_S``."""
    return not alerted and (login_refused or down_for >= ALERT_AFTER_S)


@dataclass(frozen=True)
class Failure:
    text: str
    login_refused: bool


def describe(error: BaseException, broker: str) -> Failure:
    """A connection failure in words an owner can act on (no secrets: no password)."""
    if isinstance(error, MqttCodeError) and error.rc is not None:
        code = getattr(error.rc, "value", error.rc)
        if code in LOGIN_REFUSED:
            return Failure(
                f"{broker} refused the login ({error}): check mqtt.username and "
                "mqtt.password, and the broker's password file",
                login_refused=True,
            )
        return Failure(f"{broker} refused the connection ({error})", login_refused=False)
    if isinstance(error, MqttError):
        # "Disconnected during message iteration" says where; the cause says why.
        cause = f" ({error.__cause__})" if error.__cause__ is not None else ""
        return Failure(f"{broker}: {error}{cause}", login_refused=False)
    return Failure(f"{broker}: {type(error).__name__}: {error}", login_refused=False)
