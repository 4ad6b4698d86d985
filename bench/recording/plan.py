"""What the recording benchmark runs: the camera, the recording modes, the pairs, the timing."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

CAMERA = "demo"
PRE_ROLL_S = 5.0  # the product defaults, written out: the analysis needs them
POST_ROLL_S = 5.0
SEGMENT_S = 10.0
GOP_S = 2.0  # the camera's default gop_seconds
# The demo's object sweeps left and right with x = 0.5 + 0.5 sin(0.9 t): it reaches the left
# edge once every 2 pi / 0.9 = 7.0 s and stays in a 5 % strip for about a second. Only motion
# touching that strip counts: the capture stamp along the top edge and the clock at the
# bottom left change every frame, and without a zone make one endless event. quiet_seconds
# 0.5 ends each event about 1.2 s after it starts, which leaves 5.8 s until the next one:
# more than the 5 s post-roll, so every event gets a clip of its own that closes when its
# post-roll runs out (simulated with DemoScene and camera.motion.step at 5 fps).
MOTION_PERIOD_S = 2 * math.pi / 0.9
MOTION = {
    "zones": [{"name": "left-edge", "points": [[0, 0.1], [0.05, 0.1], [0.05, 0.8], [0, 0.8]]}],
    "quiet_seconds": 0.5,
}
CPU_TARGET = 2.0  # event clips add less than this (% of one core) over recording off
AVAILABLE_TARGET_MS = 1000.0  # a clip is available within this of its post-roll's end


@dataclass(frozen=True)
class Plan:
    settle_s: float  # after the cameras are online: the motion background settles (~8 s)
    warmup_s: float  # after the viewers joined
    window_s: float  # a CPU / bytes window (a multiple of the motion period)
    clips: int  # clip-availability samples wanted
    clips_deadline_s: float  # at most this much longer for them
    both_orders: bool  # each pair twice, the servers' start order swapped (see README)


FULL = Plan(8.0, 5.0, round(2 * MOTION_PERIOD_S, 1), 8, 45.0, True)
QUICK = Plan(4.0, 2.0, round(MOTION_PERIOD_S, 1), 3, 25.0, False)


@dataclass(frozen=True)
class Mode:
    key: str
    label: str
    recording: dict[str, Any]


OFF = Mode("off", "recording off", {"events": False, "continuous": False})
MODES = {
    mode.key: mode
    for mode in (
        OFF,
        # The recorder runs (encoders on, pre-roll kept) but clips are only for "frozen",
        # which the demo (its clock changes every frame) never is: the cost of being ready.
        Mode(
            "armed",
            "event clips, nothing to record",
            {"events": True, "event_kinds": ["frozen"], "continuous": False},
        ),
        Mode(
            "events",
            "event clips (an event every 7 s)",
            {
                "events": True,
                "continuous": False,
                "pre_roll_seconds": PRE_ROLL_S,
                "post_roll_seconds": POST_ROLL_S,
            },
        ),
        Mode(
            "continuous",
            f"continuous ({SEGMENT_S:g} s segments)",
            {"events": False, "continuous": True, "segment_seconds": SEGMENT_S},
        ),
    )
}


@dataclass(frozen=True)
class Pair:
    """A mode measured beside a recording-off server, in the same windows."""

    key: str
    mode: str
    idle: bool  # a window before any viewer joins (first order only), then one with viewers


PAIRS = (
    Pair("armed", "armed", True),
    Pair("events", "events", True),
    Pair("continuous", "continuous", False),
    # Recording off beside recording off: what the method reports when there is nothing to
    # find (full runs; --only control for more).
    Pair("control", "off", False),
)


def camera_config(recording: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": CAMERA,
        "source": "demo",
        "encoder": "libx264",
        "audio": "demo",
        "width": 1280,
        "height": 720,
        "fps": 30,
        "motion": MOTION,
        "recording": recording,
    }
