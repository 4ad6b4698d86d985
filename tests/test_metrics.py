"""GET /metrics: access (token, metrics.allow, nobody else), per-camera filtering, and
``promtool check metrics`` (Debian's prometheus package) on what a live server exposes."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import demo_config
from tests.waiting import wait_until
from tests.whep_client import connect, hang_up

SMALL = {"width": 320, "height": 180, "fps": 10}


def two_cameras(**extra: Any) -> dict[str, Any]:
    config = demo_config(**SMALL)
    config["cameras"].append({"id": "yard", "source": "demo", **SMALL})
    config.update(extra)
    return config


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text)[(name, tuple(sorted(labels.items())))]


async def test_metrics_need_a_token_or_an_allowed_address(start_server: Any) -> None:
    closed = await start_server(two_cameras())
    assert (await closed.anonymous().get("/metrics")).status_code == 401
    allowed = await start_server(two_cameras(metrics={"allow": ["127.0.0.0/8"]}))
    response = await allowed.anonymous().get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    other = await start_server(two_cameras(metrics={"allow": ["192.0.2.0/24", "::1"]}))
    assert (await other.anonymous().get("/metrics")).status_code == 401


async def test_metrics_follow_the_cameras_and_pass_promtool(start_server: Any) -> None:
    server = await start_server(two_cameras())
    await server.wait_online("demo")
    await server.wait_online("yard")
    viewer = await connect(server.client, "demo", audio=False)
    try:
        await viewer.next_video_frame()
        text = await wait_until(
            lambda: _scrape_when(
                server, lambda t: value(t, "sentrycam_camera_viewers", camera="demo") == 1
            )
        )
    finally:
        await hang_up(server.client, viewer)
    assert value(text, "sentrycam_camera_up", camera="demo") == 1
    assert value(text, "sentrycam_camera_input_frames_total", camera="demo") > 0
    assert value(text, "sentrycam_camera_output_frames_total", camera="demo") > 0
    assert value(text, "sentrycam_camera_encode_seconds_total", camera="demo") > 0
    assert value(text, "sentrycam_camera_video_bytes_total", camera="demo") > 0
    assert value(text, "sentrycam_camera_viewers", camera="yard") == 0
    assert value(text, "sentrycam_camera_recorded_bytes_total", camera="demo") >= 0
    assert value(text, "sentrycam_live_clients") == 0
    assert value(text, "sentrycam_disk_free_bytes", volume="data") > 0
    assert value(text, "sentrycam_process_resident_memory_bytes") > 0
    assert value(text, "sentrycam_process_cpu_seconds_total") > 0
    assert value(text, "sentrycam_system_alert_active", kind="overheat") == 0
    assert value(text, "sentrycam_build_info", version=_version()) == 1
    for name, _ in samples(text):
        assert name.startswith("sentrycam_"), name
    if shutil.which("promtool") is None:
        pytest.fail("promtool missing: apt-get install prometheus (tests/run.sh does)")
    checked = await asyncio.to_thread(
        subprocess.run,
        ["promtool", "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip() == "", checked.stdout

    # A viewer's token sees its own cameras only.
    await server.add_user("porch-only", cameras=["demo"])
    limited = await server.client_for("porch-only")
    mine = (await limited.get("/metrics")).text
    cameras = {dict(labels).get("camera") for _, labels in samples(mine)} - {None}
    assert cameras == {"demo"}


async def _scrape_when(server: Any, ready: Any) -> str | None:
    text = (await server.client.get("/metrics")).text
    return text if ready(text) else None


def _demo_watched(text: str) -> bool:
    return value(text, "sentrycam_camera_viewers", camera="demo") == 1


def _version() -> str:
    from camera import __version__

    return __version__
