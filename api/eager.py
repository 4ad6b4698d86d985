"""Start a coroutine now, on the caller's stack, and make a task of it only if it waits.

Python 3.12 has this as ``asyncio.Task(..., eager_start=True)``; Raspberry Pi OS
(Debian 12) ships 3.11. The live channel sends each message to every dashboard this way:
a WebSocket send completes without waiting unless the client's socket is backed up, so a
fan-out to 1000 clients costs 1000 sends instead of 1000 task wake-ups, and the one slow
client that does wait becomes a task of its own instead of holding up the others.

The coroutine's first step runs here; an exception it raises there propagates to the
caller. If it suspends, the future it waits on is handed to a new task unchanged, so
cancellation and results behave as if the task had run it from the start.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from typing import Any, TypeVar

T = TypeVar("T")


class _Started:
    """The rest of a coroutine whose first step already ran and yielded ``waiting_on``."""

    def __init__(self, coro: Coroutine[Any, Any, T], waiting_on: Any) -> None:
        self._coro = coro
        self._waiting_on = waiting_on

    def __await__(self) -> Generator[Any, Any, Any]:
        # ``yield from coro`` would resume the coroutine before its future is done; this
        # gives the task the future the coroutine is waiting on first, then delegates.
        coro, waiting_on = self._coro, self._waiting_on
        while True:
            try:
                sent = yield waiting_on
            except BaseException as error:  # cancellation included: the coroutine decides
                try:
                    waiting_on = coro.throw(error)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    waiting_on = coro.send(sent)
                except StopIteration as done:
                    return done.value


def start_eagerly(coro: Coroutine[Any, Any, T], name: str | None = None) -> asyncio.Task[T] | None:
    """Run ``coro`` until it finishes or first waits: None if it finished (its exception,
    if any, raised here), else the task that finishes it."""
    try:
        waiting_on = coro.send(None)
    except StopIteration:
        return None
    task: asyncio.Task[T] = asyncio.ensure_future(_Started(coro, waiting_on))
    if name is not None:
        task.set_name(name)
    return task
