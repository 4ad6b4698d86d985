"""Login throttling: failures slow down, then lock, per client address and per user name.

In memory on purpose: a restart forgives (an admin locked out by an attacker restarts the
service), and nothing is written to the SD card per failed attempt.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable

from .settings import ThrottleConfig


class LoginThrottle:
    def __init__(self, config: ThrottleConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self._config = config
        self._clock = clock
        self._failures: dict[str, collections.deque[float]] = {}

    def _recent(self, key: str) -> collections.deque[float]:
        window = self._config.window_minutes * 60
        failures = self._failures.get(key)
        if failures is None:
            return collections.deque()
        now = self._clock()
        while failures and now - failures[0] > max(window, self._config.lock_minutes * 60):
            failures.popleft()
        if not failures:
            del self._failures[key]
        return failures

    def retry_after(self, *keys: str) -> float:
        """Seconds the caller must wait before trying again (0: go ahead)."""
        return max((self._wait(key) for key in keys), default=0.0)

    def _wait(self, key: str) -> float:
        failures = self._recent(key)
        count = len(failures)
        if count < self._config.slow_after:
            return 0.0
        now = self._clock()
        if count >= self._config.lock_after:
            delay = self._config.lock_minutes * 60
        else:
            delay = min(2.0 ** (count - self._config.slow_after), 60.0)
        return max(0.0, failures[-1] + delay - now)

    def failed(self, *keys: str) -> None:
        now = self._clock()
        for key in keys:
            self._failures.setdefault(key, collections.deque(maxlen=1000)).append(now)
        if len(self._failures) > 10000:  # bound memory under a spray of addresses
            self._forget_oldest()

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)

    def _forget_oldest(self) -> None:
        oldest = sorted(self._failures, key=lambda k: self._failures[k][-1])[:1000]
        for key in oldest:
            del self._failures[key]
