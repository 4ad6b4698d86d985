"""The dashboard's unit tests read ``tests/js/fixtures/devices.json`` as the answer of
``GET /api/devices``: this checks that it is what a real server answers on the machine of
``tests/device_bed.py``, so the JavaScript cannot drift from the API.

After a deliberate change of the answer, write the fixture again with
``SENTRYCAM_WRITE_FIXTURES=1 .venv/bin/python -m pytest tests/test_devices_fixture.py``
and review its diff.
"""

from __future__ import annotations

import json
import os

from tests.device_bed import CONFIG, FIXTURE, build_machine


async def test_the_js_fixture_is_what_the_server_answers(start_server, monkeypatch, tmp_path):
    v4l2, alsa = build_machine(tmp_path / "machine")
    monkeypatch.setattr("camera.manager.V4L2", lambda: v4l2)
    monkeypatch.setattr("camera.manager.Alsa", lambda: alsa)
    server = await start_server(CONFIG)
    got = await server.client.get("/api/devices")
    assert got.status_code == 200
    answer = got.json()
    if os.environ.get("SENTRYCAM_WRITE_FIXTURES"):
        FIXTURE.write_text(json.dumps(answer, indent=1) + "\n", encoding="utf-8")
    assert answer == json.loads(FIXTURE.read_text(encoding="utf-8")), (
        "GET /api/devices changed: check the dashboard (web/camera-model.js, "
        "web/device-format.js), then write the fixture again (see this module's docstring)"
    )
    # The machine is what the fixture's readers rely on.
    c920, vivid = answer["video"]
    assert (c920["in_use"], c920["suggested"]["audio"]) == (False, "auto")
    assert c920["microphone"]["alsa"] == "hw:CARD=C920,DEV=0"
    assert (vivid["camera"], vivid["microphone"]) == ("yard", None)
    used = {a["alsa"]: a["camera"] for a in answer["audio"]}
    assert used == {
        "hw:CARD=Loopback,DEV=0": None,
        "hw:CARD=Loopback,DEV=1": "yard",
        "hw:CARD=C920,DEV=0": None,
    }
