"""Signed webhooks: the event JSON POSTed to each configured URL with the Standard
Webhooks headers (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``: HMAC-SHA256
of ``id.timestamp.body`` with the configured secret, by the ``standardwebhooks`` library).
Admins configure the URLs, so private addresses are allowed (Home Assistant on the LAN).
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from standardwebhooks.webhooks import Webhook as Signer

from .config import Webhook
from .delivery import (
    Delivered,
    Delivery,
    DeliveryQueues,
    Failed,
    OnResult,
    Outcome,
    Retry,
    parse_retry_after,
)

if TYPE_CHECKING:
    import aiohttp  # imported only when webhooks are configured (about 8 MB resident)


class WebhookChannel:
    def __init__(self, webhooks: list[Webhook], on_result: OnResult) -> None:
        self.webhooks = {webhook.name: webhook for webhook in webhooks}
        self._signers = {webhook.name: Signer(webhook.secret) for webhook in webhooks}
        self._session: aiohttp.ClientSession | None = None
        self.queues = DeliveryQueues("webhook", self._attempt, on_result)

    async def start(self) -> None:
        if self.webhooks:
            import aiohttp

            self._session = aiohttp.ClientSession(trust_env=False)

    async def stop(self) -> None:
        await self.queues.close()
        if self._session is not None:
            await self._session.close()

    def send(self, delivery: Delivery) -> None:
        self.queues.put(delivery)

    def signed(self, name: str, body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        """The body and headers of one message (a new id and timestamp each time)."""
        data = json.dumps(body, separators=(",", ":")).encode()
        message_id = f"msg_{secrets.token_urlsafe(18)}"
        now = datetime.now(UTC)
        return data, {
            "Content-Type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": self._signers[name].sign(message_id, now, data),
        }

    async def _attempt(self, delivery: Delivery) -> Outcome:
        import aiohttp  # loaded by start()

        name = delivery.target.removeprefix("webhook:")
        webhook = self.webhooks[name]
        data, headers = self.signed(name, delivery.payload)
        assert self._session is not None, "start() first"
        try:
            async with self._session.post(
                webhook.url,
                data=data,
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=webhook.timeout_seconds),
            ) as response:
                status = response.status
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            return Retry(f"unreachable: {type(error).__name__}: {error}"[:300])
        if 200 <= status < 300:
            return Delivered(f"answered {status}")
        if status in (408, 429) or status >= 500:
            return Retry(f"answered {status}", retry_after)
        return Failed(f"answered {status}")
