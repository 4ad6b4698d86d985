"""Configuration through the API: every route, valid, invalid, conflicting, and a restart."""

from __future__ import annotations

import base64
import time
from typing import Any

import yaml

from tests.conftest import wait_until

SMALL = {"width": 320, "height": 180, "fps": 10}


def config(**extra: Any) -> dict[str, Any]:
    return {
        "webrtc": {"ice_addresses": ["127.0.0.1"]},
        "cameras": [{"id": "front", "source": "demo", **SMALL}],
        **extra,
    }


async def test_get_config_is_for_admins_with_secrets_redacted(start_server, monkeypatch):
    monkeypatch.setenv("SENTRYCAM_PW", "hunter2-secret")
    cfg = config()
    cfg["cameras"].append(
        {"id": "gate", "source": "rtsp://cam:${SENTRYCAM_PW}@127.0.0.1:9/s", "encoder": "copy"}
    )
    turn = {"urls": ["turn:127.0.0.1"], "username": "sentrycam", "credential": "t0ps3cret"}
    cfg["webrtc"]["ice_servers"] = [turn]
    server = await start_server(cfg)
    await server.add_user("viewer")
    viewer = await server.client_for("viewer")
    assert (await viewer.get("/api/config")).status_code == 403
    response = await server.client.get("/api/config")
    assert response.status_code == 200
    assert response.headers["etag"] == response.json()["etag"]
    text = response.text
    assert "hunter2" not in text
    assert "t0ps3cret" not in text
    body = response.json()
    gate = body["settings"]["cameras"][1]
    assert gate["source"] == "rtsp://***@127.0.0.1:9/s"
    assert body["origins"]["cameras.gate.source"] == "file"
    assert body["origins"]["cameras.gate.motion.threshold"] == "default"
    assert body["editable"] == ["cameras", "events", "notifications"]
    assert set(body["versions"]["cameras"]) == {"front", "gate"}
    # Sending the redacted source back changes nothing: the password stays.
    patched = await server.client.patch("/api/cameras/gate", json={"source": gate["source"]})
    assert patched.status_code == 200, patched.text
    assert patched.json()["applied"]["cameras"] == {}  # nothing changed, nothing restarted
    source = server.services.cameras.get("gate").config.source
    assert source.endswith("hunter2-secret@127.0.0.1:9/s")


