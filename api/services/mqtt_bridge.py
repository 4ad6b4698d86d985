"""The MQTT bridge: camera states, events and snapshots to a broker; arm commands back.

Runs on the event loop and never holds it up: the live-message listener only records the
new state and wakes the sender; everything that waits (the broker, the database, files)
happens in the bridge's own tasks::

    EventService listener ─▶ retained state (topic ─▶ payload) + outbox ─▶ sender ─▶ broker
    snapshot task: event JPEGs (after the event store's flush) ───────────▶ │
    diagnostics task: viewers each second, frame rate every 30 s ─────────▶ │
    receiver ◀─ P/<camera>/armed/set, homeassistant/status ◀───────────────────┘

The retained state is the truth: after every (re)connect, and when Home Assistant announces
itself (``<discovery prefix>/status`` ``online``), all of it is published again, discovery
configs first. A broker that is down, slow or refuses the login is retried with backoff
(1 s doubling to 60 s) and reported: the log, ``state`` (``/api/health``), ``status()``
(``/api/mqtt``) and one live-channel alert when the login is refused or the broker has been
unreachable for ``ALERT_AFTER_S``. Topic names and payloads: ``api.mqtt_discovery``; what
each live message means: ``api.mqtt_state``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections import deque
from pathlib import Path
from typing import Any, Literal

import aiomqtt
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from camera.config import CameraConfig
from camera.errors import UnknownCamera
from camera.manager import CameraManager
from camera.webrtc import WebRTCService

from ..db import Database
from ..models import Event
from ..mqtt_config import MqttConfig
from ..mqtt_discovery import (
    BINARY_KINDS,
    OFF,
    OFFLINE,
    ONLINE,
    CameraDevice,
    Discovery,
    Topics,
    camera_configs,
    model_of,
)
from ..mqtt_state import (
    ArmCommand,
    Ignored,
    Publish,
    SnapshotWanted,
    armed,
    camera_status,
    describe,
    parse_command,
    retry_delay,
    state,
    updates_for,
)
from .event_service import EventService

logger = logging.getLogger(__name__)

State = Literal["connecting", "connected", "retrying"]

OUTBOX_MAX = 1000  # messages waiting for the broker; past this the oldest go
INCOMING_MAX = 1000
FPS_EVERY_S = 30.0
VIEWERS_EVERY_S = 1.0
ALERT_AFTER_S = 60.0  # unreachable this long: one alert on the live channel
STEADY_AFTER_S = 30.0  # a connection that lasted this long resets the backoff
LOG_REPEAT_S = 600.0  # the same failure is logged again after this long
IGNORED_LOG_EVERY_S = 10.0
STOP_TIMEOUT_S = 3.0


class MqttBridge:
    def __init__(
        self,
        config: MqttConfig,
        db: Database,
        events: EventService,
        cameras: CameraManager,
        webrtc: WebRTCService,
        camera_configs: list[CameraConfig],
        dashboard_url: str,
        version: str,
    ) -> None:
        self._config = config
        self._db = db
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
        self.broker = f"mqtt{'s' if config.tls is not False else ''}://{config.host}:"
        self.broker += str(config.effective_port)
        # The truth, republished on every connect: topic -> retained message, in order.
        self._retained: dict[str, Publish] = {}
        self._outbox: deque[Publish] = deque()
        self._resync = True
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._snapshots_due: dict[str, int] = {}
        self._snapshots_sent: dict[str, int] = {}
        self._snapshot_wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._connection: asyncio.Task[None] | None = None
        self._stopped = False
        self._down_since: float | None = None
        self._alerted = False
        self._logged: tuple[str, float] = ("", 0.0)
        self._ignored_logged = -IGNORED_LOG_EVERY_S
        # What status() reports.
        self.state: State = "connecting"
        self.connected_since: float | None = None
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self.failures = 0
        self.next_retry_at: float | None = None
        self.published = 0
        self.dropped = 0
        self.commands_obeyed = 0
        self.commands_ignored = 0

    # ----- life cycle --------------------------------------------------------------------

    async def start(self) -> None:
        self._seed()
        self._events.add_listener(self._on_live)
        self._connection = asyncio.create_task(self._connect_forever(), name="mqtt-connection")
        self._tasks = [
            self._connection,
            asyncio.create_task(self._snapshot_loop(), name="mqtt-snapshots"),
            asyncio.create_task(self._diagnostics_loop(), name="mqtt-diagnostics"),
        ]

    async def stop(self) -> None:
        """Publish what is still queued and ``offline``, briefly, then disconnect cleanly."""
        if self._stopped:
            return
        self._stopped = True
        self._events.remove_listener(self._on_live)
        for task in self._tasks[1:]:
            task.cancel()
        if self.state == "connected":
            self._set(state(self.topics.status, OFFLINE))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drained(), STOP_TIMEOUT_S)
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=STOP_TIMEOUT_S)

    async def _drained(self) -> None:
        while self._outbox or self._resync:
            self._idle.clear()
            await self._idle.wait()

    def _seed(self) -> None:
        """The retained state before anything happened: bridge online, discovery configs,
        then each camera's states."""
        self._set(state(self.topics.status, ONLINE))
        if self._config.discovery:
            for device in self._devices:
                for topic, config in camera_configs(self._discovery, device):
                    payload = _json(config)
                    self._set(Publish(topic, payload, retain=True))
        for device in self._devices:
            camera = device.id
            self._set(camera_status(self.topics, camera, self._camera_status(camera)))
            self._set(armed(self.topics, camera, self._events.armed(camera)))
            for kind in BINARY_KINDS:
                self._set(state(self.topics.camera(camera, kind), OFF))
            self._diagnose(camera, fps=True)

    # ----- what to publish (event loop, returns at once) ---------------------------------

    def _on_live(self, message: dict[str, Any], camera: str | None) -> None:
        """The ``EventService`` listener: record the new state, wake the sender."""
        for update in updates_for(self.topics, message, self._ids):
            if isinstance(update, SnapshotWanted):
                due = self._snapshots_due.get(update.camera, 0)
                self._snapshots_due[update.camera] = max(due, update.event_id)
                self._snapshot_wake.set()
            else:
                self._set(update)
        if message.get("type") == "camera" and camera in self._ids:
            self._diagnose(camera, fps=True)

    def _set(self, message: Publish) -> None:
        if message.retain:
            if self._retained.get(message.topic) == message:
                return
            self._retained[message.topic] = message
        if len(self._outbox) >= OUTBOX_MAX:
            lost = self._outbox.popleft()
            self.dropped += 1
            self._resync = self._resync or lost.retain
        self._outbox.append(message)
        self._wake.set()

    def request_resync(self) -> None:
        """Publish every retained message again (Home Assistant restarted)."""
        self._resync = True
        self._wake.set()

    def _camera_status(self, camera: str) -> str:
        try:
            return self._cameras.get(camera).status
        except UnknownCamera:
            return "offline"

    def _diagnose(self, camera_id: str, fps: bool) -> None:
        try:
            camera = self._cameras.get(camera_id)
        except UnknownCamera:  # not started (yet)
            return
        viewers = self._webrtc.viewers(camera_id)
        self._set(state(self.topics.camera(camera_id, "viewers"), str(viewers)))
        if fps:
            self._set(state(self.topics.camera(camera_id, "fps"), f"{camera.info().fps:.1f}"))

    async def _diagnostics_loop(self) -> None:
        """Viewers every second (published on change), the frame rate every 30 s."""
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
            self._set(Publish(self.topics.camera(camera, "snapshot"), jpeg, retain=True))

    # ----- the connection ----------------------------------------------------------------

    def _client(self) -> aiomqtt.Client:
        config = self._config
        tls = None
        if config.tls is not False:
            # True: the system's CAs (paho loads the default store); a path: that CA file.
            tls = aiomqtt.TLSParameters(ca_certs=None if config.tls is True else str(config.tls))
        password = config.password.get_secret_value() if config.password else None
        return aiomqtt.Client(
            config.host,
            config.effective_port,
            username=config.username,
            password=password,
            identifier=config.effective_client_id,
            will=aiomqtt.Will(self.topics.status, OFFLINE, qos=1, retain=True),
            keepalive=config.keepalive,
            tls_params=tls,
            max_queued_incoming_messages=INCOMING_MAX,
            logger=logging.getLogger(f"{__name__}.client"),
        )

    async def _connect_forever(self) -> None:
        failures = 0
        while True:
            error: BaseException | None = None
            connected_at: float | None = None
            try:
                async with self._client() as client:
                    connected_at = time.monotonic()
                    self._connected()
                    await self._session(client)
            except* aiomqtt.MqttError as group:
                error = group.exceptions[0]
            except* Exception as group:
                # The top of a background task: a bug must not end MQTT for good.
                logger.error("MQTT: the connection task failed", exc_info=group)
                error = group.exceptions[0]
            if connected_at is not None and time.monotonic() - connected_at >= STEADY_AFTER_S:
                failures = 0
            failures += 1
            delay = retry_delay(failures) * random.uniform(0.9, 1.1)  # jitter
            self._failed(error, failures, delay, lost=connected_at is not None)
            await asyncio.sleep(delay)

    def _connected(self) -> None:
        self.state = "connected"
        self.connected_since = time.time()
        self.failures = 0
        self.next_retry_at = None
        self._down_since = None
        self._alerted = False
        self._logged = ("", 0.0)
        self._resync = True  # the broker may have lost everything (no persistence, restart)
        logger.info("MQTT: connected to %s as %s", self.broker, self._config.effective_client_id)

    def _failed(self, error: BaseException | None, failures: int, delay: float, lost: bool) -> None:
        failure = describe(error or RuntimeError("connection ended"), self.broker)
        now = time.monotonic()
        self.state = "retrying"
        self.connected_since = None
        self.last_error, self.last_error_at = failure.text, time.time()
        self.failures = failures
        self.next_retry_at = time.time() + delay
        if self._down_since is None:
            self._down_since = now
        text = f"MQTT: {'connection lost: ' if lost else ''}{failure.text}"
        if failure.text != self._logged[0] or now - self._logged[1] >= LOG_REPEAT_S:
            self._logged = (failure.text, now)
            logger.warning("%s; retrying in %.0f s (attempt %d)", text, delay, failures + 1)
        if not self._alerted and (failure.login_refused or now - self._down_since >= ALERT_AFTER_S):
            self._alerted = True
            self._events.system_alert("mqtt", text)

    async def _session(self, client: aiomqtt.Client) -> None:
        await client.subscribe(self.topics.arm_commands, qos=1)
        if self._config.discovery:
            await client.subscribe(f"{self._config.discovery_prefix}/status", qos=1)
        async with asyncio.TaskGroup() as group:
            group.create_task(self._send(client), name="mqtt-send")
            group.create_task(self._receive(client), name="mqtt-receive")

    async def _send(self, client: aiomqtt.Client) -> None:
        while True:
            self._wake.clear()
            if self._resync:
                self._resync = False
                # Retained messages still queued are older than the state sent now.
                self._outbox = deque(m for m in self._outbox if not m.retain)
                for message in list(self._retained.values()):
                    await self._publish(client, message)
            while self._outbox:
                message = self._outbox[0]
                await self._publish(client, message)  # on failure it stays queued
                if self._outbox and self._outbox[0] is message:
                    self._outbox.popleft()
            self._idle.set()
            await self._wake.wait()

    async def _publish(self, client: aiomqtt.Client, message: Publish) -> None:
        await client.publish(message.topic, message.payload, qos=1, retain=message.retain)
        self.published += 1

    async def _receive(self, client: aiomqtt.Client) -> None:
        birth = f"{self._config.discovery_prefix}/status"
        async for message in client.messages:
            topic = message.topic.value
            payload = message.payload if isinstance(message.payload, bytes) else b""
            if topic == birth:
                # A retained birth message only repeats what we published at connect.
                if payload.strip() == b"online" and not message.retain:
                    logger.info("MQTT: Home Assistant came online; publishing everything again")
                    self.request_resync()
                continue
            command = parse_command(self.topics, topic, payload, message.retain, self._ids)
            if isinstance(command, Ignored):
                self._ignore(command)
            else:
                await self._obey(command)

    def _ignore(self, ignored: Ignored) -> None:
        self.commands_ignored += 1
        now = time.monotonic()
        if now - self._ignored_logged >= IGNORED_LOG_EVERY_S:
            self._ignored_logged = now
            logger.warning("MQTT: ignored a message: %s", ignored.reason)
        else:
            logger.debug("MQTT: ignored a message: %s", ignored.reason)

    async def _obey(self, command: ArmCommand) -> None:
        logger.info(
            "MQTT: %s %s by an MQTT command",
            "arming" if command.armed else "disarming",
            command.camera,
        )
        try:
            await self._events.set_armed(command.camera, command.armed)
        except Exception:
            logger.exception("MQTT: arming %s failed", command.camera)
            return
        self.commands_obeyed += 1

    # ----- reporting ---------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Everything an admin needs to fix the connection (no password)."""
        config = self._config
        return {
            "enabled": True,
            "state": self.state,
            "broker": self.broker,
            "tls": config.tls is not False,
            "username": config.username,
            "client_id": config.effective_client_id,
            "topic_prefix": config.topic_prefix,
            "discovery": config.discovery,
            "discovery_prefix": config.discovery_prefix,
            "connected_since": self.connected_since,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "failures": self.failures,
            "next_retry_at": self.next_retry_at,
            "published": self.published,
            "queued": len(self._outbox),
            "dropped": self.dropped,
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
