"""A named reader thread that keeps a source running: reopen with backoff on any failure."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from .sources import describe_error

BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 10.0

Runner = Callable[[threading.Event], None]
StatusCallback = Callable[[bool, str | None], None]


class SupervisedReader:
    """Runs ``runner(stop)`` in a thread until stopped, restarting it when it returns or fails.

    ``on_status(online, error)`` is called from the thread: ``online=True`` once the runner
    has delivered media (the caller decides, via :meth:`mark_online`), ``False`` with a
    reason each time it ends.
    """

    def __init__(
        self, name: str, runner: Runner, on_status: StatusCallback, logger: logging.Logger
    ) -> None:
        self.name = name
        self._runner = runner
        self._on_status = on_status
        self._logger = logger
        self._stop = threading.Event()
        self._wake = threading.Event()  # cuts a backoff short: the device just came back
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._online = False
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
        self._online = False

    def mark_online(self) -> None:
        if not self._online:
            self._online = True
            self._on_status(True, None)

    def _loop(self) -> None:
        backoff = BACKOFF_START_S
        while not self._stop.is_set():
            self._online = False
            self._wake.clear()
            try:
                self._runner(self._stop)
                reason = "stream ended"
            except Exception as error:
                reason = describe_error(error)
                self._logger.debug("%s failed", self.name, exc_info=True)
            if self._stop.is_set():
                break
            if self._online:
                backoff = BACKOFF_START_S  # it worked for a while: retry quickly
            self.restarts += 1
            self._logger.warning("%s: %s; retrying in %.1fs", self.name, reason, backoff)
            self._on_status(False, reason)
            self._wake.wait(backoff)
            if self._stop.is_set():
                break
            backoff = min(backoff * 2, BACKOFF_MAX_S)
