"""Orchestrator side of ``bench.viewer_proc``: start a viewer fleet process and talk to it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from .auth import ENV_VAR
from .common import PYTHON, REPO
from .servers import Server

READY_TIMEOUT_S = 60.0
ANSWER_TIMEOUT_S = 10.0
EXIT_TIMEOUT_S = 15.0


class FleetProcess:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def _event(self, name: str, timeout: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        while True:
            line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
            if not line:
                raise RuntimeError(f"viewer process exited (code {self.proc.returncode})")
            message: dict[str, Any] = json.loads(line)
            if message.get("event") == name:
                return message

    async def _command(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{command}\n".encode())
        await self.proc.stdin.drain()

    async def ready(self) -> dict[str, Any]:
        return await self._event("ready", READY_TIMEOUT_S)

    async def mark(self) -> None:
        await self._command("mark")
        await self._event("marked", ANSWER_TIMEOUT_S)

    async def report(self) -> list[dict[str, float]]:
        await self._command("report")
        viewers: list[dict[str, float]] = (await self._event("report", ANSWER_TIMEOUT_S))["viewers"]
        return viewers

    async def close(self) -> None:
        if self.proc.returncode is not None:
            return
        with contextlib.suppress(ConnectionError):
            await self._command("quit")
        try:
            await asyncio.wait_for(self.proc.wait(), EXIT_TIMEOUT_S)
        except TimeoutError:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), EXIT_TIMEOUT_S)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


@contextlib.asynccontextmanager
async def viewer_fleet(
    server: Server, count: int, log_path: Path, *, decode: bool = False, camera: str = "demo"
) -> AsyncIterator[FleetProcess]:
    """``count`` aiortc viewers of ``camera`` in a separate process, closed on exit."""
    argv = ["-m", "bench.viewer_proc", "--base-url", server.base_url, "--camera", camera]
    argv += ["--count", str(count)] + (["--decode"] if decode else [])
    env = {**os.environ, ENV_VAR: server.credentials.to_json()}  # not on the command line
    with log_path.open("ab") as log:
        proc = await asyncio.create_subprocess_exec(
            PYTHON, *argv, cwd=REPO, env=env, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=log,
        )  # fmt: skip
    fleet = FleetProcess(proc)
    try:
        yield fleet
    finally:
        await fleet.close()
