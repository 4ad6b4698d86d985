"""Clip availability: how soon after its post-roll ends a clip's recording "end" message
arrives, and how much pre-roll the clip kept, from the messages of ``/api/ws``."""

from __future__ import annotations

import datetime
import math
from typing import Any

from bench.common import median

from .live import is_message
from .plan import CAMERA, GOP_S, PRE_ROLL_S

# A clip counts as closed by its post-roll when its last frame is this close to the
# post-roll's end (else something else closed it: max_clip_seconds, a restart).
POST_ROLL_MATCH_S = 0.5


def parse_time(value: str) -> float:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def clip_samples(
    messages: list[tuple[float, dict[str, Any]]], post_roll: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(samples, skipped): each clip closed by its post-roll, timed against it.

    The post-roll ends at the latest ``end`` of the clip's events + ``post_roll``; the clip
    is available when its recording "end" message arrives here (receive time, same clock).
    """
    event_start: dict[int, float] = {}
    event_end: dict[int, tuple[float, float]] = {}  # id -> (end, message arrival)
    samples: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    for arrived, message in messages:
        if message.get("type") == "event":
            event = message["event"]
            if event.get("camera") != CAMERA:
                continue
            if message.get("phase") == "start":
                event_start[event["id"]] = parse_time(event["start"])
            elif message.get("phase") == "end" and event.get("end"):
                event_end[event["id"]] = (parse_time(event["end"]), arrived)
        elif is_message(message, "recording", "end") and message["recording"]["kind"] == "clip":
            recording = message["recording"]
            ids = list(recording["events"])
            ended = [event_end[i] for i in ids if i in event_end]
            if not ids or len(ended) < len(ids):
                skipped.append({"clip": recording["id"], "why": "an event's end was not seen"})
                continue
            last_end, end_message_at = max(ended)
            post_roll_end = last_end + post_roll
            last_frame = parse_time(recording["end"])
            if abs(last_frame - post_roll_end) > POST_ROLL_MATCH_S:
                why = f"closed {last_frame - post_roll_end:+.2f} s from its post-roll's end"
                skipped.append({"clip": recording["id"], "why": why})
                continue
            first_start = min((event_start[i] for i in ids if i in event_start), default=None)
            samples.append(
                {
                    "clip": recording["id"],
                    "events": ids,
                    "state": recording["state"],
                    "duration_s": recording["duration"],
                    "size": recording["size"],
                    "available_ms": 1000 * (arrived - post_roll_end),
                    "last_frame_ms": 1000 * (last_frame - post_roll_end),
                    "event_end_message_ms": 1000 * (end_message_at - last_end),
                    "first_event_start": first_start,
                    "pre_roll_s": (
                        first_start - parse_time(recording["start"]) if first_start else None
                    ),
                }
            )
    return samples, skipped


def mark_settled(samples: list[dict[str, Any]], online_at: float) -> None:
    """Settled: the clip's event began after the recorder had run for a pre-roll and a
    keyframe interval (the first clip of a server may not have): its pre-roll is judged."""
    for sample in samples:
        start = sample["first_event_start"]
        sample["settled"] = start is not None and start >= online_at + PRE_ROLL_S + GOP_S


def summarize_clips(samples: list[dict[str, Any]], skipped: list[dict[str, Any]]) -> dict[str, Any]:
    """p50 / max availability, and the shortest pre-roll of the settled clips."""
    available = [s["available_ms"] for s in samples]
    pre_rolls = [s["pre_roll_s"] for s in samples if s["settled"] and s["pre_roll_s"] is not None]
    return {
        "samples": samples,
        "skipped": skipped,
        "count": len(samples),
        "p50_ms": median(available),
        "max_ms": max(available, default=math.nan),
        "last_frame_p50_ms": median([s["last_frame_ms"] for s in samples]),
        "event_end_message_p50_ms": median([s["event_end_message_ms"] for s in samples]),
        "pre_roll_min_s": min(pre_rolls, default=math.nan),
        "states": sorted({s["state"] for s in samples}),
    }
