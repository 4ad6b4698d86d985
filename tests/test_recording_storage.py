"""Recordings on disk: repair after a crash, kill -9, the disk guard, a disk that fills up."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest
from sqlalchemy import select

from api.db import Database
from api.models import Recording
from api.services.event_service import EventService
from api.services.live_channel import LiveChannel
from api.services.recording_archive import RecordingService
from api.settings import parse_settings
from camera.config import CameraConfig
from camera.demo import STAMP_MODULO
from camera.encoder import AudioEncoder, VideoEncoder
from camera.manager import CameraManager
from camera.mp4 import Mp4File, StreamTemplates, VideoFormat, parameter_sets, probe
from camera.preroll import Timed
from tests.conftest import free_port
from tests.postgres import postgres_url  # noqa: F401 (the fixture)
from tests.recordings import read_clip
from tests.test_cli import make_admin_token, run_serve
from tests.test_recording import recording_config
from tests.test_storage import database, database_url, open_database  # noqa: F401 (fixtures)
from tests.waiting import wait_until

FPS = 30


def recording_file(path: Path, seconds: float, *, close: bool = True) -> Mp4File:
    """Write a real recording (H.264 + Opus) of ``seconds``; left open if ``close`` is False."""
    config = CameraConfig(id="t", source="demo", width=320, height=180, fps=FPS, gop_seconds=1)
    encoder = VideoEncoder(config, "libx264")
    sound = AudioEncoder()
    handle: Mp4File | None = None
    for index in range(int(seconds * FPS)):
        picture = np.full((180, 320, 3), (index * 7) % 255, np.uint8)
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
        for packet in encoder.encode(frame, index * 3000):
            if handle is None:
                sets = parameter_sets(bytes(packet))
                assert sets is not None
                handle = Mp4File(path, StreamTemplates(), VideoFormat(sets, 320, 180), True, 0)
            handle.write_video(Timed(int(packet.pts), bool(packet.is_keyframe), packet))
        samples = av.AudioFrame.from_ndarray(
            np.zeros((1, 1600), np.int16), format="s16", layout="mono"
        )
        samples.sample_rate = 48000
        for packet in sound.encode(samples, index * 1600):
            if handle is not None:
                handle.write_audio(Timed(int(packet.pts), True, packet))
    assert handle is not None
    if close:
        handle.close()
    return handle


def row(recording_id: int, path: str, state: str = "complete") -> Recording:
    return Recording(
        id=recording_id,
        camera="front",
        kind="clip",
        path=path,
        start=datetime(2026, 11, 29, 10, 0, recording_id % 60, tzinfo=UTC),
        end=None,
        duration=0.0,
        size=0,
        sha256=None,
        audio=True,
        state=state,
        events=[],
        detail="",
    )


async def test_start_up_repairs_database_and_files(
    tmp_path: Path,
    database: Database,  # noqa: F811 (the fixture, SQLite and PostgreSQL)
) -> None:
    settings = parse_settings({"cameras": []})
    root = tmp_path / "recordings"
    day = root / "front" / "clip" / "2026-11-29"
    day.mkdir(parents=True)
    # 1: complete, file present: kept as it is.
    recording_file(day / "20261129T100001Z-1.mp4", 1.0)
    # 2: a row whose file is gone.
    # 3: being written when the power went: playable to its last fragment.
    handle = recording_file(day / "20261129T100003Z-3.mp4", 3.0, close=False)
    shutil.copyfile(handle.path, tmp_path / "cut.mp4")
    handle.close()
    shutil.copyfile(tmp_path / "cut.mp4", handle.path)
    # 4: being written, nothing reached the disk.
    (day / "20261129T100004Z-4.mp4").write_bytes(b"")
    # 7: a file whose row never got written (crash right after it was created).
    recording_file(day / "20261129T100007Z-7.mp4", 1.0)
    # 8: a 0-byte orphan; 9: a header-only orphan (opened, no picture ever written).
    (day / "20261129T100008Z-8.mp4").write_bytes(b"")
    header = (day / "20261129T100001Z-1.mp4").read_bytes()[:600]
    (day / "20261129T100009Z-9.mp4").write_bytes(header)

    def seed(db: Any) -> None:
        db.add(row(1, "front/clip/2026-11-29/20261129T100001Z-1.mp4"))
        db.add(row(2, "front/clip/2026-11-29/20261129T100002Z-2.mp4"))
        db.add(row(3, "front/clip/2026-11-29/20261129T100003Z-3.mp4", "recording"))
        db.add(row(4, "front/clip/2026-11-29/20261129T100004Z-4.mp4", "recording"))

    database.call(seed)
    live = LiveChannel()
    events = EventService(database, live, tmp_path, settings.events)
    await events.start()
    cameras = CameraManager(settings.cameras, settings.webrtc)
    service = RecordingService(database, events, cameras, settings.storage, tmp_path)
    await service.start()
    try:
        rows = {r.id: r for r in database.call(lambda db: list(db.scalars(select(Recording))))}
        assert set(rows) == {1, 3, 7}
        assert rows[1].state == "complete"
        interrupted = rows[3]
        assert interrupted.state == "interrupted"
        found = probe(root / interrupted.path)
        assert found is not None
        # Fragments are cut every second: at most about a second is lost.
        assert 1.5 <= interrupted.duration <= 3.0
        assert interrupted.duration == pytest.approx(found.duration, abs=0.01)
        assert interrupted.sha256 is not None
        assert interrupted.size > 0
        assert rows[7].state == "interrupted"
        assert rows[7].duration > 0.8
        # The files and the rows agree; no empty file is left.
        on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*.mp4")}
        assert on_disk == {r.path for r in rows.values()}
        assert all((root / p).stat().st_size > 0 for p in on_disk)
        # New ids never reuse an adopted file's.
        assert service.allocate("front", "clip", time.time())[0] == 8
    finally:
        await service.stop()
        await events.stop()


async def test_retention_per_camera_and_kind(
    tmp_path: Path,
    database: Database,  # noqa: F811 (the fixture, SQLite and PostgreSQL)
) -> None:
    settings = parse_settings(
        {
            "cameras": [
                {
                    "id": "front",
                    "source": "demo",
                    "recording": {"keep_clip_days": 1, "keep_continuous_days": 2},
                }
            ]
        }
    )
    root = tmp_path / "recordings"
    now = datetime.now(UTC)
    cases = [  # camera, kind, age in days, kept
        ("front", "clip", 1.5, False),
        ("front", "clip", 0.5, True),
        ("front", "continuous", 3, False),
        ("front", "continuous", 1.5, True),
        ("removed", "clip", 31, False),  # a camera no longer configured: the defaults
        ("removed", "clip", 29, True),
    ]
    kept = set()
    for index, (camera, kind, days, keep) in enumerate(cases, start=1):
        start = now - timedelta(days=days)
        relative = f"{camera}/{kind}/{start:%Y-%m-%d}/{start:%Y%m%dT%H%M%S}Z-{index}.mp4"
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(b"not probed: complete rows are trusted")
        record = row(index, relative)
        record.camera, record.kind, record.start = camera, kind, start
        database.call(lambda db, record=record: db.add(record))
        if keep:
            kept.add(index)
    live = LiveChannel()
    events = EventService(database, live, tmp_path, settings.events)
    await events.start()
    cameras = CameraManager(settings.cameras, settings.webrtc)
    service = RecordingService(database, events, cameras, settings.storage, tmp_path)
    await service.start()
    try:
        rows = database.call(lambda db: list(db.scalars(select(Recording))))
        assert {r.id for r in rows} == kept
        assert {p.name for p in root.rglob("*.mp4")} == {Path(r.path).name for r in rows}
    finally:
        await service.stop()
        await events.stop()


# ----- the disk guard -------------------------------------------------------------------


def directory_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def simulate_disk(guard: Any, root: Path, capacity: int, other: list[int] | None = None) -> None:
    """The guard sees a disk of ``capacity`` holding the archive and ``other[0]`` bytes of
    another program's."""

    def statvfs(path: Any) -> os.statvfs_result:
        free = max(0, capacity - directory_bytes(root) - (other[0] if other else 0))
        return os.statvfs_result((4096, 1, capacity, free, free, 1000, 1000, 1000, 0, 255))

    guard.statvfs = statvfs


