"""The live WebSocket channel: camera status now, motion/sound events next (issue 4).

Each connection has a bounded outbox drained by its own task, so a slow client never
delays the others: when its outbox is full it is disconnected with close code 4008
(``SLOW_CONSUMER``) and reconnects. Revoking a session or a user closes their
connections with 4401.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from camera.camera import Camera

from .accounts import Principal

logger = logging.getLogger(__name__)

OUTBOX_SIZE = 256
CLOSE_SLOW_CONSUMER = 4008
CLOSE_REVOKED = 4401
CLOSE_GOING_AWAY = 1001
CLOSE_TOO_BIG = 1009
MAX_INCOMING = 4096  # clients only send small control messages


def camera_message(camera: Camera) -> dict[str, Any]:
    return {
        "type": "camera",
        "camera": camera.id,
        "status": camera.status,
        "error": camera.error,
        "at": time.time(),
    }


@dataclass(eq=False)
class LiveConnection:
    websocket: WebSocket
    principal: Principal
    outbox: asyncio.Queue[dict[str, Any]] = field(
        default_factory=lambda: asyncio.Queue(OUTBOX_SIZE)
    )
    close_code: int | None = None
    sender: asyncio.Task[None] | None = None

    def offer(self, message: dict[str, Any]) -> None:
        if self.close_code is not None:
            return
        try:
            self.outbox.put_nowait(message)
        except asyncio.QueueFull:
            self.close(CLOSE_SLOW_CONSUMER)

    def close(self, code: int) -> None:
        """Stop sending and close the socket with ``code`` (idempotent)."""
        if self.close_code is None:
            self.close_code = code
            if self.sender is not None:
                self.sender.cancel()


class LiveChannel:
    def __init__(self) -> None:
        self._connections: set[LiveConnection] = set()

    def camera_status(self, camera: Camera) -> None:
        self.broadcast(camera_message(camera), camera.id)

    def broadcast(self, message: dict[str, Any], camera_id: str | None = None) -> None:
        for connection in tuple(self._connections):
            if camera_id is None or connection.principal.can_see(camera_id):
                connection.offer(message)

    async def serve(self, connection: LiveConnection, hello: dict[str, Any]) -> None:
        """Run one accepted connection until it closes."""
        self._connections.add(connection)
        connection.offer(hello)
        connection.sender = asyncio.create_task(self._send_loop(connection), name="ws-sender")
        try:
            await self._receive_loop(connection)
        finally:
            self._connections.discard(connection)
            connection.close(CLOSE_GOING_AWAY)
            with contextlib.suppress(asyncio.CancelledError):
                await connection.sender

    @staticmethod
    async def _send_loop(connection: LiveConnection) -> None:
        websocket = connection.websocket
        try:
            while connection.close_code is None:
                message = await connection.outbox.get()
                await websocket.send_text(json.dumps(message, separators=(",", ":")))
        except (asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
            pass
        finally:
            if websocket.application_state == WebSocketState.CONNECTED:
                with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
                    await websocket.close(connection.close_code or CLOSE_GOING_AWAY)

    async def _receive_loop(self, connection: LiveConnection) -> None:
        websocket = connection.websocket
        while connection.close_code is None:
            try:
                message = await websocket.receive()
            except (WebSocketDisconnect, RuntimeError):
                return
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                connection.offer({"type": "error", "detail": "send JSON text messages"})
            elif len(text) > MAX_INCOMING:
                connection.close(CLOSE_TOO_BIG)
            else:
                connection.offer(self._answer(text))

    @staticmethod
    def _answer(text: str) -> dict[str, Any]:
        try:
            request = json.loads(text)
        except ValueError:
            return {"type": "error", "detail": "messages must be JSON"}
        if isinstance(request, dict) and request.get("type") == "ping":
            return {"type": "pong", "at": time.time()}
        return {"type": "error", "detail": "unknown message type"}

    async def close_sessions(self, session_hashes: set[str], user_id: int | None) -> None:
        for connection in tuple(self._connections):
            principal = connection.principal
            if principal.session_hash in session_hashes or principal.user_id == user_id:
                connection.close(CLOSE_REVOKED)

    async def close_all(self) -> None:
        for connection in tuple(self._connections):
            connection.close(CLOSE_GOING_AWAY)
