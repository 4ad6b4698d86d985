"""Synthetic camera feeds for tests: DemoScene frames, H.264 in MPEG-TS over UDP, a FIFO or
TCP (one that can stall without closing)."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from fractions import Fraction
from typing import BinaryIO

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


class StallingFeed:
    """H.264/MPEG-TS written into a byte stream (a FIFO or a TCP connection) from a thread,
    that can *stall*: stop sending while keeping the stream open, as a camera whose encoder
    hangs or a network path that silently drops everything without closing the connection.

    ``target`` is a FIFO path (opened for writing; the write blocks until the camera opens
    it, then the pipe's back-pressure paces the writer) or ``("127.0.0.1", port)``: a TCP
    listener that serves each connection at the feed's frame rate (a new connection ends
    the previous one).
    """

    def __init__(
        self, target: str | tuple[str, int], width: int = 320, height: int = 180, fps: int = 10
    ) -> None:
        self.target = target
        self.width, self.height, self.fps = width, height, fps
        self.frames_sent = 0
        self.connections = 0
        self.errors: list[Exception] = []
        self.sending = threading.Event()  # cleared: stalled (the stream stays open)
        self.sending.set()
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        if isinstance(target, tuple):
            self._listener = socket.create_server(target)
            self._listener.settimeout(0.2)
            self.url = f"tcp://{target[0]}:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._run, name="stalling-feed", daemon=True)

    def start(self) -> StallingFeed:
        self._thread.start()
        return self

    def stall(self) -> None:
        self.sending.clear()

    def resume(self) -> None:
        self.sending.set()

    def stop(self) -> None:
        self._stop.set()
        self.sending.set()
        self._thread.join(10)
        if self._listener is not None:
            self._listener.close()

    def _run(self) -> None:
        if self._listener is None:
            assert isinstance(self.target, str)
            # The camera closing its end (it stopped) ends the feed: a broken pipe, which
            # PyAV may report again as a callback error while closing its output.
            with (
                contextlib.suppress(BrokenPipeError, av.error.PyAVCallbackError),
                open(self.target, "wb") as pipe,
            ):
                self.connections += 1
                self._send(pipe, paced=False)
            return
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            try:
                with connection, connection.makefile("wb") as stream:
                    self._send(stream, paced=True, until_next=True)
            except Exception as error:  # that connection is over (the camera hung up)
                self.errors.append(error)

    def _send(self, stream: BinaryIO, paced: bool, until_next: bool = False) -> None:
        scene = DemoScene(self.width, self.height)
        with av.open(stream, "w", format="mpegts") as output:
            video = output.add_stream("libx264", rate=self.fps)
            video.width, video.height, video.pix_fmt = self.width, self.height, "yuv420p"
            video.options = {
                "preset": "ultrafast",
                "tune": "zerolatency",
                "x264-params": f"keyint={self.fps}:scenecut=0",
            }
            video.codec_context.time_base = Fraction(1, self.fps)
            due = time.monotonic()
            index = 0
            while not self._stop.is_set():
                self.sending.wait()
                if until_next and self._waiting_connection():
                    return  # the camera gave up on this connection and opened another
                frame = scene.video_frame(time.time())
                frame.pts = index
                frame.time_base = Fraction(1, self.fps)
                for packet in video.encode(frame):
                    output.mux(packet)
                stream.flush()
                index += 1
                self.frames_sent += 1
                if paced:
                    due += 1 / self.fps
                    self._stop.wait(max(0.0, due - time.monotonic()))

    def _waiting_connection(self) -> bool:
        assert self._listener is not None
        readable, _, _ = select.select([self._listener], [], [], 0)
        return bool(readable)
