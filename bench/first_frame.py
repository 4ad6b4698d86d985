"""Time from the WHEP POST to the first decoded video frame, fresh aiortc peer each try."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import av
import httpx
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from camera.webrtc import restrict_ice_addresses
from tests.whep_client import make_offer

from .common import LOOPBACK, median, percentile
from .servers import Server, wait_viewer_count
from .stamps import frame_latency_ms
from .viewers import viewer_fleet

FRAME_TIMEOUT_S = 10.0
PAUSE_S = 0.5


@dataclass
class Try:
    answer_ms: float  # POST -> 201 with the answer
    connected_ms: float | None  # POST -> ICE + DTLS connected
    first_frame_ms: float  # POST -> first decoded frame
    first_frame_age_ms: int | None  # how old the picture was (its capture stamp)


async def one_try(client: httpx.AsyncClient, camera: str) -> Try:
    pc = await make_offer(video=True, audio=False)  # offer and ICE gathering: not timed
    track: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()
    connected: list[float] = []
    pc.on("track", lambda received: _resolve(track, received))
    pc.on("connectionstatechange", lambda: _note_connected(pc, connected))
    location: str | None = None
    try:
        start = time.monotonic()
        response = await client.post(
            f"/api/cameras/{camera}/whep",
            content=pc.localDescription.sdp,
            headers={"Content-Type": "application/sdp"},
        )
        answered = time.monotonic()
        response.raise_for_status()
        location = response.headers["location"]
        await pc.setRemoteDescription(RTCSessionDescription(response.text, "answer"))
        frame = await asyncio.wait_for((await track).recv(), FRAME_TIMEOUT_S)
        done = time.monotonic()
        assert isinstance(frame, av.VideoFrame)
        return Try(
            answer_ms=1000 * (answered - start),
            connected_ms=1000 * (connected[0] - start) if connected else None,
            first_frame_ms=1000 * (done - start),
            first_frame_age_ms=frame_latency_ms(frame),
        )
    finally:
        await _hang_up(client, pc, location)


def _resolve(future: asyncio.Future[MediaStreamTrack], track: MediaStreamTrack) -> None:
    if not future.done():
        future.set_result(track)


def _note_connected(pc: RTCPeerConnection, connected: list[float]) -> None:
    if pc.connectionState == "connected" and not connected:
        connected.append(time.monotonic())


async def _hang_up(client: httpx.AsyncClient, pc: RTCPeerConnection, location: str | None) -> None:
    if location:
        with contextlib.suppress(httpx.HTTPError):
            await client.delete(location)
    for receiver in pc.getReceivers():
        with contextlib.suppress(MediaStreamError):
            receiver.track.stop()
    await pc.close()


async def series(server: Server, tries: int, others: int) -> list[Try]:
    results = []
    async with server.client() as client:
        for _ in range(tries):
            await wait_viewer_count(server, others)
            results.append(await one_try(client, "demo"))
            await asyncio.sleep(PAUSE_S)
    return results


def summary(tries: list[Try]) -> dict[str, Any]:
    frames = [t.first_frame_ms for t in tries]
    return {
        "median_ms": median(frames),
        "p95_ms": percentile(frames, 95),
        "max_ms": max(frames),
        "answer_median_ms": median([t.answer_ms for t in tries]),
        "connected_median_ms": median([t.connected_ms for t in tries if t.connected_ms]),
        "first_frame_age_median_ms": median(
            [t.first_frame_age_ms for t in tries if t.first_frame_age_ms is not None]
        ),
        "tries": [asdict(t) for t in tries],
    }


async def first_frame(server: Server, tries: int, workdir: Path) -> dict[str, Any]:
    """Cold: nobody else watching (the encoder starts). Warm: one viewer already watching."""
    restrict_ice_addresses([LOOPBACK])
    cold = await series(server, tries, others=0)
    async with viewer_fleet(server, 1, workdir / "viewers-first-frame.log") as fleet:
        await fleet.ready()
        warm = await series(server, tries, others=1)
    return {"cold": summary(cold), "warm": summary(warm)}
