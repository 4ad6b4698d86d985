"""A stamped H.264 MPEG-TS feed over UDP, standing in for an IP camera.

Renders ``camera.demo.DemoScene`` frames (each stamped with its capture time), encodes
them with PyAV's libx264 (ultrafast, zerolatency, Baseline, keyint 60, no B-frames) and
muxes MPEG-TS to ``udp://127.0.0.1:PORT?pkt_size=1316`` at ``--fps``, paced by the wall
clock. Sentrycam reads it with ``encoder: copy``, so the stamp measures passthrough latency.

    python -m bench.feed --port 5004 --seconds 60
"""

from __future__ import annotations

import argparse
import fractions
import signal
import threading
import time

import av

from camera.demo import DemoScene

from .common import LOOPBACK

TIME_BASE = fractions.Fraction(1, 90000)


def open_output(
    port: int, width: int, height: int, fps: float, kbps: int, pes_length: bool
) -> tuple[av.container.OutputContainer, av.video.stream.VideoStream]:
    url = f"udp://{LOOPBACK}:{port}?pkt_size=1316"
    options = {"flush_packets": "1"}  # send each frame at once, not when 1316 bytes pile up
    if pes_length:
        options["omit_video_pes_length"] = "0"
    container = av.open(url, "w", format="mpegts", options=options)
    stream = container.add_stream("libx264", rate=fractions.Fraction(fps).limit_denominator(1001))
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.time_base = TIME_BASE
    context = stream.codec_context
    context.time_base = TIME_BASE  # wall-clock pts; a 1/fps time base could repeat a pts
    context.bit_rate = kbps * 1000
    context.gop_size = 60
    context.max_b_frames = 0
    context.options = {
        "preset": "ultrafast",
        "tune": "zerolatency",
        "profile": "baseline",
        "x264-params": "keyint=60:min-keyint=60:scenecut=0:bframes=0",
    }
    return container, stream


def run(args: argparse.Namespace, stop: threading.Event) -> int:
    scene = DemoScene(args.width, args.height)
    container, stream = open_output(
        args.port, args.width, args.height, args.fps, args.kbps, args.pes_length
    )
    interval = 1.0 / args.fps
    start = time.monotonic()
    frames = 0
    try:
        while not stop.is_set() and time.monotonic() - start < args.seconds:
            due = start + frames * interval
            if stop.wait(max(0.0, due - time.monotonic())):
                break
            frame = scene.video_frame(time.time())
            frame.pts = round((time.monotonic() - start) * 90000)
            frame.time_base = TIME_BASE
            container.mux(stream.encode(frame))
            frames += 1
    finally:
        container.close()
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description="stamped H.264 MPEG-TS feed on loopback UDP")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=120.0, help="stop after this long")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--kbps", type=int, default=2000)
    parser.add_argument(
        "--pes-length", action="store_true",
        help="write PES lengths so a demuxer can emit each frame without waiting for the next",
    )  # fmt: skip
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    frames = run(args, stop)
    print(f"feed: sent {frames} frames", flush=True)


if __name__ == "__main__":
    main()
