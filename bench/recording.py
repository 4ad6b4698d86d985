"""Recording: what it costs the server, how much it writes, and how soon a clip is ready.

    .venv/bin/python -m bench.recording           # about 5 minutes
    .venv/bin/python -m bench.recording --quick   # about 75 seconds

One demo camera (1280x720, 30 fps, libx264, ``audio: demo``, motion detection on) per
server. Each recording mode (event clips with nothing to record, event clips, continuous
10 s segments; and recording off itself, as a control) runs in one server **beside a
recording-off server, at the same time**, and both are measured in the same windows: on a
shared virtual machine a server's CPU drifts by up to a third over a minute with nothing
else running, in step for both, so only the difference within a window can resolve a
couple of percent (with viewers, also of the threads outside the capture pipeline, the
steadier figure). A window gives each server's CPU (``/proc``), the bytes added under its
``recordings/`` and the bytes it sent to storage (``/proc/<pid>/io``), with no viewer and
with one (the ``bench.viewer_proc`` fleet process for video plus an audio-only WebRTC peer
in this process, so the video and the audio encoders run in every mode). In the
event-clip server a WebSocket client on ``/api/ws`` times every clip's ``recording``
"end" message against the end of its post-roll (its event's ``end`` +
``post_roll_seconds``). See bench/README.md, section "Recording".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import hashlib
import itertools
import json
import logging
import math
import os
import re
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: bench/recording.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "bench"

import httpx
import websockets
from aiortc.mediastreams import MediaStreamError

from bench.common import LOOPBACK, RESULTS_DIR, median
from bench.procstat import CLOCK_TICKS, DISTURBED_OTHER_CPU, CpuSample, CpuWindow
from bench.servers import Server, sentrycam, wait_viewer_count
from bench.viewers import FleetProcess, viewer_fleet
from camera.webrtc import restrict_ice_addresses
from tests.whep_client import Viewer, connect, hang_up

logger = logging.getLogger("bench.recording")

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
READY_TIMEOUT_S = 20.0
WS_OPEN_TIMEOUT_S = 10.0
HANG_UP_TIMEOUT_S = 5.0
# With a viewer both servers of a pair run the same capture pipeline: the thread that reads
# the demo camera (render, analysis, libx264's main encode) and libx264's worker threads
# (two on 2 CPUs), the busiest three. Their CPU is the same work in both, yet differs
# between the two processes by up to 1 % of a core from the vCPU they happened to run on;
# recording adds work elsewhere (the event loop, the writer thread). See README.
PIPELINE_THREADS = 3
# A clip counts as closed by its post-roll when its last frame is this close to the
# post-roll's end (else something else closed it: max_clip_seconds, a restart).
POST_ROLL_MATCH_S = 0.5


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


def parse_time(value: str) -> float:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


# ----- what the server writes -----------------------------------------------------------------


def tree_bytes(root: Path) -> int:
    """Bytes in every file under ``root`` (0 if it does not exist yet)."""
    total = 0
    for directory, _, files in os.walk(root):
        for name in files:
            with contextlib.suppress(OSError):  # deleted meanwhile
                total += os.stat(os.path.join(directory, name)).st_size
    return total


def storage_write_bytes(pid: int) -> int:
    """Bytes ``pid`` (all its threads) caused to be sent to storage: files, database, fsync."""
    with open(f"/proc/{pid}/io", encoding="ascii") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key == "write_bytes":
                return int(value)
    return 0


def thread_seconds(pid: int) -> dict[int, float]:
    """User+system CPU seconds of each thread of ``pid``."""
    found = {}
    for entry in os.scandir(f"/proc/{pid}/task"):
        try:
            with open(f"{entry.path}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended meanwhile
        found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return found


def per_hour_mb(count: float, seconds: float) -> float:
    return count / seconds * 3600 / 1e6 if seconds > 0 else math.nan


# ----- the live channel -----------------------------------------------------------------------


class LiveLog:
    """Every message of ``/api/ws`` with its arrival time (Unix seconds, this machine's clock)."""

    def __init__(self) -> None:
        self.messages: list[tuple[float, dict[str, Any]]] = []
        self.error: str | None = None
        self.changed = asyncio.Event()

    async def run(self, server: Server, connected: asyncio.Future[None]) -> None:
        url = f"ws://{LOOPBACK}:{server.port}/api/ws"
        cookies = "; ".join(f"{k}={v}" for k, v in server.credentials.cookies.items())
        headers = {"Cookie": cookies} if cookies else {}
        try:
            async with websockets.connect(
                url, additional_headers=headers, open_timeout=WS_OPEN_TIMEOUT_S, max_queue=None
            ) as ws:
                async for raw in ws:
                    arrived = time.time()
                    message = json.loads(raw)
                    self.messages.append((arrived, message))
                    if message.get("type") == "hello" and not connected.done():
                        connected.set_result(None)
                    self.changed.set()
        except (OSError, websockets.WebSocketException, TimeoutError) as error:
            self.error = repr(error)
            if not connected.done():
                connected.set_exception(error)
            raise

    def save(self, path: Path) -> None:
        with path.open("w", encoding="utf-8") as handle:
            for at, message in self.messages:
                handle.write(json.dumps({"arrived": at, "message": message}) + "\n")

    def between(self, start: float, end: float) -> list[dict[str, Any]]:
        return [m for at, m in self.messages if start <= at < end]

    async def wait_until(self, done: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            self.changed.clear()  # before looking: a message arriving after it wakes us
            if done():
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), left)


