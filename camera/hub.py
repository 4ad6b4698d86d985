"""Packet hub: one encoded stream fanned out to many subscribers.

A camera publishes each encoded ``Packet`` once; every viewer (and, later, the recorder)
holds a :class:`Subscription` with its own bounded queue. Nothing is copied per viewer:
subscribers share the same packet objects, which aiortc only reads.

Rules that keep latency low (see docs/architecture.md):

* a subscription starts at a keyframe: video subscribers drop everything until one arrives,
  and the hub asks the encoder for one at once (rate-limited);
* a subscriber whose queue fills up is a slow viewer: its queue is emptied and it waits for
  the next keyframe, so it catches up instead of falling further behind, and nobody else
  waits for it;
* the hub knows whether anyone is subscribed (``demand``) so the encoder can sleep when
  nobody watches.

All methods run on the event loop thread; producers in other threads go through
``loop.call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .media import Packet
from .threads import require_loop

logger = logging.getLogger(__name__)

KEYFRAME_REQUEST_INTERVAL_S = 0.5
GOP_CACHE_MAX = 300


@dataclass
class HubStats:
    packets: int = 0
    bytes: int = 0
    keyframes: int = 0
    dropped: int = 0
    keyframe_requests: int = 0
    window: collections.deque[tuple[float, int]] = field(
        default_factory=lambda: collections.deque(maxlen=256)
    )

    def bitrate_kbps(self, now: float) -> float:
        recent = [(t, n) for t, n in self.window if now - t <= 2.0]
        if len(recent) < 2:
            return 0.0
        span = recent[-1][0] - recent[0][0]
        total = sum(n for _, n in recent[1:])
        return total * 8 / span / 1000 if span > 0 else 0.0


class Subscription:
    """One consumer's bounded view of a hub."""

    def __init__(self, hub: PacketHub, maxsize: int) -> None:
        self._hub = hub
        self._queue: collections.deque[Packet] = collections.deque()
        self._maxsize = maxsize
        self._wakeup = asyncio.Event()
        self._needs_keyframe = hub.keyframed
        self.closed = False
        self.dropped = 0

    def push(self, packet: Packet, keyframe: bool) -> None:
        if self._needs_keyframe:
            if not keyframe:
                return
            self._needs_keyframe = False
        if len(self._queue) >= self._maxsize:
            self.dropped += len(self._queue)
            self._hub.stats.dropped += len(self._queue)
            self._queue.clear()
            if self._hub.keyframed and not keyframe:
                # Slow consumer: skip to the next keyframe rather than stall.
                self._needs_keyframe = True
                self._hub.request_keyframe()
                return
        self._queue.append(packet)
        self._wakeup.set()

    def resync(self) -> None:
        """Drop what is queued and wait for the next keyframe."""
        self._queue.clear()
        self._needs_keyframe = True

    async def get(self) -> Packet:
        """Wait for the next packet; raises ``EOFError`` once the subscription is closed."""
        while not self._queue:
            if self.closed:
                raise EOFError("subscription closed")
            self._wakeup.clear()
            await self._wakeup.wait()
        return self._queue.popleft()

    def qsize(self) -> int:
        return len(self._queue)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._queue.clear()
            self._wakeup.set()
            self._hub._remove(self)


class PacketHub:
    """Fan-out of one encoded stream.

    ``keyframed`` is true for video (subscribers start on, and resynchronise at, keyframes);
    audio packets are all independent. ``on_keyframe_request`` is called (rate-limited) when
    a subscriber needs a keyframe: the encoder forces an IDR. ``on_demand`` is called with
    True/False when the first subscriber arrives or the last one leaves.
    """

    def __init__(
        self,
        kind: str,
        *,
        keyframed: bool,
        on_keyframe_request: Callable[[], None] | None = None,
        on_demand: Callable[[bool], None] | None = None,
        cache_gop: bool = False,
    ) -> None:
        self.kind = kind
        self.keyframed = keyframed
        self._subscribers: set[Subscription] = set()
        self._on_keyframe_request = on_keyframe_request
        self._on_demand = on_demand
        self._last_request = 0.0
        self._pending_request: asyncio.TimerHandle | None = None
        # For sources whose keyframes we cannot force (H.264 passthrough), a new viewer
        # starts from the newest keyframe already seen instead of waiting a whole GOP.
        self._cache_gop = cache_gop
        self._gop: list[Packet] = []
        self.stats = HubStats()

    @property
    def demand(self) -> bool:
        return bool(self._subscribers)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def subscribe(self, maxsize: int = 90) -> Subscription:
        require_loop("subscribing to a hub")
        subscription = Subscription(self, maxsize)
        first = not self._subscribers
        self._subscribers.add(subscription)
        if first and self._on_demand:
            self._on_demand(True)
        if self.keyframed:
            for index, packet in enumerate(self._gop):
                subscription.push(packet, keyframe=index == 0)
            self.request_keyframe(force=True)
        return subscription

    def _remove(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)
        if not self._subscribers and self._on_demand:
            self._on_demand(False)

    def request_keyframe(self, force: bool = False) -> None:
        """Ask the producer for a keyframe, at most every ``KEYFRAME_REQUEST_INTERVAL_S``.

        Requests inside the interval are coalesced into one at its end, never lost;
        ``force`` skips the limit: a viewer that just joined must not wait.
        """
        now = time.monotonic()
        wait = self._last_request + KEYFRAME_REQUEST_INTERVAL_S - now
        if not force and wait > 0:
            if self._pending_request is None:
                loop = asyncio.get_running_loop()
                self._pending_request = loop.call_later(wait, self._fire_keyframe_request)
            return
        self._fire_keyframe_request()

    def _fire_keyframe_request(self) -> None:
        if self._pending_request is not None:
            self._pending_request.cancel()
            self._pending_request = None
        self._last_request = time.monotonic()
        self.stats.keyframe_requests += 1
        if self._on_keyframe_request:
            self._on_keyframe_request()

    def publish(self, packet: Packet, keyframe: bool) -> None:
        require_loop("publishing to a hub")
        now = time.monotonic()
        size = packet.size
        self.stats.packets += 1
        self.stats.bytes += size
        self.stats.keyframes += keyframe
        self.stats.window.append((now, size))
        if self._cache_gop:
            if keyframe:
                self._gop.clear()
            if self._gop or keyframe:
                self._gop.append(packet)
            if len(self._gop) > GOP_CACHE_MAX:
                self._gop.clear()
        for subscription in tuple(self._subscribers):
            subscription.push(packet, keyframe)

    def reset(self) -> None:
        """The source restarted: forget cached packets, resume everyone at a keyframe."""
        self._gop.clear()
        if self.keyframed:
            for subscription in self._subscribers:
                subscription.resync()

    def close(self) -> None:
        self._gop.clear()
        if self._pending_request is not None:
            self._pending_request.cancel()
            self._pending_request = None
        for subscription in tuple(self._subscribers):
            subscription.close()
