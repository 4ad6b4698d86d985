"""A recordings disk that vanishes mid-write, and unexpected errors in the writer (issue 14).

The vanishing disk is real: a pass-through FUSE file system (``tests/flaky_fs.py``) that
answers every operation with EIO while switched off, as a USB disk pulled out does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import camera.mp4
from api.models import Recording
from tests.conftest import wait_until
from tests.test_recording import recording_config
from tests.waiting import wait_until_blocking


class FlakyDisk:
    def __init__(self, root: Path) -> None:
        self.backing = root / "backing"
        self.mount = root / "usb"
        self.control = root / "control"
        self.backing.mkdir()
        self.mount.mkdir()
        self.set("ok")
        self.log = root / "fuse.log"
        with self.log.open("wb") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.flaky_fs",
                    str(self.backing),
                    str(self.mount),
                    str(self.control),
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    def set(self, mode: str) -> None:
        self.control.write_text(mode)

    def mounted(self) -> bool:
        return any(
            str(self.mount) in line for line in Path("/proc/mounts").read_text().splitlines()
        )

    def close(self) -> None:
        # Lazily: the server under test may still hold files there (its fixture ends later).
        subprocess.run(["fusermount3", "-u", "-z", str(self.mount)], check=False)
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def flaky_disk(tmp_path: Path) -> Iterator[FlakyDisk]:
    if not Path("/dev/fuse").exists() or shutil.which("fusermount3") is None:
        pytest.fail("needs /dev/fuse and fusermount3 (Debian fuse3, in tests/run.sh)")
    disk = FlakyDisk(tmp_path)
    try:
        wait_until_blocking(lambda: disk.mounted() or disk.process.poll() is not None, 15, "mount")
        assert disk.mounted(), disk.log.read_text(errors="replace")
        yield disk
    finally:
        disk.close()


async def rows(server: Any) -> list[Recording]:
    await server.services.recordings.flush()
    return await server.services.db.run(lambda db: list(db.scalars(select(Recording))))


async def test_a_usb_disk_that_vanishes_mid_write_ends_the_file_and_comes_back(
    start_server: Any, flaky_disk: FlakyDisk
) -> None:
    config = recording_config(events=False, continuous=True, segment_seconds=2)
    config["storage"] = {"path": str(flaky_disk.mount)}
    server = await start_server(config)
    recorder = server.services.recordings.recorders["demo"]
    await wait_until(lambda: (recorder.recording["continuous"] or 0) >= 2, 20, "a segment")
    flaky_disk.set("eio")  # pulled out mid-write

    async def cut() -> list[Recording]:
        return [r for r in await rows(server) if r.state == "interrupted"]

    interrupted = await wait_until(cut, 20, "the file in progress to end", interval=0.2)
    assert any("Input/output error" in r.detail or "EIO" in r.detail for r in interrupted), [
        r.detail for r in interrupted
    ]
    events = (await server.client.get("/api/events", params={"kind": "storage"})).json()
    assert any("failed" in e["detail"] for e in events["events"]), events
    newest = max(r.id for r in await rows(server))
    flaky_disk.set("ok")  # plugged back in

    async def resumed() -> bool:
        return any(r.state == "complete" and r.id > newest for r in await rows(server))

    await wait_until(resumed, 30, "recording to resume on the disk", interval=0.2)


async def test_an_unexpected_writer_error_ends_one_file_not_recording(
    start_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Regression: the writer thread caught only I/O errors; anything else killed it, and
    # with it every later recording and the close that shutdown waits for.
    server = await start_server(recording_config(events=False, continuous=True, segment_seconds=2))
    recorder = server.services.recordings.recorders["demo"]
    await wait_until(lambda: (recorder.recording["continuous"] or 0) >= 1, 20, "a segment")
    original = camera.mp4.Mp4File.write_video
    broken = {"left": 1}

    def write_video(self: Any, timed: Any) -> None:
        if broken["left"]:
            broken["left"] -= 1
            raise RuntimeError("a bug nobody foresaw")
        original(self, timed)

    monkeypatch.setattr(camera.mp4.Mp4File, "write_video", write_video)
    await wait_until(lambda: broken["left"] == 0, 10, "the error to happen")
    failed_at = recorder.recording["continuous"] or 0

    async def later_complete() -> bool:
        return any(r.state == "complete" and r.id > failed_at for r in await rows(server))

    await wait_until(later_complete, 30, "recording to go on", interval=0.2)
    broken_rows = [r for r in await rows(server) if "a bug nobody foresaw" in r.detail]
    assert broken_rows, "the failed file says why"
    await server.services.recordings.stop()  # and shutdown does not hang
