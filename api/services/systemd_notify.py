"""Telling systemd how the service is: ready, status, stopping, and a watchdog that holds.

With ``Type=notify`` and ``WatchdogSec=`` in the unit (systemd/sentrycam.service):

* ``READY=1`` once the HTTP server listens (:meth:`SystemdService.http_started`, called by
  the CLI's uvicorn server) and every camera has reported a first status (online or
  offline), or after ``READY_WAIT_S`` at most: a camera that is unplugged must not keep
  the dashboard from being announced;
* ``STATUS=2 of 2 cameras online, 1 viewer, recording``, sent whenever it changes;
* ``WATCHDOG=1`` every third of ``WatchdogSec``, but only while everything makes
  progress: the ping is sent **from** the event loop (a blocked loop sends none), and
  only when no camera reader, encoder or recorder writer has been stuck inside one piece
  of work for ``stuck_after_s`` (:mod:`camera.progress`). A hang then stops the pings and
  systemd restarts the service instead of leaving it sitting there;
* ``STOPPING=1`` when shutdown begins (:meth:`SystemdService.stopping`).

A camera whose video reader is stuck (a read that never returns: a FIFO or a device whose
writer went silent without closing; network sources end at the read timeout instead) is
also reported offline ("reader stuck in a read ..."): nothing can interrupt that read, so
the restart is systemd's, but the dashboard, alerts and ``STATUS=`` say so meanwhile. When
frames flow again the camera is online again. Outside systemd nothing is sent, and only
this check runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from typing import Any

from camera.camera import Camera
from camera.manager import CameraManager
from camera.progress import Progress
from camera.webrtc import WebRTCService

from ..sdnotify import Notifier
from .recording_archive import RecordingService

logger = logging.getLogger(__name__)

READY_WAIT_S = 20.0  # at most this long after the HTTP server for cameras' first status
# Longer than any single blocking step a healthy worker takes: a source's open timeout
# (camera.sources.OPEN_TIMEOUT_S, 10 s), an fsync on a slow card.
STUCK_AFTER_S = 20.0
STATUS_INTERVAL_S = 5.0  # how often STATUS= is brought up to date (and the watchdog pinged)


class SystemdService:
    def __init__(
        self,
        notifier: Notifier,
        cameras: CameraManager,
        webrtc: WebRTCService,
        recordings: RecordingService,
        stuck_after_s: float = STUCK_AFTER_S,
    ) -> None:
        self._notifier = notifier
        self._cameras = cameras
        self._webrtc = webrtc
        self._recordings = recordings
        self.stuck_after_s = stuck_after_s
        self._tasks: list[asyncio.Task[None]] = []
        self._status = ""
        self._stuck: list[str] = []
        self.ready = False

    # ----- life cycle -------------------------------------------------------------------

    async def start(self) -> None:
        usec = self._notifier.watchdog_usec
        interval = STATUS_INTERVAL_S if usec is None else min(usec / 1e6 / 3, STATUS_INTERVAL_S)
        self._spawn(self._watchdog_loop(interval, usec is not None), "systemd-watchdog")

    def http_started(self) -> None:
        """The HTTP server listens: announce readiness once the cameras have spoken."""
        self._spawn(self._announce_ready(), "systemd-ready")

    def stopping(self) -> None:
        self._notifier.notify(STOPPING=1, STATUS="stopping")

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self._notifier.close()

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.create_task(work, name=name))

    # ----- what is going on ---------------------------------------------------------------

    def status_line(self) -> str:
        cameras = self._cameras.all()
        online = sum(camera.status == "online" for camera in cameras)
        viewers = sum(self._webrtc.viewers(camera.id) for camera in cameras)
        parts = [
            f"{online} of {len(cameras)} camera{'' if len(cameras) == 1 else 's'} online",
            f"{viewers} viewer{'' if viewers == 1 else 's'}",
        ]
        recorders = self._recordings.recorders.values()
        if any(any(r.recording.values()) for r in recorders):
            parts.append("recording")
        elif recorders:
            parts.append("ready to record")
        if self._stuck:
            parts.append("STUCK: " + "; ".join(self._stuck))
        return ", ".join(parts)

    def stuck(self) -> list[str]:
        """Workers stuck inside one piece of work for too long (empty: all is well)."""
        now = time.monotonic()
        found: list[str] = []
        for part in self._progress():
            stuck_for = part.stuck_for(now)
            if stuck_for > self.stuck_after_s:
                found.append(f"{part.what} stuck for {stuck_for:.0f} s")
        for camera, recorder in self._recordings.recorders.items():
            if not recorder.writer.alive:
                found.append(f"camera {camera} recorder writer thread is gone")
        return found

    def _declare_stuck_readers(self) -> None:
        now = time.monotonic()
        for camera in self._cameras.all():
            stuck_for = camera.reader_progress.stuck_for(now)
            if stuck_for > self.stuck_after_s and camera.status == "online":
                camera.declare_offline(f"reader stuck in a read for {stuck_for:.0f} s")

    def _progress(self) -> list[Progress]:
        parts = [p for camera in self._cameras.all() for p in camera.progress()]
        parts += [r.writer.progress for r in self._recordings.recorders.values()]
        return parts

    # ----- tasks --------------------------------------------------------------------------

    async def _announce_ready(self) -> None:
        cameras = self._cameras.all()
        spoken = asyncio.Event()

        def check(_: Camera | None = None) -> None:
            if all(camera.status != "starting" for camera in cameras):
                spoken.set()

        for camera in cameras:
            camera.status_listeners.append(check)
        try:
            check()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(spoken.wait(), READY_WAIT_S)
        finally:
            for camera in cameras:
                camera.status_listeners.remove(check)
        self.ready = True
        self._status = self.status_line()
        self._notifier.notify(READY=1, STATUS=self._status)
        logger.debug("told systemd: ready (%s)", self._status)

    async def _watchdog_loop(self, interval: float, watchdog: bool) -> None:
        while True:
            try:
                self._tick(watchdog)
            except Exception:  # the top of a background task: a bug here is no hang
                logger.exception("the watchdog check failed")
                if watchdog:
                    self._notifier.notify(WATCHDOG=1)
            await asyncio.sleep(interval)

    def _tick(self, watchdog: bool) -> None:
        stuck = self.stuck()
        if stuck and not self._stuck:
            unpinged = ", so the systemd watchdog is not pinged" if watchdog else ""
            logger.error("stuck%s: %s", unpinged, "; ".join(stuck))
        elif self._stuck and not stuck:
            logger.warning("no longer stuck%s", ": pinging the systemd watchdog again" * watchdog)
        self._stuck = stuck
        if stuck:
            self._declare_stuck_readers()
        if not self._notifier.enabled:
            return
        fields: dict[str, str | int] = {}
        if watchdog and not stuck:
            fields["WATCHDOG"] = 1
        if self.ready:
            status = self.status_line()
            if status != self._status:
                self._status = fields["STATUS"] = status
        if fields:
            self._notifier.notify(**fields)
