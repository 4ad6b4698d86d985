"""The "one viewer" of a server under test: video in the fleet process, audio-only peer here."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from aiortc.mediastreams import MediaStreamError

from bench.servers import Server
from bench.viewers import FleetProcess, viewer_fleet
from tests.whep_client import Viewer, connect, hang_up

from .plan import CAMERA

READY_TIMEOUT_S = 20.0
HANG_UP_TIMEOUT_S = 5.0


@dataclass
class AudioListener:
    """An audio-only WebRTC peer, so the server's Opus encoder runs as for a dashboard."""

    viewer: Viewer | None = None
    frames: int = 0
    first: asyncio.Event = field(default_factory=asyncio.Event)

    async def consume(self) -> None:
        assert self.viewer is not None
        track = self.viewer.tracks["audio"]
        with contextlib.suppress(MediaStreamError):
            while True:
                await track.recv()
                self.frames += 1
                self.first.set()


@contextlib.asynccontextmanager
async def audio_listener(server: Server) -> AsyncIterator[AudioListener]:
    listener = AudioListener()
    async with server.client() as client:
        viewer = await asyncio.wait_for(
            connect(client, CAMERA, video=False, audio=True), READY_TIMEOUT_S
        )
        listener.viewer = viewer
        task = asyncio.create_task(listener.consume(), name="audio-listener")
        try:
            if "audio" not in viewer.tracks:
                raise RuntimeError("the audio-only peer got no audio track")
            await asyncio.wait_for(listener.first.wait(), READY_TIMEOUT_S)
            yield listener
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            with contextlib.suppress(httpx.HTTPError, TimeoutError):
                await asyncio.wait_for(hang_up(client, viewer), HANG_UP_TIMEOUT_S)


@dataclass
class Viewing:
    fleet: FleetProcess
    audio: AudioListener | None


@contextlib.asynccontextmanager
async def one_viewer(server: Server, workdir: Path, with_audio: bool) -> AsyncIterator[Viewing]:
    async with viewer_fleet(server, 1, workdir / "viewer.log") as fleet:
        ready = await fleet.ready()
        if ready["connected"] != 1:
            raise RuntimeError(f"the viewer did not connect: {ready['errors']}")
        if not with_audio:
            yield Viewing(fleet, None)
            return
        async with audio_listener(server) as audio:
            yield Viewing(fleet, audio)
