"""Layers of configuration as plain data: merge, difference, origins, redaction, versions.

The effective configuration is the admin's YAML file (or the cameras found when it lists
none) with the dashboard's overlay on top. Both are plain mappings as parsed from YAML,
before ``${SENTRYCAM_*}`` references are expanded, so a reference stays a reference.

The overlay is a JSON Merge Patch (RFC 7396) of the file, with one exception: cameras are
a list in the file but a mapping by id in the overlay, so a camera can be changed, added
or removed without repeating the others::

    cameras:
      porch: {motion: {threshold: 30}}    # changes to porch of the file
      garage: {source: "rtsp://..."}      # a camera added in the dashboard
      old: null                           # a camera of the file, removed
    events: {cooldown_seconds: 120}

``null`` removes a key (its default applies again). The overlay is never edited in place:
each change computes the new effective configuration and stores its difference from the
file (:func:`difference`), so the overlay is always the smallest patch that produces it.
Everything here is pure; files are :mod:`api.config_store`'s.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from camera.redact import redact

Raw = dict[str, Any]
Origin = Literal["file", "detected", "dashboard", "default"]
SECRET_KEYS = frozenset({"password", "credential", "secret", "token", "passphrase"})
REDACTED = "***"


def camera_map(cameras: Any) -> dict[str, Raw] | None:
    """The file's camera list as a mapping by id (None if it is not a list of cameras
    with string ids: then validation reports the problem, merging does not guess)."""
    if not isinstance(cameras, list):
        return None
    mapped: dict[str, Raw] = {}
    for camera in cameras:
        if not isinstance(camera, dict) or not isinstance(camera.get("id"), str):
            return None
        mapped[camera["id"]] = camera
    return mapped


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: mappings merge key by key, ``None`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def merge(base: Raw, overlay: Raw) -> Raw:
    """The effective configuration: ``overlay`` applied to ``base`` (a new tree: neither
    input is shared with it)."""
    base = copy.deepcopy(base)
    result = merge_patch(base, {k: v for k, v in overlay.items() if k != "cameras"})
    patches = overlay.get("cameras")
    cameras = camera_map(base.get("cameras", []))
    if not isinstance(patches, dict) or cameras is None:
        return result  # type: ignore[no-any-return]
    merged = []
    for camera_id, camera in cameras.items():
        if camera_id not in patches:
            merged.append(camera)
        elif patches[camera_id] is not None:
            merged.append({**merge_patch(camera, patches[camera_id]), "id": camera_id})
    for camera_id, patch in patches.items():
        if camera_id not in cameras and isinstance(patch, dict):
            merged.append({"id": camera_id, **copy.deepcopy(patch)})
    result["cameras"] = merged
    return result  # type: ignore[no-any-return]


def _patch_between(before: Any, after: Any) -> Any:
    """The merge patch that turns ``before`` into ``after`` (``_MISSING`` if none)."""
    if isinstance(before, dict) and isinstance(after, dict):
        patch: Raw = {}
        for key in before:
            if key not in after:
                patch[key] = None
        for key, value in after.items():
            if key not in before:
                patch[key] = copy.deepcopy(value)
            else:
                inner = _patch_between(before[key], value)
                if inner is not _MISSING:
                    patch[key] = inner
        return patch if patch else _MISSING
    return _MISSING if before == after else copy.deepcopy(after)


_MISSING: Any = object()
MISSING: Any = object()  # find(): nothing there


def difference(base: Raw, effective: Raw) -> Raw:
    """The smallest overlay with ``merge(base, overlay) == effective``."""
    rest_before = {k: v for k, v in base.items() if k != "cameras"}
    rest_after = {k: v for k, v in effective.items() if k != "cameras"}
    patch = _patch_between(rest_before, rest_after)
    overlay: Raw = {} if patch is _MISSING else patch
    before = camera_map(base.get("cameras", [])) or {}
    after = camera_map(effective.get("cameras", [])) or {}
    cameras: Raw = {}
    for camera_id in before:
        if camera_id not in after:
            cameras[camera_id] = None
    for camera_id, camera in after.items():
        body = {k: v for k, v in camera.items() if k != "id"}
        if camera_id not in before:
            cameras[camera_id] = copy.deepcopy(body)
            continue
        old = {k: v for k, v in before[camera_id].items() if k != "id"}
        change = _patch_between(old, body)
        if change is not _MISSING:
            cameras[camera_id] = change
    if cameras:
        overlay["cameras"] = cameras
    return overlay


def orphans(base: Raw, overlay: Raw) -> list[str]:
    """Cameras the overlay changes that are not in the base and that it does not define
    (no ``source``): a detected webcam that is gone. They are left out of the merge."""
    patches = overlay.get("cameras")
    known = camera_map(base.get("cameras", [])) or {}
    if not isinstance(patches, dict):
        return []
    return [
        camera_id
        for camera_id, patch in patches.items()
        if camera_id not in known and isinstance(patch, dict) and "source" not in patch
    ]


def without(overlay: Raw, camera_ids: list[str]) -> Raw:
    """The overlay without these cameras' entries."""
    if not camera_ids:
        return overlay
    cameras = {k: v for k, v in overlay.get("cameras", {}).items() if k not in camera_ids}
    trimmed = {k: v for k, v in overlay.items() if k != "cameras"}
    if cameras:
        trimmed["cameras"] = cameras
    return trimmed


