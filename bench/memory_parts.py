"""Where a running server's megabytes go: RSS of ``sentrycam serve`` with one part of the
camera pipeline added at a time, each in a fresh server (the complement of
``bench.memory_imports``, which covers the libraries).

    .venv/bin/python -m bench.memory_parts [--settle 10]

Steps: a camera whose source never opens (the server, its imports and its threads, no
frames); the 720p30 demo camera running with no encoder and no detectors; plus its
libx264 encoder (kept on when recording is armed, for the pre-roll); plus the picture
health detectors (they load OpenCV); plus motion detection (the default camera, as
``bench.run --only memory`` runs it); plus 4 WHEP viewers. Each figure is VmRSS after
``--settle`` seconds; the differences are what each part costs. One run each: on a shared
machine expect a few MB of spread.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import logging
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from .common import add_common_options, server_env, setup_logging
from .procstat import memory_kb
from .servers import (
    Server,
    running_server,
    sentrycam_argv,
    sentrycam_config,
    start_server,
    wait_healthy,
)
from .viewers import viewer_fleet

logger = logging.getLogger("bench.memory_parts")

VIEWERS = 4
NO_DETECTORS = {"motion": {"enabled": False}, "health": {"frozen_seconds": 0, "tamper": False}}
NO_ENCODER = {"recording": {"events": False}}  # nobody watches: the encoder sleeps
DEMO = {"id": "demo", "source": "demo", "encoder": "libx264"}

# (label, camera, viewers)
STEPS: list[tuple[str, dict[str, Any], int]] = [
    ("server, camera offline (no frames)", {"id": "demo", "source": "/nonexistent.mp4"}, 0),
    ("demo camera 720p30, no encoder, no detectors", DEMO | NO_DETECTORS | NO_ENCODER, 0),
    ("+ libx264 encoder (recording armed)", DEMO | NO_DETECTORS, 0),
    ("+ picture health detectors (OpenCV)", DEMO | {"motion": {"enabled": False}}, 0),
    ("+ motion detection (the default camera)", DEMO, 0),
    (f"+ {VIEWERS} WHEP viewers", DEMO, VIEWERS),
]


@contextlib.asynccontextmanager
async def server_for(
    camera: dict[str, Any], workdir: Path, env: dict[str, str]
) -> AsyncIterator[Server]:
    argv = functools.partial(sentrycam_argv, sentrycam_config([camera]), workdir)
    if not camera["source"].startswith("/"):
        async with running_server("sentrycam", argv, workdir, camera["id"], env) as server:
            yield server
        return
    server = start_server("sentrycam", argv, workdir, env)  # never online: health only
    try:
        await wait_healthy(server)
        yield server
    finally:
        await server.process.stop()


async def measure(
    camera: dict[str, Any], viewers: int, settle: float, workdir: Path, env: dict[str, str]
) -> dict[str, float]:
    async with server_for(camera, workdir, env) as server:
        if viewers:
            async with viewer_fleet(server, viewers, workdir / "viewers.log") as fleet:
                await fleet.ready()
                await asyncio.sleep(settle)
                found = memory_kb(server.pid)
        else:
            await asyncio.sleep(settle)
            found = memory_kb(server.pid)
    return {key: value / 1024 for key, value in found.items()}


async def run(args: argparse.Namespace) -> None:
    workdir = args.output / f"memory-parts-{time.strftime('%Y%m%d-%H%M%S')}"
    print("| Step | VmRSS | anonymous | file-backed | + VmRSS |\n|---|---|---|---|---|")
    before: float | None = None
    for index, (label, camera, viewers) in enumerate(STEPS):
        rss = await measure(camera, viewers, args.settle, workdir / str(index), server_env(args))
        added = "" if before is None else f"{rss['VmRSS'] - before:+.1f} MB"
        print(
            f"| {label} | {rss['VmRSS']:.1f} MB | {rss['RssAnon']:.1f} MB | "
            f"{rss['RssFile']:.1f} MB | {added} |",
            flush=True,
        )
        before = rss["VmRSS"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory_parts", description=__doc__)
    parser.add_argument("--settle", type=float, default=10.0, help="seconds before reading")
    add_common_options(parser)
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
