"""A real, throwaway MQTT broker for the MQTT tests (Debian's mosquitto).

``Mosquitto`` runs one broker in a temporary directory on a free loopback port, anonymous or
with a password file (``mosquitto_passwd``), optionally with TLS; it can be killed and
started again on the same port (no persistence: a restarted broker has lost every retained
message, as after a crash). The ``mosquitto`` fixture makes one per test and removes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from tests.waiting import WaitTimeout, wait_until, wait_until_blocking

BROKER = Path("/usr/sbin/mosquitto")
PASSWD = Path("/usr/bin/mosquitto_passwd")
START_TIMEOUT_S = 15.0
SERVER_USER = "mosquitto"  # the system user Debian's package creates


class MosquittoUnavailable(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _accepting(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Mosquitto:
    def __init__(
        self, users: dict[str, str] | None = None, tls: tuple[Path, Path] | None = None
    ) -> None:
        if not (BROKER.is_file() and PASSWD.is_file()):
            raise MosquittoUnavailable(
                f"{BROKER} or {PASSWD} missing: the MQTT tests need a real broker: "
                "apt-get install mosquitto (tests/run.sh installs it)"
            )
        self.root = Path(tempfile.mkdtemp(prefix="sentrycam-mqtt-"))
        self.root.chmod(0o755)
        self.users = users
        self.tls = tls
        self.port = 0
        self.log = self.root / "mosquitto.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._owner: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            # As root, mosquitto drops to its own user: it must be able to read the files.
            with contextlib.suppress(KeyError):
                self._owner = pwd.getpwnam(SERVER_USER)

    def _own(self, path: Path, mode: int) -> None:
        path.chmod(mode)
        if self._owner is not None:
            os.chown(path, self._owner.pw_uid, self._owner.pw_gid)

    def _passwd(self, name: str, password: str) -> None:
        passwords = self.root / "passwords"
        subprocess.run(
            [str(PASSWD), "-b", str(passwords), name, password],
            check=True,
            capture_output=True,
            timeout=30,
        )
        self._own(passwords, 0o600)

    def _write_config(self) -> Path:
        lines = [
            f"listener {self.port} 127.0.0.1",
            "persistence false",
            f"log_dest file {self.log}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
        ]
        if self._owner is None and os.geteuid() == 0:
            lines.append("user root")
        if self.users is None:
            lines.append("allow_anonymous true")
        else:
            passwords = self.root / "passwords"
            passwords.write_text("")
            for name, password in self.users.items():
                self._passwd(name, password)
            lines += ["allow_anonymous false", f"password_file {passwords}"]
        if self.tls is not None:
            # Copies in the broker's own directory: it may not reach the test's.
            cert, key = self.root / "cert.pem", self.root / "key.pem"
            for source, copy in zip(self.tls, (cert, key), strict=True):
                shutil.copyfile(source, copy)
                self._own(copy, 0o600)
            lines += [f"certfile {cert}", f"keyfile {key}"]
        config = self.root / "mosquitto.conf"
        config.write_text("\n".join(lines) + "\n")
        self.log.touch()
        self._own(self.log, 0o644)
        return config

    def start(self, same_port: bool = False) -> Mosquitto:
        """Start the broker (again on the same port when asked); wait until it listens."""
        for _attempt in range(5):  # a free port can be taken before the broker binds it
            if not same_port:
                self.port = _free_port()
            config = self._write_config()
            if self._launch(config):
                return self
        raise MosquittoUnavailable(f"mosquitto exited; log:\n{self.log_text()}")

    def _launch(self, config: Path) -> bool:
        self.process = process = subprocess.Popen(
            [str(BROKER), "-c", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until_blocking(
                lambda: process.poll() is not None or _accepting(self.port),
                START_TIMEOUT_S,
                "mosquitto listening",
                interval=0.02,
            )
        except WaitTimeout:
            self.kill()
            log = self.log_text()
            raise MosquittoUnavailable(f"mosquitto did not listen; log:\n{log}") from None
        return process.poll() is None

    def set_password(self, name: str, password: str) -> None:
        """Change a user's password and make the running broker reload its password file."""
        self._passwd(name, password)
        assert self.process is not None
        self.process.send_signal(signal.SIGHUP)

    def kill(self) -> None:
        """SIGKILL: a crash (clients see their connection reset)."""
        self._end(signal.SIGKILL)

    def stop(self) -> None:
        self._end(signal.SIGTERM)

    def _end(self, sig: signal.Signals) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(sig)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(15)

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def running_broker(**kwargs: object) -> Iterator[Mosquitto]:
    try:
        broker = Mosquitto(**kwargs)  # type: ignore[arg-type]
        broker.start()
    except MosquittoUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    try:
        yield broker
    finally:
        broker.stop()
        broker.remove()


class Subscriber:
    """A real MQTT client subscribed to ``#`` that keeps every message it gets.

    ``async with Subscriber(port) as sub:``; ``sub.messages`` is [(topic, payload, retain)].
    """

    def __init__(
        self,
        port: int,
        username: str | None = None,
        password: str | None = None,
        ca_file: Path | None = None,
    ) -> None:
        tls = aiomqtt.TLSParameters(ca_certs=str(ca_file)) if ca_file else None
        self._client = aiomqtt.Client(
            "127.0.0.1", port, username=username, password=password, timeout=10, tls_params=tls
        )
        self.messages: list[tuple[str, bytes, bool]] = []
        self._task: asyncio.Task[None] | None = None

    @property
    def client(self) -> Any:
        return self._client

    async def __aenter__(self) -> Subscriber:
        await self._client.__aenter__()
        await self._client.subscribe("#", qos=1)
        self._task = asyncio.create_task(self._collect(), name="mqtt-test-subscriber")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        with contextlib.suppress(Exception):
            await self._client.__aexit__(None, None, None)

    async def _collect(self) -> None:
        async for message in self._client.messages:
            payload = message.payload
            data = payload if isinstance(payload, bytes) else str(payload or "").encode()
            self.messages.append((message.topic.value, data, bool(message.retain)))

    def on(self, topic: str) -> list[bytes]:
        """Every payload seen on ``topic``, oldest first."""
        return [payload for t, payload, _ in self.messages if t == topic]

    def latest(self, topic: str) -> bytes | None:
        seen = self.on(topic)
        return seen[-1] if seen else None

    async def wait_for(
        self, topic: str, payload: bytes | None = None, timeout: float = 15
    ) -> bytes:
        """The first (or first matching) payload on ``topic``, waiting for it."""

        def found() -> bytes | None:
            for seen in self.on(topic):
                if payload is None or seen == payload:
                    return seen
            return None

        def what() -> str:
            return f"{topic} = {payload!r} (seen: {self.on(topic)[-3:]!r})"

        return await wait_until(found, timeout, what)
