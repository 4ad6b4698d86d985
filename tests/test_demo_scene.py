"""The demo camera's frames: a frame somebody still holds is never drawn over; a released
one is drawn into again instead of a new 1.4 MB buffer each frame."""

from __future__ import annotations

import numpy as np

from camera.demo import POOL_SIZE, DemoScene, read_stamp

T0 = 1_765_000_000.0  # a fixed wall time: stamps and object positions differ per frame


def stamp(frame) -> int:  # type: ignore[no-untyped-def]
    return read_stamp(frame.to_ndarray(format="gray"))


def test_a_held_frame_keeps_its_picture() -> None:
    scene = DemoScene(320, 240)
    held = scene.video_frame(T0)
    before = held.to_ndarray(format="yuv420p").copy()
    later = [scene.video_frame(T0 + i) for i in range(1, 3)]
    assert all(frame is not held for frame in later)
    assert np.array_equal(held.to_ndarray(format="yuv420p"), before)
    assert stamp(held) == round(T0 * 1000) % (1 << 40)


def test_a_released_frame_is_drawn_into_again() -> None:
    scene = DemoScene(320, 240)
    first = scene.video_frame(T0)
    first_id = id(first)
    del first
    again = scene.video_frame(T0 + 1.5)
    assert id(again) == first_id
    assert again.pts is None
    assert stamp(again) == round((T0 + 1.5) * 1000) % (1 << 40)


def test_more_frames_held_than_the_pool_holds() -> None:
    scene = DemoScene(320, 240)
    held = [scene.video_frame(T0 + i) for i in range(POOL_SIZE + 3)]
    assert len({id(frame) for frame in held}) == len(held)
    assert [stamp(frame) for frame in held] == [
        round((T0 + i) * 1000) % (1 << 40) for i in range(POOL_SIZE + 3)
    ]
