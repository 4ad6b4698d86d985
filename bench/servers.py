"""Servers and helper processes under test: start, wait until ready, stop (terminate, then kill)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from .auth import Credentials, log_in
from .common import LOOPBACK, PYTHON, REPO, SENTRYCAM, free_port

logger = logging.getLogger(__name__)

READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


@dataclass
class ManagedProcess:
    """A child process whose output goes to a log file, stopped by terminate then kill."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    async def stop(self) -> None:
        if not self.alive():
            return
        self.proc.terminate()
        try:
            await asyncio.to_thread(self.proc.wait, STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            logger.warning("%s did not stop in %.0fs; killing it", self.name, STOP_TIMEOUT_S)
            self.proc.kill()
            await asyncio.to_thread(self.proc.wait, STOP_TIMEOUT_S)


def spawn(
    name: str, argv: Sequence[str], workdir: Path, env: dict[str, str] | None = None
) -> ManagedProcess:
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            list(argv),
            cwd=REPO,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    logger.debug("started %s (pid %d): %s", name, proc.pid, " ".join(argv))
    return ManagedProcess(name, proc, log_path)


@dataclass
class Server:
    """An HTTP server process on a loopback port, and how to log in to it."""

    process: ManagedProcess
    port: int
    credentials: Credentials = field(default_factory=Credentials)

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def client(self, timeout: float = 10.0) -> httpx.AsyncClient:
        """An HTTP client for this server, logged in."""
        return self.credentials.client(self.base_url, timeout)


def sentrycam_config(cameras: list[dict[str, Any]], max_viewers: int = 20) -> dict[str, Any]:
    return {
        "webrtc": {"ice_addresses": [LOOPBACK], "max_viewers": max_viewers},
        "cameras": cameras,
    }


def sentrycam_argv(config: dict[str, Any], workdir: Path, port: int) -> list[str]:
    config_path = workdir / "sentrycam.yaml"
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    data_dir = workdir / "data"
    return [
        SENTRYCAM, "--log-level", "warning", "serve", "--config", str(config_path),
        "--data-dir", str(data_dir), "--host", LOOPBACK, "--port", str(port),
    ]  # fmt: skip


def baseline_argv(port: int, fps: float) -> list[str]:
    return [PYTHON, "-m", "bench.baseline_server", "--port", str(port), "--fps", f"{fps:g}"]


async def _poll(server: Server, timeout: float, what: str, check: Any) -> None:
    """Call ``await check(client) -> str | None`` until it returns None (done); bounded."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    async with server.client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if not server.process.alive():
                raise RuntimeError(f"{server.process.name} exited:\n{server.process.log_tail()}")
            try:
                problem = await check(client)
                if problem is None:
                    return
                last = problem
            except httpx.TransportError as error:
                last = type(error).__name__
            await asyncio.sleep(0.2)
    raise TimeoutError(f"{server.process.name}: {what} not within {timeout:.0f}s ({last})")


async def _healthy(client: httpx.AsyncClient) -> str | None:
    status = (await client.get("/api/health")).status_code
    return None if status == 200 else f"health {status}"


async def wait_healthy(server: Server, timeout: float = READY_TIMEOUT_S) -> None:
    """Wait until /api/health answers 200; bounded."""
    await _poll(server, timeout, "healthy", _healthy)


async def wait_ready(server: Server, camera_id: str, timeout: float = READY_TIMEOUT_S) -> None:
    """Wait for /api/health, log in, then wait until ``camera_id`` is online; bounded."""

    async def online(client: httpx.AsyncClient) -> str | None:
        status = await _camera_status(client, camera_id)
        return None if status == "online" else f"camera {camera_id} is {status}"

    started = time.monotonic()
    await wait_healthy(server, timeout)
    server.credentials = await log_in(server.base_url, server.process.log_path)
    await _poll(server, timeout - (time.monotonic() - started), "camera online", online)


async def wait_viewer_count(server: Server, count: int, timeout: float = 45.0) -> None:
    """Wait until the server counts exactly ``count`` viewers (sessions closed or opened).

    A viewer that vanished without hanging up lingers until ICE consent expires (~30 s).
    """

    async def reached(client: httpx.AsyncClient) -> str | None:
        response = await client.get("/api/cameras")
        response.raise_for_status()
        viewers = sum(c.get("viewers", 0) for c in response.json()["cameras"])
        return None if viewers == count else f"{viewers} viewers"

    await _poll(server, timeout, f"{count} viewers", reached)


async def _camera_status(client: httpx.AsyncClient, camera_id: str) -> str:
    response = await client.get("/api/cameras")
    response.raise_for_status()
    cameras = response.json()["cameras"]
    return next((c["status"] for c in cameras if c["id"] == camera_id), "missing")


ArgvForPort = Callable[[int], list[str]]


def start_server(
    name: str, argv_for_port: ArgvForPort, workdir: Path, env: dict[str, str]
) -> Server:
    """Start a server on a free port (not waiting for it: see ``wait_healthy``)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    return Server(spawn(name, argv_for_port(port), workdir, env), port)


@contextlib.asynccontextmanager
async def running_server(
    name: str, argv_for_port: ArgvForPort, workdir: Path, camera_id: str, env: dict[str, str]
) -> AsyncIterator[Server]:
    """Start a server on a free port, wait until ``camera_id`` is online, stop it after."""
    server = start_server(name, argv_for_port, workdir, env)
    try:
        await wait_ready(server, camera_id)
        yield server
    finally:
        await server.process.stop()


@contextlib.asynccontextmanager
async def servers_together(
    managers: Sequence[contextlib.AbstractAsyncContextManager[Server]],
) -> AsyncIterator[list[Server]]:
    """Start servers concurrently; all are stopped on exit (or if one fails to start)."""
    async with contextlib.AsyncExitStack() as stack:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(stack.enter_async_context(m)) for m in managers]
        yield [task.result() for task in tasks]


def sentrycam(
    cameras: list[dict[str, Any]], workdir: Path, camera_id: str, env: dict[str, str]
) -> contextlib.AbstractAsyncContextManager[Server]:
    """``sentrycam serve`` with these cameras; ``env`` is added to its environment."""
    config = sentrycam_config(cameras)
    argv = functools.partial(sentrycam_argv, config, workdir)
    return running_server("sentrycam", argv, workdir, camera_id, env)


def baseline(
    workdir: Path, env: dict[str, str], fps: float = 30.0
) -> contextlib.AbstractAsyncContextManager[Server]:
    """``bench.baseline_server`` (MediaRelay, one encoder per viewer)."""
    argv = functools.partial(baseline_argv, fps=fps)
    return running_server("baseline", argv, workdir, "demo", env)
