"""One pair: a recording mode beside a recording-off server, started together and measured
in the same windows, once per start order; the orders combined into the pair's figures."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.servers import sentrycam, servers_together, wait_viewer_count

from .checks import check_recordings, log_problems, message_counts
from .clips import clip_samples, mark_settled, summarize_clips
from .live import live_log
from .plan import CAMERA, MODES, OFF, POST_ROLL_S, Mode, Pair, Plan, camera_config
from .viewer import one_viewer
from .window import Side, difference, measure, standard_error

logger = logging.getLogger(__name__)


@dataclass
class Context:
    plan: Plan
    workdir: Path
    server_env: dict[str, str]
    audio: bool
    results: dict[str, Any]


@dataclass
class OrderRun:
    """One start order of a pair and what its two servers measured."""

    pair: Pair
    swapped: bool  # the mode's server is started first (slot 0), else recording off is
    sides: list[Side] = field(default_factory=list)
    outs: list[dict[str, Any]] = field(default_factory=lambda: [{}, {}])  # by slot
    differences: dict[str, Any] = field(default_factory=dict)  # by window: idle, viewer
    clips: dict[str, Any] | None = None

    @property
    def order(self) -> str:
        return "swapped" if self.swapped else "first"

    @property
    def modes(self) -> list[Mode]:
        mode = MODES[self.pair.mode]
        return [mode, OFF] if self.swapped else [OFF, mode]

    @property
    def base(self) -> int:
        """The recording-off server's slot."""
        return 1 if self.swapped else 0

    @property
    def test(self) -> int:
        return 0 if self.swapped else 1

    async def window(self, key: str, seconds: float) -> None:
        windows = await measure(self.sides, seconds)
        for out, window in zip(self.outs, windows, strict=True):
            out[key] = window.as_dict()
        self.differences[key] = difference(windows[self.base], windows[self.test])

    def result(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "order": self.order,
            "slots": [m.key for m in self.modes],
            "difference": self.differences,
            "base": self.outs[self.base],
            "test": self.outs[self.test],
        }
        if self.clips is not None:
            found["clip_samples"] = self.clips
        return found


async def run_order(ctx: Context, pair: Pair, swapped: bool) -> dict[str, Any]:
    """Recording off and the pair's mode side by side, in one start order."""
    run = OrderRun(pair, swapped)
    dirs = [
        ctx.workdir / pair.key / run.order / f"{slot}-{mode.key}"
        for slot, mode in enumerate(run.modes)
    ]
    managers = [
        sentrycam([camera_config(mode.recording)], workdir, CAMERA, ctx.server_env)
        for mode, workdir in zip(run.modes, dirs, strict=True)
    ]
    async with servers_together(managers) as servers:
        online_at = time.time()
        async with live_log(servers[0]) as live_0, live_log(servers[1]) as live_1:
            run.sides = [
                Side(run.modes[0], servers[0], dirs[0], live_0),
                Side(run.modes[1], servers[1], dirs[1], live_1),
            ]
            if pair.idle and not swapped:
                await asyncio.sleep(ctx.plan.settle_s)
                logger.info("%s: no viewers, %.0f s window", pair.key, ctx.plan.window_s)
                await run.window("idle", ctx.plan.window_s)
            await _viewer_window(ctx, run, online_at)
            if pair.mode == "events":
                await _time_clips(ctx.plan, run, online_at)
            for side, out in zip(run.sides, run.outs, strict=True):
                if side.live.error:
                    out["live_error"] = side.live.error
                side.live.save(side.workdir / "live.jsonl")
                out["messages"] = message_counts(side.live)
        for side, out in zip(run.sides, run.outs, strict=True):
            out["check"] = await check_recordings(side.server, side.recordings)
    for server, out in zip(servers, run.outs, strict=True):
        out["server_log_problems"] = log_problems(server.process.log_path)[:20]
    return run.result()


