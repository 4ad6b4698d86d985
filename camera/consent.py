"""Consent freshness (RFC 7675) that keeps a viewer whose link is slow but alive.

Every WebRTC peer must stop sending to an address that no longer answers: it sends a STUN
check every 5 s, and consent expires when no valid answer has arrived for 30 s (RFC 7675
section 5.1). aioice instead gives each check one try that must be answered within its
first retransmission timeout, 0.5 s, and closes the connection after six checks in a row
went unanswered in time. A viewer whose round trip is longer than half a second (a phone
on a congested mobile link, a TURN relay on another continent, the emulated test guest
under load) answers every check and is still hung up after about 30 s.

``install()`` replaces ``aioice.Connection.query_consent`` with the RFC's rule: a check
every 5 s (randomised by ±20 %), each one a STUN transaction on aioice's own
retransmission schedule (again at 0.5, 1.5, 3.5 and 7.5 s, given up at 15.5 s), and the
connection closes once no check has been answered for ``CONSENT_EXPIRY_S`` and the checks
sent meanwhile went unanswered (not merely unsent: see ``query_consent``). aioice has no
setting for this; like ``camera.webrtc.restrict_ice_addresses``, we replace a function.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from typing import Any

import aioice
from aioice import stun

logger = logging.getLogger(__name__)

CONSENT_INTERVAL_S = 5.0  # RFC 7675 section 5.1 (randomised by ±20 %)
CONSENT_EXPIRY_S = 30.0  # ... and no valid answer for this long ends consent,
UNANSWERED_CHECKS = 2  # ... once this many checks sent in that time went unanswered
CHECK_RETRANSMISSIONS = 4  # each check is answered within 15.5 s or counts as unanswered

AIOICE_QUERY_CONSENT = aioice.Connection.query_consent  # what install() replaces
_closing: set[asyncio.Task[None]] = set()


async def query_consent(connection: aioice.Connection) -> None:
    """aioice's ``Connection.query_consent``, with RFC 7675's expiry (module docstring).

    Silence alone does not end consent: checks sent since the last answer must have gone
    unanswered too. A process that could not run for a while (a stalled event loop, a
    starved Pi, a suspended VM) finds its checks unsent, not unanswered, and checks again
    before it gives up on a peer that may be answering all along."""
    assert connection.remote_password is not None  # connect() set it before calling this
    key = connection.remote_password.encode("utf8")
    answered = time.monotonic()
    unanswered = 0  # checks sent since the last answer that got none
    news = asyncio.Event()
    checks: set[asyncio.Task[None]] = set()

    async def check(pair: Any) -> None:
        nonlocal answered, unanswered
        request = connection.build_request(pair, nominate=False)
        sent = time.monotonic()
        try:
            await pair.protocol.request(
                request,
                pair.remote_addr,
                integrity_key=key,
                retransmissions=CHECK_RETRANSMISSIONS,
            )
        except (stun.TransactionError, OSError):
            # No answer, an error answer or a closed socket: nothing refreshed.
            if sent >= answered:
                unanswered += 1
                news.set()
            return
        answered = max(answered, time.monotonic())
        unanswered = 0

    try:
        next_check = time.monotonic() + _interval()
        while True:
            now = time.monotonic()
            expires = answered + CONSENT_EXPIRY_S
            if now >= expires and unanswered >= UNANSWERED_CHECKS:
                logger.info(
                    "ICE consent expired: no answer for %.0f s, %d checks unanswered",
                    now - answered,
                    unanswered,
                )
                # close() cancels and awaits this task: it runs once this one has returned.
                closing = asyncio.create_task(connection.close())
                _closing.add(closing)
                closing.add_done_callback(_closing.discard)
                return
            if now >= next_check:
                for pair in tuple(connection._nominated.values()):
                    task = asyncio.create_task(check(pair))
                    checks.add(task)
                    task.add_done_callback(checks.discard)
                next_check = now + _interval()
            wake = next_check if now >= expires else min(next_check, expires)
            news.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(news.wait(), wake - now)  # or a check gave up
    finally:
        for task in checks:
            task.cancel()


def _interval() -> float:
    return CONSENT_INTERVAL_S * (0.8 + 0.4 * random.random())


def install() -> None:
    """Make every aioice connection in this process (viewers, talk-back, WHIP) use
    ``query_consent``. Fails loudly if aioice no longer has the method it replaces."""
    if not callable(getattr(aioice.Connection, "query_consent", None)):
        raise RuntimeError("aioice.Connection.query_consent is gone: see camera/consent.py")
    setattr(aioice.Connection, "query_consent", query_consent)  # noqa: B010 (a method)
