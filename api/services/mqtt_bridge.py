"""The MQTT bridge: camera states, events and snapshots to a broker; arm commands back.

Runs on the event loop and never holds it up: the live-message listener only records the
new state in the link (``api.services.mqtt_link``, which owns the connection); everything
that waits (the broker, the database, files) happens in tasks::

    EventService listener ──────────────────────────────────┐
    snapshot task: event JPEGs, after the event store's flush ┼─▶ MqttLink ─▶ broker
    diagnostics task: viewers each second, frame rate 30 s ──┘      │
    commands ◀── P/<camera>/armed/set, homeassistant/status ◀──────┘

What each live message means: ``api.mqtt_state``; topic names and discovery configs:
``api.mqtt_discovery``. Home Assistant's ``online`` on ``<discovery prefix>/status``
republishes everything, so its entities survive its restart. Discovery configs that this
Sentrycam published once but no longer does (a camera removed from the config file, or
``discovery: false``) are deleted when the broker hands them over at connect.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiomqtt
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from camera.config import CameraConfig
from camera.errors import UnknownCamera
from camera.manager import CameraManager
from camera.webrtc import WebRTCService

from ..accounts import Accounts
from ..db import Database
from ..models import Event
from ..mqtt_config import MqttConfig
from ..mqtt_discovery import (
    BINARY_KINDS,
    OFF,
    ONLINE,
    CameraDevice,
    Discovery,
    Topics,
    camera_configs,
    is_own_config,
    model_of,
)
from ..mqtt_state import (
    ArmCommand,
    Ignored,
    Publish,
    SnapshotWanted,
    armed,
    camera_status,
    parse_command,
    state,
    updates_for,
)
from .event_service import EventService
from .mqtt_link import LinkState, MqttLink

logger = logging.getLogger("api.services.mqtt")

FPS_EVERY_S = 30.0
VIEWERS_EVERY_S = 1.0
IGNORED_LOG_EVERY_S = 10.0


class MqttBridge:
    def __init__(
        self,
        config: MqttConfig,
        db: Database,
        accounts: Accounts,
        events: EventService,
        cameras: CameraManager,
        webrtc: WebRTCService,
        camera_configs: list[CameraConfig],
        dashboard_url: str,
        version: str,
        arm: Callable[[str, bool], Awaitable[object]],
    ) -> None:
        self._config = config
        # Arming by hand, as the dashboard's shield does (api.services.arming: it holds until
        # the schedule's next change).
        self._arm = arm
        self._db = db
        self._accounts = accounts
        self._events = events
        self._cameras = cameras
        self._webrtc = webrtc
        self.topics = Topics(config.topic_prefix)
        self._discovery = Discovery(
            self.topics, config.discovery_prefix, config.node_slug, version, dashboard_url
        )
        self._devices = [
            CameraDevice(c.id, c.display_name, model_of(c.source_kind)) for c in camera_configs
        ]
        self._ids = frozenset(c.id for c in camera_configs)
        self._birth = f"{config.discovery_prefix}/status"
        self._config_filter = f"{config.discovery_prefix}/+/+/+/config"
        self.link = MqttLink(
            config,
            self.topics.status,
            [(self.topics.arm_commands, 1), (self._birth, 1), (self._config_filter, 0)],
            self._on_message,
            lambda text: self._events.system_alert("mqtt", text),
        )
        self._snapshots_due: dict[str, int] = {}
        self._snapshots_sent: dict[str, int] = {}
        self._snapshot_wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._ignored_logged = -IGNORED_LOG_EVERY_S
        self.commands_obeyed = 0
        self.commands_ignored = 0

    @property
    def state(self) -> LinkState:
        return self.link.state

    # ----- life cycle --------------------------------------------------------------------

    async def start(self) -> None:
        self._seed()
        self._events.add_listener(self._on_live)
        self.link.start()
        self._tasks = [
            asyncio.create_task(self._snapshot_loop(), name="mqtt-snapshots"),
            asyncio.create_task(self._diagnostics_loop(), name="mqtt-diagnostics"),
        ]

    async def stop(self) -> None:
        self._events.remove_listener(self._on_live)
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        await self.link.stop()

    def _seed(self) -> None:
        """The retained state before anything happened: bridge online, discovery configs,
        then each camera's states."""
        self.link.set(state(self.topics.status, ONLINE))
        if self._config.discovery:
            for device in self._devices:
                for topic, config in camera_configs(self._discovery, device):
                    self.link.set(Publish(topic, _json(config), retain=True))
        for device in self._devices:
            camera = device.id
            self.link.set(camera_status(self.topics, camera, self._camera_status(camera)))
            self.link.set(armed(self.topics, camera, self._events.armed(camera)))
            for kind in BINARY_KINDS:
                self.link.set(state(self.topics.camera(camera, kind), OFF))
            self._diagnose(camera, fps=True)

    # ----- live messages (event loop, returns at once) -----------------------------------

    def _on_live(self, message: dict[str, Any], camera: str | None) -> None:
        """The ``EventService`` listener."""
        for update in updates_for(self.topics, message, self._ids):
            if isinstance(update, SnapshotWanted):
                due = self._snapshots_due.get(update.camera, 0)
                self._snapshots_due[update.camera] = max(due, update.event_id)
                self._snapshot_wake.set()
            elif update.retain:
                self.link.set(update)
            else:
                self.link.send(update)
        if message.get("type") == "camera" and camera in self._ids:
            self._diagnose(camera, fps=True)

    def _camera_status(self, camera: str) -> str:
        try:
            return self._cameras.get(camera).status
        except UnknownCamera:
            return "offline"

    # ----- diagnostics -------------------------------------------------------------------

    def _diagnose(self, camera_id: str, fps: bool) -> None:
        try:
            camera = self._cameras.get(camera_id)
        except UnknownCamera:  # not started (yet)
            return
        viewers = self._webrtc.viewers(camera_id)
        self.link.set(state(self.topics.camera(camera_id, "viewers"), str(viewers)))
        if fps:
            rate = f"{camera.info().fps:.1f}"
            self.link.set(state(self.topics.camera(camera_id, "fps"), rate))

    async def _diagnostics_loop(self) -> None:
        """Viewers every second (sent only when they change), the frame rate every 30 s."""
        last_fps = time.monotonic()
        while True:
            await asyncio.sleep(VIEWERS_EVERY_S)
            fps = time.monotonic() - last_fps >= FPS_EVERY_S
            if fps:
                last_fps = time.monotonic()
            for camera in self._ids:
                self._diagnose(camera, fps)

    # ----- snapshots ---------------------------------------------------------------------

    async def _snapshot_loop(self) -> None:
        # The top of a background task: a failure is logged and the next event tried.
        try:
            latest = await self._db.run(_latest_snapshots)
            self._snapshots_due.update((c, i) for c, i in latest.items() if c in self._ids)
        except Exception:
            logger.exception("MQTT: could not look up the latest snapshots")
        while True:
            if not self._snapshots_due:
                self._snapshot_wake.clear()
                await self._snapshot_wake.wait()
            due, self._snapshots_due = self._snapshots_due, {}
            try:
                await self._events.flush()  # the event store writes snapshot files in batches
                for camera, event_id in due.items():
                    await self._publish_snapshot(camera, event_id)
            except Exception:
                logger.exception("MQTT: publishing a snapshot failed")

    async def _publish_snapshot(self, camera: str, event_id: int) -> None:
        if event_id < self._snapshots_sent.get(camera, 0):
            return  # a newer event's picture is out already
        path = self._events.snapshot_dir / camera / f"{event_id}.jpg"
        jpeg = await asyncio.to_thread(_read, path)
        if jpeg:
            self._snapshots_sent[camera] = event_id
            self.link.set(Publish(self.topics.camera(camera, "snapshot"), jpeg, retain=True))

    # ----- incoming messages -------------------------------------------------------------

    async def _on_message(self, message: aiomqtt.Message) -> None:
        topic = message.topic.value
        payload = message.payload if isinstance(message.payload, bytes) else b""
        if topic == self._birth:
            # A retained birth message only repeats what was published at connect.
            if payload.strip() == b"online" and not message.retain:
                logger.info("MQTT: Home Assistant came online; publishing everything again")
                self.link.resync()
        elif message.topic.matches(self._config_filter):
            if message.retain and payload:
                self._forget_stale(topic, payload)
        else:
            command = parse_command(self.topics, topic, payload, message.retain, self._ids)
            if isinstance(command, Ignored):
                self._ignore(command)
            else:
                await self._obey(command)

    def _forget_stale(self, topic: str, payload: bytes) -> None:
        """Delete a discovery config of ours that is no longer published."""
        if self.link.is_set(topic):
            return
        try:
            config = json.loads(payload)
        except ValueError:
            return
        if isinstance(config, dict) and is_own_config(self._discovery, topic, config):
            logger.info("MQTT: removing the stale discovery config %s", topic)
            self.link.send(Publish(topic, b"", retain=True))

    def _ignore(self, ignored: Ignored) -> None:
        self.commands_ignored += 1
        now = time.monotonic()
        level = logging.DEBUG
        if now - self._ignored_logged >= IGNORED_LOG_EVERY_S:
            self._ignored_logged, level = now, logging.WARNING
        logger.log(level, "MQTT: ignored a message: %s", ignored.reason)

    async def _obey(self, command: ArmCommand) -> None:
        verb = "arming" if command.armed else "disarming"
        logger.info("MQTT: %s %s by an MQTT command", verb, command.camera)
        action = "camera_armed" if command.armed else "camera_disarmed"
        try:
            await self._arm(command.camera, command.armed)
            # In the audit log like a dashboard's arming: the actor is "mqtt".
            await self._db.run(
                lambda db: self._accounts.audit(
                    db, "mqtt", action, command.camera, self.link.broker
                )
            )
        except Exception:
            logger.exception("MQTT: %s %s failed", verb, command.camera)
            return
        self.commands_obeyed += 1

    # ----- reporting ---------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Everything an admin needs to fix the connection (no password)."""
        config = self._config
        return {
            **self.link.status(),
            "topic_prefix": config.topic_prefix,
            "discovery": config.discovery,
            "discovery_prefix": config.discovery_prefix,
            "commands_obeyed": self.commands_obeyed,
            "commands_ignored": self.commands_ignored,
        }


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _latest_snapshots(db: Session) -> dict[str, int]:
    """Each camera's latest event with a snapshot (published at start)."""
    rows = db.execute(
        select(Event.camera, func.max(Event.id))
        .where(Event.snapshot.is_not(None))
        .group_by(Event.camera)
    )
    return {camera: int(event_id) for camera, event_id in rows if event_id is not None}
