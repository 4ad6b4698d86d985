"""Viewer tracks: aiortc ``MediaStreamTrack``s that hand out already-encoded packets.

When ``recv()`` returns an ``Packet``, aiortc's sender skips its own encoder and only
packetizes (docs/media-notes.md, "Encode once, send to many"). A track subscribes to its hub on
the first ``recv()``, i.e. once RTP starts flowing, so a viewer always begins at a fresh
keyframe and never inherits a backlog queued while ICE and DTLS were connecting.
"""

from __future__ import annotations

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from .hub import PacketHub, Subscription
from .media import Packet


class PacketTrack(MediaStreamTrack):
    def __init__(self, hub: PacketHub, queue_size: int) -> None:
        super().__init__()
        self.kind = hub.kind
        self._hub = hub
        self._queue_size = queue_size
        self._subscription: Subscription | None = None

    async def recv(self) -> Packet:  # type: ignore[override,unused-ignore]
        if self.readyState != "live":
            raise MediaStreamError
        if self._subscription is None:
            self._subscription = self._hub.subscribe(self._queue_size)
        try:
            return await self._subscription.get()
        except EOFError:
            self.stop()
            raise MediaStreamError from None

    def request_keyframe(self) -> None:
        self._hub.request_keyframe()

    def stop(self) -> None:
        super().stop()
        if self._subscription is not None:
            self._subscription.close()
