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


async def test_camera_info_on_the_loop_while_the_reader_thread_appends():
    # Regression: info() iterated the frame-time deque that the reader thread appends to,
    # which raised "deque mutated during iteration" now and then (a 500 on GET /api/cameras).
    import sys
    import threading

    config = CameraConfig(
        id="t",
        source="udp://127.0.0.1:9",
        encoder="copy",
        motion={"enabled": False},
        health={"frozen_seconds": 0, "tamper": False},
    )
    camera = Camera(config, asyncio.get_running_loop())
    packet = av.Packet(b"\x00\x00\x00\x01\x65")
    stop = threading.Event()
    appended = [0]

    def reader() -> None:  # what the reader thread does for every packet of a copy camera
        while not stop.is_set():
            camera.on_video_packet(packet, None)  # type: ignore[arg-type]
            appended[0] += 1

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # hand the GIL over as often as possible
    thread = threading.Thread(target=reader, name="camera-t-video")
    thread.start()
    try:
        for _ in range(20_000):
            assert camera.info().id == "t"
    finally:
        stop.set()
        thread.join(10)
        sys.setswitchinterval(switch)
    assert appended[0] > 1000  # they really ran side by side


def test_motion_start_leaves_the_jpeg_to_the_writer_not_the_reader_thread(monkeypatch):
    # Regression: the reader thread encoded a full-size JPEG at motion start, delaying that
    # frame's H.264 encode just when an alert brings viewers.
    import camera.snapshots
    from camera.analysis import Analyzer
    from camera.snapshots import PendingJpeg

    encoded: list[int] = []
    real = camera.snapshots.encode_jpeg
    monkeypatch.setattr(
        camera.snapshots, "encode_jpeg", lambda *a, **k: encoded.append(1) or real(*a, **k)
    )
    config = CameraConfig(
        id="t", source="demo", width=320, height=240, motion={"frames_to_start": 1}
    )
    observations = []
    analyzer = Analyzer(config, observations.append)
    dark = np.zeros((240, 320, 3), np.uint8)
    for index in range(30):
        picture = dark.copy()
        if index >= 15:  # something walks in
            picture[60:180, 40 + index * 4 : 120 + index * 4] = 255
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format="yuv420p")
        analyzer.video(frame, 1000.0 + index)
    starts = [o for o in observations if o.phase == "start"]
    assert starts, observations
    assert isinstance(starts[0].snapshot, PendingJpeg)
    assert encoded == []  # nothing encoded on the reader's time
    jpeg = starts[0].snapshot.encode()  # the event store does this in its writer thread
    assert jpeg[:2] == b"\xff\xd8"
