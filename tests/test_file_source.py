"""A recorded file as a camera: played at its own pace, looped, video and its audio."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from camera.demo import DemoScene, tone
from tests.waiting import wait_until
from tests.whep_client import connect, hang_up


def write_clip(path: Path, seconds: float = 2.0, fps: int = 15, bframes: int = 0) -> Path:
    """H.264 + AAC in MP4 (length-prefixed NAL units: passthrough must convert them);
    ``bframes``: pictures sent out of display order, as some cameras do."""
    scene = DemoScene(320, 180)
    with av.open(str(path), "w") as output:
        video = output.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = 320, 180, "yuv420p"
        video.options = {
            "preset": "ultrafast",
            "x264-params": f"keyint={fps}:bframes={bframes}:b-adapt=0",
        }
        audio = output.add_stream("aac", rate=48000)
        audio.layout = "mono"
        for index in range(int(seconds * fps)):
            frame = scene.video_frame(1_700_000_000 + index / fps)
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            output.mux(video.encode(frame))
        output.mux(video.encode(None))
        samples = int(seconds * 48000)
        for start in range(0, samples, 1024):
            chunk = tone(start, 1024)
            chunk.pts = start
            output.mux(audio.encode(chunk))
        output.mux(audio.encode(None))
    return path


@pytest.mark.parametrize("encoder", ["copy", "libx264"])
async def test_file_camera_with_its_audio(start_server, tmp_path, encoder):
    clip = write_clip(tmp_path / "clip.mp4")
    server = await start_server(
        {
            "webrtc": {"ice_addresses": ["127.0.0.1"]},
            "cameras": [
                {
                    "id": "clip",
                    "source": str(clip),
                    "audio": "source",
                    "encoder": encoder,
                    "width": 320,
                    "height": 180,
                    "fps": 15,
                }
            ],
        }
    )
    await server.wait_online("clip")
    viewer = await connect(server.client, "clip")
    try:
        # 45 frames from a 30-frame clip: it loops rather than going offline.
        for _ in range(45):
            frame = await viewer.next_video_frame()
        assert (frame.width, frame.height) == (320, 180)
        audio = await viewer.next_audio_frame()
        for _ in range(20):
            audio = await viewer.next_audio_frame()
        assert np.abs(audio.to_ndarray()).max() > 200  # the -37 dBFS tone, not silence
        assert server.camera("clip").restarts == 0  # looped, never went offline
        camera = (await server.client.get("/api/cameras/clip")).json()
        assert camera["status"] == "online"
        assert camera["encoder"] == encoder
        # Snapshots work for passthrough too (decoded on demand, starting at a keyframe).
        snapshot = await server.client.get("/api/cameras/clip/snapshot.jpg")
        assert snapshot.status_code == 200
        image = cv2.imdecode(np.frombuffer(snapshot.content, np.uint8), cv2.IMREAD_GRAYSCALE)
        assert image.shape == (180, 320)
    finally:
        await hang_up(server.client, viewer)


async def test_copy_refuses_b_frames_with_a_clear_reason(start_server, tmp_path):
    # Regression: passthrough stamped packets pts = dts = arrival time, so a stream with
    # B-frames played out of order. It is refused instead, saying why and what to do.
    clip = write_clip(tmp_path / "b.mp4", bframes=2)
    config = {
        "webrtc": {"ice_addresses": ["127.0.0.1"]},
        "cameras": [{"id": "clip", "source": str(clip), "encoder": "copy"}],
    }
    server = await start_server(config)
    camera = server.camera("clip")
    await wait_until(lambda: camera.status == "offline", 20, "the refusal")
    assert "B-frames" in (camera.error or "")
    assert "libx264" in (camera.error or "")
    listed = (await server.client.get("/api/cameras/clip")).json()
    assert "B-frames" in listed["error"]
