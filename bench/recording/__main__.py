"""The command line of ``python -m bench.recording``: the pairs to run, the results JSON,
the Markdown printed at the end."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import logging
import sys
import time
from dataclasses import asdict
from typing import Any

import bench.recording
from bench.common import (
    LOOPBACK,
    add_common_options,
    chosen,
    run_meta,
    server_env,
    setup_logging,
    write_results,
)
from bench.procstat import load_average
from camera.webrtc import restrict_ice_addresses

from .pair import Context, combine, run_order
from .plan import FULL, MODES, PAIRS, QUICK, Pair, camera_config
from .report import markdown, verdicts

logger = logging.getLogger("bench.recording")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.recording", description=bench.recording.__doc__
    )
    parser.add_argument("--quick", action="store_true", help="short windows, few clips (smoke)")
    parser.add_argument(
        "--only", help=f"comma-separated pairs: {','.join(p.key for p in PAIRS)} (default: all)"
    )
    parser.add_argument(
        "--no-audio-listener",
        action="store_true",
        help="the viewer takes video only (the Opus encoder then runs only while recording)",
    )
    add_common_options(parser)
    return parser.parse_args(argv)


def chosen_pairs(args: argparse.Namespace) -> list[Pair]:
    """``--only``'s pairs, else all (the control pair only in full runs)."""
    keys = chosen(args.only, [p.key for p in PAIRS], "pairs")
    if not args.only:
        return [p for p in PAIRS if p.key != "control" or not args.quick]
    return [p for p in PAIRS if p.key in keys]


async def run(ctx: Context, pairs: list[Pair]) -> None:
    restrict_ice_addresses([LOOPBACK])  # the in-process audio peers stay on loopback
    orders = [False, True] if ctx.plan.both_orders else [False]
    for pair in pairs:
        started = time.monotonic()
        logger.info("%s beside recording off ...", pair.key)
        try:
            done = [await run_order(ctx, pair, swapped) for swapped in orders]
            ctx.results["pairs"][pair.key] = combine(pair, done)
        except Exception as error:  # one broken pair must not lose the others
            logger.error("%s failed: %r", pair.key, error, exc_info=error)
            ctx.results.setdefault("errors", []).append(f"{pair.key}: {error!r}")
        logger.info("%s: done in %.0fs", pair.key, time.monotonic() - started)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(args.verbose, ("aioice", "aiortc", "httpx", "websockets"))
    plan = QUICK if args.quick else FULL
    pairs = chosen_pairs(args)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    workdir = args.output / f"recording-{stamp}"
    workdir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "meta": {
            **run_meta(args.quick),
            "load_before": load_average(),
            "plan": asdict(plan),
            "audio_listener": not args.no_audio_listener,
            "camera": {k: v for k, v in camera_config({}).items() if k != "recording"},
            "modes": {key: mode.recording for key, mode in MODES.items()},
            "workdir": str(workdir),
            "server_env": server_env(args),
        },
        "pairs": {},
    }
    meta = results["meta"]
    ctx = Context(plan, workdir, meta["server_env"], not args.no_audio_listener, results)
    started = time.monotonic()
    asyncio.run(run(ctx, pairs))
    meta["duration_s"] = round(time.monotonic() - started, 1)
    meta["load_after"] = load_average()
    results["verdicts"] = verdicts(results)
    path = write_results(results, args.output, f"recording-{stamp}.json", "recording-latest.json")
    print(markdown(results))
    print(f"\nresults: {path} (logs in {workdir})")
    return 1 if results.get("errors") else 0


if __name__ == "__main__":
    sys.exit(main())
