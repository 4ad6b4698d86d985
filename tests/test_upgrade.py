"""Upgrades and backups: a data dir made by the previous release (tests/data/release-*,
made by tests/upgrade/make_fixture.py) starts and migrates under this one with nothing
lost, and ``sentrycam backup`` / ``restore`` carry config, database and keys across."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import sqlite3
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from api import cli_backup
from api.db import head_revision
from tests.test_cli import SENTRYCAM

RELEASE = Path(__file__).parent / "data" / "release-f518aef"
FIXTURE = json.loads((RELEASE / "fixture.json").read_text())


def previous_release(data: Path) -> Path:
    """The previous release's data dir, rebuilt from the fixture's SQL text and files."""
    data.mkdir(parents=True)
    with sqlite3.connect(data / "sentrycam.db") as db:
        db.executescript((RELEASE / "sentrycam.sql").read_text())
    db.close()
    for sub in ("snapshots", "recordings"):
        shutil.copytree(RELEASE / sub, data / sub)
    return data


def rows(database: Path, table: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(database) as db:
        found = db.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
    db.close()
    return found


def config() -> dict[str, Any]:
    """The release's config, its detectors off: no new events but the test's own."""
    loaded: dict[str, Any] = yaml.safe_load((RELEASE / "config.yaml").read_text())
    loaded["cameras"][0]["motion"]["enabled"] = False
    loaded["cameras"][0]["sound"] = {"enabled": False}
    return loaded


async def test_previous_release_starts_and_migrates_with_nothing_lost(
    start_server: Any, tmp_path: Path
) -> None:
    data = previous_release(tmp_path / "data0")  # where start_server puts its first server
    before = {t: rows(data / "sentrycam.db", t) for t in FIXTURE["counts"]}
    server = await start_server(config(), admin=False)
    assert server.services.db.schema_version() == head_revision()
    client = server.anonymous(headers={"Authorization": f"Bearer {FIXTURE['token']}"})

    events = (await client.get("/api/events")).json()["events"]
    assert [e["id"] for e in events] == [row[0] for row in before["events"]]
    assert events[0]["acknowledged_by"] == "admin"
    assert not server.services.events.armed("porch")  # disarmed in the old release
    recordings = (await client.get("/api/recordings")).json()["recordings"]
    assert len(recordings) == FIXTURE["counts"]["recordings"]
    for recording in recordings:
        assert recording["state"] == "complete"
        path = server.services.recordings.root / before_path(before, recording["id"])
        assert hashlib.sha256(path.read_bytes()).hexdigest() == recording["sha256"]
        snapshot = await client.get(f"/api/events/{recording['events'][0]}/snapshot.jpg")
        assert snapshot.status_code == 200
    users = {u["name"]: u for u in (await client.get("/api/users")).json()}
    assert users["porch-viewer"]["cameras"] == ["porch"]
    login = await server.anonymous().post(
        "/api/auth/login", json={"username": "admin", "password": FIXTURE["password"]}
    )
    assert login.status_code == 200
    # New events go on after the old ids; old rows are all still there.
    server.services.events.system_alert("encoder", "after the upgrade")
    await server.services.events.flush()
    newest = (await client.get("/api/events?limit=1")).json()["events"][0]
    assert newest["kind"] == "encoder"
    assert newest["id"] == max(row[0] for row in before["events"]) + 1
    for table, old in before.items():
        now = rows(data / "sentrycam.db", table)
        if table in ("users", "api_tokens"):  # last login / last use move on
            assert [r[0] for r in now] == [r[0] for r in old], table
        else:
            assert [r for r in now if r in old] == old, table

    # A backup taken while the server runs is consistent and complete.
    backup = tmp_path / "running.tar.gz"
    await asyncio.to_thread(cli_backup.backup, backup, None, data)
    _, members = cli_backup.read_archive(backup)
    copy = tmp_path / "copy.db"
    copy.write_bytes(members["data/sentrycam.db"])
    assert len(rows(copy, "events")) == len(before["events"]) + 1
    assert not [name for name in members if "recordings/" in name]


def before_path(before: dict[str, list[tuple[Any, ...]]], recording_id: int) -> str:
    row = next(r for r in before["recordings"] if r[0] == recording_id)
    return next(str(v) for v in row if isinstance(v, str) and v.endswith(".mp4"))


def sentrycam(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SENTRYCAM, *args], capture_output=True, text=True, timeout=60)


def test_backup_restore_round_trip(tmp_path: Path) -> None:
    data = previous_release(tmp_path / "data")
    (data / "tls").mkdir()
    (data / "tls" / "key.pem").write_text("private key")
    (data / "sentrycam.db-wal").write_bytes(b"")
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "config.yaml").write_text((RELEASE / "config.yaml").read_text())
    (etc / "env").write_text("SENTRYCAM_GARAGE_PASSWORD=secret\n")
    target = tmp_path / "backups" / "pi.tar.gz"
    made = sentrycam(
        "backup", str(target), "--config", str(etc / "config.yaml"), "--data-dir", str(data)
    )
    assert made.returncode == 0, made.stderr
    assert "recordings not included" in made.stdout
    assert target.stat().st_mode & 0o777 == 0o600
    with tarfile.open(target) as archive:
        names = set(archive.getnames())
    assert names == {
        "manifest.json",
        "config/config.yaml",
        "config/env",
        "data/sentrycam.db",
        "data/tls/key.pem",
        "data/snapshots/porch/1.jpg",
    }

    fresh, fresh_etc = tmp_path / "new-data", tmp_path / "new-etc"
    args = ["--config", str(fresh_etc / "config.yaml"), "--data-dir", str(fresh)]
    restored = sentrycam("restore", str(target), *args)
    assert restored.returncode == 0, restored.stderr
    assert "schema 0003" in restored.stdout or f"schema {head_revision()}" in restored.stdout
    for table in FIXTURE["counts"]:
        assert rows(fresh / "sentrycam.db", table) == rows(data / "sentrycam.db", table)
    assert (fresh / "tls" / "key.pem").read_text() == "private key"
    assert (fresh_etc / "env").read_text() == "SENTRYCAM_GARAGE_PASSWORD=secret\n"
    assert (fresh / "snapshots/porch/1.jpg").read_bytes() == (
        data / "snapshots/porch/1.jpg"
    ).read_bytes()

    again = sentrycam("restore", str(target), *args)
    assert again.returncode == 1
    assert "--force" in again.stderr
    (fresh / "tls" / "key.pem").write_text("changed since")
    forced = sentrycam("restore", str(target), *args, "--force")
    assert forced.returncode == 0, forced.stderr
    assert (fresh / "tls" / "key.pem").read_text() == "private key"
    assert (fresh / "tls" / "key.pem.before-restore").read_text() == "changed since"


@pytest.mark.parametrize("damage", ["bytes", "member", "not-a-backup"])
def test_restore_refuses_a_damaged_backup(tmp_path: Path, damage: str) -> None:
    data = previous_release(tmp_path / "data")
    target = tmp_path / "b.tar.gz"
    cli_backup.backup(target, None, data)
    manifest, members = cli_backup.read_archive(target)
    if damage == "bytes":
        members["data/sentrycam.db"] = members["data/sentrycam.db"][:-1] + b"x"
    elif damage == "member":
        members["../evil"] = b"x"
    raw = {"manifest.json": json.dumps(manifest).encode(), **members}
    if damage == "not-a-backup":
        target.write_bytes(b"hello")
    else:
        cli_backup.write_archive(target, raw)
    with pytest.raises(cli_backup.BackupError):
        cli_backup.restore(target, None, tmp_path / "elsewhere")
    assert not (tmp_path / "elsewhere" / "sentrycam.db").exists()
