"""Publishing cameras to a media server, so hundreds of viewers are served there, not here.

Each target subscribes to the camera's hubs like one more viewer: the shared encoding
(never a new one) goes out once per target, packetized once.

* ``rtp``: plain RTP over UDP to a host and ports, the way Janus's Streaming plugin takes
  it (an ``rtp`` mountpoint with ``videoport``/``audioport``), and MediaMTX's or GStreamer's
  RTP inputs. No encryption: for a media server on the same host or LAN only.
* ``whip``: WebRTC-HTTP Ingestion (RFC 9725's sister, WHIP) to a URL with an optional bearer
  token: MediaMTX (``http://host:8889/<path>/whip``), LiveKit ingress, Janus behind a WHIP
  gateway. One aiortc peer per target (``camera.whip_publish``), reconnected with backoff.

The RTP sender and the service that runs every target are here; the section's models in
``camera.publish_config``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
from collections.abc import Callable

from aiortc.codecs.h264 import H264Encoder
from aiortc.rtp import RtpPacket

from .camera import Camera
from .hub import PacketHub
from .ice import IceServers
from .media import Packet
from .publish_config import PublishTarget, RtpTarget
from .whip_publish import publish_whip

logger = logging.getLogger(__name__)

RTP_PAYLOAD_MAX = 1200  # aiortc's packetizer keeps within this; fits any sane path MTU


class _Sender(asyncio.DatagramProtocol):
    pass


class RtpStream:
    """One hub to one UDP port: RTP packets with our own SSRC and sequence numbers."""

    def __init__(self, hub: PacketHub, address: tuple[str, int], payload_type: int) -> None:
        self._hub = hub
        self._address = address
        self._payload_type = payload_type
        self._ssrc = secrets.randbits(32)
        self._sequence = secrets.randbits(16)
        self._h264 = H264Encoder() if hub.kind == "video" else None
        self.packets_sent = 0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in self._address[0] else socket.AF_INET
        transport, _ = await loop.create_datagram_endpoint(_Sender, family=family)
        subscription = self._hub.subscribe(90 if self._hub.kind == "video" else 50)
        try:
            while True:
                packet = await subscription.get()
                for datagram in self._packetize(packet):
                    transport.sendto(datagram, self._address)
                    self.packets_sent += 1
        except EOFError:
            pass
        finally:
            subscription.close()
            transport.close()

    def _packetize(self, packet: Packet) -> list[bytes]:
        if self._h264 is not None:
            payloads, timestamp = self._h264.pack(packet)
        else:
            payloads, timestamp = [bytes(packet)], int(packet.pts or 0)
        out = []
        for index, payload in enumerate(payloads):
            rtp = RtpPacket(
                payload_type=self._payload_type,
                marker=index == len(payloads) - 1,
                sequence_number=self._sequence,
                timestamp=timestamp & 0xFFFFFFFF,
                ssrc=self._ssrc,
                payload=payload,
            )
            self._sequence = (self._sequence + 1) & 0xFFFF
            out.append(rtp.serialize())
        return out


class PublishService:
    """Runs every configured target as a named task; stops them all on shutdown.

    Targets follow the camera manager (:meth:`camera_changed`, a
    ``CameraManager.on_camera`` listener): a restarted camera is published again from its
    new hubs, a removed one stops being published, and a camera added at run time that a
    target names starts being published.
    """

    def __init__(self, targets: list[PublishTarget], ice: Callable[[str], IceServers]) -> None:
        self._targets = targets
        self._ice = ice
        self._tasks: dict[str, list[asyncio.Task[None]]] = {}  # by camera id
        self._ending: set[asyncio.Task[None]] = set()  # cancelled, not yet finished
        self._running = False
        self.streams: dict[str, list[RtpStream]] = {}

    def start(self, cameras: list[Camera]) -> None:
        self._running = True
        present = {camera.id for camera in cameras}
        for index, target in enumerate(self._targets):
            if target.camera not in present:
                logger.warning(
                    "publish: no camera %r yet; target %d waits for it", target.camera, index
                )
        for camera in cameras:
            self._publish(camera)

    def camera_changed(self, old: Camera | None, new: Camera | None) -> None:
        """A camera was added, restarted or removed (on the loop; returns at once)."""
        if not self._running:
            return
        if old is not None:
            self._unpublish(old.id)
        if new is not None:
            self._publish(new)

    def _publish(self, camera: Camera) -> None:
        tasks = self._tasks.setdefault(camera.id, [])
        for index, target in enumerate(self._targets):
            if target.camera != camera.id:
                continue
            name = f"publish-{target.camera}-{index}"
            if target.rtp is not None:
                for stream in self._rtp_streams(camera, target.rtp):
                    self.streams.setdefault(target.camera, []).append(stream)
                    tasks.append(asyncio.create_task(stream.run(), name=name))
            elif target.whip is not None:
                coro = publish_whip(camera, target.whip, self._ice, logger)
                tasks.append(asyncio.create_task(coro, name=name))

    def _unpublish(self, camera_id: str) -> None:
        self.streams.pop(camera_id, None)
        for task in self._tasks.pop(camera_id, []):
            task.cancel()  # a WHIP target hangs up (DELETE) as it ends
            self._ending.add(task)
            task.add_done_callback(self._ending.discard)

    @staticmethod
    def _rtp_streams(camera: Camera, rtp: RtpTarget) -> list[RtpStream]:
        streams = [RtpStream(camera.video, (rtp.host, rtp.video_port), rtp.video_payload_type)]
        if rtp.audio_port is not None and camera.audio is not None:
            streams.append(
                RtpStream(camera.audio, (rtp.host, rtp.audio_port), rtp.audio_payload_type)
            )
        return streams

    def tasks(self, camera_id: str) -> list[asyncio.Task[None]]:
        """The running targets of a camera."""
        return list(self._tasks.get(camera_id, []))

    async def stop(self) -> None:
        self._running = False
        for camera_id in list(self._tasks):
            self._unpublish(camera_id)
        for task in list(self._ending):
            with contextlib.suppress(asyncio.CancelledError):
                await task
