"""api.eager: a coroutine runs on the caller's stack until it first waits."""

from __future__ import annotations

import asyncio

import pytest

from api.eager import start_eagerly


async def test_a_coroutine_that_never_waits_runs_to_the_end_on_the_spot() -> None:
    done: list[str] = []

    async def work() -> None:
        done.append("ran")

    assert start_eagerly(work()) is None
    assert done == ["ran"]


async def test_an_error_before_the_first_wait_is_raised_to_the_caller() -> None:
    async def broken() -> None:
        raise OSError("gone")

    with pytest.raises(OSError, match="gone"):
        start_eagerly(broken())


async def test_a_coroutine_that_waits_becomes_a_task_that_finishes_it() -> None:
    gate: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    steps: list[object] = []

    async def work() -> int:
        steps.append("before")
        steps.append(await gate)
        await asyncio.sleep(0)  # a bare yield to the loop, too
        steps.append("after")
        return 7

    task = start_eagerly(work(), name="worker")
    assert task is not None
    assert task.get_name() == "worker"
    assert steps == ["before"]  # ran up to the wait, here
    gate.set_result(3)
    assert await task == 7
    assert steps == ["before", 3, "after"]


async def test_the_awaited_futures_error_reaches_the_coroutine() -> None:
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def work() -> str:
        try:
            await gate
        except ConnectionResetError:
            return "handled"
        return "not raised"

    task = start_eagerly(work())
    assert task is not None
    gate.set_exception(ConnectionResetError())
    assert await task == "handled"


async def test_cancelling_the_task_cancels_the_wait_inside_the_coroutine() -> None:
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    cleaned = asyncio.Event()

    async def work() -> None:
        try:
            await gate
        finally:
            cleaned.set()

    task = start_eagerly(work())
    assert task is not None
    await asyncio.sleep(0)  # the task is waiting on the gate
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned.is_set()
    assert gate.cancelled()
