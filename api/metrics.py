"""Prometheus metrics: what ``GET /metrics`` exposes, read from the services at scrape time.

Names follow Prometheus's conventions: a ``sentrycam_`` prefix, base units (seconds,
bytes, celsius), ``_total`` counters since the process started; labels only for bounded
sets (``camera`` from the config, ``kind`` from a fixed list, ``volume``). Rates such as
the bitrate are the scraper's ``rate()`` of a counter. Process CPU, memory and file
descriptors come from prometheus-client's own process collector
(``sentrycam_process_*``). Nothing is kept between scrapes: each request builds its own
registry, filtered to the cameras the caller may see.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from camera import __version__

from . import gc_pauses, health_alerts
from .services.live_channel import FANOUT_BUCKETS, FanoutStats
from .system_health import CAPPED_NOW, THROTTLED_NOW

if TYPE_CHECKING:
    from .services import Services

PREFIX = "sentrycam"


def render(services: Services, may_see: Callable[[str], bool]) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SentrycamCollector(services, may_see))
    ProcessCollector(namespace=PREFIX, registry=registry)
    return generate_latest(registry)


class SentrycamCollector(Collector):
    def __init__(self, services: Services, may_see: Callable[[str], bool]) -> None:
        self._services = services
        self._may_see = may_see

    def collect(self) -> Iterator[Metric]:
        yield InfoMetricFamily(f"{PREFIX}_build", "Sentrycam version.", {"version": __version__})
        yield from self._cameras()
        yield from self._events()
        yield from self._service()
        yield from self._system()

    def _cameras(self) -> Iterator[Metric]:
        services = self._services
        cameras = [c for c in services.cameras.all() if self._may_see(c.id)]
        families: dict[str, _Gauge | _Counter] = {
            "up": gauge("camera_up", "1 while the camera delivers pictures."),
            "input": counter("camera_input_frames", "Frames from the camera's source."),
            "dropped": counter(
                "camera_dropped_frames",
                "Frames skipped because the source ran faster than the configured fps.",
            ),
            "output": counter(
                "camera_output_frames", "Frames encoded (or forwarded by copy) for viewers."
            ),
            "encode": counter("camera_encode_seconds", "Time spent in the video encoder."),
            "bytes": counter(
                "camera_video_bytes", "H.264 bytes published (rate() * 8 is the bitrate)."
            ),
            "restarts": counter(
                "camera_source_restarts", "Times the camera's sources had to be reopened."
            ),
            "viewers": gauge("camera_viewers", "WebRTC viewers watching now."),
            "viewer_drops": counter(
                "camera_viewer_dropped_packets",
                "Packets dropped for viewers that fell behind (they skip to a keyframe).",
            ),
            "recorded": counter("camera_recorded_bytes", "Bytes handed to recording files."),
        }
        recorders = services.recordings.recorders
        for camera in cameras:
            labels = [camera.id]
            counters = camera.counters
            families["up"].add_metric(labels, float(camera.status == "online"))
            families["input"].add_metric(labels, counters.input_frames)
            families["dropped"].add_metric(labels, counters.dropped_frames)
            families["output"].add_metric(labels, counters.output_frames)
            families["encode"].add_metric(labels, camera.encode_seconds)
            families["bytes"].add_metric(labels, camera.video.stats.bytes)
            families["restarts"].add_metric(labels, camera.restarts)
            families["viewers"].add_metric(labels, services.webrtc.viewers(camera.id))
            families["viewer_drops"].add_metric(labels, camera.video.stats.dropped)
            recorder = recorders.get(camera.id)
            if recorder is not None:
                families["recorded"].add_metric(labels, recorder.writer.bytes_written)
        yield from families.values()

    def _events(self) -> Iterator[Metric]:
        events = counter(
            "events",
            "Events begun since start, by camera ('*': system alerts) and kind.",
            ("camera", "kind"),
        )
        for (camera, kind), count in sorted(self._services.events.counts.items()):
            if self._may_see(camera):
                events.add_metric([camera, kind], count)
        yield events

    def _service(self) -> Iterator[Metric]:
        services = self._services
        yield gauge("live_clients", "Live channel (/api/ws) connections.", ()).with_value(
            len(services.live.connections)
        )
        yield from live_fanout(services.live.fanout)
        yield from garbage_collector()
        free = gauge("disk_free_bytes", "Free space for the service.", ("volume",))
        size = gauge("disk_size_bytes", "Size of the file system.", ("volume",))
        # The values the system monitor and the disk guard measured last (no statvfs here:
        # a scrape never waits on a slow card).
        sample, usage = services.system.latest, services.recordings.guard.usage
        if sample is not None and sample.disk_total is not None and sample.disk_free is not None:
            free.add_metric(["data"], sample.disk_free)
            size.add_metric(["data"], sample.disk_total)
        if usage is not None:
            free.add_metric(["recordings"], usage.free)
            size.add_metric(["recordings"], usage.total)
        yield free
        yield size
        written = process_written_bytes()
        if written is not None:
            yield counter(
                "process_written_bytes", "Bytes this process caused to be written to storage.", ()
            ).with_value(written)

    def _system(self) -> Iterator[Metric]:
        monitor = self._services.system
        sample = monitor.latest
        if sample is None:
            return
        if sample.temperature_c is not None:
            yield gauge("system_temperature_celsius", "SoC temperature.", ()).with_value(
                sample.temperature_c
            )
        if sample.undervoltage is not None:
            yield gauge(
                "system_undervoltage", "1 while the supply voltage is too low.", ()
            ).with_value(float(sample.undervoltage))
        if sample.throttled is not None:
            throttled = bool(sample.throttled & (CAPPED_NOW | THROTTLED_NOW))
            yield gauge(
                "system_throttled", "1 while the firmware caps or throttles the CPU.", ()
            ).with_value(float(throttled))
        if sample.disk_written is not None:
            yield counter(
                "system_disk_written_bytes",
                "Bytes written to the data dir's block device since boot (all processes).",
                (),
            ).with_value(sample.disk_written)
        active = set(health_alerts.active(monitor.alerts))
        alerts = gauge("system_alert_active", "1 while a system alert holds.", ("kind",))
        for kind in health_alerts.KINDS:
            alerts.add_metric([kind], float(kind in active))
        yield alerts


class _Gauge(GaugeMetricFamily):
    def with_value(self, value: float) -> _Gauge:
        self.add_metric([], value)
        return self


class _Counter(CounterMetricFamily):
    def with_value(self, value: float) -> _Counter:
        self.add_metric([], value)
        return self


def gauge(name: str, documentation: str, labels: tuple[str, ...] = ("camera",)) -> _Gauge:
    return _Gauge(f"{PREFIX}_{name}", documentation, labels=list(labels))


def counter(name: str, documentation: str, labels: tuple[str, ...] = ("camera",)) -> _Counter:
    return _Counter(f"{PREFIX}_{name}", documentation, labels=list(labels))


def histogram(
    name: str, documentation: str, bounds: tuple[float, ...], counts: list[int], seconds: float
) -> HistogramMetricFamily:
    """A histogram from per-bucket counts (the last one above every bound)."""
    buckets, total = [], 0
    for bound, count in zip([*map(str, bounds), "+Inf"], counts, strict=True):
        total += count
        buckets.append((bound, float(total)))
    return HistogramMetricFamily(
        f"{PREFIX}_{name}", documentation, buckets=buckets, sum_value=seconds
    )


def live_fanout(stats: FanoutStats) -> Iterator[Metric]:
    """The live channel's fan-out: seconds from publishing a message until every client's
    send has started (a histogram), and the sends made."""
    yield histogram(
        "live_fanout_seconds",
        "Time from publishing a live message until it was handed to every client.",
        FANOUT_BUCKETS,
        stats.counts,
        stats.seconds,
    )
    yield counter("live_sends", "Live messages handed to clients (one per client).", ()).with_value(
        stats.sends
    )


def garbage_collector() -> Iterator[Metric]:
    """The collector's full collections (their pauses stop every thread) and the objects
    frozen out of them at start-up (``api.gc_pauses``)."""
    pauses = gc_pauses.PAUSES
    yield histogram(
        "python_full_gc_seconds",
        "Pauses of the garbage collector's full collections (every thread waits).",
        gc_pauses.PAUSE_BUCKETS,
        pauses.counts,
        pauses.seconds,
    )
    yield gauge(
        "python_frozen_objects", "Objects kept out of full collections since start-up.", ()
    ).with_value(gc.get_freeze_count())


def process_written_bytes() -> int | None:
    """``write_bytes`` of /proc/self/io: what reached (or will reach) the storage."""
    try:
        for line in Path("/proc/self/io").read_text().splitlines():
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None
