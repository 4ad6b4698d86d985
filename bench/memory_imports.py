"""Where the server's megabytes go before any camera runs: resident memory added by each
library as the server imports it, and by one 720p libx264 encoder.

    .venv/bin/python -m bench.memory_imports

Each line imports one more library in a fresh process (in the order ``sentrycam serve``
loads them) and prints the growth of VmRSS, anonymous and file-backed (shared library
code) parts. The totals are what ``bench.run --only memory`` sees before the cameras'
work (frames, the encoder, viewers) adds to it.
"""

from __future__ import annotations

import importlib
import sys
from fractions import Fraction

STEPS = [
    ("numpy", "numpy"),
    ("PyAV (FFmpeg)", "av"),
    ("pydantic", "pydantic"),
    ("SQLAlchemy", "sqlalchemy.orm"),
    ("FastAPI + Starlette", "fastapi"),
    ("uvicorn (uvloop, httptools, websockets)", "uvicorn.protocols.http.httptools_impl"),
    ("aiortc (+ cryptography, aioice, pylibsrtp)", "aiortc"),
    ("argon2, yaml, prometheus-client", "prometheus_client"),
    # ``api.cli`` alone leaves the app out (``serve`` imports it): 6 MB instead of 12.
    ("the rest of Sentrycam (api.app: routes, services, models)", "api.app"),
    ("OpenCV (loaded by the detectors)", "cv2"),
]


def status() -> dict[str, int]:
    found = {}
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile"):
                found[key] = int(rest.split()[0])
    return found


def encoder_720p() -> None:
    import av
    import numpy as np

    frame = av.VideoFrame.from_ndarray(np.zeros((720, 1280, 3), np.uint8), format="rgb24")
    frame = frame.reformat(format="yuv420p")
    context = av.CodecContext.create("libx264", "w")
    context.width, context.height, context.pix_fmt = 1280, 720, "yuv420p"
    context.time_base, context.framerate = Fraction(1, 90000), 30
    context.options = {"preset": "ultrafast", "tune": "zerolatency", "profile": "baseline"}
    context.open()
    for index in range(90):
        frame.pts = index * 3000
        context.encode(frame)
    encoder_720p.context = context  # type: ignore[attr-defined]  # keep it alive


def main() -> None:
    import api.logs  # noqa: F401  (sys.path sanity: run from the repository)

    before = start = status()
    print("| Step | + VmRSS | + anonymous | + file-backed | total VmRSS |\n|---|---|---|---|---|")
    print(f"| Python | | | | {start['VmRSS'] / 1024:.1f} MB |")
    for label, module in [*STEPS, ("one 720p30 libx264 encoder, 90 frames", "")]:
        if module:
            importlib.import_module(module)
        else:
            encoder_720p()
        after = status()
        delta = {key: (after[key] - before[key]) / 1024 for key in after}
        print(
            f"| {label} | {delta['VmRSS']:.1f} MB | {delta['RssAnon']:.1f} MB | "
            f"{delta['RssFile']:.1f} MB | {after['VmRSS'] / 1024:.1f} MB |"
        )
        before = after
    sys.stdout.flush()


if __name__ == "__main__":
    main()