@contextlib.asynccontextmanager
async def live_log(server: Server) -> AsyncIterator[LiveLog]:
    log = LiveLog()
    connected: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(log.run(server, connected), name="live-log")
    try:
        await asyncio.wait_for(asyncio.shield(connected), WS_OPEN_TIMEOUT_S + 2)
        yield log
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


# ----- the viewer: video in the fleet process, audio here -------------------------------------


@dataclass
class AudioListener:
    """An audio-only WebRTC peer, so the server's Opus encoder runs as for a dashboard."""

    viewer: Viewer | None = None
    frames: int = 0
    first: asyncio.Event = field(default_factory=asyncio.Event)

    async def consume(self) -> None:
        assert self.viewer is not None
        track = self.viewer.tracks["audio"]
        with contextlib.suppress(MediaStreamError):
            while True:
                await track.recv()
                self.frames += 1
                self.first.set()


@contextlib.asynccontextmanager
async def audio_listener(server: Server) -> AsyncIterator[AudioListener]:
    listener = AudioListener()
    async with server.client() as client:
        viewer = await asyncio.wait_for(
            connect(client, CAMERA, video=False, audio=True), READY_TIMEOUT_S
        )
        listener.viewer = viewer
        task = asyncio.create_task(listener.consume(), name="audio-listener")
        try:
            if "audio" not in viewer.tracks:
                raise RuntimeError("the audio-only peer got no audio track")
            await asyncio.wait_for(listener.first.wait(), READY_TIMEOUT_S)
            yield listener
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            with contextlib.suppress(httpx.HTTPError, TimeoutError):
                await asyncio.wait_for(hang_up(client, viewer), HANG_UP_TIMEOUT_S)


@dataclass
class Viewing:
    fleet: FleetProcess
    audio: AudioListener | None


@contextlib.asynccontextmanager
async def one_viewer(server: Server, workdir: Path, with_audio: bool) -> AsyncIterator[Viewing]:
    async with viewer_fleet(server, 1, workdir / "viewer.log") as fleet:
        ready = await fleet.ready()
        if ready["connected"] != 1:
            raise RuntimeError(f"the viewer did not connect: {ready['errors']}")
        if not with_audio:
            yield Viewing(fleet, None)
            return
        async with audio_listener(server) as audio:
            yield Viewing(fleet, audio)


# ----- servers side by side, measured together -----------------------------------------------


