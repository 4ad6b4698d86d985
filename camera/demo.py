"""The synthetic ``demo`` camera: a moving object, a clock, a tone, and a capture timestamp.

The timestamp lets anyone measure glass-to-glass latency from the picture alone
(docs/demo-timestamp.md): 40 square blocks along the top edge, starting at the top-left
corner, each ``width // 40`` pixels wide, most significant bit first, white = 1, holding
Unix time in milliseconds modulo 2**40 at the moment the frame was made.
"""

from __future__ import annotations

import math
import sys
import time

import av
import numpy as np
import numpy.typing as npt
from av.video.frame import PictureType

STAMP_BITS = 40
STAMP_MODULO = 1 << STAMP_BITS
WHITE, BLACK = 235, 16  # video-range luma

Plane = npt.NDArray[np.uint8]
# Frames the demo draws into again once nobody else holds them (the latest frame kept for
# snapshots, a frame waiting to become a JPEG, the light stream's queue keep theirs).
POOL_SIZE = 4


def _references(items: list[av.VideoFrame] | list[object]) -> list[int]:
    return [sys.getrefcount(item) for item in items]


# What _references reports for an object held by its list only (the interpreter's own
# temporary references differ between Python versions).
UNSHARED = _references([object()])[0]


def _plane(frame: av.VideoFrame, index: int) -> Plane:
    plane = frame.planes[index]
    rows = np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)
    return rows[:, : plane.width]


def stamp_block_size(width: int) -> int:
    return width // STAMP_BITS


def write_stamp(luma: Plane, chroma: tuple[Plane, Plane], value_ms: int) -> None:
    """Draw ``value_ms mod 2**40`` as 40 black/white blocks along the top edge."""
    block = stamp_block_size(luma.shape[1])
    value = value_ms % STAMP_MODULO
    for i in range(STAMP_BITS):
        bit = (value >> (STAMP_BITS - 1 - i)) & 1
        luma[:block, i * block : (i + 1) * block] = WHITE if bit else BLACK
    half = block // 2
    for plane in chroma:
        plane[:half, : STAMP_BITS * half] = 128  # neutral colour: pure black and white


def read_stamp(luma: Plane) -> int:
    """Read the timestamp back from a (decoded) luma plane or grayscale picture."""
    block = stamp_block_size(luma.shape[1])
    centre = block // 2
    value = 0
    for i in range(STAMP_BITS):
        sample = luma[centre, i * block + centre]
        value = (value << 1) | int(sample > 128)
    return value


def latency_ms(stamp: int, now_ms: int) -> int:
    """Milliseconds between a stamp and a wall-clock time, across the 2**40 wrap."""
    return (now_ms - stamp) % STAMP_MODULO


