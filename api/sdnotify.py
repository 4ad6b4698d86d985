"""systemd's notify protocol (sd_notify(3)): a few lines on the ``NOTIFY_SOCKET`` socket.

With ``Type=notify`` the service manager passes a Unix datagram socket in
``$NOTIFY_SOCKET`` (a path, or ``@name`` in the abstract namespace) and reads
newline-separated ``KEY=value`` assignments from it: ``READY=1``, ``STATUS=...``,
``STOPPING=1``, ``WATCHDOG=1``. With ``WatchdogSec=`` it also sets ``$WATCHDOG_USEC`` (and
``$WATCHDOG_PID``: the watchdog is ours only when it names this process). Outside systemd
none of this is set and :class:`Notifier` does nothing. Sending never blocks and never
raises: the service must not stop because its manager's socket is gone.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

logger = logging.getLogger(__name__)


class Notifier:
    """Sends notifications to systemd, or nothing when not started by it."""

    def __init__(self, address: str | None, watchdog_usec: int | None = None) -> None:
        self._address: str | bytes | None = None
        if address:
            # "@name" is an abstract socket: a leading NUL byte on the wire.
            self._address = b"\0" + address[1:].encode() if address[0] == "@" else address
        self.watchdog_usec = watchdog_usec
        self._socket: socket.socket | None = None
        self._warned = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Notifier:
        env = os.environ if env is None else env
        return cls(env.get("NOTIFY_SOCKET"), _watchdog_usec(env))

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def notify(self, **fields: str | int) -> bool:
        """Send ``KEY=value`` lines (``notify(READY=1, STATUS="...")``); True when sent."""
        if self._address is None:
            return False
        lines = "".join(f"{key}={_one_line(value)}\n" for key, value in fields.items())
        try:
            if self._socket is None:
                self._socket = socket.socket(
                    socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC
                )
                self._socket.setblocking(False)
            self._socket.sendto(lines.encode(), self._address)
        except OSError as error:
            if not self._warned:  # once: a gone manager would otherwise flood the log
                self._warned = True
                logger.warning("cannot notify systemd at %s: %s", self._address, error)
            return False
        return True

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def _one_line(value: str | int) -> str:
    return str(value).replace("\n", " ")


def _watchdog_usec(env: Mapping[str, str]) -> int | None:
    """``$WATCHDOG_USEC`` when the watchdog is meant for this process (sd_watchdog_enabled)."""
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    pid = env.get("WATCHDOG_PID")
    if pid is not None and pid != str(os.getpid()):
        return None
    return usec if usec > 0 else None
