"""A camera reader stuck inside a read, against systemd's side of the notify socket.

Two ways a camera goes silent without closing its stream, with real byte streams:

* a FIFO whose writer stops writing but keeps it open: FFmpeg's file protocol blocks in
  ``read(2)``, which nothing can interrupt. The reader is stuck; the watchdog pings stop
  (systemd restarts the service), the status says which reader, and the camera is reported
  offline; when bytes flow again, all of it comes back.
* a TCP feed that stops sending without closing: PyAV's read timeout
  (``camera.sources.READ_TIMEOUT_S``) ends the read, so the reader is not stuck: the camera
  goes offline, reconnects, and the pings never stop.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.sdnotify import Notifier
from api.services.systemd_notify import STUCK_AFTER_S
from camera.sources import READ_TIMEOUT_S
from tests.conftest import demo_config
from tests.fake_systemd import FakeSystemd
from tests.feeds import StallingFeed
from tests.waiting import wait_until

PING_USEC = 300_000  # WatchdogSec=0.3 s: a ping every 0.1 s while all is well


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[FakeSystemd]:
    fake = FakeSystemd(tmp_path)
    yield fake
    fake.close()


def pings(systemd: FakeSystemd) -> int:
    return len(systemd.seen("WATCHDOG", "1"))


@pytest.fixture
def fifo_feed(tmp_path: Path) -> Iterator[StallingFeed]:
    """Asked for before ``start_server``, so it ends after the server (a reader reopening a
    FIFO that has no writer would block in open(2))."""
    fifo = tmp_path / "camera.ts"
    os.mkfifo(fifo)
    feed = StallingFeed(str(fifo)).start()
    yield feed
    feed.stop()


async def test_a_reader_stuck_in_a_fifo_read_stops_the_watchdog(
    fifo_feed: StallingFeed, systemd: FakeSystemd, start_server: Any
) -> None:
    feed = fifo_feed
    config = demo_config(id="pipe", source=feed.target, audio=None, width=320, height=180)
    server = await start_server(config, notifier=Notifier(systemd.path, PING_USEC))
    watchdog = server.services.systemd
    watchdog.stuck_after_s = 2.0  # far above a healthy frame interval, even under load
    watchdog.http_started()
    camera = server.camera("pipe")
    await server.wait_online("pipe")
    await wait_until(lambda: systemd.seen("READY"), 20, "READY=1")
    await wait_until(lambda: pings(systemd) >= 3, 10, "pings while frames flow")

    feed.stall()  # the writer keeps the FIFO open and sends nothing
    stuck = await wait_until(lambda: watchdog.stuck(), 30, "the reader to be seen stuck")
    assert all(problem.startswith("camera pipe reader stuck") for problem in stuck), stuck
    await wait_until(lambda: "STUCK" in (systemd.last("STATUS") or ""), 10, "STUCK status")
    before = pings(systemd)
    # The camera says so too, instead of showing its last picture as live.
    await wait_until(lambda: camera.status == "offline", 10, "pipe offline")
    assert "reader stuck" in (camera.error or "")
    await wait_until(lambda: (systemd.last("STATUS") or "").startswith("0 of 1"), 10, "STATUS")
    assert pings(systemd) == before  # not one ping while the reader is stuck

    feed.resume()
    await wait_until(lambda: pings(systemd) > before + 2, 20, "pings again")
    await wait_until(lambda: camera.status == "online", 20, "pipe online again")
    assert watchdog.stuck() == []
    await wait_until(lambda: "STUCK" not in (systemd.last("STATUS") or "x"), 10, "STATUS")
    assert feed.connections == 1  # the same open FIFO all along: nothing reopened it


@pytest.fixture
def tcp_feed() -> Iterator[StallingFeed]:
    feed = StallingFeed(("127.0.0.1", 0)).start()
    yield feed
    feed.stop()


async def test_a_tcp_feed_that_goes_silent_ends_at_the_read_timeout_and_pings_go_on(
    tcp_feed: StallingFeed, systemd: FakeSystemd, start_server: Any
) -> None:
    feed = tcp_feed
    config = demo_config(id="net", source=feed.url, audio=None, width=320, height=180)
    server = await start_server(config, notifier=Notifier(systemd.path, PING_USEC))
    watchdog = server.services.systemd
    assert watchdog.stuck_after_s == STUCK_AFTER_S > READ_TIMEOUT_S + 10  # the unit's values
    watchdog.http_started()
    camera = server.camera("net")
    await server.wait_online("net")
    await wait_until(lambda: systemd.seen("READY"), 20, "READY=1")

    feed.stall()  # the connection stays open, nothing more arrives
    at_stall = pings(systemd)
    await wait_until(lambda: camera.status == "offline", 30, "net offline at the read timeout")
    assert camera.error == "no data within the read timeout"
    assert pings(systemd) > at_stall  # a read that times out is no hang: pings went on
    feed.resume()
    await wait_until(
        lambda: camera.status == "online",
        60,
        lambda: (
            f"net online again (connections {feed.connections}, sent {feed.frames_sent}, "
            f"status {camera.status}: {camera.error})"
        ),
    )
    assert feed.connections >= 2  # a new connection: the old one was given up
    assert camera.restarts >= 1
    assert pings(systemd) > at_stall + 3
    assert not [s for _, s in systemd.seen("STATUS") if "STUCK" in s["STATUS"]]
    assert watchdog.stuck() == []
