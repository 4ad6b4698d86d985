"""``sentrycam backup FILE`` / ``restore FILE``: settings, database and keys in one file.

A backup is a gzip'd tar (mode 0600: it holds password hashes, token hashes and private
keys) with:

* ``manifest.json``: format, Sentrycam version, schema revision, time, and the SHA-256 of
  every other member (checked before anything is restored);
* ``config/config.yaml`` (the ``--config`` file) and ``config/env`` beside it (the
  ``${SENTRYCAM_...}`` secrets), when they exist;
* ``data/sentrycam.db``: a consistent copy made with SQLite's online backup, so the
  service may keep running (PostgreSQL: back it up with ``pg_dump``; it is left out);
* ``data/...``: every other file of the data dir (TLS and other keys, event snapshots),
  **except** recordings, thumbnails (a cache) and SQLite's ``-wal``/``-shm`` files.

Restore checks the manifest, refuses to overwrite an existing database unless
``--force`` (the old files are then kept beside the new ones as ``*.before-restore``),
writes the files with the data dir's owner, and leaves migrating an older schema to the
next start (the service upgrades it as always). Stop the service before restoring.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sqlite3
import sys
import tarfile
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from camera import __version__

from .config_store import load_layered
from .db import head_revision

FORMAT = "sentrycam-backup-1"
DB_NAME = "sentrycam.db"
SKIPPED_DIRS = ("recordings", "thumbnails")
SKIPPED_SUFFIXES = ("-wal", "-shm", "-journal", ".before-restore")


class BackupError(Exception):
    pass


def add_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    backup = commands.add_parser(
        "backup", parents=[common], help="save config, database and keys (not recordings)"
    )
    backup.add_argument("file", type=Path, help="the backup to write (.tar.gz)")
    restore = commands.add_parser(
        "restore", parents=[common], help="restore a backup (stop the service first)"
    )
    restore.add_argument("file", type=Path, help="a file made by sentrycam backup")
    restore.add_argument(
        "--force", action="store_true", help="replace an existing database (kept aside)"
    )


def run(args: argparse.Namespace) -> int:
    try:
        if args.command == "backup":
            backup(args.file, args.config, args.data_dir)
        else:
            config = args.config
            if config is None and os.geteuid() == 0:  # a fresh system: where install puts it
                from .cli import SYSTEM_CONFIG

                config = SYSTEM_CONFIG
            restore(args.file, config, args.data_dir, force=args.force)
    except BackupError as error:
        print(f"sentrycam: {error}", file=sys.stderr)
        return 1
    return 0


# ----- backup -----------------------------------------------------------------------------


def backup(target: Path, config: Path | None, data_dir: Path) -> None:
    members: dict[str, bytes] = {}
    if config is not None and config.is_file():
        members["config/config.yaml"] = config.read_bytes()
        env = config.parent / "env"
        if env.is_file():
            members["config/env"] = env.read_bytes()
    # The effective settings: the file and the dashboard's changes (settings.yaml).
    url = load_layered(config, data_dir, autodetect=False).settings.database.url if config else None
    if url is None:
        database = data_dir / DB_NAME
        if not database.is_file():
            raise BackupError(f"no database at {database} (wrong --data-dir?)")
        members[f"data/{DB_NAME}"] = sqlite_copy(database)
    else:
        print("the database is not SQLite: back it up with its own tools (pg_dump)")
    skipped = {data_dir / name for name in SKIPPED_DIRS}
    for path in sorted(data_dir.rglob("*")):
        if not path.is_file() or path.name.startswith(DB_NAME):
            continue
        if any(path.is_relative_to(s) for s in skipped) or path.name.endswith(SKIPPED_SUFFIXES):
            continue
        members[f"data/{path.relative_to(data_dir).as_posix()}"] = path.read_bytes()
    manifest = {
        "format": FORMAT,
        "version": __version__,
        "schema": head_revision(),
        "created": datetime.now(UTC).isoformat(),
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in members.items()},
    }
    write_archive(target, {"manifest.json": json.dumps(manifest, indent=1).encode(), **members})
    size = target.stat().st_size
    print(f"{target}: {len(members)} files, {size / 1e6:.1f} MB (recordings not included)")


def sqlite_copy(database: Path) -> bytes:
    """A consistent copy of a live SQLite database (online backup API)."""
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / DB_NAME
        source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        destination = sqlite3.connect(copy)
        try:
            source.backup(destination)
        finally:
            source.close()
            destination.close()
        return copy.read_bytes()


def write_archive(target: Path, members: dict[str, bytes]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
            archive.addfile(info, io.BytesIO(data))
    os.replace(partial, target)


# ----- restore ----------------------------------------------------------------------------


def read_archive(source: Path) -> tuple[dict[str, object], dict[str, bytes]]:
    try:
        with tarfile.open(source, mode="r:gz") as archive:
            members: dict[str, bytes] = {}
            for info in archive.getmembers():
                if not info.isfile() or not _safe(info.name):
                    raise BackupError(f"{source}: unexpected member {info.name!r}")
                handle = archive.extractfile(info)
                assert handle is not None
                members[info.name] = handle.read()
    except (OSError, tarfile.TarError) as error:
        raise BackupError(f"{source}: not a Sentrycam backup ({error})") from None
    try:
        manifest = json.loads(members.pop("manifest.json"))
    except (KeyError, ValueError):
        raise BackupError(f"{source}: no manifest: not a Sentrycam backup") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{source}: unknown backup format {manifest.get('format')!r}")
    files = manifest.get("files", {})
    if set(files) != set(members):
        raise BackupError(f"{source}: the files do not match the manifest")
    for name, data in members.items():
        if hashlib.sha256(data).hexdigest() != files[name]:
            raise BackupError(f"{source}: {name} is damaged (SHA-256 differs)")
    return manifest, members


def _safe(name: str) -> bool:
    path = PurePosixPath(name)
    return (
        not path.is_absolute()
        and ".." not in path.parts
        and (name == "manifest.json" or path.parts[0] in ("config", "data"))
    )


def restore(source: Path, config: Path | None, data_dir: Path, force: bool = False) -> None:
    manifest, members = read_archive(source)
    database = data_dir / DB_NAME
    if f"data/{DB_NAME}" in members and database.exists() and not force:
        raise BackupError(
            f"{database} exists: stop the service and add --force to replace it "
            "(the current files are kept as *.before-restore)"
        )
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
    owner = data_dir.stat()
    stamp = ".before-restore"
    for suffix in ("-wal", "-shm"):
        stale = data_dir / (DB_NAME + suffix)
        if stale.exists():  # they belong to the database being replaced
            stale.replace(stale.with_name(stale.name + stamp))
    written = 0
    for name, data in members.items():
        if name.startswith("data/"):
            target = data_dir / name.removeprefix("data/")
        elif config is not None:
            target = config if name == "config/config.yaml" else config.parent / "env"
        else:
            print(f"{name}: skipped (no --config to restore it to)")
            continue
        ids = (owner.st_uid, owner.st_gid) if name.startswith("data/") else None
        _write(target, data, stamp, ids)
        if ids is not None and os.geteuid() == 0:
            for parent in target.relative_to(data_dir).parents:
                os.chown(data_dir / parent, *ids)  # directories made for it, like snapshots/
        written += 1
    print(
        f"restored {written} files from {source} (Sentrycam {manifest.get('version')}, "
        f"schema {manifest.get('schema')}, made {manifest.get('created')}); "
        "the service upgrades the schema on its next start if needed"
    )


def _write(target: Path, data: bytes, stamp: str, owner: tuple[int, int] | None) -> None:
    if target.exists():
        if target.read_bytes() == data:
            return
        target.replace(target.with_name(target.name + stamp))
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if owner else 0o640)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    if owner is not None and os.geteuid() == 0:
        os.chown(target, *owner)