async def _viewer_window(ctx: Context, run: OrderRun, online_at: float) -> None:
    """One viewer joins each server, then a window; the viewers leave after it."""
    plan = ctx.plan
    for side in run.sides:
        await wait_viewer_count(side.server, 0)
    async with contextlib.AsyncExitStack() as viewers:
        for side in run.sides:
            side.viewing = await viewers.enter_async_context(
                one_viewer(side.server, side.workdir, ctx.audio)
            )
        left = plan.settle_s - (time.time() - online_at)
        await asyncio.sleep(max(plan.warmup_s, left))
        logger.info(
            "%s (%s order): one viewer each, %.0f s window", run.pair.key, run.order, plan.window_s
        )
        await run.window("viewer", plan.window_s)
        for side in run.sides:
            side.viewing = None


async def _time_clips(plan: Plan, run: OrderRun, online_at: float) -> None:
    """The event-clip server's clips, timed against their post-rolls; in the first order
    it runs on (bounded) until enough clips have closed."""
    live = run.sides[run.test].live
    if not run.swapped:
        logger.info("%s: waiting for %d clips to close", run.pair.key, plan.clips)

        def enough() -> bool:
            return len(clip_samples(live.messages, POST_ROLL_S)[0]) >= plan.clips

        await live.wait_until(enough, plan.clips_deadline_s)
    samples, skipped = clip_samples(live.messages, POST_ROLL_S)
    mark_settled(samples, online_at)
    run.clips = {"samples": samples, "skipped": skipped}


def _merge(changes: list[dict[str, Any]], orders: list[str]) -> dict[str, Any]:
    """The mean of the orders' differences; the standard error over all their parts."""
    parts = [x for change in changes for x in change["parts"]]
    return {
        "cpu": statistics.fmean(change["cpu"] for change in changes),
        "parts": parts,
        "error": standard_error(parts),
        "by_order": {order: change["cpu"] for order, change in zip(orders, changes, strict=True)},
    }


def _mean_window(windows: list[dict[str, Any]]) -> dict[str, Any]:
    """Windows of the orders averaged (CPU, bytes) or summed (files)."""

    def mean(key: str) -> float:
        return statistics.fmean(w[key] for w in windows)

    return {
        "viewers": windows[0]["viewers"],
        "server_cpu": mean("server_cpu"),
        "recorded_mb_per_hour": mean("recorded_mb_per_hour"),
        "storage_mb_per_hour": mean("storage_mb_per_hour"),
        "loop_cpu": mean("loop_cpu"),
        "rest_cpu": mean("rest_cpu"),
        "files_closed": sum(w["files_closed"] for w in windows),
        "viewer_fps": min((w["viewer_fps"] for w in windows if w["viewer_fps"]), default=None),
        "disturbed": any(w["disturbed"] for w in windows),
    }


def combine(pair: Pair, orders: list[dict[str, Any]]) -> dict[str, Any]:
    """One figure per pair: the mean of the orders' differences, the standard error over
    all their parts; windows averaged (CPU, bytes) or summed (files) over the orders."""
    result: dict[str, Any] = {
        "mode": pair.mode,
        "label": MODES[pair.mode].label,
        "recording": MODES[pair.mode].recording,
        "orders": orders,
        "difference": {},
        "test": {},
        "base": {},
    }
    for viewers in ("idle", "viewer"):
        found = [o for o in orders if viewers in o["difference"]]
        if not found:
            continue
        changes = [o["difference"][viewers] for o in found]
        names = [o["order"] for o in found]
        result["difference"][viewers] = merged = _merge(changes, names)
        if all("rest" in change for change in changes):
            merged["rest"] = _merge([c["rest"] for c in changes], names)
        for side in ("test", "base"):
            result[side][viewers] = _mean_window([o[side][viewers] for o in found])
    if pair.mode == "events":
        samples = [s for o in orders for s in o["clip_samples"]["samples"]]
        skipped = [s for o in orders for s in o["clip_samples"]["skipped"]]
        result["clips"] = summarize_clips(samples, skipped)
    return result
