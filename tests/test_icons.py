"""The installable app's icons are the committed PNGs that tests/make_icons.py draws."""

from __future__ import annotations

import av
import numpy as np
import pytest

from tests.make_icons import WEB, draw


@pytest.mark.parametrize("size", [192, 512])
@pytest.mark.parametrize("maskable", [False, True])
def test_icon_is_the_drawing_at_its_size(size: int, maskable: bool) -> None:
    name = f"icon-maskable-{size}.png" if maskable else f"icon-{size}.png"
    with av.open(str(WEB / name)) as container:
        frame = next(container.decode(video=0))
    pixels = frame.to_ndarray(format="rgba")
    assert pixels.shape == (size, size, 4)
    assert np.array_equal(pixels, draw(size, maskable)), f"{name}: run python -m tests.make_icons"
