"""Fault injection through the seams the code already has (tests and bench/ share it).

:class:`SourceFaults` wraps ``av.open`` as the camera's reader thread sees it: while the
source is *down*, opening it fails as an unreachable camera does; :meth:`SourceFaults.drop`
breaks the running demux at once, as a camera that loses power or Wi-Fi (without waiting
for the read timeout). Nothing else about the source changes: the real file or feed is read.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import av

import camera.sources


class SourceFaults:
    def __init__(self, match: str) -> None:
        self._match = match  # only sources whose URL or path contains this
        self._real_open = av.open
        self._down = threading.Event()
        self._generation = 0
        self.opens = 0
        self.refused = 0

    def install(self, monkeypatch: Any) -> SourceFaults:
        monkeypatch.setattr(camera.sources.av, "open", self._open)
        return self

    def drop(self) -> None:
        """The source goes away: the running read fails, new opens are refused."""
        self._down.set()
        self._generation += 1

    def restore(self) -> None:
        """The source is back."""
        self._down.clear()

    def _open(self, target: Any, *args: Any, **kwargs: Any) -> Any:
        reading = (args[0] if args else kwargs.get("mode", "r")) == "r"
        if not (reading and isinstance(target, str) and self._match in target):
            return self._real_open(target, *args, **kwargs)
        if self._down.is_set():
            self.refused += 1
            raise ConnectionRefusedError(111, "Connection refused (injected)")
        self.opens += 1
        return _Breakable(self._real_open(target, *args, **kwargs), self)

    def current(self) -> int:
        return self._generation


class _Breakable:
    """A container whose demux fails once the faults' generation moves on."""

    def __init__(self, container: Any, faults: SourceFaults) -> None:
        self._container = container
        self._faults = faults
        self._generation = faults.current()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._container, name)

    def demux(self, *streams: Any) -> Iterator[Any]:
        for packet in self._container.demux(*streams):
            if self._faults.current() != self._generation:
                raise ConnectionResetError(104, "Connection reset by peer (injected)")
            yield packet
