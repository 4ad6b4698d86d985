"""JPEG pictures of frames, through FFmpeg's mjpeg encoder (no OpenCV needed)."""

from __future__ import annotations

from fractions import Fraction

import av
from av.video.reformatter import VideoReformatter


def encode_jpeg(frame: av.VideoFrame, width: int | None = None, quality: int = 80) -> bytes:
    out_w, out_h = frame.width, frame.height
    if width is not None and width < frame.width:
        out_w, out_h = width // 2 * 2, max(2, round(frame.height * width / frame.width / 2) * 2)
    encoder = av.CodecContext.create("mjpeg", "w")
    encoder.width, encoder.height = out_w, out_h
    encoder.pix_fmt = "yuvj420p"
    encoder.time_base = Fraction(1, 1)
    # FFmpeg's quantiser runs 2 (best) .. 31 (worst); map the familiar 10..95 onto it.
    encoder.qmin = encoder.qmax = round(2 + (95 - quality) * 29 / 85)
    encoder.open()
    # A reformatter of our own: frame.reformat() caches one on the frame, and the same
    # frame is encoded by the reader thread (an event's picture) and by a worker thread
    # (a snapshot request) at once; sharing that scaler crashed the process.
    image = VideoReformatter().reformat(frame, width=out_w, height=out_h, format="yuvj420p")
    return b"".join(bytes(packet) for packet in encoder.encode(image))


class PendingJpeg:
    """A picture whose JPEG is made later, by whoever stores it, in its own thread.

    Encoding a full-size JPEG in the reader thread at motion start delayed that very frame's
    H.264 encode, just when an alert brings viewers; the frame is kept instead (decoded
    frames own their buffers, and the reader never changes them) and the event store
    encodes it in its writer thread.
    """

    __slots__ = ("_frame", "_width")

    def __init__(self, frame: av.VideoFrame, width: int | None = None) -> None:
        self._frame = frame
        self._width = width

    @property
    def size_hint(self) -> int:
        """About what the JPEG will weigh (for bounding what waits to be written)."""
        width = min(self._width or self._frame.width, self._frame.width)
        return max(1, width * self._frame.height * width // max(1, self._frame.width) // 10)

    def encode(self) -> bytes:
        return encode_jpeg(self._frame, width=self._width)