@contextlib.asynccontextmanager
async def servers_together(
    managers: Sequence[contextlib.AbstractAsyncContextManager[Server]],
) -> AsyncIterator[list[Server]]:
    """Start servers concurrently; all are stopped on exit (or if one fails to start)."""
    async with contextlib.AsyncExitStack() as stack:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(stack.enter_async_context(m)) for m in managers]
        yield [task.result() for task in tasks]


@dataclass
class Side:
    """One of the two servers of a pair."""

    mode: Mode
    server: Server
    workdir: Path
    live: LiveLog
    viewing: Viewing | None = None

    @property
    def recordings(self) -> Path:
        return self.workdir / "data" / "recordings"


@dataclass
class Window:
    viewers: int
    seconds: float
    server_cpu: float  # % of one core
    server_cpu_parts: list[float]  # the same, per motion period of the window
    loop_cpu: float  # the main thread: the event loop
    pipeline_cpu: list[float]  # the PIPELINE_THREADS busiest other threads
    rest_cpu: float  # everything but those: where recording's own work shows
    rest_cpu_parts: list[float]
    viewer_cpu: float  # the viewer fleet process
    machine_cpu: float  # all cores (200 % = both busy)
    other_cpu: float  # outside this benchmark
    busiest_others: list[tuple[str, int, float]]
    recorded_bytes: int  # added under recordings/
    storage_bytes: int  # the server process's write_bytes
    files_closed: int  # recording "end" messages during the window
    events_started: int
    viewer_fps: float | None = None
    audio_fps: float | None = None

    @property
    def disturbed(self) -> bool:
        return self.other_cpu > DISTURBED_OTHER_CPU

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "disturbed": self.disturbed,
            "recorded_mb_per_hour": per_hour_mb(self.recorded_bytes, self.seconds),
            "storage_mb_per_hour": per_hour_mb(self.storage_bytes, self.seconds),
        }


async def measure(sides: list[Side], seconds: float) -> list[Window]:
    """One window for every side at once, in parts of one motion period each."""
    servers = [side.server.pid for side in sides]
    fleets = [side.viewing.fleet.pid for side in sides if side.viewing]
    parts = max(1, round(seconds / MOTION_PERIOD_S))
    for side in sides:
        if side.viewing:
            await side.viewing.fleet.mark()
    audio_from = [side.viewing.audio.frames if side.viewing and side.viewing.audio else 0
                  for side in sides]  # fmt: skip
    wall_start = time.time()
    before = [(tree_bytes(s.recordings), storage_write_bytes(s.server.pid)) for s in sides]
    samples = [CpuSample.take()]
    threads = [[thread_seconds(pid) for pid in servers]]
    for _ in range(parts):
        await asyncio.sleep(seconds / parts)
        samples.append(CpuSample.take())
        threads.append([thread_seconds(pid) for pid in servers])
    after = [(tree_bytes(s.recordings), storage_write_bytes(s.server.pid)) for s in sides]
    wall_end = time.time()
    cpu = CpuWindow.between(samples[0], samples[-1], servers + fleets)
    split = [CpuWindow.between(a, b, servers) for a, b in itertools.pairwise(samples)]
    windows = []
    for index, side in enumerate(sides):
        pid, viewing = side.server.pid, side.viewing
        messages = side.live.between(wall_start, wall_end)
        loop, pipeline, rest, rest_parts = split_threads(
            pid, [sample[index] for sample in threads], cpu.seconds
        )
        window = Window(
            viewers=1 if viewing else 0,
            seconds=cpu.seconds,
            server_cpu=cpu.processes[pid],
            server_cpu_parts=[part.processes[pid] for part in split],
            loop_cpu=loop,
            pipeline_cpu=pipeline,
            rest_cpu=rest,
            rest_cpu_parts=rest_parts,
            viewer_cpu=cpu.processes[viewing.fleet.pid] if viewing else 0.0,
            machine_cpu=cpu.machine,
            other_cpu=cpu.other,
            busiest_others=cpu.others,
            recorded_bytes=after[index][0] - before[index][0],
            storage_bytes=after[index][1] - before[index][1],
            files_closed=sum(_is(m, "recording", "end") for m in messages),
            events_started=sum(_is(m, "event", "start") for m in messages),
        )
        if viewing:
            report = await viewing.fleet.report()
            window.viewer_fps = report[0]["fps"] if report else 0.0
            if viewing.audio:
                window.audio_fps = (viewing.audio.frames - audio_from[index]) / cpu.seconds
        windows.append(window)
    if windows[0].disturbed:
        logger.warning(
            "others used %.0f %% of a core (busiest: %s): flagged",
            windows[0].other_cpu, windows[0].busiest_others,
        )  # fmt: skip
    return windows


