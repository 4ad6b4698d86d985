"""Configuration changes at run time: validated whole, stored, applied to what they touch.

Every change (a camera added, changed or removed, a section patched) goes through one code
path, :meth:`ConfigService.change`: under one lock, check the caller's version
(``If-Match``), compute the new effective configuration, validate it as a whole
(``api.settings.Settings``), write the overlay (``api.config_store``), then apply it:

* a camera added starts, with its recorder; one removed has its viewers hung up, its
  recorder closed (files complete), its open events ended and its source stopped (its
  recordings and events stay);
* a camera whose source keys changed (``camera.manager.IN_PLACE_KEYS`` lists the others)
  restarts the same way; its viewers reconnect by themselves;
* otherwise the running camera takes the new settings over: name and viewer cap at once,
  detectors at their next analysed frame (state kept), a recording change restarts only
  the recorder, a schedule change re-applies the arming;
* other cameras, their viewers and their recorders are not touched;
* a top-level section in ``EDITABLE_SECTIONS`` is handed to the applier its owner
  registered (:meth:`ConfigService.register`); one without an applier applies at the
  next start.

A ``{"type": "config"}`` live message tells dashboards to reload.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

from camera.config import CameraConfig
from camera.manager import CameraManager, source_changed
from camera.webrtc import WebRTCService

from .. import config_layers as layers
from .. import gc_pauses
from ..config_layers import Raw
from ..config_store import ConfigStore, FieldError, InvalidSettings, Layers, validate
from ..errors import Conflict, NotFound, PreconditionFailed, Unprocessable
from ..settings import Settings
from .arming import ArmingService
from .event_service import EventService
from .recording_archive import RecordingService

logger = logging.getLogger(__name__)

# Top-level sections changed through PATCH /api/config/{section}; cameras have routes of
# their own. Adding a section here is all it takes to make it editable; its owner may
# register an applier (Services) to apply it without a restart, else the answer says
# ``restart_needed`` (notifications: its channels are built at start).
EDITABLE_SECTIONS: tuple[str, ...] = ("events", "notifications")

Applier = Callable[[Settings], Awaitable[None] | None]
Action = Literal["added", "changed", "restarted", "removed"]


@dataclass(frozen=True)
class Applied:
    """What a change did: the new settings, and per camera what happened to it."""

    settings: Settings
    cameras: dict[str, Action]
    sections: list[str]
    restart_needed: list[str]


class ConfigService:
    def __init__(
        self,
        found: Layers,
        settings: Settings,
        store: ConfigStore | None,
        overlay_error: str | None,
        parts: Parts,
    ) -> None:
        self.layers = found
        self.settings = settings
        self._store = store
        self.overlay_error = overlay_error
        self._parts = parts
        self._lock = asyncio.Lock()
        self._appliers: dict[str, Applier] = {}
        self.last_change: tuple[str, float] | None = None  # who, when

    def register(self, section: str, applier: Applier) -> None:
        """Apply changes of ``section`` (one of ``EDITABLE_SECTIONS``) without a restart."""
        self._appliers[section] = applier

    # ----- versions (ETags) ---------------------------------------------------------------

    def version(self) -> str:
        return layers.version(self.layers.effective)

    def camera_raw(self, camera_id: str) -> Raw:
        cameras = layers.camera_map(self.layers.effective.get("cameras", [])) or {}
        if camera_id not in cameras:
            raise NotFound(f"no camera with id {camera_id!r}")
        return cameras[camera_id]

    def camera_version(self, camera_id: str) -> str:
        return layers.version(self.camera_raw(camera_id))

    def section_version(self, section: str) -> str:
        return layers.version(self.layers.effective.get(section, {}))

    def origins(self) -> dict[str, str]:
        """Where each value of the effective configuration comes from."""
        found = self.layers
        effective = self.settings.model_dump(mode="json")
        return dict(
            layers.origins(effective, found.base, found.overlay, found.detected is not None)
        )

    # ----- changes ------------------------------------------------------------------------

    async def add_camera(self, body: Raw, if_match: str | None, actor: str = "") -> Applied:
        camera_id = body.get("id")
        if not isinstance(camera_id, str):
            raise Unprocessable([FieldError("id", "Field required")])
        if camera_id in (layers.camera_map(self.layers.effective.get("cameras", [])) or {}):
            raise Conflict(f"camera {camera_id!r} exists; PATCH it or choose another id")

        def add(effective: Raw) -> Raw:
            effective.setdefault("cameras", []).append(copy.deepcopy(body))
            return effective

        return await self.change(add, [], if_match, actor)

    async def patch_camera(
        self, camera_id: str, patch: Raw, if_match: str | None, actor: str = ""
    ) -> Applied:
        current = self.camera_raw(camera_id)
        if "id" in patch and patch["id"] != camera_id:
            raise Unprocessable([FieldError("id", "a camera's id cannot change", patch["id"])])
        patch = layers.keep_secrets(patch, current)

        def edit(effective: Raw) -> Raw:
            effective["cameras"] = [
                layers.merge_patch(c, patch) if c.get("id") == camera_id else c
                for c in effective["cameras"]
            ]
            return effective

        return await self.change(edit, [self.camera_version(camera_id)], if_match, actor)

    async def remove_camera(self, camera_id: str, if_match: str | None, actor: str = "") -> Applied:
        version = self.camera_version(camera_id)

        def remove(effective: Raw) -> Raw:
            effective["cameras"] = [c for c in effective["cameras"] if c.get("id") != camera_id]
            return effective

        return await self.change(remove, [version], if_match, actor)

    async def patch_section(
        self, section: str, patch: Raw, if_match: str | None, actor: str = ""
    ) -> Applied:
        if section not in EDITABLE_SECTIONS:
            raise NotFound(f"section {section!r} cannot be changed at run time")
        current = self.layers.effective.get(section, {})
        patch = layers.keep_secrets(patch, current)

        def edit(effective: Raw) -> Raw:
            return layers.merge(effective, {section: patch})

        return await self.change(edit, [self.section_version(section)], if_match, actor)

    async def change(
        self,
        mutate: Callable[[Raw], Raw],
        versions: list[str],
        if_match: str | None,
        actor: str = "",
    ) -> Applied:
        """The one path every change takes (see the module docstring)."""
        async with self._lock:
            if self.overlay_error is not None:
                raise Conflict(
                    f"{self.overlay_error}. Fix or remove that file and restart before "
                    "changing settings here."
                )
            if not layers.matches(if_match, [*versions, self.version()]):
                raise PreconditionFailed(self._conflict_detail())
            wanted = mutate(copy.deepcopy(self.layers.effective))
            base = self.layers.base
            found = replace(self.layers, overlay=layers.difference(base, wanted))
            effective = found.effective  # as a restart will read it (the file's order first)
            try:
                settings = validate(effective)
            except InvalidSettings as error:
                raise Unprocessable(error.errors) from None
            if self._store is not None:
                await asyncio.to_thread(self._store.write, found)
            old, self.layers, self.settings = self.settings, found, settings
            applied = await self._parts.apply(old, settings, self._appliers)
            self.last_change = (actor, time.time())
            return applied

    def _conflict_detail(self) -> str:
        who = ""
        if self.last_change is not None:
            actor, at = self.last_change
            by = f"by {actor} " if actor else ""
            who = f" ({by}at {time.strftime('%H:%M:%S', time.localtime(at))})"
        return (
            f"the settings were changed since you loaded them{who}; "
            "load them again and redo your change"
        )


class Parts:
    """The running parts a change is applied to."""

    def __init__(
        self,
        cameras: CameraManager,
        webrtc: WebRTCService,
        recordings: RecordingService,
        events: EventService,
        arming: ArmingService,
        on_settings: Callable[[Settings], None],
    ) -> None:
        self.cameras = cameras
        self.webrtc = webrtc
        self.recordings = recordings
        self.events = events
        self.arming = arming
        self._on_settings = on_settings

    async def apply(self, old: Settings, new: Settings, appliers: dict[str, Applier]) -> Applied:
        before = {c.id: c for c in old.cameras}
        after = {c.id: c for c in new.cameras}
        done: dict[str, Action] = {}
        for camera_id in before.keys() - after.keys():
            await self._stop(camera_id, "camera removed")
            done[camera_id] = "removed"
        for camera_id, config in after.items():
            previous = before.get(camera_id)
            if previous is None:
                self.recordings.attach(self.cameras.add(config))
                done[camera_id] = "added"
            elif previous != config:
                done[camera_id] = await self._change(previous, config)
        self.cameras.set_webrtc(new.webrtc)
        self._on_settings(new)
        sections, later = [], []
        for section in EDITABLE_SECTIONS:
            if getattr(old, section) != getattr(new, section):
                sections.append(section)
                applier = appliers.get(section)
                if applier is None:
                    later.append(section)
                    continue
                result = applier(new)
                if result is not None:
                    await result
        if done:
            await self.arming.apply()
            self.arming.poke()
        for camera_id, action in done.items():
            message = {"type": "config", "camera": camera_id, "action": action}
            self.events.publish(message, camera_id)
        for section in sections:
            self.events.publish({"type": "config", "section": section, "action": "changed"}, None)
        if done or sections:
            gc_pauses.refreeze()  # what start-up made and this change dropped is freed
        return Applied(new, done, sections, later)

    async def _stop(self, camera_id: str, why: str) -> None:
        await self.webrtc.close_camera(camera_id)
        await self.recordings.detach(camera_id)
        self.events.camera_gone(camera_id, why)
        await self.cameras.remove(camera_id)

    async def _change(self, old: CameraConfig, new: CameraConfig) -> Action:
        if source_changed(old, new):
            await self.webrtc.close_camera(new.id)
            await self.recordings.detach(new.id)
            self.events.camera_gone(new.id, "camera restarted with new settings")
            self.recordings.attach(await self.cameras.replace(new))
            logger.info("camera %s restarted with new settings", new.id)
            return "restarted"
        camera = self.cameras.update(new)
        if old.recording != new.recording:
            await self.recordings.detach(new.id)
            self.recordings.attach(camera)
        if old.schedule != new.schedule:
            await self.arming.schedule_changed(new.id)
        return "changed"


def describe(applied: Applied) -> dict[str, Any]:
    """What a change did, for the API's answer."""
    return {
        "cameras": applied.cameras,
        "sections": applied.sections,
        "restart_needed": applied.restart_needed,
    }
