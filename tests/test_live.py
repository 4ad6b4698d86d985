"""Live view end to end: real uvicorn, real aiortc viewers doing WHEP, decoded media."""

from __future__ import annotations

import asyncio
import time

import numpy as np

from camera.demo import latency_ms, read_stamp
from tests.conftest import demo_config, wait_until
from tests.whep_client import connect, hang_up


async def test_viewer_receives_and_decodes_video_and_audio(start_server):
    server = await start_server(demo_config())
    await server.wait_online("demo")
    viewer = await connect(server.client, "demo")
    try:
        frame = await viewer.next_video_frame()
        assert (frame.width, frame.height) == (640, 360)
        # The picture is the demo scene: its timestamp decodes to "just now".
        luma = frame.to_ndarray(format="gray")
        age = latency_ms(read_stamp(luma), int(time.time() * 1000))
        assert 0 <= age < 5000
        audio = await viewer.next_audio_frame()
        assert audio.sample_rate == 48000
        samples = audio.to_ndarray()
        assert np.abs(samples).max() > 200  # the -37 dBFS tone, not silence
        cameras = (await server.client.get("/api/cameras")).json()["cameras"]
        assert cameras[0]["viewers"] == 1
        assert cameras[0]["encoder"] == "libx264"
    finally:
        assert await hang_up(server.client, viewer) == 204
    assert (await server.client.get("/api/cameras/demo")).json()["viewers"] == 0


async def test_frames_keep_advancing(start_server):
    server = await start_server(demo_config())
    await server.wait_online("demo")
    viewer = await connect(server.client, "demo", audio=False)
    try:
        stamps = []
        for _ in range(15):
            frame = await viewer.next_video_frame()
            stamps.append(read_stamp(frame.to_ndarray(format="gray")))
        assert stamps == sorted(stamps)
        assert len(set(stamps)) == len(stamps)
    finally:
        await hang_up(server.client, viewer)


async def test_one_encoder_serves_every_viewer(start_server):
    # Not recording: a recording camera keeps its encoder on for the pre-roll.
    server = await start_server(demo_config(recording={"events": False}))
    await server.wait_online("demo")
    camera = server.camera("demo")
    viewers = [await connect(server.client, "demo", audio=False) for _ in range(3)]
    try:
        for viewer in viewers:
            await viewer.next_video_frame()
        assert camera.encoding
        starts = camera.encoder_starts
        before = camera.video.stats.packets
        first = [await v.next_video_frame() for v in viewers]
        await asyncio.gather(*(v.next_video_frame() for v in viewers for _ in range(10)))
        published = camera.video.stats.packets - before
        # Three viewers got 11 frames each, from about 11 encoded packets, not 33.
        assert published < 25, published
        assert camera.encoder_starts == starts  # still the same single encoder
        assert all(f.width == 640 for f in first)
    finally:
        for viewer in viewers:
            await hang_up(server.client, viewer)
    # Nobody watches: the encoder stops by itself.
    await wait_until(lambda: not camera.encoding, 30, "encoder to stop")


async def test_keyframe_request_from_viewer_reaches_shared_encoder(start_server):
    server = await start_server(demo_config(gop_seconds=10))
    await server.wait_online("demo")
    camera = server.camera("demo")
    viewer = await connect(server.client, "demo", audio=False)
    try:
        await viewer.next_video_frame()
        keyframes = camera.video.stats.keyframes
        receiver = next(t.receiver for t in viewer.pc.getTransceivers() if t.kind == "video")
        ssrc = receiver._RTCRtpReceiver__remote_streams  # populated once RTP flows
        media_ssrc = next(iter(ssrc))
        await receiver._send_rtcp_pli(media_ssrc)
        # With a 10 s GOP, a keyframe within the next second can only come from the PLI.
        await wait_until(lambda: camera.video.stats.keyframes > keyframes, 3, "forced IDR")
    finally:
        await hang_up(server.client, viewer)


async def test_snapshot_is_the_current_picture(start_server):
    server = await start_server(demo_config())
    await server.wait_online("demo")
    response = await server.client.get("/api/cameras/demo/snapshot.jpg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    import cv2

    image = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert image.shape == (360, 640)
    age = latency_ms(read_stamp(image), int(time.time() * 1000))
    assert 0 <= age < 5000
    small = await server.client.get("/api/cameras/demo/snapshot.jpg", params={"width": 320})
    thumb = cv2.imdecode(np.frombuffer(small.content, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert thumb.shape == (180, 320)


async def test_health_and_camera_list(start_server):
    server = await start_server(demo_config())
    await server.wait_online("demo")
    health = (await server.client.get("/api/health")).json()
    assert health == {
        "status": "ok",
        "version": health["version"],
        "cameras_online": 1,
        "cameras_total": 1,
        "database": "ok",
        "events_waiting": health["events_waiting"],
        "events_dropped": 0,
    }
    listing = (await server.client.get("/api/cameras")).json()
    camera = listing["cameras"][0]
    assert camera["id"] == "demo"
    assert camera["status"] == "online"
    assert camera["links"]["whep"] == "/api/cameras/demo/whep"
    assert (camera["width"], camera["height"]) == (640, 360)
    assert camera["audio"] is True


async def test_alsa_microphone_is_the_cameras_audio(start_server):
    # ALSA's "null" PCM is a real capture device as far as alsa-lib is concerned.
    server = await start_server(demo_config(audio="null"))
    await server.wait_online("demo")
    viewer = await connect(server.client, "demo")
    try:
        await viewer.next_video_frame()
        frame = await viewer.next_audio_frame()
        assert frame.sample_rate == 48000
        assert server.camera("demo").audio.stats.packets > 0
    finally:
        await hang_up(server.client, viewer)


async def test_browser_gets_configured_ice_servers(start_server):
    config = demo_config()
    config["webrtc"]["ice_servers"] = [
        {"urls": ["turn:127.0.0.1:3478"], "username": "u", "credential": "c"}
    ]
    server = await start_server(config)
    body = (await server.client.get("/api/webrtc")).json()
    assert body == {
        "ice_servers": [{"urls": ["turn:127.0.0.1:3478"], "username": "u", "credential": "c"}],
        "expires_at": None,  # a fixed login: nothing minted, nothing expires
    }
    default = await start_server(demo_config())
    body = (await default.client.get("/api/webrtc")).json()
    assert body == {"ice_servers": [], "expires_at": None}
