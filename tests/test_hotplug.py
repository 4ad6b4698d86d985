"""The device watcher: inotify on a /dev-like folder, bursts coalesced, nothing polled."""

from __future__ import annotations

import asyncio

from camera.hotplug import DeviceWatcher, interesting
from tests.waiting import wait_until


def test_only_capture_nodes_matter():
    assert interesting("video3")
    assert interesting("pcmC1D0c")
    assert not interesting("pcmC1D0p")  # playback
    assert not interesting("ttyS0")


async def test_nodes_coming_and_going_are_reported_once_per_burst(tmp_path):
    calls: list[float] = []

    async def changed() -> None:
        calls.append(asyncio.get_running_loop().time())
        await asyncio.sleep(0.3)  # a slow rescan: events meanwhile must not cancel it

    watcher = DeviceWatcher(changed, str(tmp_path))
    watcher.start()
    try:
        await asyncio.wait_for(watcher.watching.wait(), 5)
        for n in range(5):  # a webcam brings several nodes at once
            (tmp_path / f"video{n}").touch()
        (tmp_path / "ttyUSB0").touch()  # not a capture device
        await wait_until(lambda: watcher.changes >= 1, 5, "a change reported")
        (tmp_path / "video0").unlink()  # unplugged while the first rescan runs
        await wait_until(lambda: watcher.changes >= 2, 5, "the unplug reported")
        assert watcher.changes == 2
        (tmp_path / "snd").mkdir()  # the first sound card: a rescan, and its folder watched
        await wait_until(lambda: watcher.changes >= 3, 5, "the sound card reported")
        (tmp_path / "snd" / "pcmC0D0c").touch()
        await wait_until(lambda: watcher.changes >= 4, 5, "the microphone reported")
    finally:
        await watcher.stop()
    assert len(calls) == 4
