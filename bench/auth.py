"""Credentials for a freshly started server: none if it has no login, else the first admin.

A Sentrycam with an empty data directory prints a one-time setup code in its log; the
benchmark reads it and creates an admin with a throwaway password (``POST /api/auth/setup``),
exactly as a person would in the dashboard. The session cookie and CSRF token it gets back
are handed to every HTTP client, viewer process and browser context of the run.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

SESSION_COOKIE = "sentrycam_session"
CSRF_HEADER = "X-CSRF-Token"
SETUP_CODE = re.compile(r"setup code ([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})")
BENCH_USER = "bench"
ENV_VAR = "SENTRYCAM_BENCH_CREDENTIALS"


@dataclass(frozen=True)
class Credentials:
    cookies: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def client(self, base_url: str, timeout: float = 10.0) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=base_url, timeout=timeout, cookies=self.cookies, headers=self.headers
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | None) -> Credentials:
        return cls(**json.loads(text)) if text else cls()


async def _setup_code(log_path: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = await asyncio.to_thread(log_path.read_text, encoding="utf-8", errors="replace")
        if match := SETUP_CODE.search(text):
            return match.group(1)
        await asyncio.sleep(0.2)
    raise TimeoutError(f"the server needs a login but printed no setup code in {log_path}")


async def log_in(base_url: str, log_path: Path, timeout: float = 10.0) -> Credentials:
    """Credentials that let this benchmark use every API of a fresh server."""
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout) as client:
        if (await client.get("/api/cameras")).status_code == 200:
            return Credentials()  # no access control (or the baseline server)
        code = await _setup_code(log_path, timeout)
        password = secrets.token_urlsafe(24)
        body = {"code": code, "username": BENCH_USER, "password": password}
        response = await client.post("/api/auth/setup", json=body)
        if response.status_code != 201:
            raise RuntimeError(f"first-admin setup refused: {response.status_code} {response.text}")
        cookie = response.cookies.get(SESSION_COOKIE)
        if cookie is None:
            raise RuntimeError("first-admin setup set no session cookie")
        csrf = response.json().get("csrf_token")
        return Credentials({SESSION_COOKIE: cookie}, {CSRF_HEADER: csrf} if csrf else {})