async def test_disk_guard_deletes_the_oldest_and_alerts(start_server):
    capacity = 3_000_000
    config = recording_config(events=False, continuous=True, segment_seconds=2)
    config["cameras"][0]["bitrate_kbps"] = 1500
    config["storage"] = {"reserve_percent": 50, "reserve_mb": 1000}
    server = await start_server(config)
    recordings = server.services.recordings
    root = recordings.root

    simulate_disk(recordings.guard, root, capacity)
    quota = capacity // 2
    largest = 0
    worst = 0

    async def deleted_three() -> bool:
        """The guard deleted three recordings; until then, the most used and the largest."""
        nonlocal largest, worst
        if recordings.guard.deleted_for_space >= 3:
            return True
        used = directory_bytes(root)
        rows = await server.services.db.run(lambda db: list(db.scalars(select(Recording))))
        largest = max([largest, *(r.size for r in rows)])
        worst = max(worst, used)
        return False

    await wait_until(deleted_three, 60, "the guard to delete three recordings", interval=0.05)
    # Over the quota by at most one segment (the one being written when the guard ran).
    assert worst <= quota + max(largest, 1) * 1.2, (worst, quota, largest)
    # The oldest went first: what is left is the newest, without holes.
    rows = await server.services.db.run(
        lambda db: list(db.scalars(select(Recording).order_by(Recording.id)))
    )
    ids = [r.id for r in rows]
    assert ids == list(range(ids[0], ids[0] + len(ids)))
    assert ids[0] > 3
    # An alert says so, once.
    events = (await server.client.get("/api/events", params={"kind": "storage"})).json()
    storage = [e for e in events["events"] if e["kind"] == "storage"]
    assert len(storage) == 1
    assert storage[0]["camera"] == "*"
    assert storage[0]["alert"] is True
    assert "deleted" in storage[0]["detail"]
    status = (await server.client.get("/api/storage")).json()
    assert status["deleted_for_space"] >= 3
    # Recording goes on.
    newest = ids[-1]
    await wait_until(
        lambda: (recordings.recorders["demo"].recording["continuous"] or 0) > newest + 1,
        15,
        "new segments",
    )


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {result.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


async def test_a_disk_filled_by_someone_else_does_not_stop_recording(start_server, small_disk):
    config = recording_config(events=False, continuous=True, segment_seconds=2)
    config["storage"] = {"path": str(small_disk), "reserve_percent": 10, "reserve_mb": 1000}
    server = await start_server(config)
    recordings = server.services.recordings
    await wait_until(lambda: recordings.recorders["demo"].recording["continuous"], 15, "segment")
    await wait_until(
        lambda: (recordings.recorders["demo"].recording["continuous"] or 0) >= 3, 20, "segments"
    )
    # Another program takes every free byte.
    filler = small_disk / "someone-else.bin"
    # Unbuffered: a buffered file would fail again on close with the bytes it kept.
    with filler.open("wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
        except OSError:
            pass
    failed_at = recordings.recorders["demo"].recording["continuous"] or 0
    # The write fails, the guard deletes old recordings, recording continues in new files.
    await wait_until(lambda: recordings.guard.deleted_for_space >= 1, 20, "the guard to free space")

    async def completed_after_failure() -> list[Recording]:
        await recordings.flush()
        rows = await server.services.db.run(lambda db: list(db.scalars(select(Recording))))
        return [r for r in rows if r.state == "complete" and r.id > failed_at]

    await wait_until(
        completed_after_failure, 30, "recording to go on after the disk filled", interval=0.1
    )
    rows = await server.services.db.run(lambda db: list(db.scalars(select(Recording))))
    # The file that hit the full disk is kept up to what was written (if the guard has
    # not deleted it since, as the oldest).
    cut = [r for r in rows if r.state == "interrupted"]
    assert all("space" in r.detail.lower() for r in cut)
    files = [p for p in small_disk.rglob("*.mp4")]
    assert all(p.stat().st_size > 0 for p in files)
    events = (await server.client.get("/api/events", params={"kind": "storage"})).json()
    assert events["events"], "no storage alert"


# ----- kill -9 ----------------------------------------------------------------------------


async def test_kill_9_mid_recording_leaves_a_playable_file(tmp_path: Path) -> None:
    config = (
        "webrtc:\n  ice_addresses: ['127.0.0.1']\n"
        "cameras:\n  - id: demo\n    source: demo\n    audio: demo\n"
        "    width: 320\n    height: 180\n    gop_seconds: 1\n"
        "    motion: {enabled: false}\n    sound: {enabled: false}\n"
        "    recording: {continuous: true, segment_seconds: 60}\n"
    )
    token = make_admin_token(tmp_path)
    port = free_port()
    process = run_serve(tmp_path, config, port)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers) as c:
            segment = await _wait_for_segment(c, process, seconds=3.0)
            killed_at = time.time()
            process.send_signal(signal.SIGKILL)
            process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()

    root = tmp_path / "data" / "recordings"
    assert all(p.stat().st_size > 0 for p in root.rglob("*.mp4"))
    port = free_port()
    process = run_serve(tmp_path, config, port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers) as c:
            await _wait_healthy(c, process)
            after = (await c.get(f"/api/recordings/{segment['id']}")).json()
            assert after["state"] == "interrupted", after
            data = (await c.get(after["links"]["video"])).content
            report = read_clip(data)
            # Playable to within about a second of the kill.
            lost_ms = (int(killed_at * 1000) - report.last_stamp_ms) % STAMP_MODULO
            assert lost_ms <= 1600, lost_ms
            listed = (await c.get("/api/recordings", params={"limit": 1000})).json()
            paths = {p.relative_to(root).as_posix() for p in root.rglob("*.mp4") if p.is_file()}
            assert len(paths) == len(listed["recordings"])
            assert all(p.stat().st_size > 0 for p in root.rglob("*.mp4"))
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


async def _wait_healthy(client: httpx.AsyncClient, process: subprocess.Popen[str]) -> None:
    async def healthy() -> bool:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            return (await client.get("/api/health")).status_code == 200
        except httpx.TransportError:
            return False

    await wait_until(healthy, 60, "the server to start", interval=0.1)


async def _wait_for_segment(
    client: httpx.AsyncClient, process: subprocess.Popen[str], seconds: float
) -> dict[str, Any]:
    """A continuous segment that has been written for at least ``seconds``."""
    await _wait_healthy(client, process)

    async def long_enough() -> dict[str, Any] | None:
        listed = (await client.get("/api/recordings", params={"kind": "continuous"})).json()
        for recording in listed["recordings"]:
            begun = datetime.fromisoformat(recording["start"]).timestamp()
            if recording["state"] == "recording" and time.time() - begun >= seconds:
                return dict(recording)
        return None

    return await wait_until(long_enough, 60, f"a segment written for {seconds} s", interval=0.1)


async def test_a_missing_storage_disk_turns_recording_off_not_the_card(start_server, tmp_path):
    missing = tmp_path / "usb" / "sentrycam"  # the disk is not mounted
    config = recording_config()
    config["storage"] = {"path": str(missing)}
    server = await start_server(config)
    await server.wait_online("demo")
    assert not missing.exists()
    assert server.services.recordings.recorders == {}
    events = (await server.client.get("/api/events", params={"kind": "storage"})).json()
    assert "is the disk mounted" in events["events"][0]["detail"]
    storage = (await server.client.get("/api/storage")).json()
    assert "does not exist" in storage["last_guard_action"]
    # Live view is unaffected.
    assert (await server.client.get("/api/cameras/demo/snapshot.jpg")).status_code == 200


async def test_a_disk_filled_by_another_program_costs_at_most_one_recording(start_server):
    # Regression: the guard deleted every recording (a batch every 2 s) when another program
    # filled the disk, and could never win. Now it keeps the archive at its size when the
    # reserve was last free, less at most one recording (the room to go on rotating).
    capacity = 40_000_000
    other = [0]  # bytes of the other program
    config = recording_config(events=False, continuous=True, segment_seconds=2)
    config["cameras"][0]["bitrate_kbps"] = 1500
    config["storage"] = {"reserve_percent": 10, "reserve_mb": 1000}
    server = await start_server(config)
    recordings = server.services.recordings
    guard = recordings.guard
    root = recordings.root

    simulate_disk(guard, root, capacity, other)
    await wait_until(
        lambda: (recordings.recorders["demo"].recording["continuous"] or 0) >= 4, 30, "segments"
    )
    await wait_until(lambda: guard.floor is not None, 10, "a first check")

    async def recordings_now() -> list[Recording]:
        return await server.services.db.run(lambda db: list(db.scalars(select(Recording))))

    # The one recording the guard may take below its floor is one of the oldest, which
    # exist now (segments differ in size: the largest seen later may be smaller).
    largest = max(r.size for r in await recordings_now())
    ours = directory_bytes(root)
    other[0] = capacity - ours  # the other program takes every free byte at once
    await wait_until(lambda: guard.filled_by_others, 20, "the guard to notice")
    floor = guard.floor
    assert floor is not None
    rows = await recordings_now()
    largest = max(largest, *(r.size for r in rows))
    # The program keeps writing: whatever the guard does meanwhile, it keeps its floor.
    for _ in range(3):
        other[0] += 1_000_000
        await guard.enforce_reserve()
        archive = await server.services.db.run(guard.archive_bytes)
        assert archive >= floor - largest * 1.2, (archive, floor, largest)
    status = (await server.client.get("/api/storage")).json()
    assert status["filled_by_others"] is True
    assert status["kept_bytes"] == floor
    events = (await server.client.get("/api/events", params={"kind": "storage"})).json()
    assert any("something else" in e["detail"] for e in events["events"])
    left = await server.services.db.run(lambda db: list(db.scalars(select(Recording))))
    assert len(left) >= len(rows) - 2  # not "every recording"
    # Space comes back: the guard takes a new floor and stops complaining.
    other[0] = 0
    await guard.enforce_reserve()
    assert guard.filled_by_others is False
