"""DNS rebinding (allowed hosts) and the first-run setup throttle (issue 14)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from httpx_ws import WebSocketUpgradeError, aconnect_ws

from api.hosts import host_allowed
from tests.conftest import demo_config

OWN = frozenset({"pi4"})


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1:8080",
        "[::1]:8080",
        "192.168.1.20",
        "localhost:8080",
        "sentrycam",
        "pi4:8080",
        "sentrycam.local",
        "cam.lan:443",
        "cam.home.arpa",
        "cam.internal",
        "sentrycam.test",
    ],
)
def test_home_network_names_are_allowed_by_default(host: str) -> None:
    assert host_allowed(host, [], OWN)


@pytest.mark.parametrize(
    "host",
    ["evil.attacker.net", "evil.attacker.net:8080", "local.evil.attacker.net", "", "[::1", "a b"],
)
def test_public_names_need_configuring(host: str) -> None:
    assert not host_allowed(host, [], OWN)


def test_configured_names_and_wildcards() -> None:
    assert host_allowed("cam.example.com", ["cam.example.com"], OWN)
    assert host_allowed("a.b.example.com:8443", ["*.example.com"], OWN)
    assert not host_allowed("example.com.evil.attacker.net", ["*.example.com"], OWN)
    assert host_allowed("anything.example", ["*"], OWN)


async def test_a_rebound_name_reaches_neither_login_nor_websocket(start_server: Any) -> None:
    server = await start_server(demo_config(recording={"events": False}), admin=False)
    rebound = {"Host": "evil.attacker.net:8080", "Origin": "http://evil.attacker.net:8080"}
    client = server.anonymous(headers=rebound)
    body = {"username": "root", "password": "a-long-pass-phrase-1", "code": "AAAA-BBBB-CCCC"}
    for method, path in [("GET", "/login"), ("GET", "/api/auth/setup")]:
        response = await client.request(method, path)
        assert response.status_code == 400, (path, response.text)
        assert "allowed_hosts" in response.json()["detail"]
    assert (await client.post("/api/auth/setup", json=body)).status_code == 400
    assert (await client.post("/api/auth/login", json=body)).status_code == 400
    with pytest.raises(WebSocketUpgradeError):
        async with aconnect_ws(server.base_url + "/api/ws", client):
            pass
    # The real address still works.
    assert (await server.anonymous().get("/api/auth/setup")).status_code == 200


async def test_a_configured_public_name_is_answered(start_server: Any) -> None:
    config = demo_config(recording={"events": False})
    config["security"] = {"allowed_hosts": ["cam.example.com"]}
    server = await start_server(config, admin=False)
    client = server.anonymous(headers={"Host": "cam.example.com"})
    assert (await client.get("/api/auth/setup")).status_code == 200


async def test_one_address_guessing_cannot_lock_setup_for_another(start_server: Any) -> None:
    # Regression: the setup throttle had a global key, so ten wrong codes from anyone on the
    # LAN locked first-run setup for everybody for 15 minutes.
    config = demo_config(recording={"events": False})
    config["security"] = {"login_throttle": {"slow_after": 1, "lock_after": 2}}
    server = await start_server(config, admin=False)
    wrong = {"code": "AAAA-BBBB-CCCC", "username": "root", "password": "a-long-pass-phrase-1"}

    def from_address(address: str) -> httpx.AsyncClient:
        transport = httpx.AsyncHTTPTransport(local_address=address)
        return server.anonymous(headers={"Origin": server.base_url}, transport=transport)

    attacker = from_address("127.0.0.2")
    statuses = [(await attacker.post("/api/auth/setup", json=wrong)).status_code for _ in range(4)]
    assert statuses[0] == 403
    assert statuses[-1] == 429  # the guesser is slowed down ...
    owner = from_address("127.0.0.1")
    right = {**wrong, "code": server.services.setup_code}
    response = await owner.post("/api/auth/setup", json=right)
    assert response.status_code == 201, response.text  # ... the owner is not
