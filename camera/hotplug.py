"""Watching for webcams and microphones coming and going: inotify on /dev, no polling.

The kernel's devtmpfs creates and removes ``/dev/videoN`` and ``/dev/snd/pcmC*D*c`` as
devices come and go, with or without udev; udev then changes their group and mode
(``IN_ATTRIB``), after which an unprivileged service may open them. Watching those three
events is enough, needs no libudev, and works the same on a Raspberry Pi and in a guest
without systemd (docs/config.md, "Hotplug"). Bursts (a webcam brings a video node, a
metadata node and a sound card at once) are coalesced: the callback runs once per quiet
``SETTLE_S``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from asyncinotify import Inotify, Mask

logger = logging.getLogger(__name__)

SETTLE_S = 0.15
_MASK = Mask.CREATE | Mask.DELETE | Mask.ATTRIB | Mask.MOVED_TO | Mask.MOVED_FROM


def interesting(name: str) -> bool:
    return name.startswith("video") or (name.startswith("pcmC") and name.endswith("c"))


class DeviceWatcher:
    """Calls ``on_change()`` (a coroutine function) after device nodes appear or vanish."""

    def __init__(self, on_change: Callable[[], Awaitable[None]], dev: str = "/dev") -> None:
        self._on_change = on_change
        self._dev = Path(dev)
        self._task: asyncio.Task[None] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._dirty = asyncio.Event()
        self.watching = asyncio.Event()  # set once the watches are in place
        self.changes = 0  # callbacks run (tests and logs)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="device-watcher")
        self._worker = asyncio.create_task(self._work(), name="device-watcher-changes")

    async def stop(self) -> None:
        for task in (self._task, self._worker):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._worker = None

    async def _run(self) -> None:
        try:
            with Inotify() as inotify:
                inotify.add_watch(self._dev, _MASK)
                sound = self._dev / "snd"
                if sound.is_dir():
                    inotify.add_watch(sound, _MASK)
                self.watching.set()
                await self._watch(inotify, sound)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("device watching stopped; hotplug is off until restart")

    async def _watch(self, inotify: Inotify, sound: Path) -> None:
        async for event in inotify:
            name = event.name.name if event.name else ""
            if name == "snd" and event.mask & Mask.CREATE:
                with contextlib.suppress(OSError):
                    inotify.add_watch(sound, _MASK)  # the first sound card
                self._dirty.set()  # its nodes may have come before the watch
            if interesting(name):
                self._dirty.set()

    async def _work(self) -> None:
        while True:
            await self._dirty.wait()
            await asyncio.sleep(SETTLE_S)
            self._dirty.clear()
            self.changes += 1
            try:
                await self._on_change()
            except Exception:
                logger.exception("handling a device change failed")
