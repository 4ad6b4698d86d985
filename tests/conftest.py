from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from api.app import create_app
from api.services import Services
from camera.config import parse_settings
from camera.manager import LoadedConfig
from camera.webrtc import restrict_ice_addresses

# Tests talk to loopback only: ICE host candidates are 127.0.0.1 (aioice skips it otherwise
# and would offer eth0, which is not ours to use).
restrict_ice_addresses(["127.0.0.1"])


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def wait_until(predicate: Callable[[], Any], timeout: float = 15.0, what: str = "") -> Any:
    """Poll a state (not a clock) until it holds, with a deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        await asyncio.sleep(0.02)


class RunningServer:
    def __init__(self, services: Services, base_url: str, client: httpx.AsyncClient) -> None:
        self.services = services
        self.base_url = base_url
        self.client = client

    def camera(self, camera_id: str) -> Any:
        return self.services.cameras.get(camera_id)

    async def wait_online(self, camera_id: str, timeout: float = 20.0) -> None:
        camera = self.camera(camera_id)
        await wait_until(lambda: camera.status == "online", timeout, f"{camera_id} online")


def demo_config(**camera: Any) -> dict[str, Any]:
    base = {"id": "demo", "source": "demo", "audio": "demo", "width": 640, "height": 360}
    base.update(camera)
    return {"webrtc": {"ice_addresses": ["127.0.0.1"], "max_viewers": 3}, "cameras": [base]}


@pytest.fixture
async def start_server(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """Start a real uvicorn server on a loopback port in this event loop."""
    running: list[tuple[uvicorn.Server, asyncio.Task[None], httpx.AsyncClient]] = []

    async def start(config: dict[str, Any]) -> RunningServer:
        settings = parse_settings(config)
        services = Services(LoadedConfig(settings, "file", None), tmp_path / "data")
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(create_app(services), host="127.0.0.1", port=port, log_config=None)
        )
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        task = asyncio.create_task(server.serve(), name=f"uvicorn-{port}")
        await wait_until(lambda: server.started or task.done(), 15, "uvicorn start")
        base_url = f"http://127.0.0.1:{port}"
        client = httpx.AsyncClient(base_url=base_url, timeout=15)
        running.append((server, task, client))
        return RunningServer(services, base_url, client)

    yield start
    for server, task, client in running:
        await client.aclose()
        server.should_exit = True
        await asyncio.wait_for(task, 20)
