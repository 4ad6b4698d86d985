"""ICE consent freshness on a slow link (camera/consent.py), with real aioice connections
whose every packet passes through a UDP relay on loopback that delays it or drops it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aioice
import pytest
import pytest_asyncio
from aioice import Candidate, Connection

from camera import consent
from camera.config import WebRTCConfig
from camera.webrtc import WebRTCService, restrict_ice_addresses
from tests.waiting import wait_until

pytestmark = pytest.mark.asyncio(loop_scope="function")

ONE_WAY_S = 0.4  # a round trip of 0.8 s: longer than aioice's 0.5 s wait for an answer
INTERVAL_S = 0.2  # consent timings shrunk 25-fold for the test (5 s and 30 s in use)
EXPIRY_S = 1.2
# aioice gives each check 0.5 s and gives up after six checks in a row, every INTERVAL_S
# (±20 %): at most this long on this link. A kept link must outlive it twice.
AIOICE_GIVES_UP_S = 6 * (1.2 * INTERVAL_S + 0.5)


class Side(asyncio.DatagramProtocol):
    """One of the relay's two sockets: what it receives leaves through the other one."""

    def __init__(self, wire: Wire, deliver: Callable[[bytes], None]) -> None:
        self.wire = wire
        self.deliver = deliver
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.wire.carry(data, self.deliver)


@dataclass
class Wire:
    """A slow link between two peers: each believes the other is at the relay's socket
    facing it, so every packet (STUN checks and their answers, data) crosses the relay."""

    delay_s: float = ONE_WAY_S
    cut: bool = False
    answers: int = 0  # STUN success answers carried, either way
    sides: list[Side] = field(default_factory=list)

    def carry(self, data: bytes, deliver: Callable[[bytes], None]) -> None:
        if self.cut:
            return
        if data[:2] == b"\x01\x01":  # a STUN Binding success response
            self.answers += 1
        asyncio.get_running_loop().call_later(self.delay_s, deliver, data)

    async def join(self, a: tuple[str, int], b: tuple[str, int]) -> tuple[int, int]:
        """Open the relay between the peers at ``a`` and ``b``; returns the ports where
        ``a`` must see ``b`` and ``b`` must see ``a``."""
        loop = asyncio.get_running_loop()
        facing_a: Side | None = None
        facing_b: Side | None = None

        def to_a(data: bytes) -> None:
            assert facing_a is not None
            facing_a.transport.sendto(data, a)

        def to_b(data: bytes) -> None:
            assert facing_b is not None
            facing_b.transport.sendto(data, b)

        _, facing_a = await loop.create_datagram_endpoint(
            lambda: Side(self, to_b), local_addr=("127.0.0.1", 0)
        )
        _, facing_b = await loop.create_datagram_endpoint(
            lambda: Side(self, to_a), local_addr=("127.0.0.1", 0)
        )
        self.sides = [facing_a, facing_b]
        return (
            facing_a.transport.get_extra_info("sockname")[1],
            facing_b.transport.get_extra_info("sockname")[1],
        )

    def close(self) -> None:
        for side in self.sides:
            side.transport.close()


@dataclass
class Peers:
    a: Connection
    b: Connection
    wire: Wire
    connected_at: float
    closed: dict[str, float]  # peer name -> when its connection ended
    received: dict[str, list[bytes]]  # peer name -> data it received


def _as_seen_at(candidate: Candidate, port: int) -> Candidate:
    return Candidate(
        candidate.foundation,
        candidate.component,
        candidate.transport,
        candidate.priority,
        "127.0.0.1",
        port,
        candidate.type,
    )


async def _watch(name: str, connection: Connection, peers: Peers) -> None:
    """Read the connection until it ends (consent expired: its close() wakes recv)."""
    while True:
        try:
            peers.received[name].append(await connection.recv())
        except ConnectionError:
            peers.closed[name] = time.monotonic()
            return


@pytest_asyncio.fixture
async def peers(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Peers]:
    monkeypatch.setattr(consent, "CONSENT_INTERVAL_S", INTERVAL_S)
    monkeypatch.setattr(consent, "CONSENT_EXPIRY_S", EXPIRY_S)
    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", INTERVAL_S)  # for aioice's own
    restrict_ice_addresses(["127.0.0.1"])
    a = Connection(ice_controlling=True, components=1)
    b = Connection(ice_controlling=False, components=1)
    wire = Wire()
    watchers: list[asyncio.Task[None]] = []
    try:
        await asyncio.gather(a.gather_candidates(), b.gather_candidates())
        (a_host,) = a.local_candidates
        (b_host,) = b.local_candidates
        b_at, a_at = await wire.join((a_host.host, a_host.port), (b_host.host, b_host.port))
        await a.add_remote_candidate(_as_seen_at(b_host, b_at))
        await a.add_remote_candidate(None)
        await b.add_remote_candidate(_as_seen_at(a_host, a_at))
        await b.add_remote_candidate(None)
        a.remote_username, a.remote_password = b.local_username, b.local_password
        b.remote_username, b.remote_password = a.local_username, a.local_password
        await asyncio.wait_for(asyncio.gather(a.connect(), b.connect()), 30)
        linked = Peers(a, b, wire, time.monotonic(), {}, {"a": [], "b": []})
        watchers = [asyncio.create_task(_watch(n, c, linked)) for n, c in (("a", a), ("b", b))]
        yield linked
    finally:
        await asyncio.gather(a.close(), b.close())
        await asyncio.gather(*watchers)
        wire.close()
        restrict_ice_addresses(None)


@pytest.fixture
def rfc_consent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aioice.Connection, "query_consent", aioice.Connection.query_consent)
    consent.install()


@pytest.fixture
def aioice_consent(monkeypatch: pytest.MonkeyPatch) -> None:
    """aioice's own consent checks (another test in this process may have installed ours)."""
    monkeypatch.setattr(aioice.Connection, "query_consent", consent.AIOICE_QUERY_CONSENT)


@pytest.mark.usefixtures("rfc_consent")
async def test_a_slow_peer_that_answers_every_check_keeps_consent(peers: Peers):
    await wait_until(
        lambda: peers.closed or time.monotonic() - peers.connected_at > 2 * AIOICE_GIVES_UP_S,
        60,
        "the link to outlive aioice's consent, or to close",
    )
    assert peers.closed == {}, "a peer that answered every check was hung up"
    assert peers.wire.answers > 2 * AIOICE_GIVES_UP_S / INTERVAL_S  # checked all along
    await peers.a.send(b"still here")  # and the link still carries data
    await wait_until(lambda: peers.received["b"] == [b"still here"], 10, "the data across")


@pytest.mark.usefixtures("aioice_consent")
async def test_without_it_aioice_hangs_up_a_peer_that_answers_late(peers: Peers):
    """What consent.install() is for: aioice's own consent closes this link (so the test
    above would catch the replacement's loss, e.g. after an aioice upgrade)."""
    await wait_until(lambda: peers.closed, 2 * AIOICE_GIVES_UP_S, "aioice to give up")


@pytest.mark.usefixtures("rfc_consent")
async def test_a_peer_that_stops_answering_loses_consent(peers: Peers):
    await wait_until(lambda: peers.wire.answers >= 4, 30, "consent answered before the cut")
    peers.wire.cut = True
    cut = time.monotonic()
    await wait_until(lambda: len(peers.closed) == 2, 30, "both sides give up")
    assert min(peers.closed.values()) > cut


@pytest.mark.usefixtures("aioice_consent")
async def test_the_webrtc_service_installs_it():
    WebRTCService(WebRTCConfig())
    assert aioice.Connection.query_consent is consent.query_consent
