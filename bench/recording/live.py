"""The live channel of a server under test: every ``/api/ws`` message with its arrival time."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import websockets

from bench.common import LOOPBACK
from bench.servers import Server

WS_OPEN_TIMEOUT_S = 10.0


def is_message(message: dict[str, Any], kind: str, phase: str) -> bool:
    return message.get("type") == kind and message.get("phase") == phase


class LiveLog:
    """Every message of ``/api/ws`` with its arrival time (Unix seconds, this machine's clock)."""

    def __init__(self) -> None:
        self.messages: list[tuple[float, dict[str, Any]]] = []
        self.error: str | None = None
        self.changed = asyncio.Event()

    async def run(self, server: Server, connected: asyncio.Future[None]) -> None:
        url = f"ws://{LOOPBACK}:{server.port}/api/ws"
        cookies = "; ".join(f"{k}={v}" for k, v in server.credentials.cookies.items())
        headers = {"Cookie": cookies} if cookies else {}
        try:
            async with websockets.connect(
                url, additional_headers=headers, open_timeout=WS_OPEN_TIMEOUT_S, max_queue=None
            ) as ws:
                async for raw in ws:
                    arrived = time.time()
                    message = json.loads(raw)
                    self.messages.append((arrived, message))
                    if message.get("type") == "hello" and not connected.done():
                        connected.set_result(None)
                    self.changed.set()
        except (OSError, websockets.WebSocketException, TimeoutError) as error:
            self.error = repr(error)
            if not connected.done():
                connected.set_exception(error)
            raise

    def save(self, path: Path) -> None:
        with path.open("w", encoding="utf-8") as handle:
            for at, message in self.messages:
                handle.write(json.dumps({"arrived": at, "message": message}) + "\n")

    def between(self, start: float, end: float) -> list[dict[str, Any]]:
        return [m for at, m in self.messages if start <= at < end]

    def count(self, kind: str, phase: str) -> int:
        return sum(is_message(m, kind, phase) for _, m in self.messages)

    async def wait_until(self, done: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            self.changed.clear()  # before looking: a message arriving after it wakes us
            if done():
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), left)


@contextlib.asynccontextmanager
async def live_log(server: Server) -> AsyncIterator[LiveLog]:
    log = LiveLog()
    connected: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(log.run(server, connected), name="live-log")
    try:
        await asyncio.wait_for(asyncio.shield(connected), WS_OPEN_TIMEOUT_S + 2)
        yield log
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
