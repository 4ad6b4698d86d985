"""All cameras of the appliance, and the webcams found when none are configured."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Literal

from .alsa import Alsa
from .analysis import Observation
from .camera import Camera
from .config import CameraConfig, ControlSetting, WebRTCConfig
from .errors import CameraError, UnknownCamera
from .modes import ModeUnavailable, choose_mode
from .sources import mode_request
from .v4l2 import IDENTITY_PREFIX, V4L2, VideoDevice, camera_id_for

logger = logging.getLogger(__name__)

ConfigSource = Literal["file", "autodetect-v4l2", "autodetect-demo"]


def webcam_config(device: VideoDevice, taken: set[str], alsa: Alsa) -> CameraConfig:
    """A camera for a webcam found without config: named from the device, matched by its
    identity (not by /dev/videoN), with its own microphone when it has one."""
    mic = alsa.paired_with(device.usb)
    name = (device.usb.product_name if device.usb else None) or device.card
    return CameraConfig(
        id=camera_id_for(device.card, taken),
        name=name[:64],
        source=IDENTITY_PREFIX + device.identity,
        audio="auto" if mic else None,
    )


def autodetect_cameras(
    v4l2: V4L2 | None = None, alsa: Alsa | None = None
) -> tuple[list[CameraConfig], ConfigSource, str]:
    """Every V4L2 capture device, or the demo camera when there is none."""
    v4l2, alsa = v4l2 or V4L2(), alsa or Alsa()
    devices = sorted(v4l2.devices(with_modes=False), key=lambda d: d.identity)
    if devices:
        taken: set[str] = set()
        cameras = []
        for device in devices:
            camera = webcam_config(device, taken, alsa)
            taken.add(camera.id)
            cameras.append(camera)
        names = ", ".join(f"{d.card} ({d.path})" for d in devices)
        return cameras, "autodetect-v4l2", f"No config file: using the webcams found: {names}."
    demo = CameraConfig(id="demo", name="Demo camera", source="demo", audio="demo")
    return [demo], "autodetect-demo", "No config file and no webcam found: showing the demo camera."


class CameraManager:
    def __init__(
        self,
        cameras: list[CameraConfig],
        webrtc: WebRTCConfig,
        v4l2: V4L2 | None = None,
        alsa: Alsa | None = None,
    ) -> None:
        self._configs = list(cameras)
        self._webrtc = webrtc
        self._cameras: dict[str, Camera] = {}
        self.v4l2 = v4l2 or V4L2()
        self.alsa = alsa or Alsa()
        self._passthrough: dict[str, bool] = {}

    def probe(self) -> None:
        """Before start, off the loop: which ``encoder: auto`` webcams offer H.264 to
        forward untouched (a camera's forwarding is decided once, at start)."""
        for config in self._configs:
            if config.source_kind != "v4l2" or config.encoder != "auto":
                continue
            try:
                device = self.v4l2.resolve(config.source)
                mode = choose_mode(device.modes, mode_request(config, copy=True))
            except ModeUnavailable:
                continue  # no H.264 from this webcam: encoded here
            except (CameraError, OSError) as error:
                logger.info("camera %s: not probed (%s); it will be encoded", config.id, error)
                continue
            self._passthrough[config.id] = mode.passthrough

    def start(
        self,
        loop: asyncio.AbstractEventLoop,
        controls: dict[str, dict[str, ControlSetting]] | None = None,
    ) -> None:
        """Start every camera; ``controls`` are the dashboard's settings on top of the
        config's, by camera id."""
        for config in self._configs:
            wanted = {**config.controls, **(controls or {}).get(config.id, {})}
            camera = Camera(
                config,
                loop,
                copy=True if self._passthrough.get(config.id) else None,
                v4l2=self.v4l2,
                alsa=self.alsa,
                controls=wanted,
            )
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
