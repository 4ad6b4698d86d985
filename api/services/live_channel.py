"""The live WebSocket channel: camera status, events and alerts, as they happen.

Every message worth keeping gets a monotonically increasing ``id``. The last
``RING_SIZE`` are kept in memory (as the JSON text sent) and all of them in the database
(the event store; event updates only in memory), so a client that reconnects with the
last id it saw (``/api/ws?last_id=N``) receives everything it missed, in order and without
duplicates; when the gap reaches back past what is kept it gets ``{"type":"resync"}`` and
reloads through the REST API.

Fan-out: a message is serialised and framed once, then one task (the pump) hands it to
every connection in turn. Under ``sentrycam serve`` the frame goes straight onto each
socket whose transport takes data (``api.prepared_frames``), so 1000 dashboards cost 1000
socket writes; elsewhere (or when that cannot be done) the send is started on the spot
(``api.eager``) and completes without a task switch unless the socket is backed up. A
client whose socket is backed up gets a task that finishes that send and then its
backlog, so it never delays the others; when its backlog reaches ``OUTBOX_SIZE`` it is
disconnected with close code 4008 (``SLOW_CONSUMER``) and, on reconnecting with its last
id, loses nothing. Each message reaches every client before the next one starts, and the
pump lets the loop run between slices of ``FANOUT_SLICE`` sends. Revoking a session or a
user closes their connections with 4401.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from ..accounts import Principal
from ..eager import start_eagerly
from ..prepared_frames import WriteFrame, text_frame

logger = logging.getLogger(__name__)

OUTBOX_SIZE = 512
FANOUT_SLICE = 200  # sends between two turns of the event loop during a fan-out
RING_SIZE = 10_000
REPLAY_LIMIT = 50_000
HEARTBEAT_S = 15.0
CLOSE_SLOW_CONSUMER = 4008
CLOSE_REVOKED = 4401
CLOSE_GOING_AWAY = 1001
CLOSE_TOO_BIG = 1009
MAX_INCOMING = 4096  # clients only send small control messages

Stored = tuple[str | None, dict[str, Any]]  # (camera the message is about, message)
DbReplay = Callable[[int, int], Awaitable[list[Stored]]]


def _encode(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


@dataclass(eq=False)
class LiveConnection:
    websocket: WebSocket
    principal: Principal
    # Writes a prepared frame straight to the socket when it can (None: always send_text).
    write_frame: WriteFrame | None = None
    close_code: int | None = None
    held: list[tuple[int, str]] | None = None  # live messages that arrive during a replay
    replayed_upto: int = 0  # messages up to this id reached it with the hello or the replay
    # Messages waiting behind a send that could not complete at once, and the task that
    # finishes that send and then sends them (None while sends complete at once).
    backlog: collections.deque[str] = field(default_factory=collections.deque)
    sending: asyncio.Task[None] | None = None
    closing: asyncio.Task[None] | None = None

    def may_see(self, camera: str | None) -> bool:
        return camera is None or self.principal.can_see(camera)

    def offer(self, text: str, message_id: int | None = None, frame: bytes | None = None) -> None:
        """Send ``text`` (``frame``: the same, framed) after everything offered before it
        (returns at once)."""
        if self.close_code is not None:
            return
        if message_id is not None and message_id <= self.replayed_upto:
            return  # the pump offers it after the replay sent it
        if self.held is not None and message_id is not None:
            self.held.append((message_id, text))
        elif self.sending is not None:
            if len(self.backlog) >= OUTBOX_SIZE:
                self.close(CLOSE_SLOW_CONSUMER)
            else:
                self.backlog.append(text)
        elif self.write_frame is None or not self.write_frame(frame or text_frame(text)):
            self.sending = start_eagerly(self._finish(text), name="ws-send")

    async def _finish(self, text: str) -> None:
        """Send ``text``, then the backlog (runs eagerly: a task only once it waits)."""
        try:
            await self.websocket.send_text(text)
            while self.backlog and self.close_code is None:
                await self.websocket.send_text(self.backlog.popleft())
        except (WebSocketDisconnect, RuntimeError, OSError):
            self.sending = None
            self.close(CLOSE_GOING_AWAY)
        except Exception:  # one client's surprise must not stop the fan-out to the others
            logger.exception("live channel: sending to a client failed")
            self.sending = None
            self.close(CLOSE_GOING_AWAY)
        else:
            self.sending = None

    def close(self, code: int) -> None:
        """Stop sending and close the socket with ``code`` (idempotent)."""
        if self.close_code is not None:
            return
        self.close_code = code
        self.backlog.clear()
        sending, self.sending = self.sending, None
        if sending is not None:
            sending.cancel()
        self.closing = asyncio.get_running_loop().create_task(
            self._close_socket(sending), name="ws-close"
        )

    async def _close_socket(self, sending: asyncio.Task[None] | None) -> None:
        websocket = self.websocket
        if sending is not None:
            with contextlib.suppress(
                asyncio.CancelledError, WebSocketDisconnect, RuntimeError, OSError
            ):
                await sending
        if websocket.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
                await websocket.close(self.close_code or CLOSE_GOING_AWAY)


FANOUT_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)  # seconds


@dataclass
class FanoutStats:
    """How long messages took to reach every connection (publish to the last send
    started), for /metrics: a histogram over ``FANOUT_BUCKETS`` and the sends made."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(FANOUT_BUCKETS) + 1))
    seconds: float = 0.0
    messages: int = 0
    sends: int = 0

    def add(self, seconds: float, sends: int) -> None:
        index = next((i for i, bound in enumerate(FANOUT_BUCKETS) if seconds <= bound), -1)
        self.counts[index] += 1
        self.seconds += seconds
        self.messages += 1
        self.sends += sends