class DemoScene:
    """Draws yuv420p frames and s16 audio for the demo camera."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        ys, xs = np.ogrid[0:height, 0:width]
        self._luma = (60 + 60 * xs / width + 40 * ys / height).astype(np.uint8)
        cy, cx = np.ogrid[0 : height // 2, 0 : width // 2]
        self._u = np.broadcast_to(128 + 30 * np.sin(cx / 40.0), (height // 2, width // 2)).astype(
            np.uint8
        )
        self._v = np.broadcast_to(128 + 30 * np.cos(cy / 30.0), (height // 2, width // 2)).astype(
            np.uint8
        )
        self._box = max(16, height // 5) // 2 * 2
        self._pool: list[av.VideoFrame] = []

    def _object_position(self, t: float) -> tuple[int, int]:
        span_x, span_y = self.width - self._box, self.height - self._box - 40
        x = span_x * (0.5 + 0.5 * math.sin(t * 0.9))
        y = 40 + span_y * (0.5 + 0.5 * math.sin(t * 1.3 + 1.0))
        return int(x) // 2 * 2, int(y) // 2 * 2

    def video_frame(self, wall_time: float) -> av.VideoFrame:
        """The picture at ``wall_time`` (Unix seconds), stamped with that time."""
        frame = self._free_frame()
        luma, chroma_u, chroma_v = (_plane(frame, i) for i in range(3))
        luma[:] = self._luma
        chroma_u[:] = self._u
        chroma_v[:] = self._v
        x, y = self._object_position(wall_time)
        box = self._box
        luma[y : y + box, x : x + box] = 170
        chroma_u[y // 2 : (y + box) // 2, x // 2 : (x + box) // 2] = 60
        chroma_v[y // 2 : (y + box) // 2, x // 2 : (x + box) // 2] = 200
        self._draw_clock(luma, wall_time)
        write_stamp(luma, (chroma_u, chroma_v), round(wall_time * 1000))
        frame.pts = None
        frame.pict_type = PictureType.NONE
        return frame

    def _free_frame(self) -> av.VideoFrame:
        """A frame of the pool that nobody else holds, else a new one.

        A new 1.4 MB frame 30 times a second left the reader thread's malloc arena
        fragmented (frames freed between the encoder's packets that live on in the
        pre-roll): it grew by 7 MB, most of it free but resident, once viewers joined
        (bench.run --only memory: about 199 -> 194 MB). Every consumer that keeps a frame
        holds a Python reference to it (the encoders copy the picture before returning).
        """
        for frame, count in zip(self._pool, _references(self._pool), strict=True):
            if count <= UNSHARED:
                return frame
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        if len(self._pool) < POOL_SIZE:
            self._pool.append(frame)
        return frame

    def _draw_clock(self, luma: Plane, wall_time: float) -> None:
        text = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(wall_time))
        text += f".{int(wall_time * 1000) % 1000:03d}"
        scale = max(1, self.height // 180)
        draw_text(luma, text, x=8 * scale, y=self.height - 12 * scale, scale=scale)


# A 5x7 bitmap font for the clock (no OpenCV needed on the live path): one string per row.
_GLYPHS = {
    "0": ("01110", "10001", "10011", "10101", "11001", "10001", "01110"),
    "1": ("00100", "01100", "00100", "00100", "00100", "00100", "01110"),
    "2": ("01110", "10001", "00001", "00010", "00100", "01000", "11111"),
    "3": ("11111", "00010", "00100", "00010", "00001", "10001", "01110"),
    "4": ("00010", "00110", "01010", "10010", "11111", "00010", "00010"),
    "5": ("11111", "10000", "11110", "00001", "00001", "10001", "01110"),
    "6": ("00110", "01000", "10000", "11110", "10001", "10001", "01110"),
    "7": ("11111", "00001", "00010", "00100", "01000", "01000", "01000"),
    "8": ("01110", "10001", "10001", "01110", "10001", "10001", "01110"),
    "9": ("01110", "10001", "10001", "01111", "00001", "00010", "01100"),
    "-": ("00000", "00000", "00000", "11111", "00000", "00000", "00000"),
    ":": ("00000", "01100", "01100", "00000", "01100", "01100", "00000"),
    ".": ("00000", "00000", "00000", "00000", "00000", "01100", "01100"),
    " ": ("00000",) * 7,
}
_MASKS = {
    char: np.array([[c == "1" for c in row] for row in rows], dtype=bool)
    for char, rows in _GLYPHS.items()
}


def draw_text(luma: Plane, text: str, x: int, y: int, scale: int) -> None:
    """White text with a black outline box, bottom-left corner at (x, y), 6*scale px apart."""
    height, width = 7 * scale, 6 * scale * len(text)
    top = max(0, y - height)
    luma[max(0, top - scale) : y + scale, max(0, x - scale) : x + width] = BLACK
    for i, char in enumerate(text):
        mask = np.kron(_MASKS.get(char, _MASKS[" "]), np.ones((scale, scale), dtype=bool))
        left = x + i * 6 * scale
        region = luma[top : top + height, left : left + 5 * scale]
        region[mask[: region.shape[0], : region.shape[1]]] = WHITE


def tone(start_sample: int, samples: int, rate: int = 48000) -> av.AudioFrame:
    """A quiet (-37 dBFS) 440 Hz tone with a 1 kHz beep during the first 100 ms of every second."""
    n = np.arange(start_sample, start_sample + samples)
    seconds = n / rate
    beep = (seconds % 1.0) < 0.1
    frequency = np.where(beep, 1000.0, 440.0)
    wave = 0.02 * np.sin(2 * np.pi * frequency * seconds)  # about -37 dBFS: no sound event
    data = (wave * 32767).astype(np.int16).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(data, format="s16", layout="mono")
    frame.sample_rate = rate
    return frame