async def test_add_change_and_remove_a_camera(start_server):
    server = await start_server(config())
    await server.wait_online("front")
    front = server.camera("front")
    added = await server.client.post("/api/cameras", json={"id": "yard", "source": "demo", **SMALL})
    assert added.status_code == 201, added.text
    assert added.headers["location"] == "/api/cameras/yard"
    assert added.json()["applied"]["cameras"] == {"yard": "added"}
    await server.wait_online("yard")
    assert [c["id"] for c in (await server.client.get("/api/cameras")).json()["cameras"]] == [
        "front",
        "yard",
    ]
    # A detector change is taken over by the running camera: no restart.
    yard = server.camera("yard")
    tag = added.headers["etag"]
    changed = await server.client.patch(
        "/api/cameras/yard",
        json={"name": "Back yard", "motion": {"threshold": 40, "min_area": 0.004}},
        headers={"If-Match": tag},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["applied"]["cameras"] == {"yard": "changed"}
    assert changed.json()["camera"]["motion"]["threshold"] == 40
    assert changed.json()["origins"]["motion.threshold"] == "dashboard"
    assert server.camera("yard") is yard
    assert yard.config.motion.min_area == 0.004
    assert (await server.client.get("/api/cameras/yard")).json()["name"] == "Back yard"
    # A source change restarts that camera only.
    restarted = await server.client.patch("/api/cameras/yard", json={"width": 240, "height": 136})
    assert restarted.json()["applied"]["cameras"] == {"yard": "restarted"}
    assert server.camera("yard") is not yard
    assert server.camera("front") is front
    await server.wait_online("yard")
    # Removing keeps the camera's events and recordings, and says so.
    removed = await server.client.delete("/api/cameras/yard")
    assert removed.status_code == 200, removed.text
    assert removed.json()["removed"] == "yard"
    assert set(removed.json()["kept"]) == {"events", "recordings"}
    assert "kept" in removed.json()["detail"]
    assert (await server.client.get("/api/cameras/yard")).status_code == 404
    assert (await server.client.delete("/api/cameras/yard")).status_code == 404
    assert front.restarts == 0
    assert server.camera("front") is front


async def test_invalid_changes_are_422_naming_the_field_and_change_nothing(start_server):
    server = await start_server(config())
    before = (await server.client.get("/api/config")).json()
    cases = [
        ("post", "/api/cameras", {"id": "x", "source": "demo", "fps": 500}, "fps"),
        ("post", "/api/cameras", {"id": "Bad Id", "source": "demo"}, "cameras.Bad Id.id"),
        ("post", "/api/cameras", {"id": "y", "source": "demo", "colour": "red"}, "colour"),
        ("post", "/api/cameras", {"source": "demo"}, "id"),
        ("patch", "/api/cameras/front", {"motion": {"threshold": 0}}, "motion.threshold"),
        ("patch", "/api/cameras/front", {"encoder": "h265"}, "encoder"),
        ("patch", "/api/cameras/front", {"id": "other"}, "id"),
        ("patch", "/api/cameras/front", {"schedule": {"mode": "weekly"}}, "schedule"),
        ("patch", "/api/config/events", {"cooldown_seconds": -1}, "events.cooldown_seconds"),
    ]
    for method, path, body, field in cases:
        response = await server.client.request(method.upper(), path, json=body)
        assert response.status_code == 422, (path, body, response.text)
        answer = response.json()
        assert isinstance(answer["detail"], str)
        assert any(field in error["field"] for error in answer["errors"]), (field, answer)
        assert all(error["message"] for error in answer["errors"])
    threshold = await server.client.patch("/api/cameras/front", json={"motion": {"threshold": 0}})
    assert "greater than or equal to 1" in threshold.json()["errors"][0]["message"]
    assert (await server.client.get("/api/config")).json() == before
    assert not (server.services.data_dir / "settings.yaml").exists()
    duplicate = await server.client.post("/api/cameras", json={"id": "front", "source": "demo"})
    assert duplicate.status_code == 409
    assert (await server.client.patch("/api/config/server", json={})).status_code == 422
    assert (await server.client.patch("/api/cameras/nope", json={})).status_code == 404


async def test_two_admins_never_lose_each_others_change(start_server):
    server = await start_server(config())
    await server.add_user("second", role="admin")
    other = await server.client_for("second")
    first_view = await server.client.get("/api/cameras/front/config")
    second_view = await other.get("/api/cameras/front/config")
    tag = first_view.headers["etag"]
    assert tag == second_view.headers["etag"]
    ok = await server.client.patch(
        "/api/cameras/front", json={"motion": {"threshold": 31}}, headers={"If-Match": tag}
    )
    assert ok.status_code == 200
    late = await other.patch(
        "/api/cameras/front", json={"motion": {"min_area": 0.01}}, headers={"If-Match": tag}
    )
    assert late.status_code == 412
    assert "changed since" in late.json()["detail"]
    assert "admin" in late.json()["detail"]
    current = (await other.get("/api/cameras/front/config")).json()
    assert current["camera"]["motion"]["threshold"] == 31  # kept, and nothing else changed
    assert current["camera"]["motion"]["min_area"] == 0.001
    retry = await other.patch(
        "/api/cameras/front",
        json={"motion": {"min_area": 0.01}},
        headers={"If-Match": current["etag"]},
    )
    assert retry.status_code == 200
    both = retry.json()["camera"]["motion"]
    assert (both["threshold"], both["min_area"]) == (31, 0.01)
    # The whole configuration's ETag is accepted too, and so is "*".
    whole = (await server.client.get("/api/config")).headers["etag"]
    deleted = await server.client.delete("/api/cameras/front", headers={"If-Match": whole})
    assert deleted.status_code == 200
    gone = await other.post(
        "/api/cameras", json={"id": "a", "source": "demo", **SMALL}, headers={"If-Match": whole}
    )
    assert gone.status_code == 412
    star = await other.post(
        "/api/cameras", json={"id": "a", "source": "demo", **SMALL}, headers={"If-Match": "*"}
    )
    assert star.status_code == 201


async def test_sections_change_at_run_time(start_server):
    server = await start_server(config())
    response = await server.client.patch("/api/config/events", json={"cooldown_seconds": 5})
    assert response.status_code == 200, response.text
    assert response.json()["events"]["cooldown_seconds"] == 5
    assert response.json()["applied"] == {
        "cameras": {},
        "sections": ["events"],
        "restart_needed": [],
    }
    assert server.services.settings.events.cooldown_seconds == 5
    reset = await server.client.patch("/api/config/events", json={"cooldown_seconds": None})
    assert reset.json()["events"]["cooldown_seconds"] == 60  # null: the default again
    # A section whose owner cannot apply it live is stored and applies at the next start.
    secret = base64.b64encode(bytes(range(32))).decode()
    hook = {"name": "hub", "url": "http://127.0.0.1:9/hook", "secret": secret}
    apprise = {"url": "tgram://123456:ABCDEF/987"}
    response = await server.client.patch(
        "/api/config/notifications", json={"webhooks": [hook], "apprise": [apprise]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["applied"]["restart_needed"] == ["notifications"]
    shown = response.json()["notifications"]
    assert shown["webhooks"][0]["secret"] == "***"
    assert shown["apprise"][0]["url"] == "tgram://***"
    # Sending the redacted values back keeps the real ones.
    again = await server.client.patch(
        "/api/config/notifications",
        json={"webhooks": shown["webhooks"], "apprise": shown["apprise"]},
    )
    assert again.status_code == 200
    stored = server.services.configuration.settings.notifications
    assert stored.webhooks[0].secret == hook["secret"]
    assert stored.apprise[0].url == apprise["url"]


async def test_changes_survive_a_restart_and_the_file_is_never_written(start_server, tmp_path):
    data = tmp_path / "persist"
    server = await start_server(config(), data_dir=data)
    await server.client.post("/api/cameras", json={"id": "yard", "source": "demo", **SMALL})
    await server.client.patch("/api/cameras/front", json={"motion": {"threshold": 33}})
    schedule = {"mode": "weekly", "periods": [{"start": "22:00", "end": "07:00"}]}
    await server.client.patch("/api/cameras/yard", json={"schedule": schedule})
    await server.client.patch("/api/config/events", json={"keep_days": 7})
    stored = yaml.safe_load((data / "settings.yaml").read_text())
    assert stored == {
        "events": {"keep_days": 7},
        "cameras": {
            "front": {"motion": {"threshold": 33}},
            "yard": {"source": "demo", **SMALL, "schedule": schedule},
        },
    }
    assert (data / "settings.yaml.prev").exists()
    await server.stop()
    again = await start_server(config(), data_dir=data)
    body = (await again.client.get("/api/config")).json()
    cameras = {c["id"]: c for c in body["settings"]["cameras"]}
    assert list(cameras) == ["front", "yard"]
    assert cameras["front"]["motion"]["threshold"] == 33
    assert cameras["yard"]["schedule"]["mode"] == "weekly"
    assert body["settings"]["events"]["keep_days"] == 7
    assert body["origins"]["cameras.yard.schedule.mode"] == "dashboard"
    await again.wait_online("yard")


async def test_the_live_channel_says_what_changed(start_server):
    from httpx_ws import aconnect_ws

    server = await start_server(config())
    async with aconnect_ws(server.base_url + "/api/ws", server.client) as ws:
        assert (await ws.receive_json(timeout=10))["type"] == "hello"
        await server.client.post("/api/cameras", json={"id": "yard", "source": "demo", **SMALL})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            message = await ws.receive_json(timeout=10)
            if message["type"] == "config":
                assert (message["camera"], message["action"]) == ("yard", "added")
                break
        else:
            raise AssertionError("no config message")
    await wait_until(lambda: server.camera("yard").status == "online", 20, "yard online")
