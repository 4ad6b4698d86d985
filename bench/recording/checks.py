"""Checks after a pair's windows: REST against the disk, the live channel's clip messages,
the disk guard, and WARNING/ERROR lines in the server logs."""

from __future__ import annotations

import asyncio
import hashlib
import re
from pathlib import Path
from typing import Any

from bench.servers import Server

from .live import LiveLog, is_message
from .plan import CAMERA


def files_problems(rows: list[dict[str, Any]], recordings: Path) -> list[str]:
    """Every finished recording's file exists with its listed size and SHA-256, no file is
    without a row, and a clip being written already lists its event."""
    files = {int(m.group(1)): p for p in recordings.rglob("*.mp4")
             if (m := re.search(r"-(\d+)\.mp4$", p.name))}  # fmt: skip
    problems = []
    for row in rows:
        path = files.get(row["id"])
        if path is None:
            problems.append(f"recording {row['id']}: no file")
            continue
        if row["state"] == "recording":
            continue
        size = path.stat().st_size
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if size != row["size"] or digest != row["sha256"]:
            problems.append(f"recording {row['id']}: size/sha256 differ from its file")
    # A clip only opens for an event, so one being written must already list it.
    problems += [
        f"clip {row['id']} (being written) lists no events"
        for row in rows
        if row["kind"] == "clip" and row["state"] == "recording" and not row["events"]
    ]
    known = {row["id"] for row in rows}
    problems += [f"file {p.name} has no recording" for i, p in files.items() if i not in known]
    return problems


async def check_recordings(server: Server, recordings: Path) -> dict[str, Any]:
    """REST agrees with the disk: every finished recording's size and SHA-256 match its file."""
    async with server.client() as client:
        response = await client.get(
            "/api/recordings", params={"camera": CAMERA, "order": "oldest", "limit": 1000}
        )
        response.raise_for_status()
        rows = response.json()["recordings"]
        storage = (await client.get("/api/storage")).json()
    problems = await asyncio.to_thread(files_problems, rows, recordings)
    durations: dict[str, list[float]] = {}
    states: dict[str, int] = {}
    for row in rows:
        if row["state"] != "recording":
            durations.setdefault(row["kind"], []).append(row["duration"])
        states[row["state"]] = states.get(row["state"], 0) + 1
    return {
        "recordings": len(rows),
        "states": states,
        "audio": sorted({row["audio"] for row in rows}),
        "durations_s": {k: [round(d, 2) for d in v] for k, v in durations.items()},
        "problems": problems,
        "deleted_for_space": storage.get("deleted_for_space"),
        "storage_low": storage.get("low"),
    }


def message_counts(live: LiveLog) -> dict[str, int]:
    return {
        "events": live.count("event", "start"),
        "recordings_closed": live.count("recording", "end"),
        # A clip opens for an event: its "start" message should name it.
        "clip_starts_without_events": sum(
            is_message(m, "recording", "start")
            and m["recording"]["kind"] == "clip"
            and not m["recording"]["events"]
            for _, m in live.messages
        ),
    }


def log_problems(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [
        line
        for line in text.splitlines()
        if re.search(r"WARNING|ERROR|Traceback", line) and "setup code" not in line
    ]
