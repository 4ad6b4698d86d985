"""Viewer tracks: aiortc ``MediaStreamTrack``s that hand out already-encoded packets.

When ``recv()`` returns an ``Packet``, aiortc's sender skips its own encoder and only
packetizes (docs/media-notes.md, "Encode once, send to many"). A track subscribes to its hub on
the first ``recv()``, i.e. once RTP starts flowing, so a viewer always begins at a fresh
keyframe and never inherits a backlog queued while ICE and DTLS were connecting.

A video track may have two layers, the camera's main stream and its light one
(``camera.substream``). ``switch()`` moves a viewer between them without renegotiation:
the track subscribes to the other layer (which asks its encoder for a keyframe), keeps
sending the current layer until that keyframe is there, then carries on from it and drops
the old subscription. Both layers are stamped on the camera's capture clock; a packet that
would not move the RTP clock forward is sent as a copy with the next timestamp, so the
receiver never sees a frame repeat a timestamp.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Literal

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from .hub import PacketHub, Subscription
from .media import Packet

Layer = Literal["high", "low"]
SWITCH_POLL_S = 0.2  # how often a waiting switch looks for the other layer's keyframe


class PacketTrack(MediaStreamTrack):
    def __init__(
        self,
        hub: PacketHub,
        queue_size: int,
        *,
        light: PacketHub | None = None,
        light_queue_size: int = 30,
        layer: Layer = "high",
        choose: Callable[[], Layer] | None = None,
    ) -> None:
        super().__init__()
        self.kind = hub.kind
        self._hubs: dict[Layer, tuple[PacketHub, int]] = {"high": (hub, queue_size)}
        if light is not None:
            self._hubs["low"] = (light, light_queue_size)
        self.layer: Layer = layer if layer in self._hubs else "high"
        self._target: Layer = self.layer
        self._subscription: Subscription | None = None
        self._pending: Subscription | None = None
        self._last_pts = -1
        self._choose = choose  # picks the first layer when RTP starts (quality=auto)
        self.switches = 0

    @property
    def layers(self) -> tuple[Layer, ...]:
        return tuple(self._hubs)

    @property
    def target(self) -> Layer:
        return self._target

    def switch(self, layer: Layer) -> None:
        """Move to ``layer`` at its next keyframe (on the loop; no-op if already there)."""
        if layer not in self._hubs or layer == self._target:
            return
        self._target = layer
        if self._pending is not None:
            self._pending.close()
            self._pending = None
        if self._subscription is not None and layer != self.layer:
            hub, size = self._hubs[layer]
            self._pending = hub.subscribe(size)

    async def recv(self) -> Packet:  # type: ignore[override,unused-ignore]
        if self.readyState != "live":
            raise MediaStreamError
        if self._subscription is None:
            if self._choose is not None and self._target == self.layer:
                chosen = self._choose()
                self.layer = self._target = chosen if chosen in self._hubs else "high"
            hub, size = self._hubs[self.layer]
            self._subscription = hub.subscribe(size)
            if self._target != self.layer:
                target, self._target = self._target, self.layer
                self.switch(target)
        try:
            return self._stamped(await self._next())
        except EOFError:
            self.stop()
            raise MediaStreamError from None

    async def _next(self) -> Packet:
        while True:
            self._take_pending()
            current = self._subscription
            assert current is not None
            if self._pending is None:
                return await current.get()
            try:
                return await asyncio.wait_for(current.get(), SWITCH_POLL_S)
            except TimeoutError:
                continue

    def _take_pending(self) -> None:
        # A subscription starts at a keyframe: once it holds a packet, we can switch.
        pending = self._pending
        if pending is None or pending.qsize() == 0:
            return
        assert self._subscription is not None
        self._subscription.close()
        self._subscription, self._pending = pending, None
        self.layer = self._target
        self.switches += 1

    def _stamped(self, packet: Packet) -> Packet:
        pts = packet.pts
        if pts is None or pts > self._last_pts:
            self._last_pts = pts if pts is not None else self._last_pts
            return packet
        # Only right after a switch: the other layer's frame of the same moment. The packet
        # is shared with other viewers, so this one gets its own copy.
        copy = av.Packet(bytes(packet))
        copy.pts = copy.dts = self._last_pts = self._last_pts + 1
        copy.time_base = packet.time_base
        return copy

    def request_keyframe(self) -> None:
        self._hubs[self.layer][0].request_keyframe()

    def stop(self) -> None:
        super().stop()
        for subscription in (self._subscription, self._pending):
            if subscription is not None:
                subscription.close()
