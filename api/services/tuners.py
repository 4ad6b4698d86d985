"""The open motion-tuner WebSockets (``api.routes.tuner``), so revocation reaches them.

Each open tuner has a :class:`TunerSocket`: who opened it (the ``Principal``, with its
credential and expiry) and the bounded queue of reports its sending loop reads. Revoking a
session or token, or removing or demoting a user, closes the tuners opened with it
(:meth:`TunerSockets.close_where`, from ``Services.end_credentials``): the queue is
emptied and a close code takes the reports' place, so the route closes the socket with
that code (4401, like ``/api/ws``) at once. Everything here lives on the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from ..accounts import Principal

Report = dict[str, Any]

QUEUE = 8  # reports waiting for a slow client; older ones are dropped


class TunerSocket:
    def __init__(self, principal: Principal, camera_id: str) -> None:
        self.principal = principal
        self.camera_id = camera_id
        self.close_code: int | None = None
        # A report, or None once the socket must close (with ``close_code``).
        self.reports: asyncio.Queue[Report | None] = asyncio.Queue(QUEUE)

    def offer(self, report: Report) -> None:
        """A report for the client; the oldest waiting one makes room (on the loop)."""
        if self.close_code is not None:
            return
        if self.reports.full():
            self.reports.get_nowait()
        self.reports.put_nowait(report)

    def close(self, code: int) -> None:
        if self.close_code is not None:
            return
        self.close_code = code
        while not self.reports.empty():
            self.reports.get_nowait()
        self.reports.put_nowait(None)


class TunerSockets:
    def __init__(self) -> None:
        self._open: set[TunerSocket] = set()

    def open(self, principal: Principal, camera_id: str) -> TunerSocket:
        socket = TunerSocket(principal, camera_id)
        self._open.add(socket)
        return socket

    def closed(self, socket: TunerSocket) -> None:
        self._open.discard(socket)

    def close_where(self, revoked: Callable[[Principal], bool], code: int) -> int:
        """Close every tuner whose principal is ``revoked`` with ``code``; how many."""
        closing = [s for s in tuple(self._open) if revoked(s.principal)]
        for socket in closing:
            socket.close(code)
        return len(closing)

    def principals(self) -> list[Principal]:
        return [socket.principal for socket in tuple(self._open)]

    def __len__(self) -> int:
        return len(self._open)
