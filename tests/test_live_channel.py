"""The WebSocket channel: ordered ids, resume without loss or duplicates, slow and bad clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import pytest
from httpx_ws import WebSocketDisconnect, aconnect_ws
from starlette.websockets import WebSocketState

from api.accounts import Principal
from api.services.live_channel import LiveChannel, LiveConnection
from camera.analysis import Observation
from tests.conftest import demo_config
from tests.waiting import wait_until


def quiet_demo() -> dict[str, Any]:
    # No detector on the demo camera: only the events a test injects.
    return demo_config(motion={"enabled": False}, health={"frozen_seconds": 0, "tamper": False})


def inject(server: Any, n: int, camera: str = "demo", detail: str = "") -> None:
    for _ in range(n):
        now = time.time()
        server.services.events.observe(Observation(camera, "sound", "start", now, detail=detail))
        server.services.events.observe(Observation(camera, "sound", "end", now))


async def receive_until(ws: Any, predicate: Any, timeout: float = 10) -> list[dict[str, Any]]:
    received = []
    deadline = time.monotonic() + timeout
    while True:
        message = await ws.receive_json(timeout=max(0.1, deadline - time.monotonic()))
        received.append(message)
        if predicate(message):
            return received


async def drain(ws: Any) -> None:
    while True:
        await ws.receive_text(timeout=10)


def with_ids(messages: list[dict[str, Any]]) -> list[int]:
    return [m["id"] for m in messages if "id" in m]


@pytest.fixture
async def server(start_server):
    return await start_server(quiet_demo())


async def test_hello_then_events_in_order(server):
    async with aconnect_ws(server.base_url + "/api/ws", server.client) as ws:
        hello = await ws.receive_json(timeout=10)
        assert hello["type"] == "hello"
        assert hello["cameras"][0]["armed"] is True
        inject(server, 3)
        last = server.services.live.last_id
        messages = await receive_until(ws, lambda m: m.get("id") == last)
        ids = with_ids(messages)
        assert ids == sorted(ids)
        assert len(set(ids)) == len(ids)
        kinds = [(m["type"], m.get("phase")) for m in messages]
        assert ("event", "start") in kinds
        assert ("event", "end") in kinds
        assert ("alert", None) in kinds  # armed, first event: an alert


async def test_acknowledging_is_pushed_to_every_dashboard(server):
    inject(server, 1)
    await server.services.events.flush()
    event_id = (await server.client.get("/api/events")).json()["events"][0]["id"]
    async with aconnect_ws(server.base_url + "/api/ws", server.client) as ws:
        await ws.receive_json(timeout=10)
        assert (await server.client.post(f"/api/events/{event_id}/ack")).status_code == 200
        (message,) = [
            m
            for m in await receive_until(ws, lambda m: m.get("phase") == "ack")
            if m.get("phase") == "ack"
        ]
    assert message["event"]["id"] == event_id
    assert message["event"]["acknowledged"] is True
    assert message["event"]["acknowledged_by"] == "admin"


async def test_many_clients_all_get_everything(server):
    async with contextlib.AsyncExitStack() as stack:
        sockets = [
            await stack.enter_async_context(aconnect_ws(server.base_url + "/api/ws", server.client))
            for _ in range(40)
        ]
        for ws in sockets:
            await ws.receive_json(timeout=10)  # hello
        fanout = server.services.live.fanout
        messages, sends = fanout.messages, fanout.sends
        inject(server, 5)
        last = server.services.live.last_id
        results = await asyncio.gather(
            *(receive_until(ws, lambda m: m.get("id") == last) for ws in sockets)
        )
    reference = with_ids(results[0])
    assert len(reference) >= 10
    assert all(with_ids(result) == reference for result in results)
    # /metrics counts each message's fan-out once and each client's send.
    text = (await server.client.get("/metrics")).text
    assert f"sentrycam_live_fanout_seconds_count {float(messages + len(reference))}" in text
    assert f"sentrycam_live_sends_total {float(sends + 40 * len(reference))}" in text


async def test_reconnect_with_last_id_gets_exactly_what_was_missed(server):
    async with aconnect_ws(server.base_url + "/api/ws", server.client) as ws:
        await ws.receive_json(timeout=10)
        inject(server, 2)
        last = server.services.live.last_id
        seen = with_ids(await receive_until(ws, lambda m: m.get("id") == last))
    # Disconnected: these happen while nobody listens.
    inject(server, 3, detail="missed")
    await server.services.events.flush()
    missed_upto = server.services.live.last_id
    async with aconnect_ws(server.base_url + f"/api/ws?last_id={seen[-1]}", server.client) as ws:
        hello = await ws.receive_json(timeout=10)
        assert hello["last_id"] == missed_upto
        inject(server, 1, detail="live")  # during/after the replay: must come after it, once
        final = server.services.live.last_id
        replayed = await receive_until(ws, lambda m: m.get("id") == final)
    ids = with_ids(replayed)
    assert ids == list(range(seen[-1] + 1, final + 1))  # everything, in order, no duplicates
    details = [m["event"]["detail"] for m in replayed if m.get("type") == "event"]
    assert "missed" in details
    assert "live" in details


async def test_replay_reaches_into_the_database_past_the_memory_ring(start_server, monkeypatch):
    # A ring of 4 messages: 5 events (15 messages) roll it over, only the database has them.
    monkeypatch.setattr("api.services.live_channel.RING_SIZE", 4)
    server = await start_server(quiet_demo())
    live = server.services.live
    async with aconnect_ws(server.base_url + "/api/ws", server.client) as ws:
        start = (await ws.receive_json(timeout=10))["last_id"]
    inject(server, 5, detail="old")
    await server.services.events.flush()
    inject(server, 1, detail="recent")
    final = live.last_id
    async with aconnect_ws(server.base_url + f"/api/ws?last_id={start}", server.client) as ws:
        await ws.receive_json(timeout=10)
        replayed = await receive_until(ws, lambda m: m.get("id") == final)
    ids = with_ids(replayed)
    assert ids[0] == start + 1
    assert ids[-1] == final
    assert ids == sorted(set(ids))


async def test_gap_too_old_asks_for_a_resync(server, monkeypatch):
    monkeypatch.setattr("api.services.live_channel.REPLAY_LIMIT", 4)
    inject(server, 5)
    async with aconnect_ws(server.base_url + "/api/ws?last_id=0", server.client) as ws:
        await ws.receive_json(timeout=10)
        message = await ws.receive_json(timeout=10)
        assert message["type"] == "resync"
        assert message["last_id"] == server.services.live.last_id


async def test_slow_consumer_is_dropped_without_delaying_others(server, monkeypatch):
    monkeypatch.setattr("api.services.live_channel.OUTBOX_SIZE", 8)
    big = "x" * 60_000  # fills socket buffers quickly
    async with (
        aconnect_ws(server.base_url + "/api/ws", server.client) as slow,
        aconnect_ws(server.base_url + "/api/ws", server.client) as fast,
    ):
        await slow.receive_json(timeout=10)
        await fast.receive_json(timeout=10)
        received = injected = 0
        live = server.services.live
        # Messages go out framed once (api.prepared_frames); the slow one falls back to a
        # send of its own once its socket stops taking data, then to its backlog.
        assert all(c.write_frame is not None for c in live.connections)

        def slow_closed() -> bool:
            return any(c.close_code == 4008 for c in live.connections)

        # How much a never-reading client absorbs depends on socket buffers (and on how
        # busy the machine is): go on until the server gives up on it.
        while not slow_closed():
            assert injected < 1000, "the slow client was never dropped"
            inject(server, 1, detail=big)
            injected += 1
            last = server.services.live.last_id
            received += len(await receive_until(fast, lambda m, last=last: m.get("id") == last))
        assert received >= 2 * injected  # the fast client kept up with every message
        # The slow one (never read) was disconnected with a code it can act on.
        with pytest.raises(WebSocketDisconnect) as closed:
            await drain(slow)
        assert closed.value.code == 4008


async def test_bad_messages_get_errors_and_oversized_ones_close(server):
    async with aconnect_ws(server.base_url + "/api/ws", server.client) as ws:
        await ws.receive_json(timeout=10)
        await ws.send_text("not json")
        assert (await ws.receive_json(timeout=10))["type"] == "error"
        await ws.send_bytes(b"\x00\x01")
        assert (await ws.receive_json(timeout=10))["type"] == "error"
        await ws.send_text(json.dumps({"type": "ping"}))
        assert (await ws.receive_json(timeout=10))["type"] == "pong"
        await ws.send_text(json.dumps({"type": "subscribe", "pad": "y" * 5000}))
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_json(timeout=10)
        assert closed.value.code == 1009
    # The server is fine afterwards.
    async with aconnect_ws(server.base_url + "/api/ws", server.client) as ws:
        assert (await ws.receive_json(timeout=10))["type"] == "hello"


async def test_heartbeats_flow(server, monkeypatch):
    monkeypatch.setattr("api.services.live_channel.HEARTBEAT_S", 0.2)
    async with aconnect_ws(server.base_url + "/api/ws", server.client) as ws:
        await ws.receive_json(timeout=10)
        message = await ws.receive_json(timeout=10)
        assert message["type"] == "heartbeat"


async def test_server_shutdown_closes_with_going_away(start_server):
    server = await start_server(quiet_demo())
    async with aconnect_ws(server.base_url + "/api/ws", server.client) as ws:
        await ws.receive_json(timeout=10)
        await server.services.live.close_all()
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_json(timeout=10)
        assert closed.value.code == 1001


async def test_demo_motion_reaches_the_websocket_with_regions_and_snapshot(start_server):
    # The real pipeline: demo scene -> decode -> motion detector -> event -> WebSocket.
    server = await start_server(demo_config())
    await server.wait_online("demo")
    async with aconnect_ws(server.base_url + "/api/ws", server.client) as ws:
        await ws.receive_json(timeout=10)
        messages = await receive_until(
            ws,
            lambda m: m.get("type") == "event" and m["event"]["kind"] == "motion",
            timeout=20,
        )
    event = messages[-1]["event"]
    assert event["regions"]
    x, _, w, _ = event["regions"][0]
    assert 0 <= x <= 1
    assert 0 < w <= 1
    assert event["links"]["snapshot"]
    response = await server.client.get(event["links"]["snapshot"])
    assert response.status_code == 200
    assert response.content[:2] == b"\xff\xd8"


class FakeSocket:
    """The part of a WebSocket the channel uses, in memory; ``fail`` breaks its sends;
    ``gone``: the client has left already (``serve`` sends the hello and any replay, then
    returns)."""

    def __init__(self, fail: Exception | None = None, gone: bool = False) -> None:
        self.fail = fail
        self.sent: list[dict[str, Any]] = []
        self.closed_with: int | None = None
        self.application_state = WebSocketState.DISCONNECTED if gone else WebSocketState.CONNECTED
        self._gone = asyncio.Event()
        if gone:
            self._gone.set()

    async def send_text(self, text: str) -> None:
        if self.fail is not None and self.sent:  # the hello goes through, then it breaks
            raise self.fail
        self.sent.append(json.loads(text))

    async def receive(self) -> dict[str, Any]:
        await self._gone.wait()
        return {"type": "websocket.disconnect"}

    async def close(self, code: int) -> None:
        self.closed_with = code
        self.application_state = WebSocketState.DISCONNECTED
        self._gone.set()


async def test_a_client_whose_send_fails_oddly_is_closed_and_the_others_go_on():
    live = LiveChannel()
    admin = Principal(1, "someone", "admin", None, "token")
    good, broken = FakeSocket(), FakeSocket(ValueError("a bug in some layer"))
    served = [
        asyncio.create_task(live.serve(LiveConnection(ws, admin), {"type": "hello"}, None))  # type: ignore[arg-type]
        for ws in (good, broken)
    ]
    await wait_until(lambda: len(live.connections) == 2 and good.sent and broken.sent, 5)
    for n in range(3):
        live.publish({"type": "note", "n": n})
    await wait_until(lambda: len(good.sent) == 4, 5, "every message to the good client")
    assert [m["n"] for m in good.sent[1:]] == [0, 1, 2]
    await wait_until(lambda: broken.closed_with == 1001, 5, "the broken one closed")
    await wait_until(lambda: [c.websocket for c in live.connections] == [good], 5, "it left")
    await good.close(1000)
    await asyncio.gather(*served)
