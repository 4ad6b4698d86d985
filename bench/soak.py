"""Soak: everything at once for a while, then look for leaks and unplayable clips.

    .venv/bin/python -m bench.soak [--minutes 10] [--ws-clients 1000] [--viewers 20]
                                   [--no-logins] [--tracemalloc FRAMES]

One server process (the real app on uvicorn, loopback) with two demo cameras recording
continuously, and around it:

* ``--viewers`` WHEP viewers (aiortc, not decoding) in one process, joining and leaving:
  every 2 s one hangs up and a new one joins, on either camera;
* ``--ws-clients`` live-channel clients spread over 4 processes, each reading everything;
* a login every second (``POST /api/auth/login``: one Argon2 hash each), then a logout.

The server reports its own figures every 5 s (resident memory, open files, threads,
asyncio tasks, live-channel connections), and the live clients count why their
connections ended (close code or error). After a warm-up (the first fifth), growth is
measured from the median of the first minute after it to the median of the last minute
(a login's Argon2 hash lifts RSS by up to 64 MiB for a moment: one sample or a mean can
land on such a peak); ``rss_mb_per_minute`` gives the median of every minute, to tell a
plateau from a slow climb. After a graceful stop every recording on disk is probed
(``camera.mp4.probe``: the moov is read and the video decoded) and must play.
Targets: RSS growth under 10 %, no growth in open files, threads or tasks.

To tell what grows, the samples also hold glibc's heap (in use, free), Python's allocated
blocks and the collector's full collections; ``--tracemalloc`` lists the Python
allocations that grew after the warm-up, by traceback (bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import ctypes
import gc
import itertools
import json
import os
import random
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

from api import gc_pauses

PYTHON = sys.executable
STATS_EVERY_S = 5.0
PASSWORD = "endurance-probe-passphrase-7"


# ----- server process --------------------------------------------------------------------------


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _heap_mb() -> dict[str, float]:
    """glibc's view of the C heap over every arena: in use (allocated chunks plus mmapped
    blocks) and free but kept. Python's own objects are counted apart (allocated blocks):
    growth in use with Python flat points at C code; growth in free, at fragmentation."""
    try:
        mallinfo2 = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError):
        return {}
    mallinfo2.restype = _MallInfo2
    info = mallinfo2()
    return {
        "heap_used_mb": round((info.uordblks + info.hblkhd) / 2**20, 1),
        "heap_free_mb": round(info.fordblks / 2**20, 1),
        "py_blocks_k": round(sys.getallocatedblocks() / 1000, 1),
    }


_full_gc_objects = [0]  # tracked objects when the last full collection began


def _count_full_gc_objects(phase: str, info: dict[str, int]) -> None:
    """How many objects a full collection looks at (a gc callback; ``serve``'s own hook,
    ``api.gc_pauses``, times it)."""
    if phase == "start" and info["generation"] == 2:
        _full_gc_objects[0] = len(gc.get_objects(2))


def _self_stats() -> dict[str, float]:
    status = Path("/proc/self/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {
        "at": time.time(),
        "rss_mb": int(fields["VmRSS"].split()[0]) / 1024,
        "threads": int(fields["Threads"]),
        "fds": len(os.listdir("/proc/self/fd")),
        "tasks": len(asyncio.all_tasks()),
        "gc_full": gc.get_stats()[2]["collections"],  # full collections so far
        "gc_full_ms": round(gc_pauses.PAUSES.longest * 1000, 1),  # the longest so far
        "gc_full_objects_k": round(_full_gc_objects[0] / 1000, 1),  # in the last one
        **_heap_mb(),
    }


async def run_server(port: int, data_dir: Path) -> None:
    from api.app import create_app
    from api.cli import Server, uvicorn_config
    from api.services import Services
    from api.settings import LoadedConfig, parse_settings

    camera = {
        "source": "demo",
        "width": 640,
        "height": 360,
        "fps": 15,
        "audio": "demo",
        "recording": {"continuous": True, "segment_seconds": 30},
    }
    settings = parse_settings(
        {
            "webrtc": {"ice_addresses": ["127.0.0.1"], "max_viewers": 20},
            "security": {"login_throttle": {"slow_after": 100, "lock_after": 1000}},
            "cameras": [{"id": "front", **camera}, {"id": "back", **camera}],
        }
    )
    services = Services(LoadedConfig(settings, "file", None), data_dir)
    server = Server(uvicorn_config(create_app(services), "127.0.0.1", port, None), services)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    asyncio.get_running_loop().add_signal_handler(
        signal.SIGTERM, lambda: setattr(server, "should_exit", True)
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.05)

    def token(db: Any) -> str:
        user = services.accounts.create_user(db, "soak", PASSWORD, "admin", None)
        return services.accounts.create_token(db, user, "soak", None)[0]

    print(json.dumps({"token": await services.db.run(token)}), flush=True)
    if tracemalloc.is_tracing():  # --tracemalloc: a snapshot at each SIGUSR1
        taken = itertools.count()

        def snapshot() -> None:
            path = data_dir / f"trace-{next(taken)}"
            tracemalloc.take_snapshot().dump(str(path.with_suffix(".part")))
            path.with_suffix(".part").rename(path)  # whole, when the bench sees it

        asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, snapshot)
    while not serving.done():
        stats = {
            **_self_stats(),
            "live_clients": len(services.live.connections),
            "live_messages": services.live.last_id,  # published so far
        }
        print(json.dumps({"stats": stats}), flush=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(serving), STATS_EVERY_S)
    await serving


# ----- live-channel clients --------------------------------------------------------------------


async def run_ws(port: int, token: str, count: int) -> None:
    import websockets

    url = f"ws://127.0.0.1:{port}/api/ws"
    headers = {"Authorization": f"Bearer {token}"}

    ended: collections.Counter[str] = collections.Counter()  # why connections ended

    async def one(index: int) -> None:
        await asyncio.sleep(index * 0.02)  # connect gradually, as dashboards do
        last: int | None = None
        backoff = 1.0
        while True:
            target = url if last is None else f"{url}?last_id={last}"
            try:
                async with websockets.connect(
                    target, additional_headers=headers, open_timeout=30
                ) as ws:
                    backoff = 1.0
                    async for raw in ws:
                        message = json.loads(raw)
                        if "id" in message:
                            last = message["id"]
                why = f"closed {ws.close_code}"
            except websockets.ConnectionClosed as closed:
                why = f"closed {closed.rcvd.code if closed.rcvd else 'without a code'}"
            except (OSError, TimeoutError, websockets.WebSocketException) as error:
                why = type(error).__name__
            ended[why] += 1
            # As the dashboard does: back off, with jitter, instead of a storm.
            await asyncio.sleep(backoff * random.uniform(0.5, 1.5))
            backoff = min(backoff * 2, 30.0)

    async def report() -> None:
        while True:
            await asyncio.sleep(STATS_EVERY_S)
            print(json.dumps(ended), flush=True)

    await asyncio.gather(report(), *(one(i) for i in range(count)))


# ----- WHEP viewers joining and leaving -------------------------------------------------------


async def run_viewers(port: int, token: str, count: int) -> None:
    import httpx

    from bench.viewer_proc import disable_decoding
    from camera.webrtc import restrict_ice_addresses
    from tests.whep_client import WhepRefused, connect, hang_up

    restrict_ice_addresses(["127.0.0.1"])
    disable_decoding()
    rng = random.Random(14)
    headers = {"Authorization": f"Bearer {token}"}
    # A browser waits for the WHEP answer as long as it takes; 30 s, and the slowest join
    # is reported (httpx's default 5 s counted a busy server's slow answers as failures).
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        viewers: list[Any] = []
        joined = left = failed = 0
        slowest = 0.0
        reasons: dict[str, int] = {}  # why joins failed, counted
        while True:
            if len(viewers) >= count:
                viewer = viewers.pop(rng.randrange(len(viewers)))
                with contextlib.suppress(httpx.HTTPError):
                    await hang_up(client, viewer)
                left += 1
            try:
                began = time.monotonic()
                viewers.append(await connect(client, rng.choice(["front", "back"]), audio=False))
                slowest = max(slowest, time.monotonic() - began)
                joined += 1
            except (WhepRefused, httpx.HTTPError) as error:
                failed += 1
                why = f"{type(error).__name__}: {error}"[:120]
                reasons[why] = reasons.get(why, 0) + 1
            state = {
                "joined": joined,
                "left": left,
                "failed": failed,
                "slowest_join_s": round(slowest, 1),
                "why": reasons,
            }
            print(json.dumps(state), flush=True)
            await asyncio.sleep(2.0 if len(viewers) >= count else 0.2)


# ----- orchestration ---------------------------------------------------------------------------


def _child(*args: str, stdout: Any = subprocess.DEVNULL) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [PYTHON, "-m", "bench.soak", *args], stdout=stdout, stderr=subprocess.DEVNULL, text=True
    )


async def logins(port: int, stop: asyncio.Event) -> dict[str, int]:
    """Start a login every second (each on its own: a slow one does not delay the next)."""
    counts = {"ok": 0, "failed": 0}
    running: set[asyncio.Task[None]] = set()
    while not stop.is_set():
        task = asyncio.create_task(one_login(port, counts))
        running.add(task)
        task.add_done_callback(running.discard)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
    await asyncio.gather(*running)
    return counts


async def one_login(port: int, counts: dict[str, int]) -> None:
    import httpx

    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, headers={"Origin": base}, timeout=30) as c:
        try:
            response = await c.post(
                "/api/auth/login", json={"username": "soak", "password": PASSWORD}
            )
            if response.status_code == 200:
                counts["ok"] += 1
                csrf = response.json().get("csrf_token", "")
                await c.post("/api/auth/logout", headers={"X-CSRF-Token": csrf})
            else:
                counts["failed"] += 1
        except httpx.HTTPError:
            counts["failed"] += 1


def growth(samples: list[dict[str, float]], key: str, warmup_end: float) -> dict[str, float]:
    after = [s for s in samples if s["at"] >= warmup_end]
    if len(after) < 2:
        return {}
    start = statistics.median(s[key] for s in after if s["at"] < after[0]["at"] + 60)
    end = statistics.median(s[key] for s in after if s["at"] >= after[-1]["at"] - 60)
    return {
        "start": round(start, 1),
        "end": round(end, 1),
        "min": round(min(s[key] for s in after), 1),
        "max": round(max(s[key] for s in after), 1),
        "growth_pct": round((end - start) / start * 100, 2) if start else 0.0,
    }


def per_minute(samples: list[dict[str, float]], key: str) -> list[float]:
    """The median of ``key`` in each whole minute from the first sample."""
    if not samples:
        return []
    first = samples[0]["at"]
    minutes: dict[int, list[float]] = {}
    for sample in samples:
        minutes.setdefault(int((sample["at"] - first) // 60), []).append(sample[key])
    return [round(statistics.median(values), 1) for _, values in sorted(minutes.items())]


def traced_growth(data_dir: Path, top: int = 25) -> list[str]:
    """What the server's Python allocations grew by between the two snapshots, biggest
    first, by traceback."""
    paths = [data_dir / "trace-0", data_dir / "trace-1"]
    for _ in range(600):  # the server writes them on SIGUSR1: up to a minute
        if all(p.exists() for p in paths):
            break
        time.sleep(0.1)
    else:
        return ["no tracemalloc snapshots"]
    before, after = (tracemalloc.Snapshot.load(str(p)) for p in paths)
    stats = after.compare_to(before, "traceback")
    return [
        f"{stat.size_diff / 1024:+.0f} KiB {stat.count_diff:+d} blocks: "
        + " <- ".join(f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno}" for f in stat.traceback)
        for stat in stats[:top]
    ]


def probe_all(data_dir: Path) -> dict[str, Any]:
    from camera.mp4 import probe

    files = sorted((data_dir / "recordings").rglob("*.mp4"))
    bad = [str(p.relative_to(data_dir)) for p in files if probe(p) is None]
    return {"files": len(files), "unplayable": bad}


async def soak(minutes: float, ws_clients: int, viewers: int, logins_on: bool) -> dict[str, Any]:
    from tests.conftest import free_port

    port = free_port()
    with tempfile.TemporaryDirectory(prefix="sentrycam-soak-") as tmp:
        data_dir = Path(tmp)
        server = _child("_server", str(port), tmp, stdout=subprocess.PIPE)
        assert server.stdout is not None
        samples: list[dict[str, float]] = []
        token_line = server.stdout.readline()
        while token_line and '"token"' not in token_line:
            token_line = server.stdout.readline()
        token = json.loads(token_line)["token"]

        def read_stats() -> None:
            assert server.stdout is not None
            for line in server.stdout:
                with contextlib.suppress(ValueError, KeyError):
                    samples.append(json.loads(line)["stats"])

        reader = threading.Thread(target=read_stats, daemon=True)
        reader.start()
        per = [ws_clients // 4 + (1 if i < ws_clients % 4 else 0) for i in range(4)]
        ws_logs = [data_dir / f"ws-{i}.log" for i in range(4)]
        children = []
        for n, path in zip(per, ws_logs, strict=True):
            if n:
                with path.open("w") as log:
                    children.append(_child("_ws", str(port), token, str(n), stdout=log))
        viewer_log = data_dir / "viewers.log"
        viewer_log.touch()
        if viewers:
            with viewer_log.open("w") as log:
                children.append(_child("_viewers", str(port), token, str(viewers), stdout=log))
        stop = asyncio.Event()
        login_task = asyncio.create_task(logins(port, stop)) if logins_on else None
        started = time.time()
        tracing = bool(os.environ.get("SOAK_TRACEMALLOC"))
        await asyncio.sleep(minutes * 60 / 5)
        if tracing:
            server.send_signal(signal.SIGUSR1)  # trace-0: after the warm-up
        await asyncio.sleep(minutes * 60 * 4 / 5)
        if tracing:
            server.send_signal(signal.SIGUSR1)  # trace-1: at the end
        stop.set()
        login_counts = await login_task if login_task else {}
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(20)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        server.send_signal(signal.SIGTERM)  # a graceful stop: every file gets its moov
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        reader.join(5)
        warmup_end = started + minutes * 60 / 5
        churn = viewer_log.read_text().strip().splitlines()
        ws_ended: collections.Counter[str] = collections.Counter()
        for path in ws_logs:
            lines = path.read_text().strip().splitlines() if path.exists() else []
            ws_ended.update(json.loads(lines[-1]) if lines else {})
        result = {
            "minutes": minutes,
            "ws_clients": ws_clients,
            "viewers": viewers,
            "viewer_churn": json.loads(churn[-1]) if churn else {},
            "logins": login_counts,
            "ws_connections_ended": ws_ended,
            "samples": len(samples),
            "server_exit": server.returncode,
            **{
                key: growth(samples, key, warmup_end)
                for key in ("rss_mb", "fds", "threads", "tasks", "live_clients")
            },
            **{
                f"{key}_per_minute": per_minute(samples, key)
                for key in ("rss_mb", "heap_used_mb", "heap_free_mb", "py_blocks_k")
                if all(key in sample for sample in samples)
            },
            "full_gc": {  # the collector's full collections: how many, the longest pause
                key: samples[-1][key]
                for key in ("gc_full", "gc_full_ms", "gc_full_objects_k")
                if samples and key in samples[-1]
            },
            "live_messages": samples[-1].get("live_messages") if samples else None,
            "python_growth": traced_growth(data_dir) if tracing else [],
            "clips": probe_all(data_dir),
        }
        return result


def main() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 20000), hard))
    if len(sys.argv) > 1 and sys.argv[1] == "_server":
        gc.callbacks.append(_count_full_gc_objects)
        if os.environ.get("SOAK_TRACEMALLOC"):
            tracemalloc.start(int(os.environ["SOAK_TRACEMALLOC"]))
        asyncio.run(run_server(int(sys.argv[2]), Path(sys.argv[3])))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "_ws":
        asyncio.run(run_ws(int(sys.argv[2]), sys.argv[3], int(sys.argv[4])))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "_viewers":
        asyncio.run(run_viewers(int(sys.argv[2]), sys.argv[3], int(sys.argv[4])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--ws-clients", type=int, default=1000)
    parser.add_argument("--viewers", type=int, default=20)
    parser.add_argument(
        "--logins", action=argparse.BooleanOptionalAction, default=True, help="one a second"
    )
    parser.add_argument(
        "--tracemalloc",
        type=int,
        default=0,
        metavar="FRAMES",
        help="trace the server's Python allocations (slow); report what grew after warm-up",
    )
    args = parser.parse_args()
    if args.tracemalloc:
        os.environ["SOAK_TRACEMALLOC"] = str(args.tracemalloc)
    result = asyncio.run(soak(args.minutes, args.ws_clients, args.viewers, args.logins))
    print(json.dumps(result, indent=1))
    Path("bench/results").mkdir(parents=True, exist_ok=True)
    Path("bench/results/soak.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
