"""Capture devices at run time: the list behind ``GET /api/devices``, hotplug, controls.

``DeviceService`` keeps the last scan of webcams and microphones, rescans when
``camera.hotplug`` sees nodes come or go, and acts on the difference:

* a camera whose webcam vanished goes offline at once (``Camera.device_gone``), not when
  its read times out;
* every camera or microphone that is offline retries now (``Camera.wake``) instead of at
  the end of its backoff, so a replugged webcam is back within a second or two;
* a webcam or microphone that no camera uses is announced on the live channel
  (``{"type": "device", "action": "added", ...}``) for admins to add; nothing is added to
  the config by itself.

Control changes made through the API are kept in ``<data dir>/controls.json`` by camera id
(:class:`ControlStore`) and applied on top of the config's ``controls:`` at every open. The
store is the one copy: the camera manager reads it (``ControlStore.get``) whenever it
starts or restarts a camera, so a camera restarted by a settings change keeps them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from camera.alsa import AudioDevice, pyav_has_alsa
from camera.camera import Camera
from camera.config import ControlSetting
from camera.controls import Control, read_controls, set_controls
from camera.errors import NotAWebcam
from camera.hotplug import DeviceWatcher
from camera.manager import CameraManager, webcam_config
from camera.modes import FFMPEG_FORMATS
from camera.v4l2 import IDENTITY_PREFIX, DeviceUnavailable, UsbInfo, VideoDevice

from .event_service import EventService

logger = logging.getLogger(__name__)

CONTROLS_FILE = "controls.json"


class ControlStore:
    """The dashboard's control settings, by camera id, in one small JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._values: dict[str, dict[str, ControlSetting]] = {}

    def load(self) -> dict[str, dict[str, ControlSetting]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            data = {}
        except (OSError, ValueError) as error:
            logger.warning("%s unreadable (%s); starting without saved controls", self.path, error)
            data = {}
        self._values = {
            str(camera): dict(values) for camera, values in data.items() if isinstance(values, dict)
        }
        return self._values

    def get(self, camera: str) -> dict[str, ControlSetting]:
        return dict(self._values.get(camera, {}))

    def update(self, camera: str, values: dict[str, ControlSetting]) -> None:
        """Merge and write atomically (a power cut leaves the old or the new file)."""
        merged = {**self._values.get(camera, {}), **values}
        self._values[camera] = merged
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._values, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)


@dataclass(frozen=True)
class Scan:
    video: tuple[VideoDevice, ...]
    audio: tuple[AudioDevice, ...]


def _usb_json(usb: UsbInfo | None) -> dict[str, Any] | None:
    if usb is None:
        return None
    return {
        "vendor": usb.vendor,
        "product": usb.product,
        "serial": usb.serial,
        "port": usb.port,
        "manufacturer": usb.manufacturer,
        "product_name": usb.product_name,
    }


def _formats_json(device: VideoDevice) -> list[dict[str, Any]]:
    formats: dict[str, dict[str, Any]] = {}
    for mode in device.modes:
        entry = formats.setdefault(
            mode.fourcc,
            {
                "fourcc": mode.fourcc,
                "label": mode.label,
                "input_format": FFMPEG_FORMATS.get(mode.fourcc),
                "sizes": [],
            },
        )
        entry["sizes"].append({"width": mode.width, "height": mode.height, "fps": list(mode.rates)})
    return list(formats.values())


def audio_json(mic: AudioDevice, camera: str | None, webcam: str | None) -> dict[str, Any]:
    return {
        "kind": "audio",
        "alsa": mic.alsa,
        "identity": mic.identity,
        "card": mic.card,
        "card_id": mic.card_id,
        "card_name": mic.card_name,
        "device": mic.device,
        "name": mic.name,
        "rates": list(mic.rates),
        "channels": list(mic.channels),
        "bus": "usb" if mic.usb else "other",
        "usb": _usb_json(mic.usb),
        "webcam": webcam,
        "camera": camera,
        "in_use": camera is not None,
    }


