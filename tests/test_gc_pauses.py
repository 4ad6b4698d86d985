"""The garbage collector under ``sentrycam serve`` (api/gc_pauses.py): start-up's objects
frozen out of full collections, full collections timed, and a settings change that drops
something start-up made (a removed camera) still frees it.

Freezing is process-wide, so each test thaws what it froze before it ends."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from api import gc_pauses
from tests.conftest import demo_config
from tests.waiting import wait_until


class Node:
    """Something that refers to itself: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def frozen() -> Iterator[None]:
    gc_pauses.freeze_startup()
    try:
        yield
    finally:
        gc.unfreeze()


def test_a_frozen_cycle_is_freed_only_after_a_refreeze(frozen: None) -> None:
    # Made before the freeze, like start-up's objects: freeze again to include it.
    node = Node()
    gc_pauses.freeze_startup()
    ref = weakref.ref(node)
    del node
    gc.collect()
    assert ref() is not None  # frozen: out of the collector's sight
    gc_pauses.refreeze()
    assert ref() is None
    assert gc.get_freeze_count() > 0  # and what is left is frozen again


def test_refreeze_does_nothing_when_nothing_is_frozen() -> None:
    assert gc.get_freeze_count() == 0
    gc_pauses.refreeze()
    assert gc.get_freeze_count() == 0


def test_full_collections_are_timed_and_young_ones_are_not() -> None:
    gc_pauses.watch()
    gc_pauses.watch()  # idempotent
    try:
        assert gc.callbacks.count(gc_pauses.PAUSES.callback) == 1
        before = sum(gc_pauses.PAUSES.counts)
        gc.collect(0)
        assert sum(gc_pauses.PAUSES.counts) == before
        gc.collect()
        assert sum(gc_pauses.PAUSES.counts) == before + 1
        assert gc_pauses.PAUSES.seconds > 0
    finally:
        gc.callbacks.remove(gc_pauses.PAUSES.callback)


async def test_a_camera_removed_after_the_freeze_is_freed(start_server) -> None:
    config = demo_config(width=320, height=180)
    config["cameras"].append({**config["cameras"][0], "id": "porch"})
    server = await start_server(config)
    await server.wait_online("porch")
    gc_pauses.freeze_startup()  # as `sentrycam serve` does once it listens
    try:
        ref = weakref.ref(server.services.cameras.get("porch"))
        response = await server.client.delete("/api/cameras/porch")
        assert response.status_code == 200, response.text

        def freed() -> bool:
            gc.collect()
            return ref() is None

        # The frozen camera's cycles are collected (not while a task still holds it).
        await wait_until(freed, 10, "the removed camera freed")
    finally:
        gc.unfreeze()
