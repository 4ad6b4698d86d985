"""Baseline: the standard aiortc way to serve one camera to many viewers.

The same synthetic source as Sentrycam's demo camera (``camera.demo.DemoScene`` at
1280x720/30, rendered in a thread), handed to aiortc as an ``av.VideoFrame`` track and
shared through ``aiortc.contrib.media.MediaRelay``. MediaRelay shares *decoded* frames, so
every viewer's ``RTCRtpSender`` runs its own H.264 encoder (aiortc's ``H264Encoder``:
libx264, default preset, ``tune=zerolatency``, Baseline profile, 1 Mbit/s start).

It speaks the same WHEP shape as Sentrycam (``POST /api/cameras/demo/whep`` -> 201 +
Location, ``DELETE`` to hang up) and answers ``/api/health`` and ``/api/cameras`` so the
benchmark drives both servers identically. Video only.

    python -m bench.baseline_server --port 8090
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import secrets
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import av
import uvicorn
from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from fastapi import FastAPI, Request, Response

from camera.demo import DemoScene
from camera.webrtc import restrict_ice_addresses

CAMERA_ID = "demo"
VIDEO_CLOCK = 90000


class DemoThread:
    """Renders the demo scene at ``fps`` in a thread; the event loop gets the newest frame."""

    def __init__(
        self, width: int, height: int, fps: float, loop: asyncio.AbstractEventLoop
    ) -> None:
        self._scene = DemoScene(width, height)
        self._interval = 1.0 / fps
        self._loop = loop
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="baseline-demo", daemon=True)
        self.frames = 0
        self._next: asyncio.Future[av.VideoFrame] = loop.create_future()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        next_due = time.monotonic()
        while not self._stop.is_set():
            delay = next_due - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            next_due = max(next_due + self._interval, time.monotonic() - 1.0)
            frame = self._scene.video_frame(time.time())
            frame.pts = int(time.monotonic() * VIDEO_CLOCK)
            frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
            self._loop.call_soon_threadsafe(self._publish, frame)

    def _publish(self, frame: av.VideoFrame) -> None:
        self.frames += 1
        waiter, self._next = self._next, self._loop.create_future()
        waiter.set_result(frame)

    async def next_frame(self) -> av.VideoFrame:
        """The next frame rendered (event loop only)."""
        return await asyncio.shield(self._next)


class DemoTrack(MediaStreamTrack):
    """The camera as an aiortc track of decoded frames (what MediaRelay fans out)."""

    kind = "video"

    def __init__(self, source: DemoThread) -> None:
        super().__init__()
        self._source = source

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        return await self._source.next_frame()


class Baseline:
    def __init__(self, source: DemoThread) -> None:
        self.source = source
        self.relay = MediaRelay()
        self.track = DemoTrack(source)
        self.sessions: dict[str, RTCPeerConnection] = {}

    async def answer(self, offer: str) -> tuple[str, str]:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        session_id = secrets.token_urlsafe(12)
        self.sessions[session_id] = pc
        sender = pc.addTrack(self.relay.subscribe(self.track, buffered=False))
        _prefer_h264(pc, sender)
        await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        await pc.setLocalDescription(await pc.createAnswer())

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self.close(session_id)

        return session_id, pc.localDescription.sdp

    async def close(self, session_id: str) -> bool:
        pc = self.sessions.pop(session_id, None)
        if pc is None:
            return False
        await pc.close()
        return True

    async def close_all(self) -> None:
        await asyncio.gather(*(self.close(s) for s in list(self.sessions)))


def _prefer_h264(pc: RTCPeerConnection, sender: RTCRtpSender) -> None:
    # Before setRemoteDescription, or the answer keeps VP8 (docs/media-notes.md).
    transceiver = next(t for t in pc.getTransceivers() if t.sender is sender)
    codecs = RTCRtpSender.getCapabilities("video").codecs
    transceiver.setCodecPreferences([c for c in codecs if c.mimeType.lower() == "video/h264"])


def create_app(width: int, height: int, fps: float) -> FastAPI:
    state: dict[str, Baseline] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        source = DemoThread(width, height, fps, asyncio.get_running_loop())
        source.start()
        state["baseline"] = Baseline(source)
        try:
            yield
        finally:
            await state["baseline"].close_all()
            source.stop()

    app = FastAPI(lifespan=lifespan)

    @app.get("/api/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/cameras")
    async def cameras() -> dict[str, Any]:
        baseline = state["baseline"]
        status = "online" if baseline.source.frames else "starting"
        return {"cameras": [{"id": CAMERA_ID, "status": status, "viewers": len(baseline.sessions)}]}

    @app.post(f"/api/cameras/{CAMERA_ID}/whep")
    async def whep(request: Request) -> Response:
        offer = (await request.body()).decode("utf-8")
        session_id, answer = await state["baseline"].answer(offer)
        location = f"/api/cameras/{CAMERA_ID}/whep/{session_id}"
        return Response(
            answer, status_code=201, media_type="application/sdp", headers={"Location": location}
        )

    @app.delete(f"/api/cameras/{CAMERA_ID}/whep/{{session_id}}")
    async def hang_up(session_id: str) -> Response:
        found = await state["baseline"].close(session_id)
        return Response(status_code=204 if found else 404)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=float, default=30.0)
    args = parser.parse_args()
    restrict_ice_addresses([args.host])
    app = create_app(args.width, args.height, args.fps)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