# ----- where values come from ---------------------------------------------------------------


def leaves(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Dotted paths of every leaf; cameras (and zones) are addressed by id (name)."""
    if isinstance(value, dict):
        if not value and prefix:
            yield prefix, value
        for key, inner in value.items():
            yield from leaves(inner, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list) and value and all(named(item) for item in value):
        for item in value:
            key = item.get("id") or item.get("name")
            yield from leaves(
                {k: v for k, v in item.items() if k not in ("id", "name")}, f"{prefix}.{key}"
            )
    else:
        yield prefix, value


def named(item: Any) -> bool:
    """A list item addressed by its id or name (cameras, zones)."""
    return isinstance(item, dict) and isinstance(item.get("id") or item.get("name"), str)


def find(raw: Any, path: list[str]) -> Any:
    """The value at a dotted path (list items by id or name), or ``MISSING``. A list
    value (points, masks, event kinds) is one leaf: a path into it finds the list."""
    node = raw
    for part in path:
        if isinstance(node, list) and node and all(named(item) for item in node):
            node = next((i for i in node if (i.get("id") or i.get("name")) == part), MISSING)
        elif isinstance(node, dict):
            node = node.get(part, MISSING)
        elif isinstance(node, list):
            return node
        else:
            return MISSING
        if node is MISSING:
            return MISSING
    return node


def _has(raw: Any, path: list[str]) -> bool:
    return find(raw, path) is not MISSING


def origins(effective: Raw, base: Raw, overlay: Raw, detected: bool) -> dict[str, Origin]:
    """Where each leaf of the validated configuration (``model_dump``) comes from."""
    return {path: origin(path, base, overlay, detected) for path, _ in leaves(effective)}


def origin(path: str, base: Raw, overlay: Raw, detected: bool) -> Origin:
    """Which layer a dotted path's value comes from (``base``: the file, with the cameras
    found in place of its own when ``detected``)."""
    parts = path.split(".")
    if _has(overlay, parts):
        return "dashboard"
    if _has(base, parts):
        return "detected" if detected and parts[0] == "cameras" else "file"
    return "default"


# ----- what the API may show ----------------------------------------------------------------


def redacted(value: Any, key: str = "") -> Any:
    """Credentials out: secret-named keys become ``***``, URLs lose their user info, and a
    notifier URL (``url`` that is not http) everything after its scheme (Apprise keeps
    tokens there: ``tgram://<bot token>/<chat>``)."""
    if isinstance(value, dict):
        return {k: redacted(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [redacted(v, key) for v in value]
    if isinstance(value, str):
        if key.lower() in SECRET_KEYS and value:
            return REDACTED
        scheme, found, _ = value.partition("://")
        if key == "url" and found and scheme.lower() not in ("http", "https"):
            return f"{scheme}://{REDACTED}"
        return redact(value)
    return value


def keep_secrets(patch: Any, current: Any, key: str = "") -> Any:
    """A patch with every value that is the redacted form of the current one put back:
    a client that sends back what ``GET /api/config`` showed changes nothing."""
    if isinstance(patch, dict) and isinstance(current, dict):
        return {k: keep_secrets(v, current.get(k), k) for k, v in patch.items()}
    if isinstance(patch, list) and isinstance(current, list) and len(patch) == len(current):
        return [keep_secrets(p, c, key) for p, c in zip(patch, current, strict=True)]
    redacted_current = isinstance(current, str) and patch == redacted(current, key)
    return current if isinstance(patch, str) and redacted_current else patch


def version(value: Any) -> str:
    """A strong ETag of a piece of configuration (its canonical JSON)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


def matches(if_match: str | None, versions: Mapping[str, str] | list[str]) -> bool:
    """RFC 9110 If-Match against any of the acceptable current versions."""
    if if_match is None:
        return True
    wanted = [tag.strip().removeprefix("W/") for tag in if_match.split(",")]
    return "*" in wanted or any(tag in wanted for tag in versions)
