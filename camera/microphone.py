"""A camera's ALSA microphone: which device to open (``auto``: the webcam's own, found
anew at every open), the reader thread that keeps it open, and its state for the API.

The microphone is independent of the pictures: when it disappears the camera streams on
without sound (``status`` offline) and it comes back by itself, like a webcam does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from .alsa import Alsa, AudioDevice
from .config import CameraConfig
from .progress import Progress
from .sources import MicSource, Sink
from .supervisor import SupervisedReader
from .v4l2 import DeviceUnavailable, VideoDevice


def mic_name(config: CameraConfig) -> str | None:
    """The ALSA microphone a camera's config names, if any (not ``source``/``demo``)."""
    audio = config.audio
    return audio if audio and audio not in ("source", "demo") else None


class Microphone:
    def __init__(
        self,
        camera_id: str,
        name: str,
        sink: Sink,
        webcam: Callable[[], VideoDevice],
        alsa: Alsa,
        loop: asyncio.AbstractEventLoop,
        logger: logging.Logger,
    ) -> None:
        self.name = name
        self._camera_id = camera_id
        self._webcam = webcam
        self._alsa = alsa
        self._loop = loop
        self._logger = logger
        self.status = "starting"  # owned by the event loop
        # Busy while the device is open, ticked per frame: the service watchdog.
        self.progress = Progress(f"camera {camera_id} microphone")
        source = MicSource(self.resolve, logger)
        self.reader = SupervisedReader(
            f"camera-{camera_id}-mic",
            lambda stop: self.progress.around(lambda: source.run(sink, stop)),
            self._report,
            logger,
        )

    def resolve(self) -> AudioDevice | str:
        """The device to open now (reader thread)."""
        if self.name == "auto":
            device = self._webcam()
            mic = self._alsa.paired_with(device.usb)
            if mic is None:
                raise DeviceUnavailable(f"{device.card} has no microphone of its own")
            return mic
        return self._alsa.resolve(self.name) or self.name

    def _report(self, online: bool, error: str | None) -> None:
        self._loop.call_soon_threadsafe(self._set_status, online, error)

    def _set_status(self, online: bool, error: str | None) -> None:
        status = "online" if online else "offline"
        if status != self.status:
            self._logger.info(
                "camera %s: microphone %s%s",
                self._camera_id,
                status,
                f": {error}" if error else "",
            )
        self.status = status
