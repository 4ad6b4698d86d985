"""Stopping a daemon a fixture started: terminate, wait, then kill (never left behind)."""

from __future__ import annotations

import asyncio
import subprocess


async def stop_process(process: subprocess.Popen[bytes], grace_s: float = 10) -> None:
    process.terminate()
    try:
        await asyncio.to_thread(process.wait, grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        await asyncio.to_thread(process.wait)
