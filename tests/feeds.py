"""Synthetic network camera feeds for tests: DemoScene frames, H.264 in MPEG-TS over UDP."""

from __future__ import annotations

import threading
import time
from fractions import Fraction

import av

from camera.demo import DemoScene


class UdpFeed:
    """Stream H.264/MPEG-TS to ``udp://127.0.0.1:port`` from a thread until stopped."""

    def __init__(self, port: int, width: int = 640, height: int = 360, fps: int = 30) -> None:
        self.url = f"udp://127.0.0.1:{port}?pkt_size=1316"
        self.width, self.height, self.fps = width, height, fps
        self.frames_sent = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.started = threading.Event()

    def start(self) -> UdpFeed:
        self._stop.clear()
        self.started.clear()
        self._thread = threading.Thread(target=self._run, name="udp-feed", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        scene = DemoScene(self.width, self.height)
        with av.open(self.url, "w", format="mpegts") as output:
            stream = output.add_stream("libx264", rate=self.fps)
            stream.width, stream.height, stream.pix_fmt = self.width, self.height, "yuv420p"
            stream.options = {
                "preset": "ultrafast",
                "tune": "zerolatency",
                "profile": "baseline",
                "x264-params": f"keyint={self.fps}:scenecut=0",
            }
            stream.codec_context.time_base = Fraction(1, self.fps)
            interval = 1 / self.fps
            due = time.monotonic()
            index = 0
            while not self._stop.is_set():
                frame = scene.video_frame(time.time())
                frame.pts = index
                frame.time_base = Fraction(1, self.fps)
                for packet in stream.encode(frame):
                    output.mux(packet)
                index += 1
                self.frames_sent = index
                self.started.set()
                due += interval
                self._stop.wait(max(0.0, due - time.monotonic()))
