"""All cameras of the appliance, and the webcams found when none are configured."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
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
# The dashboard's control settings of a camera id, read at every (re)start of a camera.
ControlSource = Callable[[str], Mapping[str, ControlSetting]]
# (old, new) after a camera was added (None, new), restarted (old, new) or removed (old, None).
CameraListener = Callable[[Camera | None, Camera | None], None]


def no_controls(camera_id: str) -> Mapping[str, ControlSetting]:
    return {}


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


# Keys a running camera takes over without reopening its source (name, viewer cap,
# detectors, recording, schedule); any other change restarts the camera.
IN_PLACE_KEYS = frozenset(
    {"name", "max_viewers", "analysis_fps", "motion", "sound", "health", "recording", "schedule"}
)


def source_changed(old: CameraConfig, new: CameraConfig) -> bool:
    """Whether going from ``old`` to ``new`` needs the source reopened. Keys that are not
    known to be safe to take over (new ones, e.g. V4L2 controls) count as source keys."""
    before, after = old.model_dump(), new.model_dump()
    changed = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    return bool(changed - IN_PLACE_KEYS)


class CameraManager:
    """Every camera, in configured order; cameras come and go at run time (on the loop).

    Listeners registered with :meth:`on_status`, :meth:`on_observation` and
    :meth:`on_encoder_fallback` are attached to every camera, present and future; those
    registered with :meth:`on_camera` hear of cameras added, restarted and removed.
    """

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
        self._controls: ControlSource = no_controls
        self._loop: asyncio.AbstractEventLoop | None = None
        self._status_listeners: list[Callable[[Camera], None]] = []
        self._observation_listeners: list[Callable[[Observation], None]] = []
        self._encoder_listeners: list[Callable[[Camera, str], None]] = []
        self._camera_listeners: list[CameraListener] = []

    def probe(self) -> None:
        """Before start, off the loop: which ``encoder: auto`` webcams offer H.264 to
        forward untouched (a camera's forwarding is decided once, at start; a camera added
        at run time is encoded here)."""
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
        controls: ControlSource = no_controls,
    ) -> None:
        """Start every camera; ``controls(camera_id)`` gives the dashboard's settings on top
        of the config's, read again whenever a camera (re)starts (one source of truth:
        ``api.services.devices.ControlStore``)."""
        self._loop = loop
        self._controls = controls
        for config in self._configs:
            self._cameras[config.id] = self._start_camera(config)

    def _start_camera(self, config: CameraConfig) -> Camera:
        assert self._loop is not None, "start() the manager first"
        wanted = {**config.controls, **self._controls(config.id)}
        camera = Camera(
            config,
            self._loop,
            copy=True if self._passthrough.get(config.id) else None,
            v4l2=self.v4l2,
            alsa=self.alsa,
            controls=wanted,
        )
        camera.status_listeners.extend(self._status_listeners)
        camera.observation_listeners.extend(self._observation_listeners)
        camera.encoder_listeners.extend(self._encoder_listeners)
        camera.start()
        return camera

    def on_status(self, listener: Callable[[Camera], None]) -> None:
        """Call ``listener(camera)`` on the event loop whenever a camera goes on or offline."""
        self._status_listeners.append(listener)
        for camera in self._cameras.values():
            camera.status_listeners.append(listener)

    def on_observation(self, listener: Callable[[Observation], None]) -> None:
        """Call ``listener(observation)`` on the event loop for every detector verdict."""
        self._observation_listeners.append(listener)
        for camera in self._cameras.values():
            camera.observation_listeners.append(listener)

    def on_encoder_fallback(self, listener: Callable[[Camera, str], None]) -> None:
        """Call ``listener(camera, reason)`` on the loop when ``encoder: auto`` gives up the
        hardware encoder for libx264 (once per encoder and run: the main and the light
        stream each have one)."""
        self._encoder_listeners.append(listener)
        for camera in self._cameras.values():
            camera.encoder_listeners.append(listener)

    def on_camera(self, listener: CameraListener) -> None:
        """Call ``listener(old, new)`` on the loop once a camera was added ``(None, new)``,
        restarted ``(old, new)`` or removed ``(old, None)`` at run time. It must return at
        once (queue its async work)."""
        self._camera_listeners.append(listener)

    def _changed(self, old: Camera | None, new: Camera | None) -> None:
        for listener in self._camera_listeners:
            listener(old, new)

    # ----- changes at run time (event loop) -----------------------------------------------

    def add(self, config: CameraConfig) -> Camera:
        """Start a new camera (after the others)."""
        if config.id in self._cameras:
            raise ValueError(f"camera {config.id!r} exists")
        camera = self._start_camera(config)
        self._cameras[config.id] = camera
        self._configs.append(config)
        self._changed(None, camera)
        return camera

    async def remove(self, camera_id: str) -> None:
        """Stop a camera and forget it (its viewers and recorder must be gone already)."""
        camera = self.get(camera_id)
        del self._cameras[camera_id]
        self._passthrough.pop(camera_id, None)
        self._configs = [c for c in self._configs if c.id != camera_id]
        await camera.stop()
        self._changed(camera, None)

    async def replace(self, config: CameraConfig) -> Camera:
        """Stop a camera and start it again with a new source (same place in the list)."""
        old = self.get(config.id)
        await old.stop()
        if old.config.source != config.source:
            self._passthrough.pop(config.id, None)  # probed for the old source only
        camera = self._start_camera(config)
        self._cameras[config.id] = camera
        self._configs = [config if c.id == config.id else c for c in self._configs]
        self._changed(old, camera)
        return camera

    def update(self, config: CameraConfig) -> Camera:
        """Hand a running camera settings it can take over without a restart."""
        camera = self.get(config.id)
        camera.reconfigure(config)
        self._configs = [config if c.id == config.id else c for c in self._configs]
        return camera

    def set_webrtc(self, webrtc: WebRTCConfig) -> None:
        self._webrtc = webrtc

    async def stop(self) -> None:
        await asyncio.gather(*(camera.stop() for camera in self._cameras.values()))
        self._cameras.clear()

    def all(self) -> list[Camera]:
        return list(self._cameras.values())

    def configs(self) -> list[CameraConfig]:
        """Every configured camera's settings (also before start)."""
        return list(self._configs)

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
