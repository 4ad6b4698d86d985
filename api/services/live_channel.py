"""The live WebSocket channel: camera status, events and alerts, as they happen.

Every message worth keeping gets a monotonically increasing ``id``. The last
``RING_SIZE`` are kept in memory and all of them in the database (the event store), so a client
that reconnects with the last id it saw (``/api/ws?last_id=N``) receives everything it
missed, in order and without duplicates; when the gap reaches back past what is kept it
gets ``{"type":"resync"}`` and reloads through the REST API.

Each connection has a bounded outbox drained by its own task, so a slow client never
delays the others: when its outbox is full it is disconnected with close code 4008
(``SLOW_CONSUMER``) and, on reconnecting with its last id, loses nothing. Revoking a session
or a user closes their connections with 4401.
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

logger = logging.getLogger(__name__)

OUTBOX_SIZE = 512
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
    outbox: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(OUTBOX_SIZE))
    close_code: int | None = None
    sender: asyncio.Task[None] | None = None
    held: list[tuple[int, str]] | None = None  # live messages that arrive during a replay

    def may_see(self, camera: str | None) -> bool:
        return camera is None or self.principal.can_see(camera)

    def offer(self, text: str, message_id: int | None = None) -> None:
        if self.close_code is not None:
            return
        if self.held is not None and message_id is not None:
            self.held.append((message_id, text))
            return
        try:
            self.outbox.put_nowait(text)
        except asyncio.QueueFull:
            self.close(CLOSE_SLOW_CONSUMER)

    def close(self, code: int) -> None:
        """Stop sending and close the socket with ``code`` (idempotent)."""
        if self.close_code is None:
            self.close_code = code
            if self.sender is not None:
                self.sender.cancel()


def _skipped(first: int, last: int) -> dict[str, Any]:
    return {"type": "skipped", "from": first, "to": last, "reason": "update"}


class LiveChannel:
    def __init__(self, ring_size: int | None = None) -> None:
        self._connections: set[LiveConnection] = set()
        self._ring: collections.deque[tuple[int, str | None, dict[str, Any], str]] = (
            collections.deque(maxlen=ring_size or RING_SIZE)
        )
        self._last_id = 0
        self._oldest_kept = 1
        self._db_replay: DbReplay | None = None

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
        """Number, keep and send a message to everyone allowed to see ``camera``."""
        self._last_id += 1
        stored = {"id": self._last_id, **message}
        text = _encode(stored)
        self._ring.append((self._last_id, camera, stored, text))
        for connection in tuple(self._connections):
            if connection.may_see(camera):
                connection.offer(text, self._last_id)
        return stored

    # ----- one connection ----------------------------------------------------------------

    async def serve(
        self, connection: LiveConnection, hello: dict[str, Any], last_id: int | None
    ) -> None:
        """Run one accepted connection until it closes."""
        websocket = connection.websocket
        connection.held = []  # from now on live messages wait until the replay is sent
        self._connections.add(connection)
        try:
            await websocket.send_text(_encode({**hello, "last_id": self._last_id}))
            if last_id is not None:
                await self._replay(connection, last_id)
            await self._send_held(connection)
            connection.sender = asyncio.create_task(self._send_loop(connection), name="ws-send")
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
            if connection.sender is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await connection.sender

    async def _replay(self, connection: LiveConnection, after: int) -> None:
        upto = self._last_id
        if after >= upto:
            return
        websocket = connection.websocket
        if after + 1 < self._oldest_kept or upto - after > REPLAY_LIMIT:
            await websocket.send_text(_encode({"type": "resync", "last_id": upto}))
            return
        ring_start = self._ring[0][0] if self._ring else upto + 1
        messages: list[Stored] = []
        if after + 1 < ring_start and self._db_replay is not None:
            messages.extend(await self._db_replay(after, ring_start - 1))
        messages.extend(
            (camera, stored) for i, camera, stored, _ in self._ring if after < i <= upto
        )
        expected = after + 1
        for camera, stored in messages:
            message_id = int(stored["id"])
            if message_id > expected:
                # Ids the store never kept: motion-box updates, superseded by the messages
                # that follow (anything else lost makes a resync, see forget_before).
                await websocket.send_text(_encode(_skipped(expected, message_id - 1)))
            expected = message_id + 1
            if connection.may_see(camera):
                await websocket.send_text(_encode(stored))
        if expected <= upto:
            await websocket.send_text(_encode(_skipped(expected, upto)))
        if connection.held is not None:
            connection.held = [(i, text) for i, text in connection.held if i > upto]

    @staticmethod
    async def _send_held(connection: LiveConnection) -> None:
        """Send what arrived during the replay, at the client's pace like the replay (a
        long replay must not overflow the outbox of a client that reads), until nothing
        is held; then live messages go through the outbox again."""
        while connection.held and connection.close_code is None:
            if len(connection.held) > REPLAY_LIMIT:  # it never catches up: a slow consumer
                connection.close(CLOSE_SLOW_CONSUMER)  # the send loop closes the socket
                break
            batch, connection.held = connection.held, []
            for _, text in batch:
                await connection.websocket.send_text(text)
        connection.held = None

    @staticmethod
    async def _send_loop(connection: LiveConnection) -> None:
        websocket = connection.websocket
        try:
            while connection.close_code is None:
                await websocket.send_text(await connection.outbox.get())
        except (asyncio.CancelledError, WebSocketDisconnect, RuntimeError, OSError):
            pass
        finally:
            if websocket.application_state == WebSocketState.CONNECTED:
                with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
                    await websocket.close(connection.close_code or CLOSE_GOING_AWAY)

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
