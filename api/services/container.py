"""The long-lived objects the routes work with, built from settings and owned by the app."""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from camera import __version__
from camera.camera import Camera
from camera.ice import resolve
from camera.manager import CameraManager
from camera.publish import PublishService
from camera.talk import TalkService, TalkSession
from camera.webrtc import WebRTCService

from ..accounts import Accounts, Principal, session_credential
from ..config_store import ConfigStore, Layers
from ..db import Database, database_url
from ..notifications.service import NotificationService
from ..passwords import PasswordPool
from ..payloads import talk_message
from ..sdnotify import Notifier
from ..settings import LoadedConfig, Settings
from ..throttle import LoginThrottle
from .arming import ArmingService
from .config_service import ConfigService, Parts
from .devices import DeviceService
from .event_service import EventService
from .live_channel import CLOSE_REVOKED, LiveChannel
from .recording_archive import RecordingService
from .system_monitor import SystemMonitor
from .systemd_notify import SystemdService
from .tuners import TunerSockets

if TYPE_CHECKING:
    from .mqtt_bridge import MqttBridge  # with aiomqtt and paho: imported only when used

logger = logging.getLogger("sentrycam")

CREDENTIAL_CHECK_S = 30.0  # open sockets of expired or elsewhere-revoked credentials end
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
    passwords: PasswordPool = field(init=False)
    throttle: LoginThrottle = field(init=False)
    live: LiveChannel = field(init=False)
    tuners: TunerSockets = field(init=False)
    events: EventService = field(init=False)
    recordings: RecordingService = field(init=False)
    mqtt: MqttBridge | None = field(init=False, default=None)  # None: no mqtt section
    notifications: NotificationService = field(init=False)
    systemd: SystemdService = field(init=False)
    system: SystemMonitor = field(init=False)
    devices: DeviceService = field(init=False)
    arming: ArmingService = field(init=False)
    configuration: ConfigService = field(init=False)
    # systemd's notify socket (api.sdnotify): the CLI passes the one from the environment.
    notifier: Notifier = field(default_factory=lambda: Notifier(None))
    setup_code: str | None = None
    _watch: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

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
        self.passwords = PasswordPool()
        self.throttle = LoginThrottle(security.login_throttle)
        self.live = LiveChannel()
        self.tuners = TunerSockets()
        self.events = EventService(self.db, self.live, self.data_dir, self.settings.events)
        self.recordings = RecordingService(
            self.db, self.events, self.cameras, self.settings.storage, self.data_dir
        )
        if self.settings.mqtt is not None:
            from .mqtt_bridge import MqttBridge

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
                arm=lambda camera, armed: self.arming.manual(camera, armed),
            )
        self.notifications = NotificationService(
            self.settings.notifications, self.db, self.events, self.cameras, self.data_dir
        )
        self.system = SystemMonitor(self.settings.system, self.events, self.data_dir)
        self.systemd = SystemdService(self.notifier, self.cameras, self.webrtc, self.recordings)
        self.devices = DeviceService(self.cameras, self.events, self.data_dir)
        self.arming = ArmingService(self.db, self.events, self.cameras)
        self.configuration = self._configuration()

    def _configuration(self) -> ConfigService:
        """Changes at run time; stored in the data dir when the config was loaded from
        there (``api.config_store.load_layered``), else (settings built in code) in memory."""
        found = self.config.layers
        store: ConfigStore | None = ConfigStore(None, self.data_dir)
        if not isinstance(found, Layers):
            dumped = self.settings.model_dump(mode="json", exclude_defaults=True)
            found, store = Layers(dumped, None, {}), None
        parts = Parts(
            self.cameras, self.webrtc, self.recordings, self.events, self.arming, self._adopt
        )
        service = ConfigService(found, self.settings, store, self.config.overlay_error, parts)
        service.register("events", lambda settings: self.events.set_config(settings.events))
        return service

    def _adopt(self, settings: Settings) -> None:
        """The settings changed at run time: what the routes read is the new."""
        self.settings = settings
        self.config = replace(self.config, settings=settings)

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
        await self.system.start()
        await self.arming.start()  # before the cameras: their first events are armed right
        await asyncio.to_thread(self.devices.load_controls)
        await asyncio.to_thread(self.cameras.probe)  # which webcams forward their H.264
        # The stored controls are read at every (re)start of a camera: one source of truth.
        self.cameras.start(asyncio.get_running_loop(), self.devices.controls.get)
        self.cameras.on_status(self.events.camera_status)
        self.cameras.on_observation(self.events.observe)
        if self.mqtt is not None:
            await self.mqtt.start()  # connects in the background: never holds up start-up
        self.cameras.on_encoder_fallback(self._encoder_fell_back)
        await self.recordings.start()
        self.publish.start(self.cameras.all())
        # Publishing and talk-back follow cameras added, restarted or removed at run time.
        self.cameras.on_camera(self.publish.camera_changed)
        self.cameras.on_camera(self.talk.camera_changed)
        await self.devices.start()  # hotplug
        self._watch = asyncio.create_task(self._watch_credentials(), name="credentials-watch")
        await self.systemd.start()

    async def setup_pending(self) -> bool:
        """True while no user exists (a user made with the CLI meanwhile ends setup too)."""
        if self.setup_code is not None and await self.db.run(self.accounts.user_count) > 0:
            self.setup_code = None
        return self.setup_code is not None

    def _encoder_fell_back(self, camera: Camera, reason: str) -> None:
        self.events.system_alert("encoder", f"camera {camera.id}: {reason}")

    async def stop(self) -> None:
        self.systemd.stopping()
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
        await self.systemd.stop()
        # Viewers first (they hold subscriptions), then the sources and encoders.
        await self.live.close_all()
        await self.webrtc.close_all()
        await self.talk.close_all()
        await self.publish.stop()
        await self.recordings.stop()  # every file gets its last fragment
        await self.devices.stop()
        await self.cameras.stop()
        await self.notifications.stop()
        await self.system.stop()
        await self.arming.stop()
        await self.events.stop()
        if self.mqtt is not None:
            await self.mqtt.stop()  # after the events' last end messages: HA sees them
        self.passwords.close()
        self.db.close()

    def _talking(self, camera: Camera, session: TalkSession | None) -> None:
        """Everyone who sees the camera learns who talks through it (live message)."""
        self.events.publish(talk_message(camera.id, session), camera.id)

    async def end_sessions(self, session_hashes: list[str], user_id: int | None = None) -> None:
        """Revocation reaches live connections too, not only future requests."""
        await self.end_credentials({session_credential(h) for h in session_hashes}, user_id)

    async def end_credentials(self, credentials: set[str], user_id: int | None = None) -> None:
        """End everything opened with ``credentials`` (or by ``user_id``): WebSocket
        connections and motion tuners close with 4401, WHEP viewers and talk sessions are
        hung up. A revoked session or token loses its open sockets at once."""

        def revoked(credential: str | None, owner: int | None) -> bool:
            return credential in credentials or (user_id is not None and owner == user_id)

        self.live.close_where(lambda p: revoked(p.credential, p.user_id))
        self.tuners.close_where(lambda p: revoked(p.credential, p.user_id), CLOSE_REVOKED)
        await self.webrtc.close_where(lambda s: revoked(s.credential, s.owner))
        await self.talk.close_where(lambda s: revoked(s.credential, s.user_id))

    async def check_credentials(self) -> None:
        """End open sockets whose session or token expired or was revoked elsewhere (the
        CLI writes to the database only): run every ``CREDENTIAL_CHECK_S``."""
        stamp = time.time()

        def expired(at: float | None) -> bool:
            return at is not None and at <= stamp

        def principal_expired(p: Principal) -> bool:
            return p.expires_at is not None and expired(p.expires_at.timestamp())

        self.live.close_where(principal_expired)
        self.tuners.close_where(principal_expired, CLOSE_REVOKED)
        await self.webrtc.close_where(lambda s: expired(s.expires_at))
        await self.talk.close_where(lambda s: expired(s.expires_at))
        open_with = {p.credential for p in [*self.live.principals(), *self.tuners.principals()]}
        open_with |= {s.credential for s in self.webrtc.all_sessions()}
        open_with |= {s.credential for s in self.talk.sessions()}
        credentials = {c for c in open_with if c is not None}
        if not credentials:
            return
        valid = await self.db.run(lambda db: self.accounts.still_valid(db, credentials))
        if credentials - valid:
            await self.end_credentials(credentials - valid)

    async def _watch_credentials(self) -> None:
        while True:
            await asyncio.sleep(CREDENTIAL_CHECK_S)
            try:
                await self.check_credentials()
            except Exception:
                logger.exception("checking open sessions failed; will retry")
