"""Thumbnail strips of recordings: a row of pictures spread over a recording's duration.

Decoded on request (keyframes only) in a worker thread and cached under
``thumbnails/<recording id>-<tiles>.jpg`` once the recording is complete; a recording
still being written gets a fresh strip of what is written so far.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import av
import numpy as np

from camera.mp4 import probe
from camera.snapshots import encode_jpeg

from ..models import Recording

STRIP_TILE_WIDTH = 160


class Thumbnails:
    def __init__(self, root: Path, directory: Path) -> None:
        self._root = root  # the archive: recordings' paths are relative to it
        self.directory = directory

    async def strip(self, row: Recording, tiles: int) -> Path | bytes:
        """A cached file, or fresh JPEG bytes for a recording still being written."""
        path = self._root / row.path
        cached = self.directory / f"{row.id}-{tiles}.jpg"
        if row.state != "recording" and cached.is_file():
            return cached
        duration = row.duration
        if row.state == "recording":
            # Still growing: spread the tiles over what is written so far.
            found = await asyncio.to_thread(probe, path)
            duration = found.duration if found is not None else 0.0
        jpeg = await asyncio.to_thread(make_strip, path, max(duration, 0.0), tiles)
        if row.state != "recording":
            await asyncio.to_thread(_store, cached, jpeg)
        return jpeg


def _store(cached: Path, jpeg: bytes) -> None:
    cached.parent.mkdir(parents=True, exist_ok=True)
    temporary = cached.with_suffix(".tmp")
    temporary.write_bytes(jpeg)
    temporary.replace(cached)


def make_strip(path: Path, duration: float, tiles: int) -> bytes:
    """Decode the keyframe nearest each tile's moment and lay the pictures side by side."""
    pictures: list[np.ndarray[Any, np.dtype[np.uint8]]] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = "NONKEY"
        height = None
        for index in range(tiles):
            moment = duration * (index + 0.5) / tiles
            assert stream.time_base is not None
            container.seek(int(moment / stream.time_base), stream=stream, backward=True)
            frame = next(container.decode(stream), None)
            if frame is None:
                continue
            if height is None:
                height = max(2, round(frame.height * STRIP_TILE_WIDTH / frame.width / 2) * 2)
            small = frame.reformat(width=STRIP_TILE_WIDTH, height=height, format="rgb24")
            pictures.append(np.asarray(small.to_ndarray(), dtype=np.uint8))
    if not pictures:
        raise ValueError("no picture in the recording")
    strip = np.concatenate(pictures, axis=1)
    return encode_jpeg(av.VideoFrame.from_ndarray(strip, format="rgb24"))
