"""The light second encoding of a camera: smaller, slower, cheaper, for weak links.

    reader thread: decoded frame ─┬─▶ main VideoEncoder ─▶ camera.video hub
                                  └─▶ (every 1/fps s) Substream encoder ─▶ camera.light hub

Fed from the same decoded frames as the main encoder (never a second decode of the
source), encoded once whatever the number of viewers, and only while its hub has
subscribers (with the same linger as the main encoder). Its packets carry timestamps of
the camera's capture clock, like the main stream's, so a viewer can switch between the two
at a keyframe without the RTP clock jumping (``camera.tracks``).

Thread ownership: the **event loop** owns the hub and writes the demand flags
(``_demand``, ``_demand_ended``), which the reader only reads; the **video reader thread**
owns the encoder, ``_next_at``, ``_last_pts`` and ``starts``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import av

from .config import CameraConfig
from .encoder import EncoderChoice, VideoEncoder
from .hub import PacketHub
from .media import Packet
from .threads import forbid_loop

ENCODER_LINGER_S = 5.0


class Substream:
    def __init__(
        self,
        config: CameraConfig,
        publish: Callable[[PacketHub, Packet, bool], None],
        logger: logging.Logger,
    ) -> None:
        self.config = config.substream_config()
        self._publish = publish
        self._logger = logger
        self.hub = PacketHub(
            "video",
            keyframed=True,
            on_keyframe_request=self._request_keyframe,
            on_demand=self._set_demand,
        )
        # ----- written by the loop, read by the reader thread
        self._demand = False
        self._demand_ended = 0.0
        # ----- owned by the reader thread
        self._encoder: VideoEncoder | None = None
        self._choice = EncoderChoice(self.config)  # auto's fallback to libx264 holds
        self._next_at = 0.0
        self._last_pts = -1
        self.starts = 0  # encoders opened since start (one at a time, ever)

    @property
    def encoding(self) -> bool:
        return self._encoder is not None

    @property
    def wanted(self) -> bool:
        """Whether anyone watches the light stream (the loop's flag, read by the reader)."""
        return self._demand

    # ----- event loop --------------------------------------------------------------------

    def _set_demand(self, wanted: bool) -> None:
        if not wanted:
            self._demand_ended = time.monotonic()
        self._demand = wanted

    def _request_keyframe(self) -> None:
        encoder = self._encoder
        if encoder is not None:
            encoder.request_keyframe()

    # ----- reader thread -----------------------------------------------------------------

    def on_frame(self, frame: av.VideoFrame, now: float, pts: int) -> None:
        """A decoded frame of the camera at capture time ``now`` (``pts`` on its clock)."""
        forbid_loop("encoding the light stream")
        if not self._demand:
            if self._encoder is not None and now - self._demand_ended >= ENCODER_LINGER_S:
                self._encoder = None
                self._logger.info("light stream stopped: nobody is watching it")
            return
        interval = 1.0 / self.config.fps
        if now + interval * 0.25 < self._next_at:
            return  # thinned to the light stream's own frame rate (a little jitter allowed)
        # Catch up without bursts: the next slot counts from this frame if we fell behind.
        self._next_at = max(self._next_at + interval, now + interval * 0.5)
        if self._encoder is None:
            self._encoder = self._choice.open()
            self.starts += 1
            self._logger.info(
                "light stream started (%dx%d, %s)",
                self.config.width,
                self.config.height,
                self._encoder.codec_name,
            )
        pts = max(pts, self._last_pts + 1)
        self._last_pts = pts
        for packet in self._encoder.encode(frame, pts):
            self._publish(self.hub, packet, packet.is_keyframe)

    def close(self) -> None:
        self.hub.close()

    def release(self) -> None:
        """After the reader stopped: libav frees the codec context when collected."""
        self._encoder = None
