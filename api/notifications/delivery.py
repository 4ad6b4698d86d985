"""Delivery queues shared by every channel: one bounded queue and one task per target, so
a slow or dead push service, webhook or notifier delays only its own target; retries with
backoff that honours ``Retry-After``, bounded in count and age.

A channel supplies ``attempt(delivery) -> Outcome``; outcomes come back through
``on_result`` (the service logs them and forgets gone subscriptions).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

QUEUE_PER_TARGET = 16
MAX_ATTEMPTS = 5
MAX_AGE_S = 600.0  # an alert older than this is not worth sending any more
FIRST_BACKOFF_S = 2.0
MAX_BACKOFF_S = 120.0


# ----- outcomes of one attempt --------------------------------------------------------------


@dataclass(frozen=True)
class Delivered:
    detail: str = ""


@dataclass(frozen=True)
class Gone:
    """The target no longer exists (push subscription expired or unsubscribed)."""

    detail: str


@dataclass(frozen=True)
class Retry:
    detail: str
    after: float | None = None  # Retry-After, seconds


@dataclass(frozen=True)
class Failed:
    """Permanent: trying again would not help."""

    detail: str


Outcome = Delivered | Gone | Retry | Failed


@dataclass(eq=False)
class Delivery:
    """One notification for one target. ``topic``: a newer delivery with the same topic
    replaces this one while it waits (a phone wants the latest alert, not a backlog)."""

    target: str
    topic: str
    payload: Any
    meta: dict[str, Any] = field(default_factory=dict)
    created: float = field(default_factory=time.monotonic)
    attempts: int = 0
    result: asyncio.Future[Outcome] | None = None


Attempt = Callable[[Delivery], Awaitable[Outcome]]
OnResult = Callable[[Delivery, Outcome], None]


def backoff(attempts: int, retry_after: float | None) -> float:
    """Seconds before the next try after ``attempts`` failed ones."""
    if retry_after is not None:
        return max(0.0, retry_after)
    base = min(MAX_BACKOFF_S, FIRST_BACKOFF_S * 2.0 ** max(0, attempts - 1))
    return base * random.uniform(0.8, 1.2)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (delta-seconds or an HTTP date), None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


class DeliveryQueues:
    """Per-target queues and their worker tasks, for one channel."""

    def __init__(
        self,
        name: str,
        attempt: Attempt,
        on_result: OnResult,
        max_attempts: int = MAX_ATTEMPTS,
        max_age: float = MAX_AGE_S,
    ) -> None:
        self._name = name
        self._attempt = attempt
        self._on_result = on_result
        self._max_attempts = max_attempts
        self._max_age = max_age
        self._queues: dict[str, collections.deque[Delivery]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._closed = False

    @property
    def busy_targets(self) -> int:
        return len(self._workers)

    def waiting(self, target: str) -> int:
        """Deliveries queued for ``target``, not counting the one under way."""
        return len(self._queues.get(target, ()))

    def put(self, delivery: Delivery) -> None:
        """Queue ``delivery`` (returns at once)."""
        if self._closed:
            self._finish(delivery, Failed("the server is stopping"))
            return
        queue = self._queues.setdefault(delivery.target, collections.deque())
        for waiting in [d for d in queue if d.topic == delivery.topic]:
            queue.remove(waiting)
            self._finish(waiting, Failed("superseded by a newer notification"))
        if len(queue) >= QUEUE_PER_TARGET:
            self._finish(queue.popleft(), Failed("dropped: too many waiting for this target"))
        queue.append(delivery)
        if delivery.target not in self._workers:
            self._workers[delivery.target] = asyncio.create_task(
                self._work(delivery.target), name=f"notify-{self._name}-{delivery.target}"
            )

    def forget(self, target: str) -> None:
        """Drop what waits for ``target`` (it was removed)."""
        for waiting in self._queues.pop(target, collections.deque()):
            self._finish(waiting, Failed("the target was removed"))

    async def close(self) -> None:
        self._closed = True
        workers = list(self._workers.values())
        for worker in workers:
            worker.cancel()
        for worker in workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        for target in list(self._queues):
            self.forget(target)

    async def _work(self, target: str) -> None:
        # The top of a background task: one target's deliveries, one at a time.
        try:
            while queue := self._queues.get(target):
                delivery = queue.popleft()
                try:
                    outcome = await self._deliver(delivery)
                except asyncio.CancelledError:
                    self._finish(delivery, Failed("the server is stopping"))
                    raise
                except Exception as error:
                    logger.exception("%s delivery to %s failed", self._name, target)
                    outcome = Failed(f"internal error: {error}")
                self._finish(delivery, outcome)
        finally:
            self._workers.pop(target, None)
            if not self._queues.get(target):
                self._queues.pop(target, None)

    async def _deliver(self, delivery: Delivery) -> Outcome:
        while True:
            delivery.attempts += 1
            outcome = await self._attempt(delivery)
            if not isinstance(outcome, Retry):
                return outcome
            age = time.monotonic() - delivery.created
            wait = backoff(delivery.attempts, outcome.after)
            tries = f"{delivery.attempts} tries"
            if delivery.attempts >= self._max_attempts:
                return Failed(f"{outcome.detail}; gave up after {tries}")
            if age + wait > self._max_age:
                return Failed(f"{outcome.detail}; gave up after {tries} (too old to retry)")
            await asyncio.sleep(wait)

    def _finish(self, delivery: Delivery, outcome: Outcome) -> None:
        if delivery.result is not None and not delivery.result.done():
            delivery.result.set_result(outcome)
        try:
            self._on_result(delivery, outcome)
        except Exception:
            logger.exception("recording a %s delivery's outcome failed", self._name)
