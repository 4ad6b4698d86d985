"""The packet hub's rules: start at a keyframe, slow viewers skip ahead, demand tracking."""

from __future__ import annotations

import asyncio
import fractions
import inspect
from typing import Any

import av

from camera.hub import PacketHub
from tests.waiting import wait_until


def packet(n: int) -> av.Packet:
    p = av.Packet(bytes([n % 256]) * 10)
    p.pts = n
    p.time_base = fractions.Fraction(1, 90000)
    return p


def reader_waiting(task: asyncio.Task[Any]) -> bool:
    """The task has run up to an ``await`` and is suspended there (started, not finished)."""
    return inspect.getcoroutinestate(task.get_coro()) == inspect.CORO_SUSPENDED


class Producer:
    def __init__(self) -> None:
        self.keyframe_requests = 0
        self.demand: list[bool] = []

    def request(self) -> None:
        self.keyframe_requests += 1


def video_hub(producer: Producer, **kwargs: object) -> PacketHub:
    return PacketHub(
        "video",
        keyframed=True,
        on_keyframe_request=producer.request,
        on_demand=producer.demand.append,
        **kwargs,  # type: ignore[arg-type]
    )


async def test_new_subscriber_starts_at_a_keyframe_and_asks_for_one():
    producer = Producer()
    hub = video_hub(producer)
    sub = hub.subscribe()
    assert producer.keyframe_requests == 1
    assert producer.demand == [True]
    hub.publish(packet(1), keyframe=False)
    hub.publish(packet(2), keyframe=False)
    assert sub.qsize() == 0
    hub.publish(packet(3), keyframe=True)
    hub.publish(packet(4), keyframe=False)
    assert [(await sub.get()).pts for _ in range(2)] == [3, 4]


async def test_slow_subscriber_skips_to_next_keyframe_without_affecting_others():
    producer = Producer()
    hub = video_hub(producer)
    slow, fast = hub.subscribe(maxsize=5), hub.subscribe(maxsize=100)
    joined = producer.keyframe_requests  # each new subscriber asked for one
    hub.publish(packet(0), keyframe=True)
    received = [(await fast.get()).pts]
    for n in range(1, 20):
        hub.publish(packet(n), keyframe=False)
        received.append((await fast.get()).pts)
    assert received == list(range(20))  # the fast one got everything, in order
    assert slow.dropped > 0
    assert slow.qsize() == 0  # emptied, waiting for a keyframe
    # The overflow asked for a keyframe (coalesced with the joins' requests, not lost);
    # the old check (a counter that only grows, compared with itself) could not fail.
    await wait_until(
        lambda: producer.keyframe_requests > joined, 5, "the slow one's keyframe request"
    )
    hub.publish(packet(20), keyframe=False)
    hub.publish(packet(21), keyframe=True)
    assert (await slow.get()).pts == 21


async def test_keyframe_requests_are_coalesced_not_lost():
    producer = Producer()
    hub = video_hub(producer)
    hub.subscribe()
    first = producer.keyframe_requests
    for _ in range(10):
        hub.request_keyframe()
    # All ten within the interval become exactly one deferred request.
    await wait_until(
        lambda: producer.keyframe_requests != first, 2, "the deferred request", interval=0.05
    )
    assert producer.keyframe_requests == first + 1


async def test_demand_follows_subscribers():
    producer = Producer()
    hub = video_hub(producer)
    a, b = hub.subscribe(), hub.subscribe()
    a.close()
    assert hub.demand
    b.close()
    assert not hub.demand
    assert producer.demand == [True, False]


async def test_closed_subscription_ends_the_reader():
    hub = video_hub(Producer())
    sub = hub.subscribe()
    reader = asyncio.create_task(sub.get())
    # Close while the reader is waiting inside get(), not before it started.
    await wait_until(lambda: reader_waiting(reader), 2, "the reader to wait in get()")
    hub.close()
    try:
        await asyncio.wait_for(reader, 2)
    except EOFError:
        pass
    else:
        raise AssertionError("get() should raise EOFError once closed")


async def test_passthrough_hub_replays_newest_gop_to_a_new_viewer():
    hub = PacketHub("video", keyframed=True, cache_gop=True)
    for n in range(5):
        hub.publish(packet(n), keyframe=n in (0, 3))
    sub = hub.subscribe()
    assert [(await sub.get()).pts for _ in range(2)] == [3, 4]


async def test_reset_makes_everyone_wait_for_a_keyframe():
    hub = video_hub(Producer())
    sub = hub.subscribe()
    hub.publish(packet(0), keyframe=True)
    hub.reset()
    hub.publish(packet(1), keyframe=False)
    assert sub.qsize() == 0
    hub.publish(packet(2), keyframe=True)
    assert (await sub.get()).pts == 2


async def test_audio_hub_drops_oldest_when_full():
    hub = PacketHub("audio", keyframed=False)
    sub = hub.subscribe(maxsize=3)
    for n in range(5):
        hub.publish(packet(n), keyframe=True)
    assert sub.qsize() <= 3
    assert (await sub.get()).pts >= 2
