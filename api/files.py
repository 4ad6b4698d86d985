"""Serving files without serving the rest of the disk."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import NotFound


def safe_file(base: Path, relative: str) -> Path:
    """``base/relative`` if it is a regular file inside ``base``, else ``NotFound``.

    Refuses absolute paths, ``..`` (also once URL-decoded by the framework), backslashes,
    NUL bytes, hidden files, and symlinks that resolve outside ``base``.
    """
    if not relative or "\x00" in relative or "\\" in relative or os.path.isabs(relative):
        raise NotFound("no such file")
    parts = Path(relative).parts
    if any(part in ("..", ".") or part.startswith(".") for part in parts):
        raise NotFound("no such file")
    root = base.resolve()
    candidate = (root / relative).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        raise NotFound("no such file")
    return candidate
