"""Targets, verdicts and the Markdown tables printed at the end of a run."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

Results = dict[str, Any]


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    limit: float
    unit: str
    strict: bool  # True: value < limit; False: value <= limit

    def met(self, value: float | None) -> bool | None:
        if value is None or math.isnan(value):
            return None
        return value < self.limit if self.strict else value <= self.limit

    def text(self) -> str:
        return f"{'<' if self.strict else '≤'} {self.limit:g} {self.unit}".strip()


TARGETS = [
    Target("latency_demo_p50", "latency p50, demo", 60, "ms", strict=False),
    Target("latency_demo_p95", "latency p95, demo", 100, "ms", strict=False),
    Target("marginal_cpu", "marginal CPU per extra viewer", 3, "% of a core", strict=True),
    Target("cpu_ratio", "CPU 10 viewers / 1 viewer", 1.5, "x", strict=False),
    Target("first_frame", "first frame after POST", 1000, "ms", strict=False),
    Target("rss", "RSS, 1 camera + 4 viewers", 150, "MB", strict=True),
]


def dig(results: Results, *path: str) -> Any:
    node: Any = results
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def headline(results: Results) -> dict[str, float | None]:
    """The values the targets are checked against."""
    return {
        "latency_demo_p50": dig(results, "latency", "demo", "p50_ms"),
        "latency_demo_p95": dig(results, "latency", "demo", "p95_ms"),
        "marginal_cpu": dig(results, "cpu", "sentrycam", "marginal_cpu_per_viewer"),
        "cpu_ratio": dig(results, "cpu", "sentrycam", "ratio_high_low"),
        "first_frame": dig(results, "first_frame", "cold", "median_ms"),
        "rss": dig(results, "memory", "rss_mb"),
    }


def verdicts(results: Results) -> list[dict[str, Any]]:
    values = headline(results)
    return [
        {"target": t.label, "value": values[t.key], "limit": t.text(), "met": t.met(values[t.key])}
        for t in TARGETS
    ]


def fmt(value: Any, digits: int = 0, unit: str = "", missing: str = "n/a") -> str:
    """``value`` with ``digits`` decimals and ``unit``; ``missing`` for None or NaN (no data)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    return f"{value:.{digits}f}{unit}"


def met_text(*flags: bool | None) -> str:
    if any(f is None for f in flags):
        return "n/a"
    return "yes" if all(flags) else "**no**"


DISTURBED_MARK = "†"


DISTURBED_NOTE = (
    f"{DISTURBED_MARK} work outside the benchmark used more than 25 % of a core during this "
    "window (CPU windows are measured twice): the figure is suspect."
)


def _mark(measurement: dict[str, Any]) -> str:
    return f" {DISTURBED_MARK}" if measurement.get("disturbed") else ""


LATENCY_LABELS = {
    "demo": "Glass-to-glass latency, demo source, shared libx264 (Chromium, p50 / p95)",
    "copy": "Glass-to-glass latency, H.264 UDP MPEG-TS, `encoder: copy` (Chromium, p50 / p95)",
}


def _latency_row(results: Results, key: str) -> str | None:
    lat = dig(results, "latency", key)
    if not lat:
        return None
    value = f"{fmt(lat.get('p50_ms'))} / {fmt(lat.get('p95_ms'))} ms" + _mark(lat)
    if key != "demo":
        return f"| {LATENCY_LABELS[key]} | {value} | (no target) | - |"
    p50, p95 = TARGETS[0], TARGETS[1]
    verdict = met_text(p50.met(lat.get("p50_ms")), p95.met(lat.get("p95_ms")))
    return f"| {LATENCY_LABELS[key]} | {value} | p50 {p50.text()}, p95 {p95.text()} | {verdict} |"


def _cpu_rows(results: Results) -> list[str]:
    summary = dig(results, "cpu", "sentrycam")
    if not summary:
        return []
    points = {p["viewers"]: p for p in summary["points"]}
    counts = [c for c in sorted(points) if c > 0]
    cpu = " / ".join(fmt(points[c]["server_cpu"]) + _mark(points[c]) for c in counts)
    marginal, ratio = TARGETS[2], TARGETS[3]
    m_value = summary.get("marginal_cpu_per_viewer")
    r_value = summary.get("ratio_high_low")
    return [
        f"| Server CPU, {' / '.join(map(str, counts))} viewers (720p30 demo, video only) "
        f"| {cpu} % of a core | - | - |",
        f"| Marginal CPU per extra viewer | {fmt(m_value, 2)} % of a core "
        f"| {marginal.text()} | {met_text(marginal.met(m_value))} |",
        f"| CPU ratio, {counts[-1]} viewers / {counts[0]} viewer | {fmt(r_value, 2)}x "
        f"| {ratio.text()} | {met_text(ratio.met(r_value))} |",
    ]


