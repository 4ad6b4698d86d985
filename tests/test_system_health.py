"""Machine health: readings from Raspberry Pi 4 and 5 trees (tests/data), the alert step's
hysteresis, and GET /api/system with its alerts on a running server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from api import health_alerts
from api.appliance_config import SystemConfig
from api.health_alerts import Level, Reading
from api.system_health import Roots, cpu_percent, read_sample, throttle_flags, write_rate
from tests.conftest import demo_config
from tests.waiting import wait_until

DATA = Path(__file__).parent / "data"
SD_CARD = "179:2"


def roots(machine: str) -> Roots:
    return Roots(sys=DATA / machine / "sys", proc=DATA / machine / "proc")


def test_pi4_weak_power_supply(tmp_path: Path) -> None:
    sample = read_sample(roots("pi4"), tmp_path, SD_CARD)
    assert sample.temperature_c == pytest.approx(61.835)
    assert sample.throttled == 0x50005
    assert sample.undervoltage is True
    flags = throttle_flags(sample.throttled)
    assert flags is not None
    assert flags["undervoltage"]
    assert flags["throttled"]
    assert not flags["frequency_capped"]
    assert flags["undervoltage_since_boot"]
    assert flags["throttled_since_boot"]
    assert not flags["soft_temperature_limit_since_boot"]
    assert sample.cores == 4
    assert sample.memory_total == 3885428 * 1024
    assert sample.memory_available == 3159368 * 1024
    assert sample.load == (1.34, 1.08, 0.97)
    assert sample.uptime_s == pytest.approx(568214.31)
    assert sample.disk_written == 6242816 * 512
    assert sample.disk_total is not None  # statvfs of the data dir itself


def test_pi5_hot_attic(tmp_path: Path) -> None:
    sample = read_sample(roots("pi5"), tmp_path, SD_CARD)
    assert sample.temperature_c == pytest.approx(84.35)
    assert sample.throttled == 0xE0008
    assert sample.undervoltage is False
    flags = throttle_flags(sample.throttled)
    assert flags is not None
    assert flags["soft_temperature_limit"]
    assert not flags["throttled"]
    assert flags["throttled_since_boot"]
    assert flags["frequency_capped_since_boot"]
    assert not flags["undervoltage_since_boot"]


def test_hwmon_alone_gives_undervoltage(tmp_path: Path) -> None:
    tree = tmp_path / "sys"
    (tree / "class/hwmon/hwmon0").mkdir(parents=True)
    (tree / "class/hwmon/hwmon0/name").write_text("rpi_volt\n")
    (tree / "class/hwmon/hwmon0/in0_lcrit_alarm").write_text("1\n")
    sample = read_sample(Roots(sys=tree, proc=tmp_path / "none"), tmp_path, None)
    assert sample.throttled is None
    assert sample.undervoltage is True
    assert sample.temperature_c is None
    assert sample.cores == 0
    assert sample.memory_total is None
    assert sample.load is None
    assert sample.uptime_s is None


def test_this_machine_reads_without_a_pi(tmp_path: Path) -> None:
    first = read_sample(Roots(), tmp_path)
    second = read_sample(Roots(), tmp_path)
    assert first.cores >= 1
    assert first.memory_total
    percent = cpu_percent(first, second)
    assert len(percent) == first.cores
    assert all(0 <= p <= 100 for p in percent)
    if first.disk_written is not None:  # a block device under the tmp dir
        rate = write_rate(first, second)
        assert rate is not None
        assert rate >= 0


CONFIG = SystemConfig(overheat_celsius=80, disk_low_mb=500, memory_low_percent=10)
MiB = 2**20


def run(readings: list[Reading]) -> tuple[list[list[str]], health_alerts.AlertState]:
    state: health_alerts.AlertState = {}
    raised_each = []
    for reading in readings:
        state, raised = health_alerts.step(state, reading, CONFIG)
        raised_each.append([r.kind for r in raised])
    return raised_each, state


def test_undervoltage_alerts_at_once_and_clears_after_three_good_samples() -> None:
    bad, good = Reading(undervoltage=True), Reading(undervoltage=False)
    raised, state = run([bad, good, bad, good, good, good, bad])
    assert raised == [["undervoltage"], [], [], [], [], [], ["undervoltage"]]
    assert health_alerts.active(state) == ["undervoltage"]


def test_overheat_needs_two_samples_and_has_a_band() -> None:
    readings = [Reading(temperature_c=t) for t in (81, 79, 81, 82, 78, 76, 79, 77, 74, 74, 74)]
    raised, state = run(readings)
    # 81 once is a spike; 81, 82 is heat; 78-79 is inside the band (no change); three
    # readings under 75 clear it.
    assert [i for i, kinds in enumerate(raised) if kinds] == [3]
    assert health_alerts.active(state) == []
    _, state = run([Reading(temperature_c=90)] * 2)
    assert state["overheat"] == Level(active=True, streak=0)


def test_disk_memory_and_throttling() -> None:
    low_disk = Reading(disk_free=100 * MiB, memory_available=5, memory_total=100, throttled=True)
    raised, state = run([low_disk, low_disk])
    assert raised[1] == ["throttled", "disk_low", "memory"]
    middle = Reading(disk_free=600 * MiB, memory_available=12, memory_total=100, throttled=False)
    raised, state = run([low_disk, low_disk, middle, middle, middle])
    # 600 MiB and 12 % are inside their bands: still active; throttling cleared.
    assert health_alerts.active(state) == ["disk_low", "memory"]
    unknown = Reading()
    assert run([unknown] * 3)[0] == [[], [], []]


async def test_api_system_and_alerts_on_a_pi4(start_server: Any) -> None:
    server = await start_server(demo_config())
    monitor = server.services.system
    monitor.roots, monitor.device = roots("pi4"), SD_CARD
    await monitor.sample()
    await monitor.sample()  # throttling counts after two samples, under-voltage at once
    response = await server.client.get("/api/system")
    assert response.status_code == 200
    body = response.json()
    assert body["temperature_c"] == pytest.approx(61.835)
    assert body["throttled_raw"] == "0x50005"
    assert body["throttled"]["undervoltage"]
    assert body["undervoltage"] is True
    assert len(body["cpu_percent"]) == 4
    assert body["disk_write_bytes_per_second"] == 0
    assert body["process_rss_bytes"] > 10 * MiB
    assert body["alerts"] == ["undervoltage", "throttled"]
    await server.services.events.flush()

    async def kinds() -> set[str]:
        events = (await server.client.get("/api/events?limit=50")).json()["events"]
        return {e["kind"] for e in events if e["camera"] == "*"}

    assert await wait_until(kinds) >= {"undervoltage", "throttled"}
    await server.add_user("viewer")
    viewer = await server.client_for("viewer")
    assert (await viewer.get("/api/system")).status_code == 200