class DeviceService:
    def __init__(
        self, cameras: CameraManager, events: EventService, data_dir: Path, dev: str = "/dev"
    ) -> None:
        self._cameras = cameras
        self._events = events
        self.controls = ControlStore(data_dir / CONTROLS_FILE)
        self._watcher = DeviceWatcher(self._changed, dev)
        self._scan = Scan((), ())
        self._lock = asyncio.Lock()
        self.alsa_capture = pyav_has_alsa()

    # ----- life cycle -------------------------------------------------------------------

    def load_controls(self) -> dict[str, dict[str, ControlSetting]]:
        return self.controls.load()

    async def start(self) -> None:
        if not self.alsa_capture:
            logger.error("this PyAV build cannot capture from ALSA: microphones will not work")
        self._scan = await asyncio.to_thread(self._read, True, Scan((), ()))
        self._watcher.start()

    async def stop(self) -> None:
        await self._watcher.stop()

    # ----- scanning ---------------------------------------------------------------------

    def _read(self, with_modes: bool, known: Scan) -> Scan:
        """The devices now; modes are read for all (``with_modes``), or only for webcams
        not seen before (hotplug: the cameras waiting for theirs must not wait for ioctls
        on every other device)."""
        v4l2 = self._cameras.v4l2
        video = v4l2.devices(with_modes=with_modes)
        if not with_modes:
            seen = {d.identity: d for d in known.video}
            video = [
                replace(seen[d.identity], path=d.path, by_id=d.by_id, by_path=d.by_path)
                if d.identity in seen
                else v4l2.describe(d.path) or d
                for d in video
            ]
        return Scan(tuple(video), tuple(self._cameras.alsa.devices()))

    async def _changed(self) -> None:
        self._wake_waiting()  # first: a camera finds its own device faster than a full scan
        await self.rescan(with_modes=False)

    def _wake_waiting(self) -> None:
        for camera in self._cameras.all():
            if camera.status != "online" or camera.microphone == "offline":
                camera.wake()

    async def rescan(self, with_modes: bool = True) -> Scan:
        """Read the devices again and act on what changed (see the module docstring)."""
        async with self._lock:
            old = self._scan
            new = await asyncio.to_thread(self._read, with_modes, old)
            self._scan = new
        present = {d.identity for d in new.video}
        for camera in self._cameras.all():
            device = camera.device
            if device is not None and device.identity not in present:
                camera.device_gone(f"{device.card} ({device.path}) was unplugged")
        self._wake_waiting()
        self._announce(old, new)
        return new

    def _announce(self, old: Scan, new: Scan) -> None:
        before = {d.identity for d in old.video} | {m.identity for m in old.audio}
        after = {d.identity for d in new.video} | {m.identity for m in new.audio}
        for device in new.video:
            if device.identity not in before:
                logger.info(
                    "webcam plugged in: %s (%s, %s)", device.card, device.path, device.identity
                )
                self._publish("added", self.video_json(device, new))
        for mic in new.audio:
            if mic.identity not in before:
                logger.info("microphone plugged in: %s (%s)", mic.card_name, mic.alsa)
                self._publish("added", self._audio_entry(mic, new))
        for device in old.video:
            if device.identity not in after:
                logger.info("webcam unplugged: %s (%s)", device.card, device.identity)
                self._publish("removed", self.video_json(device, new))
        for mic in old.audio:
            if mic.identity not in after:
                self._publish("removed", self._audio_entry(mic, new))

    def _publish(self, action: str, device: dict[str, Any]) -> None:
        self._events.publish({"type": "device", "action": action, "device": device}, "*")

    # ----- what uses what ---------------------------------------------------------------

    def camera_using(self, device: VideoDevice) -> Camera | None:
        for camera in self._cameras.all():
            source = camera.config.source
            if camera.device is not None and camera.device.identity == device.identity:
                return camera
            if source == IDENTITY_PREFIX + device.identity:
                return camera
            if source.startswith("/dev/") and os.path.realpath(source) == device.path:
                return camera
        return None

    def _mic_user(self, mic: AudioDevice, scan: Scan) -> str | None:
        for camera in self._cameras.all():
            audio = camera.config.audio
            if audio == "auto":
                webcam = self._webcam_of(camera, scan)
                if (
                    webcam is not None
                    and webcam.usb
                    and mic.usb
                    and webcam.usb.sysfs == mic.usb.sysfs
                ):
                    return camera.id
            elif (
                audio
                and (named := self._cameras.alsa.resolve(audio)) is not None
                and (named.card, named.device) == (mic.card, mic.device)
            ):
                return camera.id
        return None

    def _webcam_of(self, camera: Camera, scan: Scan) -> VideoDevice | None:
        return next((d for d in scan.video if self.camera_using(d) is camera), None)

    def _audio_entry(self, mic: AudioDevice, scan: Scan) -> dict[str, Any]:
        webcam = next(
            (d for d in scan.video if d.usb and mic.usb and d.usb.sysfs == mic.usb.sysfs), None
        )
        return audio_json(mic, self._mic_user(mic, scan), webcam.identity if webcam else None)

    def video_json(self, device: VideoDevice, scan: Scan) -> dict[str, Any]:
        camera = self.camera_using(device)
        mic = next(
            (m for m in scan.audio if device.usb and m.usb and m.usb.sysfs == device.usb.sysfs),
            None,
        )
        taken = {c.id for c in self._cameras.all()}
        suggested = webcam_config(device, taken, self._cameras.alsa)
        return {
            "kind": "video",
            "path": device.path,
            "identity": device.identity,
            "source": IDENTITY_PREFIX + device.identity,
            "by_id": device.by_id,
            "by_path": device.by_path,
            "card": device.card,
            "driver": device.driver,
            "bus": device.bus,
            "bus_info": device.bus_info,
            "usb": _usb_json(device.usb),
            "formats": _formats_json(device),
            "microphone": self._audio_entry(mic, scan) if mic else None,
            "camera": camera.id if camera else None,
            "in_use": camera is not None,
            "suggested": {"id": suggested.id, "name": suggested.name, "audio": suggested.audio},
        }

    async def listing(self) -> dict[str, Any]:
        """Every capture device now (a fresh scan), as ``GET /api/devices`` returns it."""
        scan = await self.rescan()
        return {
            "video": [self.video_json(d, scan) for d in scan.video],
            "audio": [self._audio_entry(m, scan) for m in scan.audio],
            "alsa_capture": self.alsa_capture,
        }

    # ----- controls ---------------------------------------------------------------------

    def _device_path(self, camera: Camera) -> str:
        if camera.config.source_kind != "v4l2":
            raise NotAWebcam(f"camera {camera.id} is not a V4L2 webcam: it has no controls")
        device = camera.device
        if device is not None and os.path.exists(device.path):
            return device.path
        return self._cameras.v4l2.resolve(camera.config.source).path

    async def read_controls(self, camera: Camera) -> tuple[str, list[Control]]:
        def read() -> tuple[str, list[Control]]:
            path = self._device_path(camera)
            return path, read_controls(path)

        return await asyncio.to_thread(read)

    async def set_controls(
        self, camera: Camera, values: dict[str, ControlSetting]
    ) -> tuple[str, list[Control]]:
        """Set on the driver now, keep in controls.json, re-apply at every reconnect."""

        def apply() -> tuple[str, list[Control]]:
            path = self._device_path(camera)
            return path, set_controls(path, values)

        path, controls = await asyncio.to_thread(apply)
        await asyncio.to_thread(self.controls.update, camera.id, values)
        camera.controls = {**camera.controls, **values}
        return path, controls


__all__ = ["DeviceService", "DeviceUnavailable", "NotAWebcam"]