def _first_frame_row(results: Results) -> str | None:
    cold, warm = dig(results, "first_frame", "cold"), dig(results, "first_frame", "warm")
    if not cold or not warm:
        return None
    target = TARGETS[4]
    return (
        f"| First decoded frame after WHEP POST, median (cold / warm encoder) "
        f"| {fmt(cold['median_ms'])} / {fmt(warm['median_ms'])} ms | {target.text()} "
        f"| {met_text(target.met(cold['median_ms']))} |"
    )


def _memory_row(results: Results) -> str | None:
    memory = dig(results, "memory")
    if not memory:
        return None
    loaded, target = memory["loaded_mb"], TARGETS[5]
    later = memory.get("after_all_parts_mb", {}).get("VmRSS")
    after = f"; {fmt(later)} MB after all parts" if later else ""
    return (
        f"| Server VmRSS, fresh server, 1 camera + {memory['viewers']} viewers "
        f"(anonymous + file-backed{'; later' if later else ''}) "
        f"| {fmt(memory['rss_mb'])} MB ({fmt(loaded.get('RssAnon'))} + "
        f"{fmt(loaded.get('RssFile'))}{after}) | {target.text()} "
        f"| {met_text(target.met(memory['rss_mb']))} |"
    )


def summary_table(results: Results) -> str:
    rows = [
        _latency_row(results, "demo"),
        _latency_row(results, "copy"),
        *_cpu_rows(results),
        _first_frame_row(results),
        _memory_row(results),
    ]
    present = [row for row in rows if row]
    if not present:
        return ""
    return "\n".join(
        ["| Measurement | Result | Target | Met |", "| --- | --- | --- | --- |", *present]
    )


def _point_cells(points: dict[int, Any], count: int) -> str:
    p = points.get(count)
    if p is None:
        return "n/a | n/a | n/a"
    cpu = fmt(p["server_cpu"]) + " %" + _mark(p)
    if count == 0:
        return f"{cpu} | - | -"
    fps = f"{fmt(p['fps_mean'], 1)} (min {fmt(p['fps_min'], 1)})"
    return f"{cpu} | {fps} | {fmt(p.get('cpu_ms_per_frame'), 2)}"


def cpu_table(results: Results) -> str:
    ours = {p["viewers"]: p for p in dig(results, "cpu", "sentrycam", "points") or []}
    base = {p["viewers"]: p for p in dig(results, "cpu", "baseline", "points") or []}
    if not ours and not base:
        return ""
    rows = [
        "| Viewers | Sentrycam CPU | fps per viewer | CPU ms per frame sent "
        "| aiortc baseline CPU | fps per viewer | CPU ms per frame sent |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for count in sorted(set(ours) | set(base)):
        rows.append(f"| {count} | {_point_cells(ours, count)} | {_point_cells(base, count)} |")
    derived = [
        ("Marginal CPU per extra viewer", "marginal_cpu_per_viewer", 2, " %"),
        ("CPU ratio, most / fewest viewers", "ratio_high_low", 2, "x"),
    ]
    for label, key, digits, unit in derived:
        ours_value = fmt(dig(results, "cpu", "sentrycam", key), digits, unit)
        base_value = fmt(dig(results, "cpu", "baseline", key), digits, unit)
        rows.append(f"| {label} | {ours_value} | | | {base_value} | | |")
    return "\n".join(rows)


def _any_disturbed(results: Results) -> bool:
    runs = [dig(results, "cpu", name, "points") or [] for name in ("sentrycam", "baseline")]
    latencies = (dig(results, "latency") or {}).values()
    return any(p.get("disturbed") for points in runs for p in points) or any(
        lat.get("disturbed") for lat in latencies
    )


def markdown(results: Results) -> str:
    meta = results.get("meta", {})
    notes = (
        f"_{meta.get('date', '')}, {meta.get('cpus', '?')} cores, {meta.get('mode', '')} run. "
        "CPU: % of one core from /proc/<pid>/stat over "
        f"{fmt(dig(results, 'meta', 'timing', 'window_s'))} s windows; viewers are aiortc "
        "WHEP clients (video only) in a separate process that does not decode._"
    )
    tables = [table for table in (summary_table(results), cpu_table(results)) if table]
    parts = ["### Sentrycam benchmarks", "", *("\n\n".join(tables).splitlines()), "", notes]
    if _any_disturbed(results):
        parts += ["", DISTURBED_NOTE]
    if results.get("errors"):
        parts += ["", "Errors: " + "; ".join(results["errors"])]
    return "\n".join(parts)
