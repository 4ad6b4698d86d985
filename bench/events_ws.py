"""Event-to-WebSocket latency with 1, 100 and 1000 connected clients.

    .venv/bin/python -m bench.events_ws [--clients 1 100 1000] [--events 50] [--procs 4]

A server process (the real app on uvicorn, loopback, a demo camera with its detectors off)
injects one event per second into its EventService exactly where the detectors hand
them in; client processes hold N authenticated WebSocket connections and record, for
every event start received on every connection, ``receive time - event start time``
(same machine, same clock). Reports p50 / p99 / max per client count; ``samples`` is
clients x events when nothing was lost. The server's own figure comes with it: the time
from publishing each message (event start, alert, end) until its send to every client
had started, from the histogram ``/metrics`` exposes (``sentrycam_live_fanout_seconds``).

So that the figure is the server's, the clients do as little as possible while it sends:
the sockets are spread over ``--procs`` processes (4 by default), and each socket only
stamps the bytes it reads; websockets' sans-I/O protocol parses them after the run. (A
client that parsed each message on arrival delayed the stamping of its other sockets: one
Python process reading 1000 sockets measured itself.)
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

PYTHON = sys.executable
# One event a second: each is three messages (start, alert, end) to every client. Faster
# injection would measure queueing (throughput), not the latency of one event.
INTERVAL_S = 1.0


def _raise_fd_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 20000), hard))


# ----- server process -------------------------------------------------------------------------


async def run_server(port: int, data_dir: Path, events: int, wait_for: Path, procs: int) -> None:

    from api.app import create_app
    from api.cli import Server, uvicorn_config
    from api.services import Services
    from api.settings import LoadedConfig, parse_settings
    from camera.analysis import Observation

    settings = parse_settings(
        {
            "webrtc": {"ice_addresses": ["127.0.0.1"]},
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
    services = Services(LoadedConfig(settings, "file", None), data_dir)
    config = uvicorn_config(create_app(services), "127.0.0.1", port, None)
    config.ws = os.environ.get("BENCH_WS", config.ws)
    server = Server(config, services)  # as `sentrycam serve` runs it (gc frozen after start)
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.05)

    def token(db: Any) -> str:
        user = services.accounts.create_user(db, "bench", "latency-probe-password-9", "admin", None)
        return services.accounts.create_token(db, user, "bench", None)[0]

    print(json.dumps({"token": await services.db.run(token)}), flush=True)
    # The client process touches a file once all its sockets are open (another process:
    # polling a path is the simplest signal).
    ready_files = [wait_for.with_name(f"{wait_for.name}-{i}") for i in range(procs)]
    while not all(path.exists() for path in ready_files):  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    for _ in range(events):
        now = time.time()
        services.events.observe(Observation("demo", "motion", "start", now, score=0.2))
        services.events.observe(Observation("demo", "motion", "end", now))
        await asyncio.sleep(INTERVAL_S)
    await asyncio.sleep(2)
    # The server's own figure (what /metrics exposes): publish to the last send started.
    fanout = services.live.fanout
    print(json.dumps({"fanout": {"counts": fanout.counts, "seconds": fanout.seconds}}), flush=True)
    server.should_exit = True
    await serving


# ----- client process -------------------------------------------------------------------------


class _Recorder(asyncio.Protocol):
    """One client socket that only timestamps what arrives; parsing waits for the end.

    websockets' sans-I/O protocol does the handshake and, after the run, parses the recorded
    bytes, so each message is stamped with the arrival of the read that completed it and the
    client's parsing never delays the stamping of other sockets (the figure is the server's).
    """

    def __init__(self, uri: str, token: str, done: asyncio.Event) -> None:
        from websockets.client import ClientProtocol
        from websockets.uri import parse_uri

        self.protocol = ClientProtocol(parse_uri(uri), max_size=None)
        self.request = self.protocol.connect()
        self.request.headers["Authorization"] = f"Bearer {token}"
        self.open = asyncio.get_running_loop().create_future()
        self.chunks: list[tuple[float, bytes]] = []
        self.done = done
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.protocol.send_request(self.request)
        transport.write(b"".join(self.protocol.data_to_send()))  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        if not self.open.done():
            self.protocol.receive_data(data)  # the handshake answer, maybe the hello too
            if self.protocol.handshake_exc is not None:
                self.open.set_exception(self.protocol.handshake_exc)
            elif self.protocol.state.name == "OPEN":
                self.open.set_result(None)
            return
        self.chunks.append((time.time(), data))

    def connection_lost(self, exc: Exception | None) -> None:
        self.done.set()  # the bench server stops once its events are out

    def messages(self) -> list[tuple[float, str]]:
        """Every text message after the hello, with the arrival time of its last byte."""
        found: list[tuple[float, str]] = []
        for arrived, data in self.chunks:
            self.protocol.receive_data(data)
            found += [
                (arrived, e.data.decode())
                for e in self.protocol.events_received()
                if hasattr(e, "opcode") and e.opcode.name == "TEXT"
            ]
        return found


async def run_clients(port: int, token: str, clients: int, events: int, ready: Path) -> None:
    loop = asyncio.get_running_loop()
    uri = f"ws://127.0.0.1:{port}/api/ws"
    recorders = []
    for _ in range(clients):
        done = asyncio.Event()
        _, recorder = await loop.create_connection(
            lambda done=done: _Recorder(uri, token, done), "127.0.0.1", port
        )
        await recorder.open
        recorders.append(recorder)
    ready.touch()  # noqa: ASYNC240 - a tiny file, once
    # Until the server stops, after its last event.
    await asyncio.wait_for(asyncio.gather(*(r.done.wait() for r in recorders)), events + 120)
    latencies: list[float] = []
    for recorder in recorders:
        assert recorder.transport is not None
        recorder.transport.close()
        for arrived, text in recorder.messages():
            message = json.loads(text)
            if message.get("type") == "event" and message.get("phase") == "start":
                start = datetime.fromisoformat(message["event"]["start"].replace("Z", "+00:00"))
                latencies.append((arrived - start.timestamp()) * 1000)
    print(json.dumps({"latencies": latencies}), flush=True)


# ----- orchestration --------------------------------------------------------------------------


def measure(clients: int, events: int, procs: int = 4) -> dict[str, Any]:
    from api.services.live_channel import FANOUT_BUCKETS
    from tests.conftest import free_port

    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        ready = Path(tmp) / "ready"
        server = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "bench.events_ws",
                "_server",
                str(port),
                tmp,
                str(events),
                str(ready),
                str(procs),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            line = server.stdout.readline()
            while line and not line.startswith('{"token"'):
                line = server.stdout.readline()
            if not line:
                raise RuntimeError("the bench server exited before handing out a token")
            token = json.loads(line)["token"]
            shares = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
            children = [
                subprocess.Popen(
                    [
                        PYTHON,
                        "-m",
                        "bench.events_ws",
                        "_clients",
                        str(port),
                        token,
                        str(share),
                        str(events),
                        str(ready.with_name(f"{ready.name}-{i}")),
                    ],
                    stdout=subprocess.PIPE,
                    text=True,
                )
                for i, share in enumerate(shares)
            ]
            latencies = []
            for child in children:
                out, _ = child.communicate(timeout=300)
                if child.returncode != 0:
                    raise RuntimeError(f"a client process failed ({child.returncode})")
                latencies += json.loads(out.strip().splitlines()[-1])["latencies"]
            rest, _ = server.communicate(timeout=60)
        finally:
            if server.poll() is None:
                server.kill()
    latencies.sort()
    fanout = next(
        json.loads(line)["fanout"] for line in rest.splitlines() if line.startswith('{"fanout"')
    )
    messages = sum(fanout["counts"])
    within = dict(zip(FANOUT_BUCKETS, itertools.accumulate(fanout["counts"]), strict=False))
    return {
        "clients": clients,
        "samples": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1),
        "max_ms": round(latencies[-1], 1),
        "server_fanout_mean_ms": round(fanout["seconds"] / messages * 1000, 1),
        "server_fanout_within_50ms": f"{within[0.05]} of {messages}",
    }


def main() -> None:
    _raise_fd_limit()
    if len(sys.argv) > 1 and sys.argv[1] == "_server":
        port, data_dir, events, ready, procs = sys.argv[2:7]
        asyncio.run(run_server(int(port), Path(data_dir), int(events), Path(ready), int(procs)))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "_clients":
        port, token, clients, events, ready = sys.argv[2:7]
        asyncio.run(run_clients(int(port), token, int(clients), int(events), Path(ready)))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 100, 1000])
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--procs", type=int, default=4, help="client processes")
    args = parser.parse_args()
    rows = [measure(n, args.events, min(args.procs, n)) for n in args.clients]
    print(
        "| clients | samples | p50 ms | p99 ms | max ms | server fan-out: mean ms, within 50 ms |"
    )
    print("|---:|---:|---:|---:|---:|---|")
    for row in rows:
        print(
            f"| {row['clients']} | {row['samples']} | {row['p50_ms']} | {row['p99_ms']} "
            f"| {row['max_ms']} | {row['server_fanout_mean_ms']}, "
            f"{row['server_fanout_within_50ms']} |"
        )
    os.makedirs("bench/results", exist_ok=True)
    Path("bench/results/events_ws.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
