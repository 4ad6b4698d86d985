"""Read the demo camera's capture timestamp from a decoded frame (camera/demo.py)."""

from __future__ import annotations

import time

import av
import numpy as np

from camera.demo import latency_ms, read_stamp, stamp_block_size

MAX_PLAUSIBLE_MS = 10_000


def frame_latency_ms(frame: av.VideoFrame, now: float | None = None) -> int | None:
    """Milliseconds from capture to ``now`` (default: this instant), or None if no stamp."""
    block = stamp_block_size(frame.width)
    plane = frame.planes[0]
    rows = np.frombuffer(memoryview(plane), dtype=np.uint8)[: plane.line_size * block]
    luma = rows.reshape(block, plane.line_size)[:, : frame.width]
    wall_ms = round((time.time() if now is None else now) * 1000)
    latency = latency_ms(read_stamp(luma), wall_ms)
    return latency if latency <= MAX_PLAUSIBLE_MS else None
