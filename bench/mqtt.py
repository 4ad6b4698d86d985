"""MQTT bridge figures: event to subscriber latency, and the state back after a broker crash.

    .venv/bin/python -m bench.mqtt [--events 100]

A real mosquitto (Debian's, loopback, free port) and the real services (``Services``: a
demo camera with its detectors off, the MQTT bridge) in this process; a second MQTT client
subscribed to ``#`` stands in for Home Assistant. Events are injected into the EventService
where the detectors hand them in, 20 a second; for each, ``time the subscriber got
sentrycam/demo/motion ON - time of the injection`` (same clock). Then the broker is killed
(SIGKILL) and started again empty on the same port, and the time from its start until a new
subscriber holds every retained topic again (discovery configs and states) is measured.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from api.services import Services
from api.settings import LoadedConfig, parse_settings
from camera.analysis import Observation
from tests.mosquitto import Mosquitto, Subscriber
from tests.waiting import wait_until

INTERVAL_S = 0.05


async def measure(events: int) -> dict[str, Any]:
    broker = Mosquitto().start()
    data = Path(tempfile.mkdtemp(prefix="sentrycam-bench-mqtt-"))
    settings = parse_settings(
        {
            "mqtt": {"host": "127.0.0.1", "port": broker.port},
            "events": {"cooldown_seconds": 0},
            "cameras": [
                {
                    "id": "demo",
                    "source": "demo",
                    "width": 320,
                    "height": 180,
                    "fps": 10,
                    "motion": {"enabled": False},
                    "sound": {"enabled": False},
                    "health": {"frozen_seconds": 0, "tamper": False},
                }
            ],
        }
    )
    services = Services(LoadedConfig(settings, "file", None), data)
    await services.start()
    bridge = services.mqtt
    assert bridge is not None
    try:
        await wait_until(lambda: bridge.state == "connected", 30, "connected")
        latencies = await _event_latency(services, broker.port, events)
        retained = await _retained_topics(broker.port)
        broker.kill()
        await wait_until(lambda: bridge.state == "retrying", 30, "connection lost")
        started = time.monotonic()
        broker.start(same_port=True)
        await _wait_for_topics(broker.port, retained, 60)
        back = time.monotonic() - started
    finally:
        await services.stop()
        broker.stop()
        broker.remove()
    ms = sorted(1000 * x for x in latencies)
    return {
        "events": len(ms),
        "event_to_subscriber_ms": {
            "p50": round(statistics.median(ms), 2),
            "p95": round(ms[int(0.95 * (len(ms) - 1))], 2),
            "max": round(ms[-1], 2),
        },
        "retained_topics": len(retained),
        "broker_restart_to_full_state_s": round(back, 2),
    }


async def _event_latency(services: Services, port: int, events: int) -> list[float]:
    latencies: list[float] = []
    async with Subscriber(port) as ha:
        await ha.wait_for("sentrycam/demo/motion", b"OFF")
        for _ in range(events):
            seen = len(ha.on("sentrycam/demo/motion"))
            injected = time.monotonic()
            now = time.time()
            services.events.observe(Observation("demo", "motion", "start", now, score=0.2))
            await wait_until(
                lambda n=seen: len(ha.on("sentrycam/demo/motion")) > n, 10, "ON", interval=0.001
            )
            latencies.append(time.monotonic() - injected)
            services.events.observe(Observation("demo", "motion", "end", now + 0.01))
            await wait_until(lambda: ha.on("sentrycam/demo/motion")[-1] == b"OFF", 10, "OFF")
            await asyncio.sleep(INTERVAL_S)
    return latencies


async def _retained_topics(port: int) -> set[str]:
    async with Subscriber(port) as ha:
        await ha.wait_for("sentrycam/status")
        await asyncio.sleep(1.0)  # retained messages arrive right after subscribing
        return {topic for topic, _, retain in ha.messages if retain}


async def _wait_for_topics(port: int, topics: set[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            async with Subscriber(port) as ha:
                await wait_until(
                    # Live copies (retain flag off) count too: a subscriber that came
                    # before the republish gets those.
                    lambda: topics <= {t for t, _, _ in ha.messages},
                    max(0.1, deadline - time.monotonic()),
                    lambda: f"missing {topics - {t for t, _, _ in ha.messages}}",
                    interval=0.005,
                )
                return
        except Exception:  # the broker may refuse a connection while it starts
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.events)), indent=2))


if __name__ == "__main__":
    main()
