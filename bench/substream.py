"""The light stream's cost and a viewer's switch time, in one process.

    .venv/bin/python -m bench.substream [--seconds 15] [--switches 10]

A demo camera (1280x720 at 30 fps, the default light stream 640x360 at 15 fps, 300
kbit/s) runs in this process. CPU is this process's (every thread: the reader with both
encoders, the loop) over equal windows with subscribers on the main stream only, then on
both. The switch time is from ``PacketTrack.switch()`` to the first packet of the other
layer coming out of ``recv()``, the light encoder idle before each switch down (its
worst case: it opens on demand) and running before each switch up. Prints one JSON
document; nothing leaves the process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from typing import Any

from camera.camera import Camera
from camera.config import CameraConfig
from camera.substream import ENCODER_LINGER_S
from camera.tracks import PacketTrack


async def drain(track: PacketTrack, stop: asyncio.Event) -> None:
    while not stop.is_set():
        await track.recv()


async def cpu_window(seconds: float) -> dict[str, float]:
    start_cpu, start = time.process_time(), time.monotonic()
    await asyncio.sleep(seconds)
    cpu, wall = time.process_time() - start_cpu, time.monotonic() - start
    return {"cpu_percent_of_one_core": round(100 * cpu / wall, 1), "window_s": round(wall, 1)}


async def switch_once(track: PacketTrack, layer: str) -> float:
    started = time.monotonic()
    track.switch(layer)  # type: ignore[arg-type]
    while track.layer != layer:
        await track.recv()
    return (time.monotonic() - started) * 1000


async def main(seconds: float, switches: int) -> dict[str, Any]:
    config = CameraConfig(id="bench", source="demo", width=1280, height=720, fps=30)
    camera = Camera(config, asyncio.get_running_loop())
    camera.start()
    assert camera.light is not None
    try:
        await camera.latest_frame(timeout=20)  # online and delivering
        stop = asyncio.Event()
        high = PacketTrack(camera.video, 30, light=camera.light.hub)
        drainer = asyncio.create_task(drain(high, stop), name="bench-drain-high")
        await asyncio.sleep(3)  # warm up
        main_only = await cpu_window(seconds)
        low = PacketTrack(camera.video, 30, light=camera.light.hub, layer="low")
        low_drainer = asyncio.create_task(drain(low, stop), name="bench-drain-low")
        await asyncio.sleep(3)
        both = await cpu_window(seconds)
        low.stop()
        stop.set()
        drainer.cancel()
        low_drainer.cancel()
        high.stop()
        down, up = await switch_times(camera, switches)
        return {
            "camera": "demo 1280x720@30, light 640x360@15 300 kbit/s, libx264",
            "cpus": os.cpu_count(),
            "main_only": main_only,
            "main_and_light": both,
            "light_cost_percent_of_one_core": round(
                both["cpu_percent_of_one_core"] - main_only["cpu_percent_of_one_core"], 1
            ),
            "switch_down_ms": summary(down),
            "switch_up_ms": summary(up),
        }
    finally:
        await camera.stop()


async def switch_times(camera: Camera, switches: int) -> tuple[list[float], list[float]]:
    assert camera.light is not None
    track = PacketTrack(camera.video, 30, light=camera.light.hub)
    await track.recv()
    down: list[float] = []
    up: list[float] = []
    for _ in range(switches):
        # Let the light encoder go idle so each switch down pays for opening it.
        deadline = time.monotonic() + ENCODER_LINGER_S + 3
        while camera.light.encoding and time.monotonic() < deadline:
            await track.recv()
        down.append(await switch_once(track, "low"))
        for _ in range(20):
            await track.recv()
        up.append(await switch_once(track, "high"))
    track.stop()
    return down, up


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "n": len(values),
        "median": round(statistics.median(values), 1),
        "max": round(ordered[-1], 1),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--switches", type=int, default=10)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.seconds, args.switches)), indent=2))
