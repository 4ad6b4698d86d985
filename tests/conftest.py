from __future__ import annotations

import asyncio
import copy
import os
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from api.app import create_app
from api.cli import uvicorn_config
from api.config_store import load_layered
from api.sdnotify import Notifier
from api.services import Services
from api.settings import TLSConfig
from api.tls import certificate_files
from camera.webrtc import restrict_ice_addresses
from tests.waiting import wait_until as wait_until  # re-exported: tests import it from here


def unavailable(message: str) -> None:
    """A test that needs something this machine lacks: a failure under CI (the test
    command installs everything it needs), a skip naming the missing part elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


# Tests talk to loopback only: ICE host candidates are 127.0.0.1 (aioice skips it otherwise
# and would offer eth0, which is not ours to use).
restrict_ice_addresses(["127.0.0.1"])


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


PASSWORD = "correct-horse-battery-9"


class RunningServer:
    def __init__(
        self, app: Any, services: Services, base_url: str, client: httpx.AsyncClient
    ) -> None:
        self.app = app
        self.services = services
        self.base_url = base_url
        self.client = client  # authenticated as the admin "admin" with an API token
        self.uvicorn: uvicorn.Server | None = None
        self._clients: list[httpx.AsyncClient] = []
        self._stop: Callable[[], Any] | None = None

    async def stop(self) -> None:
        """Shut the server down now (a restart test starts another on the same data)."""
        assert self._stop is not None
        await self._stop()

    def camera(self, camera_id: str) -> Any:
        return self.services.cameras.get(camera_id)

    async def wait_online(self, camera_id: str, timeout: float = 20.0) -> None:
        camera = self.camera(camera_id)
        await wait_until(lambda: camera.status == "online", timeout, f"{camera_id} online")

    async def add_user(
        self, name: str, role: str = "viewer", cameras: list[str] | None = None
    ) -> None:
        accounts = self.services.accounts
        await self.services.db.run(
            lambda db: accounts.create_user(db, name, PASSWORD, role, cameras)  # type: ignore[arg-type]
        )

    async def token_for(self, name: str) -> str:
        accounts = self.services.accounts

        def create(db: Any) -> str:
            return accounts.create_token(db, accounts.get_user(db, name), "test", None)[0]

        return str(await self.services.db.run(create))

    def anonymous(self, **kwargs: Any) -> httpx.AsyncClient:
        kwargs.setdefault("verify", False)  # the TLS tests use a self-signed certificate
        client = httpx.AsyncClient(base_url=self.base_url, timeout=15, **kwargs)
        self._clients.append(client)
        return client

    async def client_for(self, name: str) -> httpx.AsyncClient:
        token = await self.token_for(name)
        return self.anonymous(headers={"Authorization": f"Bearer {token}"})

    async def browser_login(self, name: str) -> httpx.AsyncClient:
        """A cookie-authenticated client, logged in the way the dashboard does it."""
        client = self.anonymous(headers={"Origin": self.base_url})
        response = await client.post(
            "/api/auth/login", json={"username": name, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        return client

    async def close(self) -> None:
        for client in self._clients:
            await client.aclose()


def demo_config(**camera: Any) -> dict[str, Any]:
    base = {"id": "demo", "source": "demo", "audio": "demo", "width": 640, "height": 360}
    base.update(camera)
    return {"webrtc": {"ice_addresses": ["127.0.0.1"], "max_viewers": 3}, "cameras": [base]}


@pytest.fixture
async def start_server(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """Start a real uvicorn server on a loopback port in this event loop."""
    running: list[tuple[uvicorn.Server, asyncio.Task[None], RunningServer]] = []

    async def start(
        config: dict[str, Any],
        *,
        admin: bool = True,
        tls: bool = False,
        notifier: Notifier | None = None,
        data_dir: Path | None = None,
    ) -> RunningServer:
        """``data_dir``: reuse one (a restart); by default each server gets a new one.
        The config is layered like the real thing (the data dir's settings.yaml on top)."""
        data_dir = data_dir or tmp_path / f"data{len(running)}"
        loaded = load_layered(None, data_dir, file=copy.deepcopy(config), autodetect=False)
        services = Services(loaded, data_dir, notifier=notifier or Notifier(None))
        port = free_port()
        certificate = certificate_files(TLSConfig(self_signed=True), data_dir) if tls else None
        app = create_app(services)
        server = uvicorn.Server(uvicorn_config(app, "127.0.0.1", port, certificate))
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        task = asyncio.create_task(server.serve(), name=f"uvicorn-{port}")
        await wait_until(lambda: server.started or task.done(), 15, "uvicorn start")
        base_url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        client = httpx.AsyncClient(base_url=base_url, timeout=15, verify=False)
        running_server = RunningServer(app, services, base_url, client)
        running_server.uvicorn = server  # a test may stop it early (should_exit)
        running.append((server, task, running_server))

        async def stop() -> None:
            server.should_exit = True
            await asyncio.wait_for(task, 20)

        running_server._stop = stop
        if admin and not await services.db.run(
            lambda db: any(u.name == "admin" for u in services.accounts.list_users(db))
        ):
            await running_server.add_user("admin", role="admin")
        if admin:
            token = await running_server.token_for("admin")
            client.headers["Authorization"] = f"Bearer {token}"
        return running_server

    yield start
    for server, task, running_server in running:
        await running_server.client.aclose()
        await running_server.close()
        server.should_exit = True
        await asyncio.wait_for(task, 20)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Debian's Chromium through Playwright (never a downloaded browser)."""
    from playwright.async_api import async_playwright

    from tests.browser import CHROMIUM_ARGS

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        yield chromium
        await chromium.close()
