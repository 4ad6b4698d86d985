"""Forced drops of a file camera and a network camera: time to recover once the source is back.

    .venv/bin/python -m bench.source_recovery [--drops 100] [--away-max 4]

Two real cameras run in this process (a looping MP4 file and an H.264/MPEG-TS feed over
UDP on loopback), with faults injected through ``av.open`` (``tests/faults.py``): each drop
breaks the running read at once and refuses every reopen while the source is "away" (a
random 0.5 s .. ``--away-max`` s); then the source returns and the time until the camera
reports ``online`` again (its first frame delivered) is recorded. Before each drop the
camera runs for the supervisor's healthy period, so every drop is a drop of a healthy
source (the flapping case backs off on purpose; see tests/test_supervisor.py). Prints, per
camera, drops recovered and the recovery time p50 / p99 / max; the guarantee is 100 of 100
within 2 s. Both cameras run side by side: about (5 + 2.5) s per drop, so 13 minutes for 100.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import av

import camera.sources
from camera.camera import Camera
from camera.config import CameraConfig
from camera.supervisor import HEALTHY_AFTER_S
from tests.conftest import free_port
from tests.faults import SourceFaults
from tests.feeds import UdpFeed
from tests.test_file_source import write_clip

GUARANTEE_S = 2.0


class Watched:
    def __init__(self, camera: Camera) -> None:
        self.camera = camera
        self.changed = asyncio.Event()
        self.online_at = 0.0
        camera.status_listeners.append(self._status)

    def _status(self, camera: Camera) -> None:
        if camera.status == "online":
            self.online_at = time.monotonic()
        self.changed.set()

    async def until(self, status: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.camera.status != status:
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), max(0.01, deadline - time.monotonic()))


async def drops(
    name: str,
    watched: Watched,
    faults: SourceFaults,
    count: int,
    away_max: float,
    rng: random.Random,
) -> dict[str, Any]:
    recoveries: list[float] = []
    failures = 0
    for _ in range(count):
        await watched.until("online", 30)
        await asyncio.sleep(HEALTHY_AFTER_S + 0.3)  # a healthy source, then it drops
        faults.drop()
        await watched.until("offline", 30)
        await asyncio.sleep(rng.uniform(0.5, away_max))
        returned = time.monotonic()
        faults.restore()
        try:
            await watched.until("online", 30)
        except TimeoutError:
            failures += 1
            continue
        recoveries.append(watched.online_at - returned)
    recoveries.sort()
    within = sum(r <= GUARANTEE_S for r in recoveries)
    return {
        "camera": name,
        "drops": count,
        "recovered": len(recoveries),
        "within_2s": within,
        "p50_s": round(statistics.median(recoveries), 3) if recoveries else None,
        "p99_s": round(recoveries[max(0, int(len(recoveries) * 0.99) - 1)], 3)
        if recoveries
        else None,
        "max_s": round(recoveries[-1], 3) if recoveries else None,
        "failures": failures,
    }


async def main_async(count: int, away_max: float) -> list[dict[str, Any]]:
    loop = asyncio.get_running_loop()
    rng = random.Random(14)
    with tempfile.TemporaryDirectory() as tmp:
        clip = write_clip(Path(tmp) / "porch.mp4", seconds=2)
        port = free_port(socket.SOCK_DGRAM)
        feed = UdpFeed(port, width=320, height=180, fps=15).start()
        url = f"udp://127.0.0.1:{port}"
        faults = {"file": SourceFaults(str(clip)), "network": SourceFaults(url)}
        real_open = av.open

        def faulty_open(target: Any, *args: Any, **kwargs: Any) -> Any:
            for fault in faults.values():
                if isinstance(target, str) and fault._match in target:
                    return fault._open(target, *args, **kwargs)
            return real_open(target, *args, **kwargs)

        camera.sources.av.open = faulty_open  # type: ignore[assignment]
        common = {
            "width": 320,
            "height": 180,
            "fps": 15,
            "motion": {"enabled": False},
            "health": {"frozen_seconds": 0, "tamper": False},
        }
        cameras = {
            "file": Camera(CameraConfig(id="file", source=str(clip), **common), loop),
            "network": Camera(CameraConfig(id="network", source=url, **common), loop),
        }
        try:
            watched = {name: Watched(cam) for name, cam in cameras.items()}
            for cam in cameras.values():
                cam.start()
            return list(
                await asyncio.gather(
                    *(drops(n, watched[n], faults[n], count, away_max, rng) for n in cameras)
                )
            )
        finally:
            for cam in cameras.values():
                await cam.stop()
            camera.sources.av.open = real_open  # type: ignore[assignment]
            feed.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drops", type=int, default=100)
    parser.add_argument("--away-max", type=float, default=4.0)
    args = parser.parse_args()
    rows = asyncio.run(main_async(args.drops, args.away_max))
    print("| camera | drops | recovered | within 2 s | p50 s | p99 s | max s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['camera']} | {row['drops']} | {row['recovered']} | {row['within_2s']} "
            f"| {row['p50_s']} | {row['p99_s']} | {row['max_s']} |"
        )
    Path("bench/results").mkdir(parents=True, exist_ok=True)
    Path("bench/results/source_recovery.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
