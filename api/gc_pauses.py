"""The garbage collector's full collections: fewer objects to walk, and their pauses timed.

A full collection walks every object the collector tracks while holding the GIL, so the
event loop and every camera thread wait for it. Start-up leaves several hundred thousand
objects that live as long as the process (modules, the app, the services); ``freeze_startup``
moves them out of the collector's sight once the server listens, so a full collection
walks only what came since; a settings change thaws them for one collection (``refreeze``),
so what it drops is freed. Closed WebRTC sessions are cycles that only full collections
free, so they do happen, a few a minute with viewers coming and going (``bench.soak``).

``watch()`` times every full collection (a ``gc.callbacks`` hook, process-wide like the
collector itself): ``/metrics`` shows them as ``sentrycam_python_full_gc_seconds``.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from typing import Any

PAUSE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)  # seconds


@dataclass
class Pauses:
    """Full collections timed since ``watch()``: a histogram over ``PAUSE_BUCKETS``."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(PAUSE_BUCKETS) + 1))
    seconds: float = 0.0
    longest: float = 0.0
    began: float | None = None

    def callback(self, phase: str, info: dict[str, Any]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self.began = time.perf_counter()
        elif self.began is not None:
            took = time.perf_counter() - self.began
            self.began = None
            index = next((i for i, bound in enumerate(PAUSE_BUCKETS) if took <= bound), -1)
            self.counts[index] += 1
            self.seconds += took
            self.longest = max(self.longest, took)


PAUSES = Pauses()  # the collector is one per process, and so are its pauses


def watch() -> None:
    """Time the full collections from now on (idempotent)."""
    if PAUSES.callback not in gc.callbacks:
        gc.callbacks.append(PAUSES.callback)


def freeze_startup() -> None:
    """Collect start-up's garbage, then keep everything left out of later collections."""
    gc.collect()
    gc.freeze()


def refreeze() -> None:
    """After a settings change: what start-up made and the change dropped (a removed or
    restarted camera, with its buffers) is often a cycle, which frozen is never freed.
    Thaw, collect (one full pause, over everything), freeze again. Nothing when nothing
    is frozen (the tests' in-process servers, which never freeze)."""
    if gc.get_freeze_count():
        gc.unfreeze()
        freeze_startup()
