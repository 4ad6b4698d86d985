"""Apprise notifiers (ntfy, Telegram, e-mail, Pushover, Gotify, ...): one ``Apprise``
object per configured URL, called in a small dedicated thread pool (the library is
synchronous), with the event's snapshot attached where the service takes one."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .config import AppriseTarget
from .delivery import Delivered, Delivery, DeliveryQueues, Failed, OnResult, Outcome, Retry

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AppriseMessage:
    title: str
    body: str
    attachment: Path | None


class AppriseChannel:
    def __init__(
        self,
        targets: list[AppriseTarget],
        on_result: OnResult,
        prepare: Callable[[], Awaitable[None]],
    ) -> None:
        """``prepare`` runs before each delivery (the event store's flush: the snapshot
        must be on disk before it is attached)."""
        self.targets = targets
        self._prepare = prepare
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="notify-apprise")
        self.queues = DeliveryQueues("apprise", self._attempt, on_result, max_attempts=3)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self.queues.close()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def send(self, delivery: Delivery) -> None:
        self.queues.put(delivery)

    def _notify(self, url: str, message: AppriseMessage) -> bool:
        """One notification through one Apprise URL (in a pool thread)."""
        import apprise  # loaded by the first notification that needs it, not at start

        notifier = apprise.Apprise()
        if not notifier.add(url):
            raise ValueError("Apprise does not understand this URL")
        attach = None
        if message.attachment is not None and message.attachment.is_file():
            attach = apprise.AppriseAttachment(str(message.attachment))
        return bool(notifier.notify(body=message.body, title=message.title, attach=attach))

    async def _attempt(self, delivery: Delivery) -> Outcome:
        index = int(delivery.target.removeprefix("apprise:"))
        url = self.targets[index].url
        if delivery.attempts == 1 and delivery.payload.attachment is not None:
            await self._prepare()
        loop = asyncio.get_running_loop()
        try:
            ok = await loop.run_in_executor(self._executor, self._notify, url, delivery.payload)
        except ValueError as error:
            return Failed(str(error))
        return Delivered() if ok else Retry("the service refused it (see the server log)")
