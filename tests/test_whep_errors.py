"""Bad input on the WHEP endpoint gets a clear 4xx/503, never a 500, and loses nothing."""

from __future__ import annotations

import pytest

from tests.conftest import demo_config
from tests.whep_client import WhepRefused, connect, hang_up, make_offer

SDP = {"Content-Type": "application/sdp"}


@pytest.fixture
async def server(start_server):
    running = await start_server(demo_config())
    await running.wait_online("demo")
    return running


async def valid_offer(video: bool = True, audio: bool = True) -> str:
    pc = await make_offer(video, audio)
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", "v=0"),
        ("hello", "v=0"),
        ("v=0\r\n", "no audio or video"),
        (
            "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF\r\n",
            "malformed",
        ),
    ],
)
async def test_malformed_offer_is_400_with_reason(server, body, reason):
    response = await server.client.post("/api/cameras/demo/whep", content=body, headers=SDP)
    assert response.status_code == 400
    assert reason in response.json()["detail"]


def strip_codec(sdp: str, name: str) -> str:
    """Remove a codec's payload types (and their rtx) from an SDP, consistently."""
    lines = sdp.splitlines()
    pts = {line.split()[0].split(":")[1] for line in lines if f" {name}/" in line}
    pts |= {
        line.split()[0].split(":")[1]
        for line in lines
        if line.startswith("a=fmtp:") and any(f"apt={pt}" in line for pt in pts)
    }
    kept = []
    for line in lines:
        if line.startswith("m=video"):
            fields = line.split()
            line = " ".join(fields[:3] + [f for f in fields[3:] if f not in pts])
        elif line.startswith(("a=rtpmap:", "a=fmtp:", "a=rtcp-fb:")) and (
            line.split()[0].split(":")[1] in pts
        ):
            continue
        kept.append(line)
    return "\r\n".join(kept) + "\r\n"


async def test_offer_without_h264_is_refused(server):
    sdp = strip_codec(await valid_offer(), "H264")
    assert "H264" not in sdp
    response = await server.client.post("/api/cameras/demo/whep", content=sdp, headers=SDP)
    assert response.status_code == 400
    assert "H.264" in response.json()["detail"]


async def test_offer_without_ice_credentials_is_refused(server):
    sdp = await valid_offer()
    lines = [line for line in sdp.splitlines() if not line.startswith("a=ice-pwd")]
    response = await server.client.post(
        "/api/cameras/demo/whep", content="\r\n".join(lines) + "\r\n", headers=SDP
    )
    assert response.status_code == 400
    assert "ICE" in response.json()["detail"]


async def test_truncated_offer_is_refused(server):
    sdp = await valid_offer()
    for cut in (len(sdp) // 3, len(sdp) // 2, len(sdp) - 40):
        response = await server.client.post(
            "/api/cameras/demo/whep", content=sdp[:cut], headers=SDP
        )
        assert response.status_code == 400, (cut, response.text)
    assert server.services.webrtc.viewers("demo") == 0


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", None])
async def test_wrong_content_type_is_415(server, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = await server.client.post(
        "/api/cameras/demo/whep", content=await valid_offer(), headers=headers
    )
    assert response.status_code == 415
    assert "application/sdp" in response.json()["detail"]


async def test_content_type_with_parameters_is_accepted(server):
    viewer_sdp = await valid_offer()
    response = await server.client.post(
        "/api/cameras/demo/whep",
        content=viewer_sdp,
        headers={"Content-Type": "application/sdp; charset=utf-8"},
    )
    assert response.status_code == 201
    assert (await server.client.delete(response.headers["location"])).status_code == 204


async def test_oversized_offer_is_413(server):
    response = await server.client.post(
        "/api/cameras/demo/whep", content="v=0\r\n" + "a=x\r\n" * 20000, headers=SDP
    )
    assert response.status_code == 413


async def test_non_utf8_offer_is_400(server):
    response = await server.client.post(
        "/api/cameras/demo/whep", content=b"v=0\r\n\xff\xfe", headers=SDP
    )
    assert response.status_code == 400


async def test_unknown_camera_is_404(server):
    response = await server.client.post(
        "/api/cameras/nope/whep", content=await valid_offer(), headers=SDP
    )
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]
    assert (await server.client.get("/api/cameras/nope/snapshot.jpg")).status_code == 404


async def test_invalid_camera_id_is_422(server):
    response = await server.client.get("/api/cameras/..%2Fetc/snapshot.jpg")
    assert response.status_code in (404, 422)
    response = await server.client.get("/api/cameras/UPPER")
    assert response.status_code == 422


async def test_viewer_cap_gives_503_with_clear_message(server):
    viewers = [await connect(server.client, "demo", audio=False) for _ in range(3)]
    try:
        with pytest.raises(WhepRefused) as refused:
            await connect(server.client, "demo", audio=False)
        assert refused.value.status == 503
        assert "limit" in refused.value.body
        # The viewers already watching are not disturbed.
        for viewer in viewers:
            await viewer.next_video_frame()
    finally:
        for viewer in viewers:
            await hang_up(server.client, viewer)
    # A freed slot can be taken again.
    viewer = await connect(server.client, "demo", audio=False)
    await viewer.next_video_frame()
    await hang_up(server.client, viewer)


async def test_delete_unknown_session_is_404(server):
    response = await server.client.delete("/api/cameras/demo/whep/AAAAAAAAAAAAAAAA")
    assert response.status_code == 404
    viewer = await connect(server.client, "demo", audio=False)
    assert await hang_up(server.client, viewer) == 204
    assert (await server.client.delete(viewer.location)).status_code == 404


async def test_trickle_patch_is_not_offered(server):
    viewer = await connect(server.client, "demo", audio=False)
    try:
        response = await server.client.patch(viewer.location, content="a=candidate")
        assert response.status_code == 405
    finally:
        await hang_up(server.client, viewer)


async def test_audio_only_offer_is_answered(server):
    viewer = await connect(server.client, "demo", video=False, audio=True)
    try:
        frame = await viewer.next_audio_frame()
        assert frame.sample_rate == 48000
    finally:
        await hang_up(server.client, viewer)
