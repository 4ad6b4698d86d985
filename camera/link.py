"""What a viewer's link is like, read from aiortc: RTCP loss, round trip, REMB, ICE path.

Loss is the larger of two readings: the receiver reports' fraction lost, and the packets
the receiver asked again for (NACK) per packet sent. The first alone misses a lossy link
that retransmission repairs: aiortc's receiver counts a retransmitted packet as received
(no RTX: we offer only H.264), so its reports show ~0 under 5 % loss with NACK repair
(docs/media-notes.md).

aiortc keeps receiver reports in its sender's stats but drops the receiver's bitrate
estimate (REMB) unless its own encoder runs, which a packet track skips. So, as with
keyframe requests (``camera.webrtc``), we wrap the sender's RTCP hook and keep what we
need. The ICE path (relayed, or a remote address outside the LAN) comes from aioice's
nominated pair. Private attributes of aiortc/aioice are touched here and only here
(docs/media-notes.md).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from aiortc import RTCPeerConnection, RTCRtpSender
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_RTPFB_NACK,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    unpack_remb_fci,
)

from .adapt import LinkSample

NACK_MEMORY = 1024  # sequence numbers already counted: receivers ask again for what is missing


class LinkMonitor:
    """The RTCP of one video sender, summed up once per sample."""

    def __init__(self, sender: RTCRtpSender) -> None:
        self._sender = sender
        self._loss: float | None = None
        self._estimate_kbps: float | None = None
        self._nacked: dict[int, None] = {}  # insertion-ordered set of counted sequence numbers
        self._new_nacks = 0
        self._sent: int | None = None  # packets sent at the previous sample
        original = sender._handle_rtcp_packet

        async def handle(packet: Any) -> None:
            self._observe(packet)
            await original(packet)

        sender._handle_rtcp_packet = handle  # type: ignore[method-assign]

    def _observe(self, packet: Any) -> None:
        ssrc = self._sender._ssrc
        if isinstance(packet, RtcpRrPacket | RtcpSrPacket):
            for report in packet.reports:
                if report.ssrc == ssrc:
                    loss = report.fraction_lost / 256
                    self._loss = loss if self._loss is None else max(self._loss, loss)
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            try:
                bitrate, ssrcs = unpack_remb_fci(packet.fci)
            except ValueError:
                return
            if ssrc in ssrcs:
                self._estimate_kbps = bitrate / 1000
        elif (
            isinstance(packet, RtcpRtpfbPacket)
            and packet.fmt == RTCP_RTPFB_NACK
            and packet.media_ssrc == ssrc
        ):
            for seq in packet.lost:
                if seq not in self._nacked:
                    self._nacked[seq] = None
                    self._new_nacks += 1
            while len(self._nacked) > NACK_MEMORY:
                del self._nacked[next(iter(self._nacked))]

    async def sample(self) -> LinkSample:
        """What the link said since the previous sample: loss is the worst receiver report,
        or the share of the packets sent that were asked for again if that is more."""
        rtt: float | None = None
        sent: int | None = None
        for stat in (await self._sender.getStats()).values():
            kind = getattr(stat, "type", None)
            if kind == "remote-inbound-rtp":
                rtt = getattr(stat, "roundTripTime", None)
            elif kind == "outbound-rtp":
                sent = getattr(stat, "packetsSent", None)
        loss, self._loss = self._loss, None
        if self._new_nacks and sent is not None and self._sent is not None and sent > self._sent:
            nacked = min(1.0, self._new_nacks / (sent - self._sent))
            loss = nacked if loss is None else max(loss, nacked)
        self._new_nacks = 0
        self._sent = sent
        return LinkSample(loss=loss, rtt_s=rtt, estimate_kbps=self._estimate_kbps)


def leaves_the_lan(pc: RTCPeerConnection) -> bool:
    """Whether the chosen ICE path is relayed or reaches a non-private address."""
    for transceiver in pc.getTransceivers():
        transport = transceiver.sender.transport
        if transport is None:
            continue
        connection = transport.transport._connection
        for pair in connection._nominated.values():
            remote = pair.remote_candidate
            if remote.type == "relay" or pair.local_candidate.type == "relay":
                return True
            try:
                address = ipaddress.ip_address(remote.host)
            except ValueError:
                return True  # a name we could not read: assume the worst
            return not (address.is_private or address.is_loopback or address.is_link_local)
    return False
