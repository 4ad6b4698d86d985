"""ICE consent freshness on a slow link (camera/consent.py), with real aioice connections
whose every packet passes through a UDP relay on loopback that delays it or drops it."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aioice
import pytest
import pytest_asyncio
from aioice import Candidate, Connection
from aiortc import RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from camera import consent
from camera.config import WebRTCConfig
from camera.webrtc import WebRTCService, restrict_ice_addresses
from tests.conftest import demo_config
from tests.waiting import wait_until
from tests.whep_client import connect, hang_up, make_offer

pytestmark = pytest.mark.asyncio(loop_scope="function")

ONE_WAY_S = 0.4  # a round trip of 0.8 s: longer than aioice's 0.5 s wait for an answer
INTERVAL_S = 0.2  # consent timings shrunk 25-fold for the test (5 s and 30 s in use)
EXPIRY_S = 1.2
# aioice gives each check 0.5 s and gives up after six checks in a row, every INTERVAL_S
# (±20 %): at most this long on this link. A kept link must outlive it twice.
AIOICE_GIVES_UP_S = 6 * (1.2 * INTERVAL_S + 0.5)


class Side(asyncio.DatagramProtocol):
    """One of the relay's two sockets: what it receives leaves through the other one."""

    def __init__(self, wire: Wire, to: str) -> None:
        self.wire = wire
        self.to = to  # the peer ("a" or "b") that what arrives here is for
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.wire.carry(data, self.to)


@dataclass
class Wire:
    """A slow link between peers ``a`` and ``b``: each believes the other is at the
    relay's socket facing it, so every packet (STUN checks and their answers, DTLS, media)
    crosses the relay, which delays it or, once cut, drops it."""

    delay_s: float = ONE_WAY_S
    cut: bool = False
    answers: int = 0  # STUN success answers carried, either way
    peers: dict[str, tuple[str, int]] = field(default_factory=dict)  # once known
    facing: dict[str, Side] = field(default_factory=dict)  # peer -> the socket it talks to

    def carry(self, data: bytes, to: str) -> None:
        address = self.peers.get(to)
        if self.cut or address is None:
            return
        if data[:2] == b"\x01\x01":  # a STUN Binding success response
            self.answers += 1
        send = self.facing[to].transport.sendto
        asyncio.get_running_loop().call_later(self.delay_s, send, data, address)

    async def open(self) -> tuple[int, int]:
        """The ports where ``a`` must see ``b`` and ``b`` must see ``a``."""
        loop = asyncio.get_running_loop()
        for peer, other in (("a", "b"), ("b", "a")):
            _, self.facing[peer] = await loop.create_datagram_endpoint(
                lambda other=other: Side(self, other), local_addr=("127.0.0.1", 0)
            )
        return self.port("a"), self.port("b")

    def port(self, peer: str) -> int:
        port: int = self.facing[peer].transport.get_extra_info("sockname")[1]
        return port

    def close(self) -> None:
        for side in self.facing.values():
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


def shrink_consent_timings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(consent, "CONSENT_INTERVAL_S", INTERVAL_S)
    monkeypatch.setattr(consent, "CONSENT_EXPIRY_S", EXPIRY_S)
    monkeypatch.setattr(consent, "CHECK_RETRANSMISSIONS", 1)  # unanswered after 1.5 s


@pytest_asyncio.fixture
async def peers(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Peers]:
    shrink_consent_timings(monkeypatch)
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
        b_at, a_at = await wire.open()
        wire.peers = {"a": (a_host.host, a_host.port), "b": (b_host.host, b_host.port)}
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


@pytest.mark.usefixtures("rfc_consent")
async def test_a_stalled_process_does_not_end_consent_by_itself(peers: Peers):
    """A process that could not run (a loaded Pi, the emulated guest: 30 s once, stop 22)
    has sent no checks meanwhile: it checks again before giving up on its peer."""
    await wait_until(lambda: peers.wire.answers >= 4, 30, "consent answered before the stall")
    time.sleep(3 * EXPIRY_S)  # noqa: ASYNC251 (the fault itself: this event loop stands still)
    stalled = time.monotonic()
    await wait_until(
        lambda: peers.closed or time.monotonic() - stalled > 3 * EXPIRY_S,
        60,
        "the link to outlive the expiry again, or to close",
    )
    assert peers.closed == {}, "a stall alone ended consent"
    await peers.b.send(b"still here")
    await wait_until(lambda: peers.received["a"] == [b"still here"], 10, "the data across")


@pytest.mark.usefixtures("aioice_consent")
async def test_the_webrtc_service_installs_it():
    WebRTCService(WebRTCConfig())
    assert aioice.Connection.query_consent is consent.query_consent


def _through_relay(sdp: str, port: int) -> tuple[str, tuple[str, int]]:
    """The SDP with its one host candidate moved to the relay's ``port``, and the peer's
    real address."""
    found = re.findall(r"^a=candidate:\S+ 1 udp \d+ (\S+) (\d+) typ host", sdp, re.MULTILINE)
    assert len(found) == 1, sdp
    host, real = found[0]
    moved = re.sub(rf" {host} {real} typ host", f" {host} {port} typ host", sdp)
    return moved, (host, int(real))


async def test_a_viewer_that_vanishes_is_hung_up_and_its_place_freed(start_server, monkeypatch):
    """A phone that leaves without hanging up (out of range, battery) stops answering: the
    server ends its session once consent expires, and its place under the viewer cap is
    free for the next viewer."""
    shrink_consent_timings(monkeypatch)
    config = demo_config(audio=None)
    config["webrtc"]["max_viewers"] = 1
    server = await start_server(config)
    webrtc = server.services.webrtc
    wire = Wire(delay_s=0.0)
    pc = await make_offer(audio=False)
    try:
        viewer_sees_server_at, server_sees_viewer_at = await wire.open()
        offer, wire.peers["a"] = _through_relay(pc.localDescription.sdp, server_sees_viewer_at)
        answered = await server.client.post(
            "/api/cameras/demo/whep", content=offer, headers={"Content-Type": "application/sdp"}
        )
        assert answered.status_code == 201, answered.text
        answer, wire.peers["b"] = _through_relay(answered.text, viewer_sees_server_at)
        frames = asyncio.Queue[Any]()
        pc.on("track", lambda track: asyncio.ensure_future(_read(track, frames)))
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        await asyncio.wait_for(frames.get(), 30)  # watching, through the relay
        assert webrtc.viewers("demo") == 1

        wire.cut = True  # gone, without a word
        await wait_until(lambda: webrtc.viewers("demo") == 0, 30, "the server to hang up")
        other = await connect(server.client, "demo", audio=False)  # the freed place
        await other.next_video_frame(timeout=30)
        await hang_up(server.client, other)
    finally:
        await pc.close()
        wire.close()


async def _read(track: Any, frames: asyncio.Queue[Any]) -> None:
    with contextlib.suppress(MediaStreamError):
        while True:
            frames.put_nowait(await track.recv())
