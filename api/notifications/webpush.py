"""The Web Push channel (RFC 8030 delivery, RFC 8291 ``aes128gcm`` payloads, RFC 8292
VAPID). The encryption is pywebpush's (http-ece) and the JWT py-vapid's (``Vapid02``
sends ``Authorization: vapid t=..., k=...``), both run in a small dedicated thread pool;
the request goes out through aiohttp on the event loop, one queue and task per
subscription (``DeliveryQueues``), never following redirects, and only to public
addresses (``endpoints``).
"""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from py_vapid import Vapid02

from .delivery import (
    Delivered,
    Delivery,
    DeliveryQueues,
    Failed,
    Gone,
    OnResult,
    Outcome,
    Retry,
    parse_retry_after,
)
from .endpoints import UnsafeEndpoint, check_endpoint
from .store import PushTarget

if TYPE_CHECKING:
    import aiohttp  # imported when Web Push starts: about 8 MB a server without it never pays

JWT_LIFETIME_S = 12 * 3600  # Apple refuses more than a day
JWT_REUSE_S = 3600.0  # a signed JWT is used for this long, then signed anew
REQUEST_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class PushMessage:
    subscription: PushTarget
    payload: dict[str, Any]
    urgency: str  # "high" for alerts, "normal" for summaries and tests
    ttl: int


class WebPushChannel:
    def __init__(self, vapid: Vapid02, contact: str, insecure: bool, on_result: OnResult) -> None:
        self._vapid = vapid
        self._contact = contact
        self._insecure = insecure
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="notify-crypto")
        self._session: aiohttp.ClientSession | None = None
        # audience -> (reuse until, Authorization); written from the pool threads (a race
        # only signs twice)
        self._jwts: dict[str, tuple[float, str]] = {}
        self.queues = DeliveryQueues("push", self._attempt, on_result)

    async def start(self) -> None:
        import aiohttp

        from .resolver import connector_options

        connector = aiohttp.TCPConnector(**connector_options(self._insecure))
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
            trust_env=False,
        )

    async def stop(self) -> None:
        await self.queues.close()
        if self._session is not None:
            await self._session.close()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def send(self, delivery: Delivery) -> None:
        self.queues.put(delivery)

    def _prepare(self, message: PushMessage) -> tuple[bytes, dict[str, str]]:
        """Encrypt the payload and sign the JWT (in a pool thread: CPU work)."""
        from pywebpush import WebPusher  # with requests: loaded by the first push, not at start

        target = message.subscription
        info = {"endpoint": target.endpoint, "keys": {"p256dh": target.p256dh, "auth": target.auth}}
        body = json.dumps(message.payload, separators=(",", ":")).encode()
        encrypted: bytes = WebPusher(info).encode(body, "aes128gcm")["body"]
        parts = urlsplit(target.endpoint)
        headers = {"Authorization": self._authorization(f"{parts.scheme}://{parts.netloc}")}
        headers |= {
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(message.ttl),
            "Urgency": message.urgency,
        }
        return encrypted, headers

    def _authorization(self, audience: str) -> str:
        """``vapid t=<JWT>, k=<key>`` for a push service, signed again once an hour (one
        signature serves every subscription at that service meanwhile)."""
        now = time.time()
        cached = self._jwts.get(audience)
        if cached is not None and cached[0] > now:
            return cached[1]
        claims = {"sub": self._contact, "aud": audience, "exp": int(now) + JWT_LIFETIME_S}
        value = str(self._vapid.sign(claims)["Authorization"])
        self._jwts[audience] = (now + JWT_REUSE_S, value)
        return value

    async def _attempt(self, delivery: Delivery) -> Outcome:
        import aiohttp  # loaded by start()

        message: PushMessage = delivery.payload
        endpoint = message.subscription.endpoint
        try:
            check_endpoint(endpoint, self._insecure)
        except UnsafeEndpoint as error:
            return Failed(str(error))
        loop = asyncio.get_running_loop()
        body, headers = await loop.run_in_executor(self._executor, self._prepare, message)
        if delivery.topic:
            headers["Topic"] = delivery.topic
        assert self._session is not None, "start() first"
        try:
            async with self._session.post(
                endpoint, data=body, headers=headers, allow_redirects=False
            ) as response:
                text = (await response.text(errors="replace"))[:200]
                status = response.status
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            return Retry(f"push service unreachable: {type(error).__name__}: {error}"[:300])
        return classify(status, text, retry_after)


def classify(status: int, text: str, retry_after: float | None) -> Outcome:
    """What a push service's answer means (RFC 8030 section 5, and what services do)."""
    said = f"push service answered {status}" + (f": {text.strip()}" if text.strip() else "")
    if status in (200, 201, 202):
        return Delivered(f"push service answered {status}")
    if status in (404, 410):
        return Gone(said)
    if status == 429 or status >= 500:
        return Retry(said, retry_after)
    return Failed(said)  # 400 bad request, 401/403 VAPID refused, 413 too large
