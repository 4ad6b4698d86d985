"""Resuming the live channel across 1000 forced disconnects (issue 14).

One client keeps the last id it processed and reconnects with ``?last_id=`` after each
disconnect, chosen at random among: the client closes, the server drops the connection
(4008 as for a slow consumer, 1001 as for a restart), and the half-open socket of a phone
that went to sleep (the old socket is abandoned unread while a new one resumes). Messages
are published all along, some of them unstored motion-box updates, and the ring is small so
that replays also come from the database. The property: every id after the first is either
received exactly once, in order, or covered by an explicit ``skipped`` range or a
``resync``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from typing import Any

import pytest
import websockets

import api.services.live_channel as live_channel
from tests.conftest import demo_config
from tests.waiting import wait_until

DISCONNECTS = 1000
RING = 40  # messages kept in memory: replays reach the database too


class Ledger:
    """What the client has seen, and the property checked on every message."""

    def __init__(self) -> None:
        self.last_id: int | None = None
        self.received = 0
        self.skipped = 0
        self.resyncs = 0

    def take(self, message: dict[str, Any]) -> None:
        if "id" in message:
            assert self.last_id is None or message["id"] == self.last_id + 1, (
                f"got id {message['id']} after {self.last_id}"
            )
            self.last_id = message["id"]
            self.received += 1
        elif message["type"] == "skipped":
            assert message["from"] == (self.last_id or 0) + 1, (message, self.last_id)
            assert message["reason"] == "update"
            self.last_id = message["to"]
            self.skipped += message["to"] - message["from"] + 1
        elif message["type"] == "resync":
            self.last_id = message["last_id"]
            self.resyncs += 1


async def publisher(server: Any, stop: asyncio.Event, rng: random.Random) -> None:
    events, live = server.services.events, server.services.live
    n = 0
    while not stop.is_set():
        n += 1
        if rng.random() < 0.3:  # what EventService does with a motion-box update
            live.publish({"type": "event", "phase": "update", "n": n}, "demo")
        else:
            events.publish({"type": "armed", "camera": "demo", "armed": True, "n": n}, "demo")
        await asyncio.sleep(rng.choice([0, 0, 0.001, 0.003]))


@pytest.fixture
async def server(start_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(live_channel, "RING_SIZE", RING)  # replays reach the database too
    config = demo_config(motion={"enabled": False}, recording={"events": False})
    config["cameras"][0]["health"] = {"frozen_seconds": 0, "tamper": False}
    return await start_server(config)


async def test_1000_disconnects_lose_and_repeat_nothing(server: Any) -> None:
    rng = random.Random(1414)
    ledger = Ledger()
    stop = asyncio.Event()
    publishing = asyncio.create_task(publisher(server, stop, rng), name="publisher")
    headers = {"Authorization": server.client.headers["Authorization"]}
    base = server.base_url.replace("http", "ws") + "/api/ws"
    abandoned: list[Any] = []
    modes = {"client-close": 0, "server-drop": 0, "half-open": 0}
    try:
        for _ in range(DISCONNECTS):
            url = base if ledger.last_id is None else f"{base}?last_id={ledger.last_id}"
            ws = await websockets.connect(url, additional_headers=headers, max_queue=None)
            hello = json.loads(await ws.recv())
            assert hello["type"] == "hello"
            for _ in range(rng.randint(0, 12)):
                ledger.take(json.loads(await asyncio.wait_for(ws.recv(), 10)))
            mode = rng.choice(list(modes))
            modes[mode] += 1
            if mode == "client-close":
                await ws.close()
                if modes[mode] % 10 == 0:
                    # Away long enough that the memory ring moved past the client: the
                    # resume replays from the database (whatever the machine's speed).
                    target = (ledger.last_id or 0) + 2 * RING
                    await wait_until(
                        lambda t=target: server.services.live.last_id > t, 20, "the ring to move"
                    )
            elif mode == "server-drop":
                code = rng.choice([live_channel.CLOSE_SLOW_CONSUMER, live_channel.CLOSE_GOING_AWAY])
                for connection in server.services.live.connections:
                    connection.close(code)
                # Whatever was already on its way still counts, up to the close.
                with contextlib.suppress(websockets.ConnectionClosed):
                    while True:
                        ledger.take(json.loads(await asyncio.wait_for(ws.recv(), 10)))
            else:
                abandoned.append(ws)  # never read again, never closed by the client
                if len(abandoned) > 20:
                    await abandoned.pop(0).close()
        # Catch up: a last connection replays everything up to the newest id.
        stop.set()
        await publishing
        newest = server.services.live.last_id
        async with websockets.connect(
            f"{base}?last_id={ledger.last_id}", additional_headers=headers, max_queue=None
        ) as ws:
            await ws.recv()
            while ledger.last_id != newest:
                ledger.take(json.loads(await asyncio.wait_for(ws.recv(), 10)))
    finally:
        stop.set()
        await asyncio.gather(publishing, return_exceptions=True)
        for ws in abandoned:
            await ws.close()
    assert min(modes.values()) > 250
    assert ledger.received > 1000
    assert ledger.skipped > 0  # updates replayed from the database were named
    assert ledger.resyncs == 0  # nothing was lost, so nothing needed a resync
