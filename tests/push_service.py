"""A Web Push service stand-in on loopback (an aiohttp server in the test's event loop).

It checks what a real push service and the browser check: the VAPID header (RFC 8292:
``Authorization: vapid t=<JWT>, k=<key>``, the ES256 signature against ``k``, ``aud`` =
the endpoint's origin, ``exp`` in the future and within 24 h, ``sub`` present), and
decrypts the ``aes128gcm`` payload (RFC 8291) with the subscription's private key, made
here the way a browser makes it. Each subscription can be told how to answer: 201, 404,
410, 429 with Retry-After, 500, slowly.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import http_ece
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """One browser's subscription: its key pair and auth secret, as a browser makes them."""

    token: str
    endpoint: str
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))
    answers: list[int] = field(default_factory=list)  # statuses to answer, then 201
    retry_after: str | None = None
    delay: float = 0.0
    gate: asyncio.Event | None = None  # answers only once it is set

    def subscription(self) -> dict[str, Any]:
        """``PushSubscription.toJSON()``."""
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)},
        }


@dataclass(frozen=True)
class Received:
    token: str
    status: int  # what the stand-in answered
    payload: dict[str, Any]
    headers: dict[str, str]
    claims: dict[str, Any]
    at: float  # time.time() when the request arrived


class PushServiceStandIn:
    """``deferred``: answer 201 at once and check and decrypt everything in ``finish()``
    (the benchmark: the stand-in's own cryptography would otherwise share the server's
    cores while it is measured); tests check each request before answering."""

    def __init__(self, deferred: bool = False) -> None:
        self.deferred = deferred
        self._raw: list[tuple[Browser, dict[str, str], bytes, float]] = []
        self.browsers: dict[str, Browser] = {}
        self.received: list[Received] = []
        self.refused: list[str] = []  # requests that failed a check: none expected
        self._runner: web.AppRunner | None = None
        self.origin = ""

    async def start(self) -> PushServiceStandIn:
        app = web.Application()
        app.router.add_post("/push/{token}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.origin = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def browser(self) -> Browser:
        token = secrets.token_urlsafe(12)
        browser = Browser(token, f"{self.origin}/push/{token}")
        self.browsers[token] = browser
        return browser

    def payloads(self, browser: Browser) -> list[dict[str, Any]]:
        """What ``browser`` was sent and accepted (2xx), in order."""
        return [r.payload for r in self.received if r.token == browser.token and r.status < 300]

    # ----- the checks ------------------------------------------------------------------------

    def _claims(self, authorization: str) -> dict[str, Any]:
        scheme, _, params = authorization.partition(" ")
        if scheme != "vapid":
            raise ValueError(f"Authorization scheme {scheme!r}, not vapid")
        values = dict(part.strip().split("=", 1) for part in params.split(",") if "=" in part)
        token, key = values["t"], values["k"]
        header_b64, claims_b64, signature_b64 = token.split(".")
        header = json.loads(unb64url(header_b64))
        if header.get("alg") != "ES256":
            raise ValueError(f"JWT alg {header.get('alg')!r}")
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
        signature = unb64url(signature_b64)
        if len(signature) != 64:
            raise ValueError("ES256 signature is not 64 bytes (r || s)")
        der = encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
        try:
            public.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise ValueError("JWT signature does not verify against k") from None
        claims: dict[str, Any] = json.loads(unb64url(claims_b64))
        if claims.get("aud") != self.origin:
            raise ValueError(f"aud {claims.get('aud')!r} is not {self.origin!r}")
        if not time.time() < float(claims["exp"]) <= time.time() + 24 * 3600:
            raise ValueError("exp is not within the next 24 hours")
        if not claims.get("sub"):
            raise ValueError("no sub")
        return claims

    def _check(
        self, browser: Browser, headers: dict[str, str], body: bytes, arrived: float, status: int
    ) -> str | None:
        """Check one request and record it; what is wrong with it, if anything."""
        try:
            claims = self._claims(headers.get("Authorization", ""))
            if headers.get("Content-Encoding") != "aes128gcm":
                raise ValueError("Content-Encoding is not aes128gcm")
            if "TTL" not in headers:
                raise ValueError("no TTL")
            plain = http_ece.decrypt(
                body, private_key=browser.key, auth_secret=browser.auth, version="aes128gcm"
            )
            payload = json.loads(plain)
        except (ValueError, KeyError, TypeError) as error:
            self.refused.append(f"{browser.token}: {error}")
            return str(error)
        kept = {k: v for k, v in headers.items() if k in ("TTL", "Urgency", "Topic")}
        self.received.append(Received(browser.token, status, payload, kept, claims, arrived))
        return None

    def taken(self) -> list[str]:
        """The tokens of the requests a deferred stand-in took, not checked yet."""
        return [browser.token for browser, *_ in self._raw]

    def finish(self) -> None:
        """Check the requests a deferred stand-in took without looking."""
        for browser, headers, body, arrived in self._raw:
            self._check(browser, headers, body, arrived, 201)
        self._raw.clear()

    async def _handle(self, request: web.Request) -> web.Response:
        arrived = time.time()
        browser = self.browsers.get(request.match_info["token"])
        if browser is None:
            return web.Response(status=404)
        if browser.delay:
            await asyncio.sleep(browser.delay)
        if browser.gate is not None:
            await browser.gate.wait()
        body = await request.read()
        headers = dict(request.headers)
        if self.deferred:
            self._raw.append((browser, headers, body, arrived))
            return web.Response(status=201)
        status = browser.answers.pop(0) if browser.answers else 201
        problem = self._check(browser, headers, body, arrived, status)
        if problem is not None:
            return web.Response(status=400, text=problem)
        retry = status == 429 and browser.retry_after
        return web.Response(
            status=status, headers={"Retry-After": browser.retry_after} if retry else {}
        )
