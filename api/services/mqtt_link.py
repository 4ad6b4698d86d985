"""One connection to the MQTT broker, kept up for ever (aiomqtt over paho-mqtt).

``MqttLink`` owns the client, the retained state and the outbox. Callers (the bridge,
``api.services.mqtt_bridge``) only call :meth:`MqttLink.set` / :meth:`MqttLink.send`, which
return at once; the link's task publishes::

    set(retained) ─▶ state (topic ─▶ message) ─┐
    send(once)    ─▶ outbox (bounded) ─────────┴▶ sender ─▶ broker ─▶ receiver ─▶ on_message

The retained state is the truth: after every (re)connect, and on :meth:`resync`, all of it
is published again, in the order it was first set. A broker that is down, slow or refuses
the login is retried with backoff (``mqtt_state.retry_delay``: 1 s doubling to 60 s, with
jitter) and reported: the log (a repeated failure once per ``LOG_REPEAT_S``), ``state`` and
:meth:`status`, and ``alert(text)`` once per outage: at once for a refused login, after
``mqtt_state.ALERT_AFTER_S`` otherwise. The last will makes the broker say ``offline`` for a process
that died; a clean stop says it itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import aiomqtt

from ..mqtt_config import MqttConfig
from ..mqtt_discovery import OFFLINE
from ..mqtt_state import Publish, describe, retry_delay, should_alert, state

logger = logging.getLogger("api.services.mqtt")

LinkState = Literal["connecting", "connected", "retrying"]
MessageHandler = Callable[[aiomqtt.Message], Awaitable[None]]

OUTBOX_MAX = 1000  # messages waiting for the broker; past this the oldest go
INCOMING_MAX = 1000
STEADY_AFTER_S = 30.0  # a connection that lasted this long resets the backoff
LOG_REPEAT_S = 600.0  # the same failure is logged again after this long
STOP_TIMEOUT_S = 3.0


class MqttLink:
    def __init__(
        self,
        config: MqttConfig,
        status_topic: str,
        subscriptions: list[tuple[str, int]],
        on_message: MessageHandler,
        alert: Callable[[str], object],
    ) -> None:
        self._config = config
        self._status_topic = status_topic
        self._subscriptions = subscriptions
        self._on_message = on_message
        self._alert = alert
        self.broker = f"mqtt{'s' if config.tls is not False else ''}://{config.host}:"
        self.broker += str(config.effective_port)
        self._retained: dict[str, Publish] = {}
        self._outbox: deque[Publish] = deque()
        self._resync = True
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._down_since: float | None = None
        self._alerted = False
        self._logged: tuple[str, float] = ("", 0.0)
        # What status() reports.
        self.state: LinkState = "connecting"
        self.connected_since: float | None = None
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self.failures = 0
        self.next_retry_at: float | None = None
        self.published = 0
        self.dropped = 0

    # ----- what to publish (event loop, returns at once) ---------------------------------

    def set(self, message: Publish) -> None:
        """A retained state; nothing is sent when it is unchanged. While disconnected it is
        only kept: the next connect publishes the whole state anyway."""
        if self._retained.get(message.topic) == message:
            return
        self._retained[message.topic] = message
        if self.state == "connected":
            self._queue(message)

    def send(self, message: Publish) -> None:
        """A message sent once (when connected or after the next connect), not kept."""
        self._queue(message)

    def resync(self) -> None:
        """Publish the whole retained state again (Home Assistant restarted)."""
        self._resync = True
        self._wake.set()

    def is_set(self, topic: str) -> bool:
        return topic in self._retained

    def _queue(self, message: Publish) -> None:
        if len(self._outbox) >= OUTBOX_MAX:
            lost = self._outbox.popleft()
            self.dropped += 1
            self._resync = self._resync or lost.topic in self._retained
        self._outbox.append(message)
        self._wake.set()

    # ----- life cycle --------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect_forever(), name="mqtt-connection")

    async def stop(self) -> None:
        """Send what is queued and ``offline`` (a few seconds at most), then disconnect."""
        task, self._task = self._task, None
        if task is None:
            return
        if self.state == "connected":
            self.set(state(self._status_topic, OFFLINE))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drained(), STOP_TIMEOUT_S)
        task.cancel()
        await asyncio.wait([task], timeout=STOP_TIMEOUT_S)

    async def _drained(self) -> None:
        while self._outbox or self._resync:
            self._idle.clear()
            await self._idle.wait()

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
            will=aiomqtt.Will(self._status_topic, OFFLINE, qos=1, retain=True),
            keepalive=config.keepalive,
            tls_params=tls,
            max_queued_incoming_messages=INCOMING_MAX,
            logger=logging.getLogger(f"{logger.name}.client"),
        )

    async def _connect_forever(self) -> None:
        failures = 0
        while True:
            error: BaseException | None = None
            connected_at: float | None = None
            try:
                # The connect (DNS, TCP, TLS) runs in aiomqtt's executor thread.
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
        self._resync = True  # the broker may have lost everything (restart, no persistence)
        logger.info("MQTT: connected to %s as %s", self.broker, self._config.effective_client_id)

    def _failed(self, error: BaseException | None, failures: int, delay: float, lost: bool) -> None:
        failure = describe(error or RuntimeError("the connection ended"), self.broker)
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
        if should_alert(failure.login_refused, now - self._down_since, self._alerted):
            self._alerted = True
            self._alert(text)

    async def _session(self, client: aiomqtt.Client) -> None:
        for topic, qos in self._subscriptions:
            await client.subscribe(topic, qos=qos)
        async with asyncio.TaskGroup() as group:
            group.create_task(self._send(client), name="mqtt-send")
            group.create_task(self._receive(client), name="mqtt-receive")

    async def _send(self, client: aiomqtt.Client) -> None:
        while True:
            self._wake.clear()
            if self._resync:
                self._resync = False
                # Retained states still queued are older than the state sent now.
                self._outbox = deque(m for m in self._outbox if m.topic not in self._retained)
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
        async for message in client.messages:
            await self._on_message(message)

    # ----- reporting ---------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """The connection, for an admin (never the password)."""
        config = self._config
        return {
            "enabled": True,
            "state": self.state,
            "broker": self.broker,
            "tls": config.tls is not False,
            "username": config.username,
            "client_id": config.effective_client_id,
            "connected_since": self.connected_since,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "failures": self.failures,
            "next_retry_at": self.next_retry_at,
            "published": self.published,
            "queued": len(self._outbox),
            "dropped": self.dropped,
        }