def split_threads(
    pid: int, samples: list[dict[int, float]], seconds: float
) -> tuple[float, list[float], float, list[float]]:
    """(event loop, the pipeline threads, the rest, the rest per part), % of one core."""
    first, last = samples[0], samples[-1]
    share = {tid: 100 * (cpu - first.get(tid, 0.0)) / seconds for tid, cpu in last.items()}
    loop = share.pop(pid, 0.0)
    pipeline = sorted(share, key=lambda tid: -share[tid])[:PIPELINE_THREADS]
    rest_parts = []
    for start, end in itertools.pairwise(samples):
        part = seconds / (len(samples) - 1)
        rest_parts.append(
            sum(
                100 * (cpu - start.get(tid, 0.0)) / part
                for tid, cpu in end.items()
                if tid not in pipeline
            )
        )
    rest = loop + sum(cpu for tid, cpu in share.items() if tid not in pipeline)
    return loop, [share[tid] for tid in pipeline], rest, rest_parts


def _change(base: float, test: float, parts: list[float]) -> dict[str, Any]:
    error = statistics.stdev(parts) / math.sqrt(len(parts)) if len(parts) > 1 else None
    return {"cpu": test - base, "parts": parts, "error": error}


def difference(base: Window, test: Window) -> dict[str, Any]:
    """The test server's CPU minus the recording-off server's, with its standard error
    over the window's parts (both servers saw the same machine in each part); with
    viewers, the same for the threads outside the capture pipeline ("rest")."""
    pairs = zip(base.server_cpu_parts, test.server_cpu_parts, strict=True)
    found = _change(base.server_cpu, test.server_cpu, [t - b for b, t in pairs])
    if base.viewers and test.viewers:
        pairs = zip(base.rest_cpu_parts, test.rest_cpu_parts, strict=True)
        found["rest"] = _change(base.rest_cpu, test.rest_cpu, [t - b for b, t in pairs])
    return found


def _is(message: dict[str, Any], kind: str, phase: str) -> bool:
    return message.get("type") == kind and message.get("phase") == phase


# ----- clip availability ----------------------------------------------------------------------


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
        elif _is(message, "recording", "end") and message["recording"]["kind"] == "clip":
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


# ----- checks after the windows ---------------------------------------------------------------


async def check_recordings(server: Server, recordings: Path) -> dict[str, Any]:
    """REST agrees with the disk: every finished recording's size and SHA-256 match its file."""
    async with server.client() as client:
        response = await client.get(
            "/api/recordings", params={"camera": CAMERA, "order": "oldest", "limit": 1000}
        )
        response.raise_for_status()
        rows = response.json()["recordings"]
        storage = (await client.get("/api/storage")).json()

    def verify() -> list[str]:
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

    problems = await asyncio.to_thread(verify)
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


# ----- one pair: recording off beside a mode -------------------------------------------------


@dataclass
class Context:
    plan: Plan
    workdir: Path
    server_env: dict[str, str]
    audio: bool
    results: dict[str, Any]


def message_counts(live: LiveLog) -> dict[str, int]:
    return {
        "events": sum(_is(m, "event", "start") for _, m in live.messages),
        "recordings_closed": sum(_is(m, "recording", "end") for _, m in live.messages),
        # A clip opens for an event: its "start" message should name it.
        "clip_starts_without_events": sum(
            _is(m, "recording", "start")
            and m["recording"]["kind"] == "clip"
            and not m["recording"]["events"]
            for _, m in live.messages
        ),
    }


