"""Playing recordings over HTTP: byte ranges, the thumbnail strip, deletion, access control."""

from __future__ import annotations

import io
import time
from typing import Any

import av
import pytest

from api.models import Recording
from camera.analysis import Observation
from tests.conftest import wait_until
from tests.test_recording import complete, recording_config, wait_camera_time


def two_cameras() -> dict[str, Any]:
    config = recording_config()
    small = {"width": 320, "height": 180, "fps": 15}
    front = {**config["cameras"][0], "id": "front", **small}
    back = {**config["cameras"][0], "id": "back", **small}
    config["cameras"] = [front, back]
    return config


async def make_clip(server: Any, camera: str) -> dict[str, Any]:
    recorder = server.services.recordings.recorders[camera]
    await wait_until(lambda: recorder.pre_roll_seconds >= 1.0, 20, "pre-roll (a GOP)")
    observe = server.services.events.observe
    started = time.time()
    observe(Observation(camera, "motion", "start", started, score=0.3))
    await wait_camera_time(server, started + 0.5, camera)
    observe(Observation(camera, "motion", "end", time.time(), score=0.3))
    events = await server.client.get("/api/events", params={"camera": camera})
    return await complete(server, events.json()["events"][0]["clip"]["id"])


@pytest.fixture
async def server(start_server):
    running = await start_server(two_cameras())
    await running.wait_online("front")
    await running.wait_online("back")
    await running.add_user("frontonly", cameras=["front"])
    return running


async def test_range_requests(server):
    clip = await make_clip(server, "front")
    url = clip["links"]["video"]
    whole = (await server.client.get(url)).content
    size = len(whole)
    assert size == clip["size"] > 1000

    async def fetch(range_header: str) -> Any:
        return await server.client.get(url, headers={"Range": range_header})

    first = await fetch("bytes=0-99")
    assert first.status_code == 206
    assert first.headers["content-range"] == f"bytes 0-99/{size}"
    assert first.content == whole[:100]
    middle = size // 2
    response = await fetch(f"bytes={middle}-{middle + 999}")
    assert response.status_code == 206
    assert response.content == whole[middle : middle + 1000]
    last = await fetch("bytes=-100")
    assert last.status_code == 206
    assert last.content == whole[-100:]
    assert last.headers["content-range"] == f"bytes {size - 100}-{size - 1}/{size}"
    tail = await fetch(f"bytes={size - 10}-")
    assert tail.content == whole[-10:]
    several = await fetch("bytes=0-9,20-29")
    assert several.status_code == 206
    assert several.headers["content-type"].startswith("multipart/byteranges")
    # Ranges outside the file, or nonsense.
    beyond = await fetch(f"bytes={size}-")
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{size}"
    backwards = await fetch("bytes=50-10")
    assert backwards.status_code in (400, 416)
    for nonsense in ("bytes=abc", "pages=0-1", "bytes=--5"):
        response = await fetch(nonsense)
        assert response.status_code in (200, 400, 416), (nonsense, response.status_code)
        if response.status_code == 200:
            assert response.content == whole  # an unusable Range is ignored (RFC 9110)
    assert (await server.client.get(url)).headers["accept-ranges"] == "bytes"


async def test_thumbnail_strip(server):
    clip = await make_clip(server, "front")
    response = await server.client.get(clip["links"]["strip"], params={"tiles": 4})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    with av.open(io.BytesIO(response.content)) as container:
        picture = next(container.decode(video=0))
    assert (picture.width, picture.height) == (4 * 160, 90)
    # Cached once the recording is complete: the same bytes again.
    again = await server.client.get(clip["links"]["strip"], params={"tiles": 4})
    assert again.content == response.content
    assert (await server.client.get(clip["links"]["strip"], params={"tiles": 0})).status_code == 422


async def test_viewers_only_reach_recordings_of_their_cameras(server):
    back = await make_clip(server, "back")
    front = await make_clip(server, "front")
    viewer = await server.client_for("frontonly")
    for path in (
        back["links"]["self"],
        back["links"]["video"],
        back["links"]["download"],
        back["links"]["strip"],
    ):
        assert (await viewer.get(path)).status_code == 403, path
    assert (await viewer.get("/api/recordings", params={"camera": "back"})).status_code == 403
    listed = (await viewer.get("/api/recordings")).json()["recordings"]
    assert {r["camera"] for r in listed} == {"front"}
    assert (await viewer.get(front["links"]["video"])).status_code == 200
    assert (await viewer.get("/api/recordings/999999")).status_code == 404
    # Deleting is for admins.
    assert (await viewer.delete(front["links"]["self"])).status_code == 403
    storage = (await viewer.get("/api/storage")).json()
    assert storage["root"] is None
    assert set(storage["recording"]) == {"front"}
    anonymous = server.anonymous()
    assert (await anonymous.get(front["links"]["video"])).status_code == 401


async def test_admin_deletes_a_recording(server):
    clip = await make_clip(server, "front")
    row = await server.services.db.run(lambda db: db.get(Recording, clip["id"]))
    path = server.services.recordings.root / row.path
    assert path.is_file()
    assert (await server.client.delete(clip["links"]["self"])).status_code == 204
    assert not path.exists()
    assert (await server.client.get(clip["links"]["self"])).status_code == 404
    event = (await server.client.get("/api/events", params={"camera": "front"})).json()
    assert event["events"][0]["clip"] is None
    # The one being written cannot be deleted.
    writing = server.services.recordings.recorders["front"]
    observe = server.services.events.observe
    observe(Observation("front", "motion", "start", time.time(), score=0.3))
    clip_id = writing.recording["clip"]
    assert clip_id is not None
    await server.services.recordings.flush()
    assert (await server.client.delete(f"/api/recordings/{clip_id}")).status_code == 409
