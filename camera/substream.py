"""The light second encoding of a camera: smaller, slower, cheaper, for weak links.

    reader thread: decoded frame ─┬─▶ main VideoEncoder ─▶ camera.video hub
                                  └─▶ (every 1/fps s) Substream encoder ─▶ camera.light hub

Fed from the same decoded frames as the main encoder (never a second decode of the
source), encoded once whatever the number of viewers, and only while its hub has
subscribers (with the same linger as the main encoder). Its packets carry timestamps of
the camera's capture clock, like the main stream's, so a viewer can switch between the two
at a keyframe without the RTP clock jumping (``camera.tracks``).

Its encoder is a ``camera.encoder.SharedVideoEncoder`` like the main one: ``auto`` falls
back from the hardware encoder to libx264 for good (``on_fallback`` raises the same
``encoder`` alert), and its busy time is a ``Progress`` the service watchdog checks
(``Camera.progress``). An encoder failure that leaves nothing to fall back to never
reaches the camera's reader: it is logged, and the light stream rests for a backoff
(``BACKOFF_S``, forgiven after ``HEALTHY_S`` of encoding) while the main stream goes on.

Thread ownership: the **event loop** owns the hub and writes the demand flags
(``_demand``, ``_demand_ended``), which the reader only reads; the **video reader thread**
owns the encoder, ``_next_at``, ``_last_pts``, the failure state and ``failures`` (a
count the loop may read).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import av

from .config import CameraConfig
from .encoder import SharedVideoEncoder
from .hub import PacketHub
from .media import Packet
from .progress import Progress
from .threads import forbid_loop

ENCODER_LINGER_S = 5.0
BACKOFF_S = (2.0, 5.0, 15.0, 60.0)  # rests after encoder failures in a row
HEALTHY_S = 60.0  # an encoder that ran this long forgives the failures before it


class Substream:
    def __init__(
        self,
        config: CameraConfig,
        publish: Callable[[PacketHub, Packet, bool], None],
        logger: logging.Logger,
        on_fallback: Callable[[str], None] = lambda reason: None,
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
        self.progress = Progress(f"camera {config.id} light encoder")
        self._encoder = SharedVideoEncoder(
            self.config, self.progress, lambda reason: on_fallback(f"light stream: {reason}")
        )
        self._next_at = 0.0
        self._last_pts = -1
        self._opened_at = 0.0
        self._resting_until = 0.0
        self._failures_in_a_row = 0
        self.failures = 0  # encoder failures since start (the loop may read it)

    @property
    def encoding(self) -> bool:
        return self._encoder.current is not None

    @property
    def starts(self) -> int:
        """Encoders opened since start (one at a time, ever)."""
        return self._encoder.starts

    @property
    def codec(self) -> str:
        return self._encoder.name

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
        self._encoder.request_keyframe()

    # ----- reader thread -----------------------------------------------------------------

    def on_frame(self, frame: av.VideoFrame, now: float, pts: int) -> None:
        """A decoded frame of the camera at capture time ``now`` (``pts`` on its clock)."""
        forbid_loop("encoding the light stream")
        if not self._demand:
            if self.encoding and now - self._demand_ended >= ENCODER_LINGER_S:
                self._encoder.close()
                self._logger.info("light stream stopped: nobody is watching it")
            return
        if now < self._resting_until:
            return
        interval = 1.0 / self.config.fps
        if now + interval * 0.25 < self._next_at:
            return  # thinned to the light stream's own frame rate (a little jitter allowed)
        # Catch up without bursts: the next slot counts from this frame if we fell behind.
        self._next_at = max(self._next_at + interval, now + interval * 0.5)
        pts = max(pts, self._last_pts + 1)
        self._last_pts = pts
        starts = self._encoder.starts
        # The light stream is a consumer, not the camera's live path: whatever its encoder
        # raises must not end the reader (and with it the main stream); it rests instead.
        try:
            packets = self._encoder.encode(frame, pts)
        except Exception:
            self._failed(now)
            return
        if self._encoder.starts != starts:
            self._opened_at = now
            self._logger.info(
                "light stream started (%dx%d, %s)",
                self.config.width,
                self.config.height,
                self._encoder.name,
            )
        for packet in packets:
            self._publish(self.hub, packet, packet.is_keyframe)

    def _failed(self, now: float) -> None:
        if self.encoding and now - self._opened_at >= HEALTHY_S:
            self._failures_in_a_row = 0
        self._encoder.close()
        rest = BACKOFF_S[min(self._failures_in_a_row, len(BACKOFF_S) - 1)]
        self._failures_in_a_row += 1
        self.failures += 1
        self._resting_until = now + rest
        self._logger.exception("light stream encoder failed; it rests %.0f s", rest)

    def close(self) -> None:
        self.hub.close()

    def release(self) -> None:
        """After the reader stopped: libav frees the codec context when collected."""
        self._encoder.close()