async def run_order(ctx: Context, pair: Pair, swapped: bool) -> dict[str, Any]:
    """Recording off and the pair's mode side by side; ``swapped``: the mode's server is
    started first (slot 0), else recording off is."""
    plan = ctx.plan
    order = "swapped" if swapped else "first"
    modes = [MODES[pair.mode], OFF] if swapped else [OFF, MODES[pair.mode]]
    dirs = [ctx.workdir / pair.key / order / f"{slot}-{m.key}" for slot, m in enumerate(modes)]
    managers = [
        sentrycam([camera_config(mode.recording)], workdir, CAMERA, ctx.server_env)
        for mode, workdir in zip(modes, dirs, strict=True)
    ]
    base_slot, test_slot = (1, 0) if swapped else (0, 1)
    result: dict[str, Any] = {"order": order, "slots": [m.key for m in modes], "difference": {}}
    outs: list[dict[str, Any]] = [{}, {}]
    result["base"], result["test"] = outs[base_slot], outs[test_slot]
    idle = pair.idle and not swapped
    async with servers_together(managers) as servers:
        online_at = time.time()
        async with live_log(servers[0]) as live_0, live_log(servers[1]) as live_1:
            sides = [
                Side(modes[0], servers[0], dirs[0], live_0),
                Side(modes[1], servers[1], dirs[1], live_1),
            ]
            if idle:
                await asyncio.sleep(plan.settle_s)
                logger.info("%s: no viewers, %.0f s window", pair.key, plan.window_s)
                windows = await measure(sides, plan.window_s)
                for out, window in zip(outs, windows, strict=True):
                    out["idle"] = window.as_dict()
                result["difference"]["idle"] = difference(windows[base_slot], windows[test_slot])
            for server in servers:
                await wait_viewer_count(server, 0)
            async with contextlib.AsyncExitStack() as viewers:
                for side in sides:
                    side.viewing = await viewers.enter_async_context(
                        one_viewer(side.server, side.workdir, ctx.audio)
                    )
                left = plan.settle_s - (time.time() - online_at)
                await asyncio.sleep(max(plan.warmup_s, left))
                logger.info(
                    "%s (%s order): one viewer each, %.0f s window", pair.key, order, plan.window_s
                )
                windows = await measure(sides, plan.window_s)
                for out, window in zip(outs, windows, strict=True):
                    out["viewer"] = window.as_dict()
                result["difference"]["viewer"] = difference(windows[base_slot], windows[test_slot])
                for side in sides:
                    side.viewing = None
            live_test = sides[test_slot].live
            if pair.mode == "events" and not swapped:
                logger.info("%s: waiting for %d clips to close", pair.key, plan.clips)

                def enough() -> bool:
                    return len(clip_samples(live_test.messages, POST_ROLL_S)[0]) >= plan.clips

                await live_test.wait_until(enough, plan.clips_deadline_s)
            if pair.mode == "events":
                samples, skipped = clip_samples(live_test.messages, POST_ROLL_S)
                for sample in samples:
                    # Settled: its event began after the recorder had run for a pre-roll
                    # and a keyframe interval (the first clip of a server may not have).
                    start = sample["first_event_start"]
                    sample["settled"] = start is not None and (
                        start >= online_at + PRE_ROLL_S + GOP_S
                    )
                result["clip_samples"] = {"samples": samples, "skipped": skipped}
            for side, out in zip(sides, outs, strict=True):
                if side.live.error:
                    out["live_error"] = side.live.error
                side.live.save(side.workdir / "live.jsonl")
                out["messages"] = message_counts(side.live)
        for side, out in zip(sides, outs, strict=True):
            out["check"] = await check_recordings(side.server, side.recordings)
    for server, out in zip(servers, outs, strict=True):
        out["server_log_problems"] = log_problems(server.process.log_path)[:20]
    return result