def _skipped(first: int, last: int) -> dict[str, Any]:
    return {"type": "skipped", "from": first, "to": last, "reason": "update"}


class LiveChannel:
    def __init__(self, ring_size: int | None = None) -> None:
        self._connections: set[LiveConnection] = set()
        # (id, camera, the message as sent): the text only, which is also what a replay
        # sends (an event update's dict holds its regions, several times the text's size).
        self._ring: collections.deque[tuple[int, str | None, str]] = collections.deque(
            maxlen=ring_size or RING_SIZE
        )
        self._last_id = 0
        self._oldest_kept = 1
        self._db_replay: DbReplay | None = None
        # Published, not yet handed to every connection: (camera, text, id, when).
        self._pending: collections.deque[tuple[str | None, str, int, float]] = collections.deque()
        self._pump: asyncio.Task[None] | None = None
        self.fanout = FanoutStats()

    @property
    def last_id(self) -> int:
        return self._last_id

    @property
    def connections(self) -> tuple[LiveConnection, ...]:
        return tuple(self._connections)

    def forget_before(self, oldest_kept: int) -> None:
        """Messages older than ``oldest_kept`` are gone (pruned): a resume from before it
        gets a resync instead of a replay with a hole in it."""
        self._oldest_kept = max(self._oldest_kept, oldest_kept)

    def resume_ids(self, last_id: int, oldest_kept: int, db_replay: DbReplay) -> None:
        """Continue numbering after what the database holds (called once at start)."""
        self._last_id = max(self._last_id, last_id)
        self._oldest_kept = oldest_kept
        self._db_replay = db_replay

    # ----- publishing --------------------------------------------------------------------

    def publish(self, message: dict[str, Any], camera: str | None = None) -> dict[str, Any]:
        """Number and keep a message, and send it to everyone allowed to see ``camera``
        (returns at once: the pump sends it)."""
        self._last_id += 1
        stored = {"id": self._last_id, **message}
        text = _encode(stored)
        self._ring.append((self._last_id, camera, text))
        if self._connections:
            self._pending.append((camera, text, self._last_id, time.perf_counter()))
            if self._pump is None:
                self._pump = asyncio.get_running_loop().create_task(
                    self._fan_out(), name="ws-fan-out"
                )
        return stored

    async def _fan_out(self) -> None:
        """Hand each pending message to every connection, oldest message first."""
        sends = 0
        try:
            while self._pending:
                camera, text, message_id, published = self._pending.popleft()
                frame = text_frame(text)
                before = sends
                for connection in tuple(self._connections):
                    if connection.may_see(camera):
                        connection.offer(text, message_id, frame)
                        sends += 1
                        if sends % FANOUT_SLICE == 0:
                            await asyncio.sleep(0)  # let the loop breathe between slices
                self.fanout.add(time.perf_counter() - published, sends - before)
        finally:
            self._pump = None

    # ----- one connection ----------------------------------------------------------------

    async def serve(
        self, connection: LiveConnection, hello: dict[str, Any], last_id: int | None
    ) -> None:
        """Run one accepted connection until it closes."""
        websocket = connection.websocket
        connection.held = []  # from now on live messages wait until the replay is sent
        self._connections.add(connection)
        try:
            newest = self._last_id
            await websocket.send_text(_encode({**hello, "last_id": newest}))
            await self._replay(connection, newest if last_id is None else last_id)
            await self._send_held(connection)
            heartbeat = asyncio.create_task(self._heartbeat(connection), name="ws-heartbeat")
            try:
                await self._receive_loop(connection)
            finally:
                heartbeat.cancel()
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        finally:
            self._connections.discard(connection)
            connection.close(CLOSE_GOING_AWAY)
            if connection.closing is not None:
                await connection.closing

    async def _replay(self, connection: LiveConnection, after: int) -> None:
        """Send what came after ``after`` (for a new client, the hello's last id), up to
        the newest message; live messages up to that one are then not sent again."""
        upto = self._last_id
        connection.replayed_upto = upto
        if after >= upto:
            return
        websocket = connection.websocket
        if after + 1 < self._oldest_kept or upto - after > REPLAY_LIMIT:
            await websocket.send_text(_encode({"type": "resync", "last_id": upto}))
            return
        ring_start = self._ring[0][0] if self._ring else upto + 1
        messages: list[tuple[int, str | None, str]] = []
        if after + 1 < ring_start and self._db_replay is not None:
            stored = await self._db_replay(after, ring_start - 1)
            messages.extend(
                (int(message["id"]), camera, _encode(message)) for camera, message in stored
            )
        messages.extend(entry for entry in self._ring if after < entry[0] <= upto)
        expected = after + 1
        for message_id, camera, text in messages:
            if message_id > expected:
                # Ids the store never kept: motion-box updates, superseded by the messages
                # that follow (anything else lost makes a resync, see forget_before).
                await websocket.send_text(_encode(_skipped(expected, message_id - 1)))
            expected = message_id + 1
            if connection.may_see(camera):
                await websocket.send_text(text)
        if expected <= upto:
            await websocket.send_text(_encode(_skipped(expected, upto)))

    @staticmethod
    async def _send_held(connection: LiveConnection) -> None:
        """Send what arrived during the replay, at the client's pace like the replay (a
        long replay must not overflow the backlog of a client that reads), until nothing
        is held; then live messages are offered as they come again."""
        while connection.held and connection.close_code is None:
            if len(connection.held) > REPLAY_LIMIT:  # it never catches up: a slow consumer
                connection.close(CLOSE_SLOW_CONSUMER)
                break
            batch, connection.held = connection.held, []
            for message_id, text in batch:
                if message_id > connection.replayed_upto:
                    await connection.websocket.send_text(text)
        connection.held = None

    async def _heartbeat(self, connection: LiveConnection) -> None:
        # Lets browsers (which cannot see WebSocket pings) notice a dead server quickly.
        while connection.close_code is None:
            await asyncio.sleep(HEARTBEAT_S)
            connection.offer(_encode({"type": "heartbeat", "last_id": self._last_id}))

    async def _receive_loop(self, connection: LiveConnection) -> None:
        websocket = connection.websocket
        while connection.close_code is None:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                connection.offer(_encode({"type": "error", "detail": "send JSON text messages"}))
            elif len(text) > MAX_INCOMING:
                connection.close(CLOSE_TOO_BIG)
            else:
                connection.offer(_encode(self._answer(text)))

    def _answer(self, text: str) -> dict[str, Any]:
        try:
            request = json.loads(text)
        except ValueError:
            return {"type": "error", "detail": "messages must be JSON"}
        if isinstance(request, dict) and request.get("type") == "ping":
            return {"type": "pong", "at": time.time(), "last_id": self._last_id}
        return {"type": "error", "detail": "unknown message type"}

    # ----- revocation and shutdown -------------------------------------------------------

    def close_where(self, revoked: Callable[[Principal], bool]) -> int:
        """Close (4401) every connection whose principal is ``revoked``; how many."""
        closing = [c for c in tuple(self._connections) if revoked(c.principal)]
        for connection in closing:
            connection.close(CLOSE_REVOKED)
        return len(closing)

    def principals(self) -> list[Principal]:
        return [connection.principal for connection in tuple(self._connections)]

    async def close_all(self) -> None:
        for connection in tuple(self._connections):
            connection.close(CLOSE_GOING_AWAY)
