"""A fleet of aiortc WHEP viewers in their own process, driven over stdin/stdout.

Run by the CPU benchmark so the viewers' own work is not charged to the server::

    python -m bench.viewer_proc --base-url http://127.0.0.1:8080 --camera demo --count 5

By default viewers do not decode: aiortc's decoder is swapped for one that hands the
reassembled encoded frame through, so each viewer costs only ICE/DTLS/SRTP and the jitter
buffer (``--decode`` decodes as a browser would, at far higher client CPU).

Protocol, one JSON object per stdout line:
  -> ``{"event": "ready", "connected": n, "errors": [...]}`` once every viewer saw a frame
  <- ``mark``   (stdin) start of the measurement window; answered ``{"event": "marked"}``
  <- ``report`` end of the window; answered ``{"event": "report", "viewers": [...]}``
  <- ``quit`` or end of input: hang up everyone and exit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import aiortc.rtcrtpreceiver
import httpx
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError

from camera.webrtc import restrict_ice_addresses
from tests.whep_client import Viewer, WhepRefused, connect, hang_up

from .auth import ENV_VAR, Credentials
from .common import LOOPBACK

FIRST_FRAME_TIMEOUT_S = 20.0


class PassThroughDecoder:
    """Stands in for aiortc's decoder: the 'frame' is the reassembled encoded frame."""

    def decode(self, encoded_frame: JitterFrame) -> list[JitterFrame]:
        return [encoded_frame]


def disable_decoding() -> None:
    """Make every receiver created from now on skip decoding (aiortc looks the name up late)."""
    setattr(aiortc.rtcrtpreceiver, "get_decoder", lambda codec: PassThroughDecoder())  # noqa: B010


@dataclass
class Counter:
    frames: int = 0
    bytes: int = 0
    first_frame: asyncio.Event = field(default_factory=asyncio.Event)
    marked: tuple[float, int, int] = (0.0, 0, 0)

    def add(self, frame: object) -> None:
        self.frames += 1
        if isinstance(frame, JitterFrame):
            self.bytes += len(frame.data)
        self.first_frame.set()

    def mark(self) -> None:
        self.marked = (time.monotonic(), self.frames, self.bytes)

    def since_mark(self) -> dict[str, float]:
        at, frames, size = self.marked
        seconds = time.monotonic() - at
        return {
            "seconds": seconds,
            "frames": self.frames - frames,
            "fps": (self.frames - frames) / seconds,
            "kbps": (self.bytes - size) * 8 / seconds / 1000,
        }


async def consume(viewer: Viewer, counter: Counter) -> None:
    track = viewer.tracks["video"]
    with contextlib.suppress(MediaStreamError):
        while True:
            counter.add(await track.recv())


class Fleet:
    def __init__(self, client: httpx.AsyncClient, camera: str) -> None:
        self._client = client
        self._camera = camera
        self.viewers: list[tuple[Viewer, Counter, asyncio.Task[None]]] = []
        self.errors: list[str] = []

    async def connect(self, count: int) -> None:
        for index in range(count):
            try:
                viewer = await connect(self._client, self._camera, audio=False)
            except (WhepRefused, httpx.HTTPError) as error:
                self.errors.append(f"viewer {index}: {error}")
                continue
            if "video" not in viewer.tracks:
                self.errors.append(f"viewer {index}: no video track")
                await hang_up(self._client, viewer)
                continue
            counter = Counter()
            task = asyncio.create_task(consume(viewer, counter), name=f"viewer-{index}")
            self.viewers.append((viewer, counter, task))

    async def wait_first_frames(self) -> None:
        waits = [c.first_frame.wait() for _, c, _ in self.viewers]
        try:
            await asyncio.wait_for(asyncio.gather(*waits), FIRST_FRAME_TIMEOUT_S)
        except TimeoutError:
            missing = sum(not c.first_frame.is_set() for _, c, _ in self.viewers)
            self.errors.append(f"{missing} viewers had no frame after {FIRST_FRAME_TIMEOUT_S}s")

    def mark(self) -> None:
        for _, counter, _ in self.viewers:
            counter.mark()

    def report(self) -> list[dict[str, float]]:
        return [counter.since_mark() for _, counter, _ in self.viewers]

    async def close(self) -> None:
        for viewer, _, task in self.viewers:
            task.cancel()
            with contextlib.suppress(httpx.HTTPError, asyncio.CancelledError):
                await hang_up(self._client, viewer)
                await task
        self.viewers.clear()


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


async def stdin_lines() -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def serve_commands(fleet: Fleet) -> None:
    reader = await stdin_lines()
    while line := (await reader.readline()).decode().strip():
        if line == "mark":
            fleet.mark()
            emit("marked")
        elif line == "report":
            emit("report", viewers=fleet.report())
        elif line == "quit":
            return


async def run(base_url: str, camera: str, count: int) -> None:
    credentials = Credentials.from_json(os.environ.get(ENV_VAR))
    async with credentials.client(base_url) as client:
        fleet = Fleet(client, camera)
        try:
            await fleet.connect(count)
            await fleet.wait_first_frames()
            emit("ready", connected=len(fleet.viewers), errors=fleet.errors)
            await serve_commands(fleet)
        finally:
            await fleet.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="aiortc WHEP viewers for the CPU benchmark")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--camera", default="demo")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--decode", action="store_true", help="decode video like a real viewer")
    args = parser.parse_args()
    restrict_ice_addresses([LOOPBACK])
    if not args.decode:
        disable_decoding()
    asyncio.run(run(args.base_url, args.camera, args.count))


if __name__ == "__main__":
    main()