def _merge(changes: list[dict[str, Any]], orders: list[str]) -> dict[str, Any]:
    """The mean of the orders' differences; the standard error over all their parts."""
    parts = [x for change in changes for x in change["parts"]]
    return {
        "cpu": statistics.fmean(change["cpu"] for change in changes),
        "parts": parts,
        "error": statistics.stdev(parts) / math.sqrt(len(parts)) if len(parts) > 1 else None,
        "by_order": {order: change["cpu"] for order, change in zip(orders, changes, strict=True)},
    }


def combine(pair: Pair, orders: list[dict[str, Any]]) -> dict[str, Any]:
    """One figure per pair: the mean of the orders' differences, the standard error over
    all their parts; windows averaged (CPU, bytes) or summed (files) over the orders."""
    result: dict[str, Any] = {
        "mode": pair.mode,
        "label": MODES[pair.mode].label,
        "recording": MODES[pair.mode].recording,
        "orders": orders,
        "difference": {},
        "test": {},
        "base": {},
    }
    for viewers in ("idle", "viewer"):
        found = [o for o in orders if viewers in o["difference"]]
        if not found:
            continue
        changes = [o["difference"][viewers] for o in found]
        result["difference"][viewers] = merged = _merge(changes, [o["order"] for o in found])
        if all("rest" in change for change in changes):
            merged["rest"] = _merge([c["rest"] for c in changes], [o["order"] for o in found])
        for side in ("test", "base"):
            windows = [o[side][viewers] for o in found]
            result[side][viewers] = {
                "viewers": windows[0]["viewers"],
                "server_cpu": statistics.fmean(w["server_cpu"] for w in windows),
                "recorded_mb_per_hour": statistics.fmean(
                    w["recorded_mb_per_hour"] for w in windows
                ),
                "storage_mb_per_hour": statistics.fmean(w["storage_mb_per_hour"] for w in windows),
                "loop_cpu": statistics.fmean(w["loop_cpu"] for w in windows),
                "rest_cpu": statistics.fmean(w["rest_cpu"] for w in windows),
                "files_closed": sum(w["files_closed"] for w in windows),
                "viewer_fps": min(
                    (w["viewer_fps"] for w in windows if w["viewer_fps"]), default=None
                ),
                "disturbed": any(w["disturbed"] for w in windows),
            }
    if pair.mode == "events":
        samples = [s for o in orders for s in o["clip_samples"]["samples"]]
        skipped = [s for o in orders for s in o["clip_samples"]["skipped"]]
        result["clips"] = summarize_clips(samples, skipped)
    return result


# ----- report ---------------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.{digits}f}"


def _signed(difference: dict[str, Any]) -> str:
    error = difference["error"]
    return f"{difference['cpu']:+.1f}" + ("" if error is None else f" ±{error:.1f}")


def table_rows(results: dict[str, Any]) -> list[str]:
    lines = []
    pairs = results.get("pairs", {})
    for viewers in ("viewer", "idle"):
        for pair in PAIRS:
            found = pairs.get(pair.key)
            if found is None or viewers not in found["test"]:
                continue
            base, test = found["base"][viewers], found["test"][viewers]
            change = found["difference"][viewers]
            label = "control: recording off" if pair.key == "control" else found["label"]
            flag = " †" if test["disturbed"] else ""
            fps = _fmt(test["viewer_fps"]) if test["viewers"] else "—"
            orders = " / ".join(f"{v:+.1f}" for v in change["by_order"].values())
            rest = _signed(change["rest"]) if "rest" in change else "—"
            lines.append(
                f"| {label} | {test['viewers']} | {_fmt(test['server_cpu'])}{flag} "
                f"| {_fmt(base['server_cpu'])} | **{_signed(change)}** | {orders} | {rest} "
                f"| {_fmt(test['recorded_mb_per_hour'], 0)} "
                f"| {_fmt(test['storage_mb_per_hour'], 0)} "
                f"/ {_fmt(base['storage_mb_per_hour'], 0)} "
                f"| {test['files_closed']} | {fps} |"
            )
    return lines


