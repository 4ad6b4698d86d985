"""Draw the installable app's icons (web/icon-*.png) like web/favicon.svg: a green ring and
dot on the dashboard's dark background. Run once when the design changes:

    .venv/bin/python -m tests.make_icons

"any" icons fill a rounded square; "maskable" ones a full square with the mark inside the
safe zone (the inner 80 %), so a launcher may cut any shape out of them.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

WEB = Path(__file__).resolve().parent.parent / "web"
BACKGROUND = (0x0E, 0x10, 0x14)
GREEN = (0x4C, 0xC3, 0x8A)
SUPERSAMPLE = 4


def coverage(size: int, inside: np.ndarray) -> np.ndarray:
    """Anti-aliased coverage: the mean of SUPERSAMPLE x SUPERSAMPLE samples per pixel."""
    return inside.reshape(size, SUPERSAMPLE, size, SUPERSAMPLE).mean(axis=(1, 3))


def draw(size: int, maskable: bool) -> np.ndarray:
    n = size * SUPERSAMPLE
    y, x = (np.mgrid[0:n, 0:n] + 0.5) / n  # 0..1 sample centres
    # Shape of the tile: a full square (maskable) or a square with rounded corners.
    if maskable:
        tile = np.ones_like(x, dtype=bool)
        zoom = 0.9  # the mark (radius 10.5/32) well inside the safe zone (radius 0.4)
    else:
        radius = 7 / 32
        dx = np.maximum(np.abs(x - 0.5) - (0.5 - radius), 0)
        dy = np.maximum(np.abs(y - 0.5) - (0.5 - radius), 0)
        tile = dx**2 + dy**2 <= radius**2
        zoom = 1.0
    u = np.hypot(x - 0.5, y - 0.5) * 32 / zoom  # distance from the centre, favicon units
    ring = np.abs(u - 9) <= 1.5
    dot = u <= 3.5
    alpha = coverage(size, tile)
    mark = coverage(size, (ring | dot) & tile)
    rgb = np.empty((size, size, 3))
    for c in range(3):
        rgb[..., c] = BACKGROUND[c] * (1 - mark) + GREEN[c] * mark
    rgba = np.dstack([rgb, alpha * 255])
    return np.clip(np.rint(rgba), 0, 255).astype(np.uint8)


def write_png(path: Path, pixels: np.ndarray) -> None:
    frame = av.VideoFrame.from_ndarray(pixels, format="rgba")
    with av.open(str(path), "w", format="image2") as container:
        stream = container.add_stream("png", rate=1)
        stream.width, stream.height = pixels.shape[1], pixels.shape[0]
        stream.pix_fmt = "rgba"
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def main() -> None:
    for size in (192, 512):
        write_png(WEB / f"icon-{size}.png", draw(size, maskable=False))
        write_png(WEB / f"icon-maskable-{size}.png", draw(size, maskable=True))


if __name__ == "__main__":
    main()
