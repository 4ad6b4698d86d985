"""Zones that raise alerts and zones that only record (the mask editor's "alerts" switch)."""

from __future__ import annotations

import time
from typing import Any

import av
import numpy as np

from camera.analysis import Analyzer, Observation
from camera.config import CameraConfig
from camera.motion import Zone
from tests.clips import rect


def picture(box_x: int | None) -> av.VideoFrame:
    gray = np.full((144, 256), 90, np.uint8)
    if box_x is not None:
        gray[60:90, box_x : box_x + 20] = 220
    return av.VideoFrame.from_ndarray(np.stack([gray] * 3, -1), format="rgb24")


def test_the_analyzer_says_whether_motion_touched_an_alerting_zone() -> None:
    zones = [
        Zone(name="street", points=rect(0.0, 0.0, 0.5, 1.0), alert=False),
        Zone(name="porch", points=rect(0.5, 0.0, 0.5, 1.0)),
    ]
    config = CameraConfig(id="cam", source="demo", motion={"zones": zones, "frames_to_start": 1})
    seen: list[Observation] = []
    analyzer = Analyzer(config, seen.append)
    t = 1_000.0
    for box_x in (None, 20, 40, 60, 150):  # along the street, then onto the porch
        analyzer.video(picture(box_x), t)
        t += 0.2
    motion = [o for o in seen if o.kind == "motion"]
    assert [(o.phase, o.alerting) for o in motion] == [
        ("start", False),
        ("update", False),
        ("update", False),
        ("update", True),
    ]


async def test_an_event_that_reaches_an_alerting_zone_alerts_then(start_server):
    server = await start_server(
        {
            "webrtc": {"ice_addresses": ["127.0.0.1"]},
            "cameras": [
                {
                    **{"id": "cam", "source": "demo", "width": 320, "height": 180, "fps": 5},
                    "motion": {"enabled": False},  # only the observations below
                }
            ],
            "events": {"cooldown_seconds": 0},
        }
    )
    events = server.services.events
    got: list[dict[str, Any]] = []
    events.add_listener(lambda message, camera: got.append(message))
    now = time.time()

    def observe(phase: str, at: float, alerting: bool) -> None:
        zones = ["street", "porch"] if alerting else ["street"]
        events.observe(Observation("cam", "motion", phase, at, 0.1, zones=zones, alerting=alerting))  # type: ignore[arg-type]

    observe("start", now, False)
    observe("update", now + 1, False)
    assert [m["type"] for m in got if m["type"] == "alert"] == []  # the street: no alert
    observe("update", now + 2, True)
    alerts = [m for m in got if m["type"] == "alert"]
    assert len(alerts) == 1
    assert alerts[0]["event"]["alert"] is True
    observe("end", now + 3, True)
    await events.flush()
    listed = (await server.client.get("/api/events")).json()["events"]
    motion = [e for e in listed if e["kind"] == "motion"]
    assert [(e["alert"], e["zones"]) for e in motion] == [(True, ["porch", "street"])]
