"""Start-up repair: make the recordings table and the files on disk agree.

After a crash, a power cut or a hand in the directory: rows whose file is gone are dropped,
files left "recording" are probed and closed as "interrupted" at their last fragment, files
without a row are adopted (their name says camera, kind, time and id), and files with no
picture (0 bytes, header only) are deleted. Runs in a worker thread, in one transaction.
"""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import get_args

from sqlalchemy import select
from sqlalchemy.orm import Session

from camera.mp4 import file_sha256, probe
from camera.recorder import RecordingKind

from ..db import aware
from ..models import Recording

FILE_NAME = re.compile(r"^(\d{8}T\d{6})Z-(\d{1,12})\.mp4$")
KINDS: tuple[str, ...] = get_args(RecordingKind)


def repair(db: Session, root: Path) -> str:
    """Repair rows and files under ``root``; a summary of what was done ("" if nothing)."""
    dropped, finished, deleted, known = _check_rows(db, root)
    db.flush()
    adopted = 0
    for path in sorted(root.glob("*/*/*/*")):
        relative = path.relative_to(root).as_posix()
        if relative in known or not path.is_file():
            continue
        orphan = adopt(path, relative)
        if orphan is None:
            path.unlink(missing_ok=True)
            deleted += 1
        else:
            db.add(orphan)
            adopted += 1
    for directory in sorted(root.glob("*/*/*"), reverse=True):
        if directory.is_dir():
            with contextlib.suppress(OSError):
                directory.rmdir()  # only if empty
    parts = [
        f"{n} {what}"
        for n, what in (
            (dropped, "rows without a file dropped"),
            (finished, "interrupted files closed"),
            (adopted, "files without a row adopted"),
            (deleted, "empty or unreadable files deleted"),
        )
        if n
    ]
    return ", ".join(parts)


def _check_rows(db: Session, root: Path) -> tuple[int, int, int, set[str]]:
    """Drop rows without a file and close files left "recording": counts and known paths."""
    dropped = finished = deleted = 0
    known: set[str] = set()
    for row in list(db.scalars(select(Recording))):
        path = root / row.path
        if not path.is_file():
            db.delete(row)
            dropped += 1
            continue
        known.add(row.path)
        if row.state != "recording":
            continue
        found = probe(path)
        if found is None:
            path.unlink(missing_ok=True)
            db.delete(row)
            deleted += 1
            continue
        row.state = "interrupted"
        row.detail = "cut short by a crash or power loss; playable to its last fragment"
        row.duration = found.duration
        row.end = aware(row.start) + timedelta(seconds=found.duration)
        row.size = path.stat().st_size
        row.sha256 = file_sha256(path)
        finished += 1
    return dropped, finished, deleted, known


def adopt(path: Path, relative: str) -> Recording | None:
    """A row for a file found without one, from its name and contents; None if unusable."""
    camera, kind, _day, name = relative.split("/")
    match = FILE_NAME.match(name)
    if match is None or kind not in KINDS:
        return None
    found = probe(path)
    if found is None:
        return None
    start = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    return Recording(
        id=int(match.group(2)),
        camera=camera,
        kind=kind,
        path=relative,
        start=start,
        end=start + timedelta(seconds=found.duration),
        duration=found.duration,
        size=path.stat().st_size,
        sha256=file_sha256(path),
        audio=found.audio,
        state="interrupted",
        events=[],
        detail="found on disk without a database row (crash); adopted",
    )
