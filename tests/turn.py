"""Debian's coturn on loopback, as a fixture: a TURN server with a shared secret.

Started with ``use-auth-secret`` (the scheme Sentrycam mints logins for), UDP and TCP on one
free port, relays on loopback (``allow-loopback-peers``: coturn refuses loopback peers by
default), no TLS, no CLI, a fresh empty user database in the test's own directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from tests.processes import stop_process
from tests.waiting import wait_until

SECRET = "turn-secret-for-tests-0123456789"
REALM = "sentrycam.test"


@dataclass(frozen=True)
class Turn:
    port: int
    secret: str
    log: Path

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def _free_udp_and_tcp_port() -> int:
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port: int = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no port free for both UDP and TCP")


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.asynccontextmanager
async def coturn(directory: Path) -> AsyncIterator[Turn]:
    binary = shutil.which("turnserver")
    assert binary, "coturn is missing: apt-get install coturn (tests/run.sh does it)"
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    port = _free_udp_and_tcp_port()
    relay_low = 49152 + port % 8000 * 2
    turn = Turn(port, SECRET, directory / "turnserver.log")
    args = [
        binary,
        "-n",  # no configuration file
        "--listening-ip=127.0.0.1",
        f"--listening-port={port}",
        "--relay-ip=127.0.0.1",
        f"--min-port={relay_low}",
        f"--max-port={relay_low + 200}",
        "--allow-loopback-peers",
        "--use-auth-secret",
        f"--static-auth-secret={SECRET}",
        f"--realm={REALM}",
        "--fingerprint",
        "--no-tls",
        "--no-dtls",
        "--no-cli",
        "--no-stdout-log",
        f"--log-file={turn.log}",
        "--simple-log",
        "--verbose",  # logs each allocation with its user
        f"--userdb={directory / 'turndb'}",
        f"--pidfile={directory / 'turnserver.pid'}",
    ]
    process = await asyncio.to_thread(
        subprocess.Popen, args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        await wait_until(
            lambda: _listening(port) or process.poll() is not None, 15, "coturn listening"
        )
        assert process.poll() is None, f"coturn exited: {turn.log_text()[-2000:]}"
        yield turn
    finally:
        await stop_process(process)
