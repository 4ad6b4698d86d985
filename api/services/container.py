"""The long-lived objects the routes work with, built from settings and owned by the app."""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from camera import __version__
from camera.camera import Camera
from camera.ice import resolve
from camera.manager import CameraManager
from camera.publish import PublishService
from camera.talk import TalkService, TalkSession
from camera.webrtc import WebRTCService

from ..accounts import Accounts
from ..db import Database, database_url
from ..notifications.service import NotificationService
from ..payloads import talk_message
from ..settings import LoadedConfig, Settings
from ..throttle import LoginThrottle
from .event_service import EventService
from .live_channel import LiveChannel
from .mqtt_bridge import MqttBridge
from .recording_archive import RecordingService

logger = logging.getLogger("sentrycam")

SETUP_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a console


def dashboard_url(settings: Settings) -> str:
    """The dashboard's address for links from outside (Home Assistant's device pages)."""
    if settings.mqtt is not None and settings.mqtt.dashboard_url is not None:
        return str(settings.mqtt.dashboard_url).rstrip("/") + "/"
    scheme = "https" if settings.server.tls.enabled else "http"
    return f"{scheme}://{socket.gethostname()}:{settings.server.port}/"


def new_setup_code() -> str:
    raw = "".join(secrets.choice(SETUP_ALPHABET) for _ in range(12))
    return "-".join(raw[i : i + 4] for i in range(0, 12, 4))


@dataclass
class Services:
    config: LoadedConfig
    data_dir: Path
    settings: Settings = field(init=False)
    cameras: CameraManager = field(init=False)
    webrtc: WebRTCService = field(init=False)
    talk: TalkService = field(init=False)
    publish: PublishService = field(init=False)
    db: Database = field(init=False)
    accounts: Accounts = field(init=False)
    throttle: LoginThrottle = field(init=False)
    live: LiveChannel = field(init=False)
    events: EventService = field(init=False)
    recordings: RecordingService = field(init=False)
    mqtt: MqttBridge | None = field(init=False, default=None)  # None: no mqtt section
    notifications: NotificationService = field(init=False)
    setup_code: str | None = None

    def __post_init__(self) -> None:
        self.settings = self.config.settings
        security = self.settings.security
        self.cameras = CameraManager(self.settings.cameras, self.settings.webrtc)
        self.webrtc = WebRTCService(self.settings.webrtc)
        self.talk = TalkService(self.settings.webrtc, self.settings.talk, on_change=self._talking)
        webrtc = self.settings.webrtc
        self.publish = PublishService(
            self.settings.publish, lambda label: resolve(webrtc, label, time.time())
        )
        self.db = Database(database_url(self.settings.database.url, self.data_dir))
        self.accounts = Accounts(
            security.min_password_length, security.session_days, security.session_idle_days
        )
        self.throttle = LoginThrottle(security.login_throttle)
        self.live = LiveChannel()
        self.events = EventService(self.db, self.live, self.data_dir, self.settings.events)
        self.recordings = RecordingService(
            self.db, self.events, self.cameras, self.settings.storage, self.data_dir
        )
        if self.settings.mqtt is not None:
            self.mqtt = MqttBridge(
                self.settings.mqtt,
                self.db,
                self.accounts,
                self.events,
                self.cameras,
                self.webrtc,
                self.settings.cameras,
                dashboard_url(self.settings),
                __version__,
            )
        self.notifications = NotificationService(
            self.settings.notifications, self.db, self.events, self.cameras, self.data_dir
        )

    async def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
        await asyncio.to_thread(self.db.migrate)
        await self.db.run(self.accounts.prune_sessions)
        if await self.db.run(self.accounts.user_count) == 0:
            self.setup_code = new_setup_code()
            logger.warning(
                "No users yet. Open the dashboard and create the first admin with the setup "
                "code %s (or run: sentrycam user add NAME --role admin)",
                self.setup_code,
            )
        await self.events.start()
        await self.notifications.start()  # listens to the events before cameras make any
        self.cameras.start(asyncio.get_running_loop())
        self.cameras.on_status(self.events.camera_status)
        self.cameras.on_observation(self.events.observe)
        if self.mqtt is not None:
            await self.mqtt.start()  # connects in the background: never holds up start-up
        await self.recordings.start()
        self.publish.start({camera.id: camera for camera in self.cameras.all()})

    async def setup_pending(self) -> bool:
        """True while no user exists (a user made with the CLI meanwhile ends setup too)."""
        if self.setup_code is not None and await self.db.run(self.accounts.user_count) > 0:
            self.setup_code = None
        return self.setup_code is not None

    async def stop(self) -> None:
        # Viewers first (they hold subscriptions), then the sources and encoders.
        await self.live.close_all()
        await self.webrtc.close_all()
        await self.talk.close_all()
        await self.publish.stop()
        await self.recordings.stop()  # every file gets its last fragment
        await self.cameras.stop()
        await self.notifications.stop()
        await self.events.stop()
        if self.mqtt is not None:
            await self.mqtt.stop()  # after the events' last end messages: HA sees them
        self.db.close()

    def _talking(self, camera: Camera, session: TalkSession | None) -> None:
        """Everyone who sees the camera learns who talks through it (live message)."""
        self.events.publish(talk_message(camera.id, session), camera.id)

    async def end_sessions(self, session_hashes: list[str], user_id: int | None = None) -> None:
        """Revocation reaches live connections too, not only future requests."""
        await self.live.close_sessions(set(session_hashes), user_id)
        if user_id is not None:
            await self.webrtc.close_user(user_id)
