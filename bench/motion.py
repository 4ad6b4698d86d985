"""Motion detector benchmark: cost per analysed frame, and accuracy on footage with truth.

.venv/bin/python -m bench.motion                # about a minute
.venv/bin/python -m bench.motion --frames 300   # shorter cost runs

Cost: full-size luma (720p, 1080p) made by upscaling a synthetic clip with a moving car and
adding full-resolution sensor noise, then ``downscale`` + ``step`` per frame as the camera
would call them, timed with ``perf_counter``; with OpenCV's default threads and with one.
Accuracy: the synthetic set of tests/clips.py (with the changes of light of issue 12:
ramps over half the brightness range in 15-30 s, gamma, auto exposure, side light, a
cloud, analysed at 5 fps, and a person walking in during them) plus Debian's opencv-doc
videos, with the same scoring as tests/test_motion.py. Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

if __package__ in (None, ""):  # run as a script: bench/motion.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "bench"

from bench.common import percentile
from camera.motion import Gray, MotionConfig, MotionState, downscale, step
from tests import clips
from tests.clips import Footage, Outcome, Score, run, score

COST_TARGET_MS = 2.0
SIZES = {"720p": (720, 1280), "1080p": (1080, 1920)}
SOURCE_FRAMES = 40  # distinct full-size frames, cycled


@dataclass(frozen=True)
class Cost:
    size: str
    threads: int
    total: list[float]  # wall ms: downscale + step
    detector: list[float]  # wall ms: step alone
    cpu: float  # mean process CPU ms per frame, downscale + step (all OpenCV threads)


def full_size_frames(rows: int, cols: int) -> list[Gray]:
    """A moving car, upscaled to full size with its own sensor noise at that size."""
    footage = next(c for c in clips.moving_clips() if c.name == "car slow")
    rng = np.random.default_rng(7)
    frames = []
    for t, small in footage.frames():
        if t < 3.0:
            continue
        big = cv2.resize(small, (cols, rows), interpolation=cv2.INTER_LINEAR)
        noisy = big + rng.normal(0.0, 3.0, big.shape)
        frames.append(np.clip(noisy, 0, 255).astype(np.uint8))
        if len(frames) == SOURCE_FRAMES:
            break
    return frames


def measure(size: str, threads: int, count: int) -> Cost:
    rows, cols = SIZES[size]
    frames = full_size_frames(rows, cols)
    previous = cv2.getNumThreads()
    cv2.setNumThreads(threads)
    try:
        return _timed(size, threads, frames, count)
    finally:
        cv2.setNumThreads(previous)


def _timed(size: str, threads: int, frames: list[Gray], count: int) -> Cost:
    """Wall time per frame (what a caller waits) and CPU time (what it costs the machine;
    unlike wall time it does not count time this process spent preempted)."""
    config, state = MotionConfig(), MotionState()
    total, detector, cpu = [], [], 0.0
    for index in range(count + 20):  # the first 20 warm up
        luma = frames[index % len(frames)]
        cpu_start, start = time.process_time(), time.perf_counter()
        small = downscale(luma)
        middle = time.perf_counter()
        state, _ = step(state, small, config, index / 10.0)
        end, cpu_end = time.perf_counter(), time.process_time()
        if index >= 20:
            total.append((end - start) * 1000.0)
            detector.append((end - middle) * 1000.0)
            cpu += (cpu_end - cpu_start) * 1000.0
    return Cost(size, threads, total, detector, cpu / count)


def cost_table(costs: list[Cost]) -> Iterator[str]:
    yield (
        "| input | OpenCV threads | downscale + step: mean | p50 | p99 | CPU mean "
        "| step alone: mean | p99 |"
    )
    yield "|---|---:|---:|---:|---:|---:|---:|---:|"
    for c in costs:
        yield (
            f"| {c.size} luma | {c.threads} | {np.mean(c.total):.2f} ms | "
            f"{percentile(c.total, 50):.2f} ms | {percentile(c.total, 99):.2f} ms | "
            f"{c.cpu:.2f} ms | {np.mean(c.detector):.2f} ms | "
            f"{percentile(c.detector, 99):.2f} ms |"
        )


@dataclass(frozen=True)
class Row:
    name: str
    setting: str
    footage: Footage
    outcome: Outcome
    score: Score
    quiet: bool  # a clip where any event is a false alarm


def accuracy_rows() -> list[Row]:
    rows = []
    for footage in clips.moving_clips():
        rows.append(_row(footage, "default", footage.config, quiet=False))
    for footage in clips.quiet_clips():
        rows.append(_row(footage, "default", footage.config, quiet=True))
    for footage in clips.light_clips():
        rows.append(_row(footage, "default", footage.config, quiet=True))
    for footage in clips.walker_in_light_clips():
        rows.append(_row(footage, "default", footage.config, quiet=False))
    missing = [n for n in ("vtest", "tree") if not (clips.OPENCV_DATA / f"{n}.avi").is_file()]
    if missing:
        print(f"(no real footage: install Debian's opencv-doc; missing {missing})\n")
        return rows
    vtest = _cached(clips.real_footage("vtest"))
    tree = _cached(clips.real_footage("tree"))
    rows.append(_row(vtest, "default", MotionConfig(), quiet=False))
    rows.append(_row(tree, "default", MotionConfig(), quiet=False))
    rows.append(_row(tree, "mask over tree", MotionConfig(masks=[clips.TREE_MASK]), quiet=False))
    rows.append(_row(tree, "min_area 0.003", MotionConfig(min_area=0.003), quiet=False))
    return rows


_LIGHT = {f.name for f in (*clips.light_clips(), *clips.walker_in_light_clips())}


def _cached(footage: Footage) -> Footage:
    frames = list(footage.frames())
    return replace(footage, frames=lambda: iter(frames))


def _row(footage: Footage, setting: str, config: MotionConfig, quiet: bool) -> Row:
    outcome = run(footage, config)
    return Row(footage.name, setting, footage, outcome, score(footage, outcome), quiet)


def accuracy_table(rows: list[Row]) -> Iterator[str]:
    yield (
        "| clip | setting | truth | events | false | recall | precision | start delay "
        "| time covered | recalibrations | first event |"
    )
    yield "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    for r in rows:
        s = r.score
        delay = f"{max(s.delays):.1f} s" if s.delays else "—"
        covered = f"{s.coverage:.0%}" if s.truths else "—"
        first = r.outcome.events[0] if r.outcome.events else None
        first_text = f"{first.start:.1f} s, {_end(first.end)}" if first else "—"
        yield (
            f"| {r.name} | {r.setting} | {s.truths} | {s.events} | {s.false_events} | "
            f"{s.recall:.2f} | {s.precision:.2f} | {delay} | {covered} | "
            f"{len(r.outcome.recalibrations)} | {first_text} |"
        )


def _end(end: float | None) -> str:
    return "open at the end" if end is None else f"ends {end:.1f} s"


def targets_table(costs: list[Cost], rows: list[Row]) -> Iterator[str]:
    synthetic = [r for r in rows if r.footage.name not in ("vtest", "tree")]
    truths = sum(r.score.truths for r in synthetic)
    recall = sum(r.score.detected for r in synthetic) / truths
    quiet_events = sum(r.score.events for r in synthetic if r.quiet)
    delay = max(d for r in synthetic for d in r.score.delays)
    yield "| target | measured | met |"
    yield "|---|---|---|"
    for c in costs:
        if c.threads == cv2.getNumThreads():
            mean = float(np.mean(c.total))
            yield _verdict(
                f"< {COST_TARGET_MS:g} ms per frame, {c.size}", f"{mean:.2f} ms", mean < 2
            )
    yield _verdict("recall ≥ 0.95 (synthetic)", f"{recall:.2f} of {truths}", recall >= 0.95)
    yield _verdict(
        "no events on noise/lighting/mask/zone clips", str(quiet_events), not quiet_events
    )
    yield _verdict("event start ≤ 1 s after motion", f"max {delay:.1f} s", delay <= 1.0)
    light = [r for r in synthetic if r.name in _LIGHT]
    light_events = sum(r.score.events for r in light if r.quiet)
    light_delay = max(d for r in light if not r.quiet for d in r.score.delays)
    yield _verdict(
        "changes of light (issue 12): no events",
        f"{light_events} on {sum(r.quiet for r in light)} clips",
        not light_events,
    )
    yield _verdict(
        "a person walking in during them: event ≤ 1 s",
        f"max {light_delay:.1f} s",
        light_delay <= 1.0,
    )
    for r in rows:
        if r.footage.name == "vtest":
            text = f"{r.score.coverage:.0%}, start {max(r.score.delays):.1f} s"
            yield _verdict("vtest: time inside an event ≥ 95%", text, r.score.coverage >= 0.95)


def _verdict(label: str, measured: str, met: bool) -> str:
    return f"| {label} | {measured} | {'yes' if met else 'NO'} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000, help="timed frames per cost run")
    args = parser.parse_args()
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"# Motion detector ({os.cpu_count()} CPUs, load average {load})\n")
    costs = [
        measure(size, threads, args.frames)
        for size in SIZES
        for threads in sorted({cv2.getNumThreads(), 1}, reverse=True)
    ]
    print("## Cost per analysed frame (analysis frame 144 px high)\n")
    print("\n".join(cost_table(costs)), "\n")
    rows = accuracy_rows()
    print("## Accuracy (truth = intervals with real motion; tree: the hand from 23.5 s)\n")
    print("\n".join(accuracy_table(rows)), "\n")
    print("## Targets\n")
    print("\n".join(targets_table(costs, rows)))


if __name__ == "__main__":
    main()
