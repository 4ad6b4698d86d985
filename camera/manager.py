"""All cameras of the appliance, and where their list came from."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .analysis import Observation
from .camera import Camera
from .config import CameraConfig, Settings, load_settings
from .errors import UnknownCamera
from .sources import find_v4l2_devices

logger = logging.getLogger(__name__)

ConfigSource = Literal["file", "autodetect-v4l2", "autodetect-demo"]


@dataclass(frozen=True)
class LoadedConfig:
    settings: Settings
    source: ConfigSource
    notice: str | None


def autodetect_cameras() -> tuple[list[CameraConfig], ConfigSource, str]:
    """Every V4L2 capture device, or the demo camera when there is none."""
    devices = find_v4l2_devices()
    if devices:
        cameras = [
            CameraConfig(id=path.rsplit("/", 1)[-1], source=path, input_format="mjpeg")
            for path in devices
        ]
        names = ", ".join(devices)
        return cameras, "autodetect-v4l2", f"No config file: using the webcams found ({names})."
    demo = CameraConfig(id="demo", name="Demo camera", source="demo", audio="demo")
    return [demo], "autodetect-demo", "No config file and no webcam found: showing the demo camera."


def load_config(path: Path | None) -> LoadedConfig:
    """Read the config file, or build one from the hardware when there is no file."""
    settings = load_settings(path) if path is not None else Settings()
    if path is not None and settings.cameras:
        return LoadedConfig(settings, "file", None)
    cameras, source, notice = autodetect_cameras()
    return LoadedConfig(settings.model_copy(update={"cameras": cameras}), source, notice)


class CameraManager:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._cameras: dict[str, Camera] = {}

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        for config in self._settings.cameras:
            camera = Camera(config, loop)
            self._cameras[config.id] = camera
            camera.start()

    def on_status(self, listener: Callable[[Camera], None]) -> None:
        """Call ``listener(camera)`` on the event loop whenever a camera goes on or offline."""
        for camera in self._cameras.values():
            camera.status_listeners.append(listener)

    def on_observation(self, listener: Callable[[Observation], None]) -> None:
        """Call ``listener(observation)`` on the event loop for every detector verdict."""
        for camera in self._cameras.values():
            camera.observation_listeners.append(listener)

    async def stop(self) -> None:
        await asyncio.gather(*(camera.stop() for camera in self._cameras.values()))
        self._cameras.clear()

    def all(self) -> list[Camera]:
        return list(self._cameras.values())

    def get(self, camera_id: str) -> Camera:
        try:
            return self._cameras[camera_id]
        except KeyError:
            raise UnknownCamera(f"no camera with id {camera_id!r}") from None

    def max_viewers(self, camera: Camera) -> int:
        return self._settings.max_viewers(camera.config)
