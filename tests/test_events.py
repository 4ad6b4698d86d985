"""Event lifecycle: alerts, cooldown, arming, splitting, health events, REST filters."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from camera.analysis import Observation
from camera.health import HealthConfig, HealthState, step
from tests.conftest import demo_config


def quiet(**events: Any) -> dict[str, Any]:
    config = demo_config(motion={"enabled": False}, health={"frozen_seconds": 0, "tamper": False})
    config["events"] = {"cooldown_seconds": 60, **events}
    return config


def motion(server: Any, phase: str, at: float, **kw: Any) -> None:
    server.services.events.observe(Observation("demo", "motion", phase, at, **kw))  # type: ignore[arg-type]


async def events(server: Any, **params: Any) -> list[dict[str, Any]]:
    response = await server.client.get("/api/events", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["events"])


async def test_event_lifecycle_and_record(start_server):
    server = await start_server(quiet())
    t = time.time()
    motion(server, "start", t, score=0.1, regions=[(0.1, 0.2, 0.3, 0.4)], zones=["door"])
    motion(server, "update", t + 1, score=0.4, regions=[(0.2, 0.2, 0.3, 0.4)], zones=["path"])
    motion(server, "end", t + 2, score=0.4)
    (event,) = await events(server)
    assert event["kind"] == "motion"
    assert event["score"] == 0.4  # the peak
    assert event["zones"] == ["door", "path"]
    assert event["regions"] == [[0.2, 0.2, 0.3, 0.4]]
    assert event["start"].endswith("Z")
    assert event["end"] is not None
    assert event["alert"] is True
    one = (await server.client.get(f"/api/events/{event['id']}")).json()
    assert one == event
    acked = (await server.client.post(f"/api/events/{event['id']}/ack")).json()
    assert acked["acknowledged"] is True
    assert acked["acknowledged_by"] == "admin"
    assert (await server.client.get("/api/events/999999")).status_code == 404


async def test_cooldown_limits_alerts_not_events(start_server):
    server = await start_server(quiet())
    t = time.time()
    for i in range(5):
        motion(server, "start", t + i * 10)
        motion(server, "end", t + i * 10 + 1)
    motion(server, "start", t + 100)
    listed = await events(server)
    assert len(listed) == 6
    alerts = [e["alert"] for e in reversed(listed)]
    assert alerts == [True, False, False, False, False, True]


async def test_disarmed_cameras_record_but_do_not_alert(start_server):
    server = await start_server(quiet(cooldown_seconds=0))
    response = await server.client.put("/api/cameras/demo/arm", json={"armed": False})
    assert response.json()["armed"] is False  # (and the schedule's view, docs/api.md)
    assert (await server.client.get("/api/cameras/demo/arm")).json()["armed"] is False
    motion(server, "start", time.time())
    (event,) = await events(server)
    assert event["alert"] is False
    await server.client.put("/api/cameras/demo/arm", json={"armed": True})
    motion(server, "start", time.time())
    assert (await events(server))[0]["alert"] is True
    assert (
        await server.client.put("/api/cameras/demo/arm", json={"armed": "x"})
    ).status_code == 422


async def test_endless_activity_is_split(start_server):
    server = await start_server(quiet(max_event_seconds=10, cooldown_seconds=0))
    t = time.time()
    motion(server, "start", t)
    for second in range(1, 25):
        motion(server, "update", t + second, score=0.1)
    listed = await events(server)
    assert len(listed) == 3
    assert all(e["end"] for e in listed[1:])
    assert "split" in listed[1]["detail"]


async def test_offline_and_online_events(start_server):
    server = await start_server(quiet())
    await server.wait_online("demo")
    camera = server.camera("demo")
    camera.set_status(False, "unplugged")
    camera.set_status(True, None)
    kinds = [e["kind"] for e in await events(server)]
    assert kinds == ["online", "offline"]


async def test_filters_and_pagination(start_server):
    server = await start_server(quiet(cooldown_seconds=0))
    t = time.time()
    for i in range(7):
        kind = "motion" if i % 2 else "sound"
        server.services.events.observe(Observation("demo", kind, "start", t + i))  # type: ignore[arg-type]
    only_motion = await events(server, kind="motion")
    assert {e["kind"] for e in only_motion} == {"motion"}
    page1 = (await server.client.get("/api/events", params={"limit": 3})).json()
    page2 = (
        await server.client.get("/api/events", params={"limit": 3, "cursor": page1["next_cursor"]})
    ).json()
    ids = [e["id"] for e in page1["events"] + page2["events"]]
    assert ids == sorted(ids, reverse=True)
    assert len(set(ids)) == 6
    assert (await server.client.get("/api/events", params={"kind": "nope"})).status_code == 422
    assert (await server.client.get("/api/events", params={"cursor": "x"})).status_code == 422
    activity = (await server.client.get("/api/cameras/demo/activity")).json()
    assert len(activity["hours"]) == 24
    assert sum(activity["counts"]["motion"]) == 3


async def test_event_snapshot_is_served_safely(start_server):
    server = await start_server(quiet())
    jpeg = b"\xff\xd8fake-jpeg\xff\xd9"
    motion(server, "start", time.time(), snapshot=jpeg)
    (event,) = await events(server)
    response = await server.client.get(event["links"]["snapshot"])
    assert response.status_code == 200
    assert response.content == jpeg


def test_frozen_picture_is_reported_then_cleared():
    config = HealthConfig(frozen_seconds=5, tamper=False)
    state = HealthState()
    rng = np.random.default_rng(1)
    picture = rng.integers(0, 255, (144, 256), dtype=np.uint8)
    changes = []
    for i in range(40):
        state, found = step(state, picture, config, i * 0.2)
        changes += found
    assert [(c.kind, c.phase) for c in changes] == [("frozen", "start")]
    state, found = step(state, rng.integers(0, 255, (144, 256), dtype=np.uint8), config, 9)
    assert [(c.kind, c.phase) for c in found] == [("frozen", "end")]


def test_covered_lens_and_moved_camera_are_tamper():
    config = HealthConfig(frozen_seconds=0, tamper_seconds=1, reference_seconds=1)
    rng = np.random.default_rng(2)
    scene = rng.integers(0, 255, (144, 256), dtype=np.uint8)
    state = HealthState()
    for i in range(10):
        noisy = np.clip(scene.astype(int) + rng.integers(-3, 4, scene.shape), 0, 255)
        state, found = step(state, noisy.astype(np.uint8), config, i * 0.2)
        assert found == []
    covered = np.full((144, 256), 12, dtype=np.uint8)
    changes = []
    for i in range(10):
        state, found = step(state, covered, config, 2 + i * 0.2)
        changes += found
    assert [(c.kind, c.phase) for c in changes] == [("tamper", "start")]
    assert "covered" in changes[0].detail
    # Lights change: the same scene, brighter. Not tamper.
    state = HealthState()
    for i in range(10):
        state, _ = step(state, scene, config, i * 0.2)
    brighter = np.clip(scene.astype(int) + 60, 0, 255).astype(np.uint8)
    found_all = []
    for i in range(10):
        state, found = step(state, brighter, config, 2 + i * 0.2)
        found_all += found
    assert found_all == []
    # Turned to face elsewhere: another scene.
    elsewhere = rng.integers(0, 255, (144, 256), dtype=np.uint8)
    for i in range(10):
        state, found = step(state, elsewhere, config, 5 + i * 0.2)
        found_all += found
    assert ("tamper", "start") in [(c.kind, c.phase) for c in found_all]
    assert any("moved" in c.detail for c in found_all)


async def test_listeners_get_every_live_message_and_a_failing_one_harms_nobody(start_server):
    server = await start_server(quiet())
    await server.wait_online("demo")
    events = server.services.events
    got: list[tuple[str, str | None]] = []

    def broken(message: dict[str, Any], camera: str | None) -> None:
        raise RuntimeError("listener bug")

    events.add_listener(broken)

    def listener(message: dict[str, Any], camera: str | None) -> None:
        if message["type"] != "recording":  # clips come and go with events too
            got.append((message["type"], camera))

    events.add_listener(listener)
    now = time.time()
    events.observe(Observation("demo", "motion", "start", now, 0.3))
    events.observe(Observation("demo", "motion", "end", now + 1, 0.3))
    # The event's clip opening ("recording" start) may come first, as on the WebSocket.
    assert [m for m in got if m[0] != "recording"] == [
        ("event", "demo"),
        ("alert", "demo"),
        ("event", "demo"),
    ]
    events.remove_listener(broken)
    await events.set_armed("demo", False)
    assert got[-1] == ("armed", "demo")
