"""Is a thread making progress? What the service watchdog asks of every worker.

A worker (a camera's reader, its encoder, a recorder's writer) marks when it starts a piece
of work that must finish (:meth:`Progress.begin`), when it moves on inside it
(:meth:`Progress.tick`: a frame delivered) and when it is done (:meth:`Progress.end`).
Idle (between pieces of work: waiting to reconnect, nothing to write) is not stuck. A
worker is stuck when it has been inside one piece of work with no tick for longer than the
limit: a read, an encode, a write or an ``fsync`` that never returns.

Fields are single float assignments: the worker thread writes them, the event loop reads
them at any time (no lock needed under the GIL).
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Progress:
    def __init__(self, what: str) -> None:
        self.what = what
        self._busy_since: float | None = None
        self._last = time.monotonic()
        self.count = 0  # pieces of work finished or ticks, ever

    def begin(self) -> None:
        now = time.monotonic()
        self._last = now
        self._busy_since = now

    def tick(self) -> None:
        self._last = time.monotonic()
        self.count += 1

    def end(self) -> None:
        self._last = time.monotonic()
        self._busy_since = None
        self.count += 1

    def around(self, work: Callable[[], None]) -> None:
        """Run ``work`` marked busy (a source's whole run: it ticks once per frame)."""
        self.begin()
        try:
            work()
        finally:
            self.end()

    @property
    def busy(self) -> bool:
        return self._busy_since is not None

    def stuck_for(self, now: float | None = None) -> float:
        """Seconds since the last sign of life while busy; 0 when idle."""
        if self._busy_since is None:
            return 0.0
        return max(0.0, (time.monotonic() if now is None else now) - self._last)
