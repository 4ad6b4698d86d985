"""Waiting in tests: poll a state (never a clock) until it holds, within a deadline.

``wait_until`` is the one way a test waits for something it cannot await directly: the
predicate may be a plain function or return an awaitable (an HTTP request, a page
evaluation), and its truthy value is returned. ``wait_until_blocking`` is the same for
the few synchronous fixtures (server processes started before any event loop).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

INTERVAL_S = 0.02


class WaitTimeout(AssertionError):
    """The state did not hold before the deadline (a test failure, shown as an assertion)."""


def _describe(what: str | Callable[[], str], predicate: object, timeout: float) -> str:
    text = what() if callable(what) else what
    return f"timed out after {timeout}s waiting for {text or predicate}"


async def wait_until(
    predicate: Callable[[], T | Awaitable[T]],
    timeout: float = 15.0,
    what: str | Callable[[], str] = "",
    interval: float = INTERVAL_S,
) -> T:
    """Call ``predicate`` (awaiting what it returns, if awaitable) until its value is
    truthy, and return that value; raise ``WaitTimeout`` once ``timeout`` has passed.

    ``what`` names the awaited state in the failure, or is called then to describe it
    (e.g. with the last value seen). The predicate is always tried at least once.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value  # type: ignore[return-value]  # awaited above when awaitable
        if time.monotonic() > deadline:
            raise WaitTimeout(_describe(what, predicate, timeout))
        await asyncio.sleep(interval)


def wait_until_blocking(
    predicate: Callable[[], T],
    timeout: float = 15.0,
    what: str | Callable[[], str] = "",
    interval: float = INTERVAL_S,
) -> T:
    """``wait_until`` for synchronous code (no event loop): blocks while it waits."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise WaitTimeout(_describe(what, predicate, timeout))
        time.sleep(interval)
