"""The long-lived objects the routes work with, built from settings and owned by the app."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from camera.manager import CameraManager, LoadedConfig
from camera.webrtc import WebRTCService


@dataclass
class Services:
    config: LoadedConfig
    data_dir: Path
    cameras: CameraManager = field(init=False)
    webrtc: WebRTCService = field(init=False)

    def __post_init__(self) -> None:
        self.cameras = CameraManager(self.config.settings)
        self.webrtc = WebRTCService(self.config.settings.webrtc)

    async def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.cameras.start(asyncio.get_running_loop())

    async def stop(self) -> None:
        # Viewers first (they hold subscriptions), then the sources and encoders.
        await self.webrtc.close_all()
        await self.cameras.stop()
