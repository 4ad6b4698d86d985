"""``NotificationService``: attaches to the events, runs the policy for every channel,
hands what is to be sent to the channels and writes every decision and outcome to the log.

Attached with ``EventService.add_listener``: event *start* messages (every kind, and the
system's alerts under camera ``*``) are queued at once and handled by one task, which reads
the recipients (cached for a moment) and whether the camera is armed as of the start.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from camera.manager import CameraManager

from ..db import Database
from ..services.event_service import EventService
from . import policy, recipients, store
from .apprise_channel import AppriseChannel, AppriseMessage
from .config import NotificationsConfig
from .delivery import Delivered, Delivery, Failed, Gone, Outcome
from .payload import absolute, notification, topic
from .vapid import load_or_create, public_key
from .webhooks import WebhookChannel
from .webpush import PushMessage, WebPushChannel

logger = logging.getLogger(__name__)

INBOX_SIZE = 1000
RECIPIENTS_TTL_S = 2.0  # a burst of events reads the subscriptions once
TICK_S = 1.0
PRUNE_INTERVAL_S = 3600.0
REMEMBERED_EVENTS = 1000  # event bodies kept for the "and N more" summaries
TEST_TIMEOUT_S = 20.0
RECORD_OK_S = 300.0  # how often a subscription's last_sent_at is written at most


def local_zone(name: str | None) -> tzinfo:
    if name:
        return ZoneInfo(name)
    try:
        with open("/etc/localtime", "rb") as file:
            return ZoneInfo.from_file(file, key="localtime")
    except (OSError, ValueError):
        return datetime.now().astimezone().tzinfo or UTC


class NotificationService:
    def __init__(
        self,
        config: NotificationsConfig,
        db: Database,
        events: EventService,
        cameras: CameraManager,
        data_dir: Path,
    ) -> None:
        self.config = config
        self._db = db
        self._events = events
        self._cameras = cameras
        self._data_dir = data_dir
        self.zone = local_zone(config.timezone)
        self.log = store.LogWriter(db)
        self._state = policy.PolicyState()
        self._inbox: asyncio.Queue[tuple[dict[str, Any], bool, float]] = asyncio.Queue(INBOX_SIZE)
        self._seen: collections.OrderedDict[int, dict[str, Any]] = collections.OrderedDict()
        self._cache: tuple[float, list[recipients.Target]] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._recording: set[asyncio.Task[None]] = set()  # subscription updates under way
        self._recorded_ok: dict[str, float] = {}  # push key -> when a success was written
        self.public_key: str | None = None
        self.push: WebPushChannel | None = None
        self.webhooks = WebhookChannel(config.webhooks, self._on_result)
        self.apprise = AppriseChannel(config.apprise, self._on_result, events.flush)

    @property
    def push_enabled(self) -> bool:
        return self.push is not None

    # ----- life cycle ----------------------------------------------------------------------

    async def start(self) -> None:
        vapid = await asyncio.to_thread(load_or_create, self._data_dir)
        self.public_key = public_key(vapid)
        contact = self.config.web_push.contact
        if contact is not None:
            insecure = self.config.web_push.insecure_endpoints
            self.push = WebPushChannel(vapid, contact, insecure, self._on_result)
            await self.push.start()
        else:
            logger.info("Web Push is off: set notifications.web_push.contact to turn it on")
        await self.webhooks.start()
        await self.apprise.start()
        self._events.add_listener(self._on_message)
        self._tasks = [
            asyncio.create_task(self._dispatch_loop(), name="notify-dispatch"),
            asyncio.create_task(self._housekeeping(), name="notify-housekeeping"),
        ]

    async def stop(self) -> None:
        self._events.remove_listener(self._on_message)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.push is not None:
            await self.push.stop()
        await self.webhooks.stop()
        await self.apprise.stop()
        with contextlib.suppress(Exception):
            await self.log.flush()

    # ----- input (event loop, must return at once) -----------------------------------------

    def _on_message(self, message: dict[str, Any], camera: str | None) -> None:
        if message.get("type") != "event" or message.get("phase") != "start" or camera is None:
            return
        armed = camera == policy.SYSTEM_CAMERA or self._events.armed(camera)
        try:
            self._inbox.put_nowait((message["event"], armed, time.time()))
        except asyncio.QueueFull:
            logger.warning("notifications are behind: event %s dropped", message["event"]["id"])

    # ----- deciding --------------------------------------------------------------------------

    async def _dispatch_loop(self) -> None:
        # The top of a background task: one event at a time, never stopping on an error.
        while True:
            event, armed, at = await self._inbox.get()
            try:
                await self._dispatch(event, armed, at)
            except Exception:
                logger.exception("notifying about event %s failed", event.get("id"))

    async def _dispatch(self, event: dict[str, Any], armed: bool, at: float) -> None:
        self._remember(event)
        happening = policy.Happening(int(event["id"]), event["camera"], event["kind"], at, armed)
        now = datetime.fromtimestamp(at, self.zone)
        for target in await self.targets():
            self._state, decision = policy.decide(
                self._state, happening, target.recipient, now, self.config
            )
            self._carry_out(target, decision)

    async def _tick(self) -> None:
        now = datetime.fromtimestamp(time.time(), self.zone)
        due = any(
            c.latest is not None and now.timestamp() - c.since >= self.config.cooldown_seconds
            for c in self._state.cooldowns.values()
        )
        targets = {t.recipient.key: t for t in await self.targets()} if due else {}
        self._state, decisions = policy.tick(
            self._state, {k: t.recipient for k, t in targets.items()}, now, self.config
        )
        for key, decision in decisions:
            self._carry_out(targets[key], decision)

    async def targets(self) -> list[recipients.Target]:
        """Every channel, with its owner's current rights and snoozes (cached briefly)."""
        if self._cache is not None and time.monotonic() - self._cache[0] < RECIPIENTS_TTL_S:
            return self._cache[1]

        def read(db: Any) -> tuple[list[store.PushTarget], list[Any]]:
            push = store.push_targets(db) if self.push is not None else []
            return push, store.active_snoozes(db)

        push, snoozes = await self._db.run(read)
        built = recipients.build(self.config, push, snoozes)
        self._cache = (time.monotonic(), built)
        return built

    def changed(self, removed: str | None = None) -> None:
        """Subscriptions or snoozes changed: read them again; forget a removed target."""
        self._cache = None
        if removed is not None:
            self._state = policy.forget(self._state, removed)
            if self.push is not None:
                self.push.queues.forget(removed)

    def _remember(self, event: dict[str, Any]) -> None:
        self._seen[int(event["id"])] = event
        while len(self._seen) > REMEMBERED_EVENTS:
            self._seen.popitem(last=False)

    # ----- carrying out ----------------------------------------------------------------------

    def _carry_out(self, target: recipients.Target, decision: policy.Decision) -> None:
        happening = decision.happening
        meta = {
            "event_id": happening.event_id,
            "camera": happening.camera,
            "kind": happening.kind,
            "channel": target.channel,
            "target": target.label,
            "user_id": target.user_id,
        }
        if isinstance(decision, policy.Suppress):
            self.log.put(
                **meta, outcome="suppressed", reason=decision.reason, detail=decision.detail
            )
            return
        event = self._seen.get(happening.event_id)
        if event is None:
            self.log.put(**meta, outcome="failed", reason="error", detail="event forgotten")
            return
        meta["reason"] = "summary" if decision.folded else "alert"
        meta["folded"] = decision.folded
        self._send(target, event, decision.folded, meta)

    def _camera_name(self, camera: str) -> str:
        config = self._cameras.config(camera)
        return config.display_name if config is not None else camera

    def _send(
        self,
        target: recipients.Target,
        event: dict[str, Any],
        folded: int,
        meta: dict[str, Any],
        test: bool = False,
        result: asyncio.Future[Outcome] | None = None,
    ) -> None:
        note = notification(event, self._camera_name(event["camera"]), folded, self.zone, test)
        subject = topic(event["camera"], event["kind"])
        if target.channel == "web_push" and self.push is not None and target.push is not None:
            urgency = "high" if meta["reason"] == "alert" else "normal"
            ttl = self.config.web_push.ttl_seconds
            message = PushMessage(target.push, note, urgency, ttl)
            self.push.send(Delivery(target.recipient.key, subject, message, meta, result=result))
        elif target.channel == "webhook":
            base = self.config.base_url
            note |= {"url": absolute(base, note["url"]), "image": absolute(base, note["image"])}
            kind = "test" if test else f"event.{meta['reason']}"
            body = {
                "type": kind,
                "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                "data": {"event": event, "notification": note},
            }
            self.webhooks.send(Delivery(target.recipient.key, subject, body, meta, result=result))
        elif target.channel == "apprise":
            link = absolute(self.config.base_url, note["url"])
            snapshot = None
            if event.get("links", {}).get("snapshot"):
                snapshot = self._events.snapshot_dir / f"{event['camera']}/{event['id']}.jpg"
            text = note["body"] + (f"\n{link}" if self.config.base_url else "")
            plain = AppriseMessage(note["title"], text, snapshot)
            self.apprise.send(Delivery(target.recipient.key, subject, plain, meta, result=result))

    def _on_result(self, delivery: Delivery, outcome: Outcome) -> None:
        meta = {k: v for k, v in delivery.meta.items() if k != "folded"}
        folded = delivery.meta.get("folded", 0)
        suffix = f" (and {folded} more)" if folded else ""
        if isinstance(outcome, Delivered):
            self.log.put(**meta, outcome="sent", detail=outcome.detail + suffix)
        elif isinstance(outcome, Gone):
            meta["reason"] = "gone"
            self.log.put(**meta, outcome="failed", detail=f"{outcome.detail}; subscription removed")
        else:
            meta["reason"] = "error"
            self.log.put(**meta, outcome="failed", detail=outcome.detail)
        if meta["channel"] == "web_push":
            task = asyncio.create_task(
                self._record(delivery.target, outcome), name=f"notify-record-{delivery.target}"
            )
            self._recording.add(task)
            task.add_done_callback(self._recording.discard)

    async def _record(self, key: str, outcome: Outcome) -> None:
        subscription_id = int(key.removeprefix("push:"))
        try:
            if isinstance(outcome, Gone):
                await self._db.run(lambda db: store.delete_subscription(db, subscription_id))
                self.changed(removed=key)
                return
            error = None if isinstance(outcome, Delivered) else str(outcome.detail)
            # Successes are written at most every few minutes (an SD card wears out).
            last = self._recorded_ok.get(key)
            if error is None and last is not None and time.monotonic() - last < RECORD_OK_S:
                return
            if error is None:
                self._recorded_ok[key] = time.monotonic()
            else:
                self._recorded_ok.pop(key, None)
            await self._db.run(lambda db: store.record_delivery(db, subscription_id, error))
        except Exception:
            logger.exception("recording a push delivery failed")

    # ----- tests and housekeeping ------------------------------------------------------------

    async def send_test(self, subscription_id: int, user_id: int | None) -> Outcome:
        """Send a test notification to one subscription now; its outcome."""
        targets = [t for t in await self.targets() if t.recipient.key == f"push:{subscription_id}"]
        if not targets or self.push is None:
            return Failed("no such subscription, or Web Push is off")
        event = {
            "id": 0,
            "camera": "",
            "kind": "test",
            "start": datetime.now(UTC).isoformat(),
            "detail": "Notifications work on this device",
            "links": {"snapshot": None},
        }
        meta = {
            "event_id": None,
            "camera": "",
            "kind": "test",
            "channel": "web_push",
            "target": targets[0].label,
            "user_id": targets[0].user_id,
            "reason": "test",
        }
        result: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._send(targets[0], event, 0, meta, test=True, result=result)
        try:
            return await asyncio.wait_for(asyncio.shield(result), TEST_TIMEOUT_S)
        except TimeoutError:
            return Failed("no answer yet: the push service is slow; see the log")

    def _prune(self, db: Any) -> None:
        store.prune(db, self.config.log_keep_days, self.config.log_max_entries)

    async def _housekeeping(self) -> None:
        # The top of a background task: summaries, the log's writes and its pruning.
        last_prune = 0.0
        while True:
            await asyncio.sleep(TICK_S)
            try:
                await self._tick()
                await self.log.flush()
                if time.monotonic() - last_prune > PRUNE_INTERVAL_S:
                    last_prune = time.monotonic()
                    await self._db.run(self._prune)
            except Exception:
                logger.exception("notification housekeeping failed; will retry")
