"""The service manager's side of sd_notify(3): a Unix datagram socket that collects
``KEY=value`` notifications, as systemd does for a ``Type=notify`` unit."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path


class FakeSystemd:
    """Binds ``NOTIFY_SOCKET`` and keeps every notification with its arrival time."""

    def __init__(self, directory: Path) -> None:
        self.path = str(directory / "notify.sock")
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind(self.path)
        self._socket.settimeout(0.2)
        self.messages: list[tuple[float, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._receive, name="fake-systemd", daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._closed.is_set():
            try:
                data = self._socket.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if line)
            with self._lock:
                self.messages.append((time.monotonic(), fields))

    def seen(self, key: str, value: str | None = None) -> list[tuple[float, dict[str, str]]]:
        """Notifications that set ``key`` (to ``value``, if given), oldest first."""
        with self._lock:
            return [
                (at, fields)
                for at, fields in self.messages
                if key in fields and (value is None or fields[key] == value)
            ]

    def last(self, key: str) -> str | None:
        found = self.seen(key)
        return found[-1][1][key] if found else None

    def close(self) -> None:
        self._closed.set()
        self._socket.close()
        self._thread.join(2)
