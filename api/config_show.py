"""``sentrycam config show``: the effective configuration as YAML, each value annotated
with where it comes from (``file``, ``detected``, ``dashboard`` or ``default``).

Credentials are redacted; a value written as ``${SENTRYCAM_*}`` is shown as written.
The output is valid YAML: it could be saved as a config file of its own.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import yaml

from . import config_layers as layers
from .config_store import Layers
from .settings import LoadedConfig

COMMENT_COLUMN = 44


def render(loaded: LoadedConfig, overlay_path: str) -> str:
    found = loaded.layers
    assert isinstance(found, Layers)
    effective = loaded.settings.model_dump(mode="json")
    where = layers.origins(effective, found.base, found.overlay, found.detected is not None)
    raw = found.effective
    head = [
        "# Sentrycam: the effective configuration (`sentrycam config show`).",
        f"# file: {found.path or '(none)'}",
        f"# dashboard: {overlay_path}",
    ]
    if loaded.overlay_error:
        head.append(f"# NOT APPLIED: {loaded.overlay_error}")
    if found.detected is not None:
        head.append(f"# cameras: {loaded.notice or 'detected'}")
    body = _lines(effective, [], 0, where, raw)
    return "\n".join([*head, *body]) + "\n"


def _lines(
    value: dict[str, Any], path: list[str], indent: int, where: Mapping[str, str], raw: Any
) -> Iterator[str]:
    pad = " " * indent
    for key, inner in value.items():
        here = [*path, str(key)]
        if isinstance(inner, dict) and inner:
            yield f"{pad}{key}:"
            yield from _lines(inner, here, indent + 2, where, raw)
        elif isinstance(inner, list) and inner and all(layers.named(i) for i in inner):
            yield f"{pad}{key}:"
            for item in inner:
                name_key = "id" if "id" in item else "name"
                item_path = [*here, str(item[name_key])]
                rest = {k: v for k, v in item.items() if k != name_key}
                yield f"{pad}  - {name_key}: {_flow(item[name_key])}"
                yield from _lines(rest, item_path, indent + 4, where, raw)
        else:
            dotted = ".".join(here)
            shown = _shown(inner, key, layers.find(raw, here))
            line = f"{pad}{key}: {_flow(shown)}"
            yield f"{line.ljust(COMMENT_COLUMN)} # {where.get(dotted, 'default')}"


def _shown(value: Any, key: str, written: Any) -> Any:
    """What to print: the value as written when it references the environment, else the
    value with credentials redacted."""
    if isinstance(written, str) and "${" in written:
        return written
    return layers.redacted(value, key)


def _flow(value: Any) -> str:
    text = yaml.safe_dump([value], default_flow_style=True, width=10_000, allow_unicode=True)
    return text.strip()[1:-1]
