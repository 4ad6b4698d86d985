"""SD-card wear and idle cost: a static scene, recording armed, nobody watching.

    .venv/bin/python -m bench.idle_writes                 # 10 minutes, one camera at 720p30
    .venv/bin/python -m bench.idle_writes --minutes 2     # a shorter look

Starts ``sentrycam serve`` (``--log-level warning``, as every benchmark) with one camera
reading a still 720p30 H.264 file (written by PyAV: a fixed picture, so motion detection
sees nothing), recording armed with its defaults (event clips: the encoders run for the pre-roll),
no viewer, no dashboard. After a minute to settle it samples, once a minute,
``write_bytes`` of ``/proc/<pid>/io`` (everything the process sent to storage: database,
recordings, snapshots), its CPU and RSS, and at the end the events begun and the log
lines written. Target: at most 1 MB written per hour. Results JSON:
``bench/results/idle-writes-<date>.json`` (and ``idle-writes-latest.json``).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from .common import RESULTS_DIR, write_results
from .procstat import _stat, memory_kb, storage_write_bytes
from .servers import sentrycam

TARGET_MB_PER_HOUR = 1.0
SETTLE_S = 60.0


def still_clip(path: Path, seconds: float = 10.0) -> Path:
    """A 720p30 H.264 + AAC-less file of one unchanging picture (gradient and shapes)."""
    width, height, fps = 1280, 720, 30
    y, x = np.mgrid[0:height, 0:width]
    picture = np.stack(
        [(x * 255 // width), (y * 255 // height), ((x + y) * 127 // (width + height))], axis=-1
    ).astype(np.uint8)
    picture[200:400, 300:600] = (200, 40, 40)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
        for index in range(int(seconds * fps)):
            frame.pts, frame.time_base = index, Fraction(1, fps)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


async def measure(workdir: Path, minutes: float) -> dict[str, Any]:
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    clip = await asyncio.to_thread(still_clip, workdir / "still.mp4")
    camera = {"id": "still", "source": str(clip), "encoder": "libx264", "audio": None}
    async with sentrycam([camera], workdir / "server", "still", {}) as server:
        await asyncio.sleep(SETTLE_S)
        pid = server.pid
        start_bytes, start_cpu, start = storage_write_bytes(pid), _stat(pid).cpu, time.monotonic()
        samples = []
        for minute in range(1, int(minutes) + 1):
            await asyncio.sleep(60)
            samples.append(
                {
                    "minute": minute,
                    "written_bytes": storage_write_bytes(pid) - start_bytes,
                    "cpu_percent": 100 * (_stat(pid).cpu - start_cpu) / (time.monotonic() - start),
                    "rss_mb": memory_kb(pid)["VmRSS"] / 1024,
                }
            )
            print(f"  minute {minute}: {samples[-1]}", flush=True)
        elapsed = time.monotonic() - start
        written = storage_write_bytes(pid) - start_bytes
        async with server.client() as client:
            events = (await client.get("/api/events?limit=100")).json().get("events", [])
        log_lines = server.process.log_tail(1000).splitlines()
    per_hour = written / elapsed * 3600 / 1e6
    return {
        "minutes": elapsed / 60,
        "written_bytes": written,
        "written_mb_per_hour": per_hour,
        "target_mb_per_hour": TARGET_MB_PER_HOUR,
        "met": per_hour <= TARGET_MB_PER_HOUR,
        "cpu_percent": samples[-1]["cpu_percent"] if samples else None,
        "rss_mb": samples[-1]["rss_mb"] if samples else None,
        "events": len(events),
        "event_kinds": sorted({f"{e['camera']}:{e['kind']}" for e in events}),
        "log_lines": log_lines,
        "samples": samples,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.idle_writes", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10)
    args = parser.parse_args()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    result = asyncio.run(measure(RESULTS_DIR / f"idle-writes-{stamp}", args.minutes))
    path = write_results(
        result, RESULTS_DIR, f"idle-writes-{stamp}.json", "idle-writes-latest.json"
    )
    print(
        f"| Written by the process, static scene, recording armed, no viewer | "
        f"{result['written_mb_per_hour']:.3f} MB/h ({result['written_bytes']} bytes in "
        f"{result['minutes']:.1f} min) | ≤ {TARGET_MB_PER_HOUR:g} MB/h | "
        f"{'yes' if result['met'] else '**no**'} |"
    )
    print(
        f"| CPU / RSS, same | {result['cpu_percent']:.1f} % of a core / "
        f"{result['rss_mb']:.0f} MB | | |\n"
        f"events: {result['events']} {result['event_kinds']}; "
        f"log lines: {len(result['log_lines'])}; results: {path}"
    )


if __name__ == "__main__":
    main()
