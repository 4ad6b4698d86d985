"""A named reader thread that keeps a source running: reopen with backoff on any failure.

The waits (:class:`Backoff`, a pure policy) serve two promises:

* a source that comes back is picked up quickly: while it cannot be opened at all, attempts
  come every ``RETRY_MAX_S`` (half a second), so it is online again within that plus its
  open time and its next keyframe (bench/source_recovery.py); a camera that never returns
  costs one timer and one open attempt (a refused connection) per wait, and one log line;
* a source that opens and fails again at once (a camera that sends one frame and drops,
  a file that ends) backs off up to ``FLAP_MAX_S`` instead of flapping offline/online every
  half second; the backoff is forgiven only after ``HEALTHY_AFTER_S`` of media.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .sources import describe_error

RETRY_START_S = 0.5
RETRY_MAX_S = 0.5
HEALTHY_AFTER_S = 5.0
FLAP_MAX_S = 60.0

Runner = Callable[[threading.Event], None]
StatusCallback = Callable[[bool, str | None], None]


@dataclass
class Backoff:
    """How long to wait before reopening a source (pure: no clock, no I/O)."""

    failures: int = 0  # attempts in a row that never delivered media
    flaps: int = 0  # runs in a row that delivered media only briefly

    def after_run(self, online_for: float | None) -> float:
        """The wait after a run that delivered media for ``online_for`` seconds (None:
        never got that far)."""
        if online_for is not None and online_for >= HEALTHY_AFTER_S:
            self.failures = self.flaps = 0  # it worked for a while: a plain drop
        elif online_for is not None:
            self.flaps += 1
        if self.flaps:
            return min(RETRY_START_S * 2.0**self.flaps, FLAP_MAX_S)
        self.failures += 1
        return min(RETRY_START_S * 2.0 ** (self.failures - 1), RETRY_MAX_S)


class SupervisedReader:
    """Runs ``runner(stop)`` in a thread until stopped, restarting it when it returns or fails.

    ``on_status(online, error)`` is called from the thread: ``online=True`` once the runner
    has delivered media (the caller decides, via :meth:`mark_online`), ``False`` with a
    reason each time a run ends.
    """

    def __init__(
        self,
        name: str,
        runner: Runner,
        on_status: StatusCallback,
        logger: logging.Logger,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], bool] | None = None,
    ) -> None:
        self.name = name
        self._runner = runner
        self._on_status = on_status
        self._logger = logger
        self._clock = clock
        self._stop = threading.Event()
        self._wake = threading.Event()  # cuts a backoff short: the device just came back
        # Waits between attempts; True when stopped meanwhile (tests count instead of wait).
        self._sleep = sleep or self._wait
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._online_since: float | None = None
        self._reported_offline = False
        self.backoff = Backoff()
        self.restarts = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
            if self._thread.is_alive():  # pragma: no cover - stuck in C; daemon thread
                self._logger.warning("%s did not stop within %.0fs", self.name, timeout)

    def wake(self) -> None:
        """Retry now instead of at the end of the backoff (any thread: hotplug)."""
        self._wake.set()

    def mark_unknown(self) -> None:
        """Someone else declared the source offline (hotplug): the next media it delivers
        reports it online again, should it still be delivering."""
        self._online_since = None

    def _wait(self, seconds: float) -> bool:
        self._wake.wait(seconds)
        return self._stop.is_set()

    def mark_online(self) -> None:
        if self._online_since is None:
            self._online_since = self._clock()
            self._reported_offline = False
            self._on_status(True, None)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._online_since = None
            self._wake.clear()
            try:
                self._runner(self._stop)
                reason = "stream ended"
            except Exception as error:
                reason = describe_error(error)
                self._logger.debug("%s failed", self.name, exc_info=True)
            if self._stop.is_set():
                break
            since = self._online_since
            wait = self.backoff.after_run(None if since is None else self._clock() - since)
            self.restarts += 1
            # Logged once per outage: a source that stays away costs a timer, not a log line
            # every two seconds on an SD card. The status (and its reason) stays current.
            level = logging.DEBUG if self._reported_offline else logging.WARNING
            self._logger.log(level, "%s: %s; retrying in %.1fs", self.name, reason, wait)
            self._reported_offline = True
            self._on_status(False, reason)
            if self._sleep(wait):
                break
