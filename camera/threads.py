"""Which thread may touch what: the event loop, or a camera's reader threads.

Media work (demux, decode, encode, the detectors) runs in reader threads and must never run
on the event loop, which would stall every viewer and request. Hubs, subscriptions,
recorders and anything with asyncio objects belong to the loop and must never be touched
from a reader thread, which would corrupt them silently. These checks make a violation a
loud :class:`WrongThread` at the call that commits it, in tests and in production alike;
they cost one C call.
"""

from __future__ import annotations

import asyncio

from .errors import SentrycamError


class WrongThread(SentrycamError):
    """Code ran on a thread that does not own the state it touched (a bug)."""


def on_loop() -> bool:
    """True on a thread that is running an asyncio event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def require_loop(what: str) -> None:
    if not on_loop():
        raise WrongThread(f"{what} belongs to the event loop; use call_soon_threadsafe")


def forbid_loop(what: str) -> None:
    if on_loop():
        raise WrongThread(f"{what} does media work and must not run on the event loop")
