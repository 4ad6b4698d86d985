"""Login throttling: slow down, then lock, per client address and per user."""

from __future__ import annotations

import pytest

from api.settings import ThrottleConfig
from api.throttle import LoginThrottle
from tests.conftest import PASSWORD, demo_config


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failures_slow_down_then_lock_then_expire():
    clock = Clock()
    throttle = LoginThrottle(
        ThrottleConfig(slow_after=3, lock_after=6, window_minutes=15, lock_minutes=10), clock
    )
    for _ in range(2):
        throttle.failed("ip:a")
    assert throttle.retry_after("ip:a") == 0
    throttle.failed("ip:a")
    assert throttle.retry_after("ip:a") == pytest.approx(1)
    throttle.failed("ip:a")
    assert throttle.retry_after("ip:a") == pytest.approx(2)  # doubling
    throttle.failed("ip:a")
    throttle.failed("ip:a")
    assert throttle.retry_after("ip:a") == pytest.approx(600)  # locked
    clock.now += 599
    assert throttle.retry_after("ip:a") == pytest.approx(1)
    clock.now += 2
    assert throttle.retry_after("ip:a") == 0
    assert throttle.retry_after("ip:b") == 0  # others never affected


def test_success_forgives():
    throttle = LoginThrottle(ThrottleConfig(slow_after=1, lock_after=5), Clock())
    throttle.failed("user:x")
    assert throttle.retry_after("user:x") > 0
    throttle.succeeded("user:x")
    assert throttle.retry_after("user:x") == 0


def proxied(config: dict) -> dict:
    config["security"] = {
        "trusted_proxies": ["127.0.0.1/32"],
        "login_throttle": {"slow_after": 3, "lock_after": 5, "lock_minutes": 15},
    }
    return config


async def login(server, user: str, password: str, client_ip: str):
    return await server.anonymous().post(
        "/api/auth/login",
        json={"username": user, "password": password},
        headers={"X-Forwarded-For": client_ip},
    )


async def test_one_address_guessing_many_users_is_locked(start_server):
    server = await start_server(proxied(demo_config()))
    statuses = [
        (await login(server, f"user{i}", "wrong-password", "198.51.100.7")).status_code
        for i in range(8)
    ]
    assert statuses[:3] == [401, 401, 401]
    assert 429 in statuses[3:]
    response = await login(server, "admin", PASSWORD, "198.51.100.7")
    assert response.status_code == 429  # even the right password: no oracle while throttled
    assert int(response.headers["retry-after"]) >= 1
    # Another address, and the reverse proxy itself, are not locked out.
    assert (await login(server, "admin", PASSWORD, "198.51.100.8")).status_code == 200
    direct = await server.anonymous().post(
        "/api/auth/login", json={"username": "admin", "password": PASSWORD}
    )
    assert direct.status_code == 200


async def test_one_user_guessed_from_many_addresses_is_locked(start_server):
    server = await start_server(proxied(demo_config()))
    statuses = [
        (await login(server, "admin", "wrong-password", f"203.0.113.{i}")).status_code
        for i in range(8)
    ]
    assert 429 in statuses
    assert (await login(server, "admin", PASSWORD, "203.0.113.99")).status_code == 429
    audit = (await server.client.get("/api/audit", params={"limit": 50})).json()
    actions = {entry["action"] for entry in audit}
    assert {"login_failed", "login_throttled"} <= actions
    assert any(entry["client"] == "203.0.113.0" for entry in audit)


async def test_untrusted_peer_cannot_spoof_its_address(start_server):
    server = await start_server(demo_config())  # no trusted proxies
    for i in range(6):
        await login(server, "admin", "wrong-password", f"192.0.2.{i}")
    # Every attempt counted against 127.0.0.1, whatever X-Forwarded-For said.
    assert (await login(server, "admin", PASSWORD, "192.0.2.200")).status_code == 429
    audit = (await server.client.get("/api/audit")).json()
    assert {entry["client"] for entry in audit if entry["action"] == "login_failed"} == {
        "127.0.0.1"
    }
