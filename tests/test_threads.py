"""Thread ownership is enforced: loop-owned state refuses reader threads, and media work
refuses the event loop."""

from __future__ import annotations

import asyncio

import av
import numpy as np
import pytest

from camera.camera import Camera
from camera.config import CameraConfig
from camera.hub import PacketHub
from camera.threads import WrongThread, on_loop


def test_no_loop_in_a_plain_thread():
    assert not on_loop()


async def test_a_hub_refuses_a_reader_thread():
    hub = PacketHub("video", keyframed=True)
    packet = av.Packet(b"\x00\x00\x00\x01\x65")
    hub.publish(packet, True)  # on the loop: fine
    with pytest.raises(WrongThread, match="call_soon_threadsafe"):
        await asyncio.to_thread(hub.publish, packet, True)
    with pytest.raises(WrongThread):
        await asyncio.to_thread(hub.subscribe)


async def test_a_camera_refuses_media_work_on_the_loop_and_status_off_it():
    camera = Camera(
        CameraConfig(id="t", source="demo", width=160, height=120), asyncio.get_running_loop()
    )
    frame = av.VideoFrame.from_ndarray(np.zeros((120, 160, 3), np.uint8), format="rgb24")
    with pytest.raises(WrongThread, match="must not run on the event loop"):
        camera.on_video_frame(frame)
    await asyncio.to_thread(camera.on_video_frame, frame)  # a reader thread: fine
    with pytest.raises(WrongThread):
        await asyncio.to_thread(camera.set_status, False, "unplugged")
    camera.set_status(False, "unplugged")
    assert camera.status == "offline"
