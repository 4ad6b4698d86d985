"""All cameras of the appliance, and the webcams found when none are configured."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Literal

from .analysis import Observation
from .camera import Camera
from .config import CameraConfig, WebRTCConfig
from .errors import UnknownCamera
from .sources import find_v4l2_devices

logger = logging.getLogger(__name__)

ConfigSource = Literal["file", "autodetect-v4l2", "autodetect-demo"]


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


class CameraManager:
    def __init__(self, cameras: list[CameraConfig], webrtc: WebRTCConfig) -> None:
        self._configs = list(cameras)
        self._webrtc = webrtc
        self._cameras: dict[str, Camera] = {}

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        for config in self._configs:
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

    def on_encoder_fallback(self, listener: Callable[[Camera, str], None]) -> None:
        """Call ``listener(camera, reason)`` on the loop when ``encoder: auto`` gives up the
        hardware encoder for libx264 (once per camera and run)."""
        for camera in self._cameras.values():
            camera.encoder_listeners.append(listener)

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

    def config(self, camera_id: str) -> CameraConfig | None:
        """A configured camera's settings (also before start and for stopped cameras)."""
        return next((c for c in self._configs if c.id == camera_id), None)

    def max_viewers(self, camera: Camera) -> int:
        return self._webrtc.viewer_cap(camera.config)
