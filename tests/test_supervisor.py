"""Reopening sources: quick after a drop, backing off when a source keeps failing (issue 14)."""

from __future__ import annotations

import logging
import random
import threading

from camera.supervisor import (
    FLAP_MAX_S,
    HEALTHY_AFTER_S,
    RETRY_MAX_S,
    Backoff,
    SupervisedReader,
)


def test_a_source_that_returns_is_retried_within_two_seconds_100_of_100() -> None:
    # 100 drops of a healthy source, each away for a random time: the first attempt after
    # it is back comes within RETRY_MAX_S (2 s), whatever the length of the outage.
    rng = random.Random(14)
    backoff = Backoff()
    for _ in range(100):
        away = rng.uniform(0, 120)
        elapsed = 0.0
        wait = backoff.after_run(rng.uniform(HEALTHY_AFTER_S, 3600))  # the drop
        while elapsed + wait < away:  # attempts while it is away fail to open
            elapsed += wait
            wait = backoff.after_run(None)
        assert elapsed + wait - away <= RETRY_MAX_S
    assert RETRY_MAX_S <= 2.0


def test_a_source_failing_right_after_its_first_frame_backs_off() -> None:
    backoff = Backoff()
    waits = [backoff.after_run(0.05) for _ in range(10)]
    assert waits == sorted(waits)
    assert waits[0] >= 1.0
    assert waits[-1] == FLAP_MAX_S
    # Opening failures meanwhile do not forgive it ...
    assert backoff.after_run(None) == FLAP_MAX_S
    # ... a healthy period does.
    assert backoff.after_run(HEALTHY_AFTER_S) <= RETRY_MAX_S


def run_reader(runner, attempts: int) -> tuple[list[float], list[tuple[bool, str | None]]]:
    """Run a SupervisedReader until ``attempts`` waits happened; the waits and statuses."""
    waits: list[float] = []
    statuses: list[tuple[bool, str | None]] = []
    done = threading.Event()
    clock = [0.0]

    def sleep(seconds: float) -> bool:
        waits.append(seconds)
        clock[0] += seconds
        if len(waits) >= attempts:
            done.set()
            return True
        return False

    holder: list[SupervisedReader] = []

    def run(stop: threading.Event) -> None:
        runner(holder[0], clock)

    reader = SupervisedReader(
        "test-reader",
        run,
        lambda online, error: statuses.append((online, error)),
        logging.getLogger("test.supervisor"),
        clock=lambda: clock[0],
        sleep=sleep,
    )
    holder.append(reader)
    reader.start()
    assert done.wait(10)
    reader.stop()
    return waits, statuses


async def test_a_flapping_source_waits_longer_each_time() -> None:
    # Regression: mark_online reset the backoff, so a camera that sent one frame and dropped
    # was reopened every 0.5 s, with an offline and an online event each time.
    def one_frame_then_fail(reader: SupervisedReader, clock: list[float]) -> None:
        reader.mark_online()
        clock[0] += 0.04
        raise OSError("connection reset by peer")

    waits, statuses = run_reader(one_frame_then_fail, 8)
    assert waits == sorted(waits)
    assert waits[-1] >= 30
    assert statuses.count((True, None)) == 8


async def test_a_source_that_never_comes_back_only_retries() -> None:
    def refuse(reader: SupervisedReader, clock: list[float]) -> None:
        raise ConnectionRefusedError("connection refused")

    waits, statuses = run_reader(refuse, 50)
    assert max(waits) == RETRY_MAX_S
    assert all(online is False for online, _ in statuses)


async def test_a_source_healthy_for_a_while_is_reopened_quickly() -> None:
    def long_run_then_drop(reader: SupervisedReader, clock: list[float]) -> None:
        reader.mark_online()
        clock[0] += HEALTHY_AFTER_S + 1
        raise OSError("dropped")

    waits, _ = run_reader(long_run_then_drop, 5)
    assert waits == [0.5] * 5
