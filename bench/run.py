"""Run the Sentrycam benchmarks and print a Markdown table (see bench/README.md).

.venv/bin/python -m bench.run                 # everything, about 4 minutes
.venv/bin/python -m bench.run --quick         # shorter windows, about 2 minutes
.venv/bin/python -m bench.run --only latency-demo,first-frame
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import logging
import platform
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: bench/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "bench"

from bench import cpu, first_frame, latency, report
from bench.common import (
    LOOPBACK,
    PYTHON,
    add_common_options,
    chosen,
    free_port,
    run_meta,
    server_env,
    setup_logging,
    write_results,
)
from bench.procstat import memory_kb
from bench.servers import ManagedProcess, Server, baseline, sentrycam, spawn

logger = logging.getLogger("bench")

PARTS = ("latency-demo", "latency-copy", "memory", "cpu", "baseline", "first-frame")
VIEWER_COUNTS = [1, 5, 10]
MEMORY_VIEWERS = 4


@dataclass(frozen=True)
class Plan:
    latency_s: float
    latency_settle_s: float
    cpu: cpu.Timing
    rss_settle_s: float
    first_frame_tries: int


FULL = Plan(20.0, 4.0, cpu.Timing(warmup_s=5.0, window_s=15.0, idle_s=5.0), 10.0, 10)
QUICK = Plan(8.0, 2.0, cpu.Timing(warmup_s=2.0, window_s=5.0, idle_s=3.0), 4.0, 4)


@dataclass
class Context:
    plan: Plan
    parts: set[str]
    workdir: Path
    page: latency.PageMode
    feed_pes_length: bool
    server_env: dict[str, str]
    results: dict[str, Any]

    def wants(self, *parts: str) -> bool:
        return any(p in self.parts for p in parts)

    def fail(self, name: str, error: BaseException) -> None:
        logger.error("%s failed: %r", name, error, exc_info=error)
        self.results.setdefault("errors", []).append(f"{name}: {error!r}")

    async def step(self, name: str, action: Awaitable[Any], *path: str) -> None:
        """Run one measurement; store its result under ``path`` or record its failure."""
        logger.info("%s ...", name)
        started = time.monotonic()
        try:
            value = await action
        except Exception as error:  # one broken part must not lose the others
            self.fail(name, error)
            return
        node = self.results
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
        logger.info("%s: done in %.0fs", name, time.monotonic() - started)


DEMO_CAMERA = {"id": "demo", "source": "demo", "encoder": "libx264"}


async def measure_latency(ctx: Context, server: Server, camera: str) -> dict[str, Any]:
    plan = ctx.plan
    target = latency.Target(server.base_url, server.credentials, camera, server.pid)
    return await latency.chromium_latency(target, plan.latency_s, plan.latency_settle_s, ctx.page)


async def measure_cpu(ctx: Context, server: Server, name: str) -> dict[str, Any]:
    points = await cpu.cpu_scaling(server, VIEWER_COUNTS, ctx.plan.cpu, ctx.workdir, name)
    return cpu.summarize(points)


async def sentrycam_demo_parts(ctx: Context) -> None:
    plan = ctx.plan
    async with sentrycam([DEMO_CAMERA], ctx.workdir / "demo", "demo", ctx.server_env) as server:
        # Memory first, on a fresh server: RSS grows (and plateaus) after viewer sessions.
        if ctx.wants("memory"):
            rss = cpu.rss_with_viewers(server, MEMORY_VIEWERS, plan.rss_settle_s, ctx.workdir)
            await ctx.step("memory, 4 viewers", rss, "memory")
        if ctx.wants("latency-demo"):
            latency_demo = measure_latency(ctx, server, "demo")
            await ctx.step("latency, demo source", latency_demo, "latency", "demo")
        if ctx.wants("cpu"):
            scaling = measure_cpu(ctx, server, "sentrycam")
            await ctx.step("cpu, sentrycam", scaling, "cpu", "sentrycam")
        if ctx.wants("first-frame"):
            tries = first_frame.first_frame(server, plan.first_frame_tries, ctx.workdir)
            await ctx.step("first frame", tries, "first_frame")
        if "memory" in ctx.results:
            ctx.results["memory"]["after_all_parts_mb"] = cpu.megabytes(memory_kb(server.pid))


@contextlib.asynccontextmanager
async def stamped_feed(ctx: Context, port: int) -> AsyncIterator[ManagedProcess]:
    seconds = ctx.plan.latency_s + ctx.plan.latency_settle_s + 90
    argv = [PYTHON, "-m", "bench.feed", "--port", str(port), "--seconds", f"{seconds:g}"]
    feed = spawn("feed", argv + (["--pes-length"] if ctx.feed_pes_length else []), ctx.workdir)
    try:
        yield feed
    finally:
        await feed.stop()


async def copy_parts(ctx: Context) -> None:
    port = free_port(socket.SOCK_DGRAM)
    source = f"udp://{LOOPBACK}:{port}?timeout=5000000"
    camera = {"id": "feed", "source": source, "encoder": "copy"}
    copy_server = sentrycam([camera], ctx.workdir / "copy", "feed", ctx.server_env)
    async with stamped_feed(ctx, port), copy_server as server:
        latency_copy = measure_latency(ctx, server, "feed")
        await ctx.step("latency, H.264 copy feed", latency_copy, "latency", "copy")


async def baseline_parts(ctx: Context) -> None:
    async with baseline(ctx.workdir / "baseline", ctx.server_env) as server:
        scaling = measure_cpu(ctx, server, "baseline")
        await ctx.step("cpu, aiortc baseline", scaling, "cpu", "baseline")


GROUPS: list[tuple[tuple[str, ...], Callable[[Context], Awaitable[None]]]] = [
    (("latency-demo", "memory", "cpu", "first-frame"), sentrycam_demo_parts),
    (("latency-copy",), copy_parts),
    (("baseline",), baseline_parts),
]


async def run(ctx: Context) -> None:
    for parts, runner in GROUPS:
        if ctx.wants(*parts):
            try:
                await runner(ctx)
            except Exception as error:  # e.g. a server that never came up
                ctx.fail(runner.__name__, error)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short windows, few tries (smoke)")
    parser.add_argument("--only", help=f"comma-separated parts: {','.join(PARTS)}")
    parser.add_argument("--skip", help="comma-separated parts to leave out")
    parser.add_argument(
        "--page",
        choices=["auto", "dashboard", "bench-page"],
        default="auto",
        help="latency page: the dashboard, falling back to bench/page.html (auto)",
    )
    parser.add_argument(
        "--feed-pes-length",
        action="store_true",
        help="the MPEG-TS feed writes PES lengths (lets a demuxer emit each frame early)",
    )
    add_common_options(parser)
    return parser.parse_args(argv)


def chosen_parts(args: argparse.Namespace) -> set[str]:
    parts = set(chosen(args.only, PARTS, "parts"))
    return parts - (set(args.skip.split(",")) if args.skip else set())


def versions() -> dict[str, str]:
    import aiortc
    import av

    return {"python": platform.python_version(), "aiortc": aiortc.__version__, "av": av.__version__}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(args.verbose)
    plan = QUICK if args.quick else FULL
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    workdir = args.output / f"run-{stamp}"
    workdir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "meta": {
            **run_meta(args.quick),
            "versions": versions(),
            "timing": asdict(plan.cpu),
            "plan": asdict(plan),
            "viewer_counts": VIEWER_COUNTS,
            "workdir": str(workdir),
        }
    }
    results["meta"]["server_env"] = server_env(args)
    parts = chosen_parts(args)
    env = results["meta"]["server_env"]
    ctx = Context(plan, parts, workdir, args.page, args.feed_pes_length, env, results)
    started = time.monotonic()
    asyncio.run(run(ctx))
    results["meta"]["duration_s"] = round(time.monotonic() - started, 1)
    results["verdicts"] = report.verdicts(results)
    path = write_results(results, args.output, f"bench-{stamp}.json", "latest.json")
    print(report.markdown(results))
    print(f"\nresults: {path} (logs in {workdir})")
    return 1 if results.get("errors") else 0


if __name__ == "__main__":
    sys.exit(main())
