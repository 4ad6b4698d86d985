"""Paths, ports, small statistics and command-line plumbing shared by the benchmark modules."""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import math
import os
import socket
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO / "bench"
RESULTS_DIR = BENCH_DIR / "results"
PYTHON = sys.executable
SENTRYCAM = str(Path(PYTHON).with_name("sentrycam"))
LOOPBACK = "127.0.0.1"


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A currently unused loopback port (TCP by default, ``socket.SOCK_DGRAM`` for UDP)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return float(ordered[rank - 1])


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else math.nan


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """``--server-env``, ``--output`` and ``-v``, as every benchmark command takes them."""
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the servers under test (experiments, e.g. MALLOC_ARENA_MAX=2)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS_DIR)
    parser.add_argument("-v", "--verbose", action="store_true")


def chosen(listed: str | None, known: Sequence[str], what: str) -> list[str]:
    """The names of a comma-separated option such as ``--only`` (all ``known`` if none)."""
    names = listed.split(",") if listed else list(known)
    unknown = set(names) - set(known)
    if unknown:
        raise SystemExit(
            f"unknown {what}: {', '.join(sorted(unknown))} (known: {', '.join(known)})"
        )
    return names


def run_meta(quick: bool) -> dict[str, Any]:
    """What every results file starts with: when, full or quick, how many CPUs."""
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "mode": "quick" if quick else "full",
        "cpus": os.cpu_count(),
    }


def server_env(args: argparse.Namespace) -> dict[str, str]:
    return dict(item.split("=", 1) for item in args.server_env)


def setup_logging(verbose: bool, quiet: Sequence[str] = ("aioice", "aiortc", "httpx")) -> None:
    """Timestamped log lines on stderr; the ``quiet`` libraries' only from WARNING up."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in quiet:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def json_safe(value: Any) -> Any:
    """NaN (no data) becomes null: JSON has no NaN."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def write_results(results: dict[str, Any], output: Path, name: str, latest: str) -> Path:
    """The results as JSON in ``output/name``, and a copy in ``output/latest``."""
    output.mkdir(parents=True, exist_ok=True)
    path = output / name
    text = json.dumps(json_safe(results), indent=2, default=str)
    path.write_text(text, encoding="utf-8")
    (output / latest).write_text(text, encoding="utf-8")
    return path