def verdicts(results: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    events = results.get("pairs", {}).get("events", {})
    difference_ = events.get("difference", {}).get("viewer")
    control = results.get("pairs", {}).get("control", {}).get("difference", {}).get("viewer")
    if difference_ is not None:
        # Judged on the threads outside the capture pipeline (the steadier figure, see the
        # README); the whole process's difference and the control pair are shown with it.
        judged = difference_.get("rest", difference_)
        whole = "" if judged is difference_ else f"; whole process {_signed(difference_)} %"
        found.append(
            {
                "target": f"event clips add < {CPU_TARGET:g} % of a core over recording off "
                "(1 viewer)",
                "value": f"{_signed(judged)} %{whole}"
                + ("" if control is None else f" (control pair: {control['cpu']:+.1f} %)"),
                "met": judged["cpu"] < CPU_TARGET,
            }
        )
    clips = events.get("clips")
    if clips is not None:
        worst = clips["max_ms"]
        found.append(
            {
                "target": f"clip available ≤ {AVAILABLE_TARGET_MS / 1000:g} s after its "
                "post-roll ends (every clip)",
                "value": f"max {_fmt(worst, 0)} ms over {clips['count']} clips",
                "met": bool(clips["count"]) and worst <= AVAILABLE_TARGET_MS,
            }
        )
    return found


def problems(results: dict[str, Any]) -> list[str]:
    found = []
    for key, pair in results.get("pairs", {}).items():
        for order, side in itertools.product(pair.get("orders", []), ("base", "test")):
            where = f"{key}/{order['order']}/{side}"
            out = order.get(side, {})
            found += [f"{where}: {p}" for p in out.get("check", {}).get("problems", [])]
            count = out.get("messages", {}).get("clip_starts_without_events")
            if count:
                found.append(f'{where}: {count} clip "start" messages list no events')
            found += [f"{where}: server log: {line}" for line in out.get("server_log_problems", [])]
            if out.get("live_error"):
                found.append(f"{where}: /api/ws: {out['live_error']}")
    errors: list[str] = results.get("errors", [])
    return found + errors


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    orders = (
        ', twice: off started first / the mode started first ("by order")'
        if meta["plan"]["both_orders"]
        else ""
    )
    see_control = ", see the control row" if "control" in results.get("pairs", {}) else ""
    lines = [
        f"## Recording ({meta['mode']} run, {meta['cpus']} CPUs, load average before "
        f"{meta['load_before']}, after {meta['load_after']})",
        "",
        "Demo camera 1280x720 @ 30 fps, libx264, demo audio, motion detection on (a left-edge "
        f"zone: an event every {MOTION_PERIOD_S:.1f} s). Each mode runs beside a recording-off "
        f"server, measured in the same windows{orders}. One viewer = video (viewer process) + "
        f"audio-only peer{'' if meta['audio_listener'] else ' (off in this run)'}. "
        f"Windows of {meta['plan']['window_s']:g} s; ± = standard error of the difference "
        f"over {MOTION_PERIOD_S:.0f} s parts (noise within the windows only: between server "
        f"pairs the method scatters by about 1-1.5 % of a core{see_control}); "
        f"† = others used > {DISTURBED_OTHER_CPU:g} % of a core.",
        "",
        "| mode | viewers | server CPU (% of a core) | recording off, same windows "
        "| difference | by order | difference outside the capture pipeline "
        "| recordings (MB/h) | storage writes (MB/h; off) | files closed | viewer fps |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *table_rows(results),
    ]
    clips = results.get("pairs", {}).get("events", {}).get("clips")
    if clips is not None:
        lines += [
            "",
            f"Clip available after its post-roll ends (post-roll {POST_ROLL_S:g} s; "
            'available = its recording "end" message arrives on /api/ws):',
            "",
            "| clips | p50 | max | last frame vs post-roll end (p50) "
            "| event end message delay (p50) | shortest pre-roll (settled) |",
            "| ---: | ---: | ---: | ---: | ---: | ---: |",
            f"| {clips['count']} | {_fmt(clips['p50_ms'], 0)} ms | {_fmt(clips['max_ms'], 0)} ms "
            f"| {_fmt(clips['last_frame_p50_ms'], 0)} ms "
            f"| {_fmt(clips['event_end_message_p50_ms'], 0)} ms "
            f"| {_fmt(clips['pre_roll_min_s'], 2)} s |",
        ]
    found = results.get("verdicts", [])
    if found:
        lines += ["", "| target | value | verdict |", "| --- | --- | --- |"]
        lines += [
            f"| {v['target']} | {v['value']} | {'met' if v['met'] else '**not met**'} |"
            for v in found
        ]
    listed = problems(results)
    if listed:
        lines += ["", "Problems:", ""] + [f"- {p}" for p in listed]
    return "\n".join(lines)


# ----- command line ---------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.recording", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short windows, few clips (smoke)")
    parser.add_argument(
        "--only", help=f"comma-separated pairs: {','.join(p.key for p in PAIRS)} (default: all)"
    )
    parser.add_argument(
        "--no-audio-listener",
        action="store_true",
        help="the viewer takes video only (the Opus encoder then runs only while recording)",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the servers under test",
    )
    parser.add_argument("--output", type=Path, default=RESULTS_DIR)
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser.parse_args(argv)


def load_average() -> str:
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


async def run(ctx: Context, pairs: list[Pair]) -> None:
    restrict_ice_addresses([LOOPBACK])  # the in-process audio peers stay on loopback
    orders = [False, True] if ctx.plan.both_orders else [False]
    for pair in pairs:
        started = time.monotonic()
        logger.info("%s beside recording off ...", pair.key)
        try:
            done = [await run_order(ctx, pair, swapped) for swapped in orders]
            ctx.results["pairs"][pair.key] = combine(pair, done)
        except Exception as error:  # one broken pair must not lose the others
            logger.error("%s failed: %r", pair.key, error, exc_info=error)
            ctx.results.setdefault("errors", []).append(f"{pair.key}: {error!r}")
        logger.info("%s: done in %.0fs", pair.key, time.monotonic() - started)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("aioice", "aiortc", "httpx", "websockets"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    plan = QUICK if args.quick else FULL
    if args.only:
        keys = args.only.split(",")
        unknown = set(keys) - {p.key for p in PAIRS}
        if unknown:
            raise SystemExit(f"unknown pairs: {', '.join(sorted(unknown))}")
        pairs = [p for p in PAIRS if p.key in keys]
    else:
        pairs = [p for p in PAIRS if p.key != "control" or plan.both_orders]
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    workdir = args.output / f"recording-{stamp}"
    workdir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "meta": {
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "mode": "quick" if args.quick else "full",
            "cpus": os.cpu_count(),
            "load_before": load_average(),
            "plan": asdict(plan),
            "audio_listener": not args.no_audio_listener,
            "camera": {k: v for k, v in camera_config({}).items() if k != "recording"},
            "modes": {key: mode.recording for key, mode in MODES.items()},
            "workdir": str(workdir),
        },
        "pairs": {},
    }
    server_env = dict(item.split("=", 1) for item in args.server_env)
    results["meta"]["server_env"] = server_env
    ctx = Context(plan, workdir, server_env, not args.no_audio_listener, results)
    started = time.monotonic()
    asyncio.run(run(ctx, pairs))
    results["meta"]["duration_s"] = round(time.monotonic() - started, 1)
    results["meta"]["load_after"] = load_average()
    results["verdicts"] = verdicts(results)
    args.output.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_json_safe(results), indent=2, default=str)
    path = args.output / f"recording-{stamp}.json"
    path.write_text(text, encoding="utf-8")
    (args.output / "recording-latest.json").write_text(text, encoding="utf-8")
    print(markdown(results))
    print(f"\nresults: {path} (logs in {workdir})")
    return 1 if results.get("errors") else 0


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


if __name__ == "__main__":
    sys.exit(main())
