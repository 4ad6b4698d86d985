"""The configuration on disk: the admin's YAML file and the dashboard's overlay.

``/etc/sentrycam/config.yaml`` (or ``--config``) stays the admin's, never written by the
server (the hardened unit mounts /etc read-only). Changes made in the dashboard or the
API go to ``<data dir>/settings.yaml``, layered over it (:mod:`api.config_layers`):
written to a temporary file, flushed and renamed over the old one, so a power cut leaves
the old or the new file, never half of one; the version before is kept as
``settings.yaml.prev``. The effective configuration is validated as a whole by
``api.settings.Settings`` before anything is written.

Seam for other layers: ``EXTRA_LAYERS`` lists functions ``(data_dir) -> overlay`` merged
between the file and the dashboard's overlay, for settings other parts keep in files of
their own today (issue 11's V4L2 ``controls`` JSON is meant to go here, then be folded
into ``settings.yaml`` by its first write).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from camera.errors import ConfigError
from camera.manager import ConfigSource, autodetect_cameras

from . import config_layers as layers
from .config_layers import Raw
from .settings import LoadedConfig, Settings, expand_env, parse_settings

logger = logging.getLogger(__name__)

OVERLAY_NAME = "settings.yaml"
HEADER = """\
# Sentrycam: changes made in the dashboard (or the API), layered over the config file.
# Written by the server: atomically, the version before kept as settings.yaml.prev.
# `sentrycam config show` prints the effective configuration and where each value
# comes from. Edit this file only while the server is stopped.
"""
EXTRA_LAYERS: list[Callable[[Path], Raw]] = []


@dataclass(frozen=True)
class FieldError:
    """One invalid value: where (dotted, cameras by id), what is wrong and allowed."""

    field: str
    message: str
    value: Any = None


class InvalidSettings(ConfigError):
    """A configuration that ``Settings`` refuses; nothing was changed."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))


@dataclass(frozen=True)
class Layers:
    """The raw layers (before ``${}`` expansion) and what they make together."""

    file: Raw  # the YAML file as written ({} without one)
    detected: list[Raw] | None  # cameras found when the file lists none
    overlay: Raw  # settings.yaml
    extra: Raw = field(default_factory=dict)  # EXTRA_LAYERS, merged
    path: Path | None = None  # where the file is

    @property
    def base(self) -> Raw:
        """What the dashboard's overlay applies to."""
        base = layers.merge(self.file, self.extra) if self.extra else dict(self.file)
        if self.detected is not None:
            base["cameras"] = self.detected
        return base

    @property
    def effective(self) -> Raw:
        return layers.merge(self.base, self.overlay)


def validate(raw: Raw) -> Settings:
    """The whole configuration, or :class:`InvalidSettings` naming every bad field."""
    try:
        expanded = expand_env(raw)
    except ConfigError as error:
        where, _, message = str(error).partition(": ")
        raise InvalidSettings([FieldError(where, message)]) from None
    try:
        return Settings.model_validate(expanded)
    except ValidationError as error:
        raise InvalidSettings(_field_errors(raw, error)) from None


def _field_errors(raw: Raw, error: ValidationError) -> list[FieldError]:
    ids = [c.get("id") if isinstance(c, dict) else None for c in raw.get("cameras") or []]
    found = []
    for item in error.errors():
        parts = [str(part) for part in item["loc"]]
        if len(parts) > 1 and parts[0] == "cameras" and parts[1].isdigit():
            index = int(parts[1])
            camera_id = ids[index] if index < len(ids) else None
            if isinstance(camera_id, str):
                parts[1] = camera_id
        given = item.get("input")
        shown = None if isinstance(given, dict | list) else given
        found.append(FieldError(".".join(parts) or "(top level)", item["msg"], shown))
    return found


# ----- files ------------------------------------------------------------------------------


def read_yaml(path: Path) -> Raw:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    return data


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that a crash leaves the old or the new file; the
    old one is kept as ``<name>.prev``. Mode 0600: camera passwords may be in it."""
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True, mode=0o750)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o600)
        if path.exists():
            previous = path.with_name(path.name + ".prev")
            with contextlib.suppress(FileNotFoundError):
                os.unlink(previous)
            os.link(path, previous)  # a second name for the old file, atomic
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)  # the rename itself survives a power cut
    finally:
        os.close(descriptor)


class ConfigStore:
    """Reads the layers and writes the overlay of one installation."""

    def __init__(self, path: Path | None, data_dir: Path) -> None:
        self.path = path
        self.overlay_path = data_dir / OVERLAY_NAME
        self.data_dir = data_dir

    def read(
        self, file: Raw | None = None, autodetect: bool = True
    ) -> tuple[Layers, ConfigSource, str | None]:
        """The layers as on disk (``file``: the file's contents, when a test has them;
        ``autodetect=False``: no cameras are looked for when the file lists none)."""
        if file is None:
            file = read_yaml(self.path) if self.path is not None else {}
        detected: list[Raw] | None = None
        source: ConfigSource = "file"
        notice: str | None = None
        if autodetect and not file.get("cameras"):
            cameras, source, notice = autodetect_cameras()
            detected = [c.model_dump(mode="json", exclude_defaults=True) for c in cameras]
            for camera, config in zip(detected, cameras, strict=True):
                camera["id"] = config.id
                camera["source"] = config.source
        overlay = read_yaml(self.overlay_path) if self.overlay_path.exists() else {}
        extra: Raw = {}
        for layer in EXTRA_LAYERS:
            extra = layers.merge(extra, layer(self.data_dir))
        found = Layers(file, detected, overlay, extra, self.path)
        gone = layers.orphans(found.base, overlay)
        if gone:
            logger.warning(
                "%s changes cameras that are not there any more (%s): left out",
                self.overlay_path,
                ", ".join(gone),
            )
            found = replace(found, overlay=layers.without(overlay, gone))
        if overlay.get("cameras") and source != "file":
            notice = None  # the admin has chosen cameras in the dashboard
        return found, source, notice

    def write(self, found: Layers) -> None:
        body = yaml.safe_dump(found.overlay, sort_keys=False, allow_unicode=True)
        write_atomically(self.overlay_path, HEADER + body)


def load_layered(
    path: Path | None, data_dir: Path, file: Raw | None = None, autodetect: bool = True
) -> LoadedConfig:
    """The effective configuration at start-up.

    A file that ``Settings`` refuses stops start-up (``ConfigError``, as before). An
    overlay that makes it invalid (a hand edit, a file changed underneath it) does not:
    the file alone is used, the log and the dashboard say why, and the dashboard refuses
    changes until the overlay is fixed or removed.
    """
    store = ConfigStore(path, data_dir)
    found, source, notice = store.read(file, autodetect)
    try:
        settings = validate(found.effective)
    except InvalidSettings as error:
        base = _validated_base(found, path)
        problem = f"{store.overlay_path} is not applied: {error}"
        logger.error("%s", problem)
        return LoadedConfig(base, source, problem, layers=found, overlay_error=problem)
    return LoadedConfig(settings, source, notice, layers=found)


def _validated_base(found: Layers, path: Path | None) -> Settings:
    """The file alone; a bad file is reported as it always was (``parse_settings``)."""
    return parse_settings(found.base, path)
