"""Debian's Janus gateway on loopback, as a fixture, and a viewer that watches through it.

Janus runs with a configuration folder of its own: only the HTTP transport (on a free
loopback port) and the Streaming plugin, with one ``rtp`` mountpoint whose video and audio
ports Sentrycam publishes to. ``JanusClient`` speaks Janus's own HTTP API (create, attach,
message, long-poll for events), not WHIP: it asks the plugin what it receives, and
``watch`` makes it a WebRTC viewer (an aiortc peer answering Janus's offer).

ICE on loopback: Janus skips every interface flagged loopback when it gathers candidates,
whatever ``ice_enforce_list`` says (src/ice.c), so on a machine where tests may only use
127.0.0.1 it would offer none. tests/janus_loopback.c, compiled here and preloaded into
Janus alone, clears that flag in ``getifaddrs()``; ``ice_enforce_list = "lo"`` then keeps
Janus to 127.0.0.1, and the test process's aioice offers 127.0.0.1 (tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import secrets
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from tests.processes import stop_process
from tests.waiting import wait_until
from tests.whep_client import Viewer

MOUNTPOINT = 1
SHIM = Path(__file__).with_name("janus_loopback.c")


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Janus:
    http_port: int
    video_port: int
    audio_port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/janus"


def _configs(folder: Path, janus: Janus, libdir: str, rtp_low: int) -> None:
    plugins = [Path(p).name for p in glob.glob(f"{libdir}/plugins/*.so")]
    transports = [Path(p).name for p in glob.glob(f"{libdir}/transports/*.so")]
    disabled_plugins = ",".join(p for p in plugins if "streaming" not in p)
    disabled_transports = ",".join(t for t in transports if "http" not in t)
    (folder / "janus.jcfg").write_text(
        f"""general: {{
  configs_folder = "{folder}"
  plugins_folder = "{libdir}/plugins"
  transports_folder = "{libdir}/transports"
  events_folder = "{libdir}/events"
  loggers_folder = "{libdir}/loggers"
  debug_level = 4
  admin_secret = "{secrets.token_hex(8)}"
  protected_folders = []
}}
media: {{
  ipv6 = false
  rtp_port_range = "{rtp_low}-{rtp_low + 100}"
}}
nat: {{
  ice_enforce_list = "lo"
  full_trickle = false
  ice_lite = false
  ignore_mdns = true
}}
plugins: {{ disable = "{disabled_plugins}" }}
transports: {{ disable = "{disabled_transports}" }}
events: {{ broadcast = false }}
loggers: {{ disable = "libjanus_jsonlog.so" }}
"""
    )
    (folder / "janus.transport.http.jcfg").write_text(
        f"""general: {{
  json = "compact"
  base_path = "/janus"
  http = true
  port = {janus.http_port}
  ip = "127.0.0.1"
  https = false
}}
admin: {{ admin_http = false }}
"""
    )
    (folder / "janus.plugin.streaming.jcfg").write_text(
        f"""general: {{ }}
sentrycam: {{
  type = "rtp"
  id = {MOUNTPOINT}
  description = "Sentrycam camera"
  audio = true
  video = true
  audioport = {janus.audio_port}
  audioiface = "127.0.0.1"
  audiopt = 111
  audiocodec = "opus"
  videoport = {janus.video_port}
  videoiface = "127.0.0.1"
  videopt = 96
  videocodec = "h264"
  videofmtp = "profile-level-id=42e01f;packetization-mode=1"
  videobufferkf = false
}}
"""
    )


async def _loopback_shim(directory: Path) -> Path:
    """Compile tests/janus_loopback.c (Janus's candidates on 127.0.0.1) into ``directory``."""
    compiler = shutil.which("cc")
    assert compiler, "a C compiler is missing: apt-get install gcc (tests/run.sh does it)"
    library = directory / "janus_loopback.so"
    command = [compiler, "-shared", "-fPIC", "-O2", "-o", str(library), str(SHIM), "-ldl"]
    done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return library


@contextlib.asynccontextmanager
async def janus_gateway(directory: Path) -> AsyncIterator[Janus]:
    binary = shutil.which("janus")
    assert binary, "Janus is missing: apt-get install janus (tests/run.sh does it)"
    libdirs = glob.glob("/usr/lib/*/janus")
    assert libdirs, "Janus's plugins are not where Debian puts them"
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    janus = Janus(
        _free_port(socket.SOCK_STREAM),
        _free_port(socket.SOCK_DGRAM),
        _free_port(socket.SOCK_DGRAM),
        directory / "janus.log",
    )
    rtp_low = 20000 + janus.http_port % 10000  # below the kernel's ephemeral ports
    _configs(directory, janus, libdirs[0], rtp_low)
    preload = await _loopback_shim(directory)
    log = await asyncio.to_thread(janus.log.open, "wb")
    args = [binary, "-F", str(directory), "--log-stdout"]
    process = await asyncio.to_thread(
        subprocess.Popen,
        args,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "LD_PRELOAD": str(preload)},
    )
    try:
        async with httpx.AsyncClient(timeout=5) as client:

            async def up() -> bool:
                if process.poll() is not None:
                    return True
                with contextlib.suppress(httpx.HTTPError):
                    return (await client.get(f"{janus.url}/info")).status_code == 200
                return False

            await wait_until(up, 20, "Janus answering")
        assert process.poll() is None, janus.log.read_text(errors="replace")[-3000:]
        yield janus
    finally:
        await stop_process(process)
        log.close()


@dataclass
class JanusViewer(Viewer):
    """A WebRTC viewer of the mountpoint (``location``: its Janus handle) and Janus's offer."""

    offer: str = ""


class JanusClient:
    """A Streaming plugin handle through Janus's HTTP API."""

    def __init__(self, janus: Janus) -> None:
        self._janus = janus
        self._client = httpx.AsyncClient(timeout=40)  # above Janus's 30 s long poll
        self._session_url = ""
        self._handle_url = ""
        self.events: list[dict[str, Any]] = []  # everything the long poll brought

    async def _post(
        self, url: str, body: dict[str, Any], expect: str = "success"
    ) -> dict[str, Any]:
        response = await self._client.post(url, json={**body, "transaction": secrets.token_hex(6)})
        answer: dict[str, Any] = response.json()
        assert answer.get("janus") == expect, answer
        return answer

    async def attach(self) -> None:
        created = await self._post(self._janus.url, {"janus": "create"})
        self._session_url = f"{self._janus.url}/{created['data']['id']}"
        attached = await self._post(
            self._session_url, {"janus": "attach", "plugin": "janus.plugin.streaming"}
        )
        self._handle_url = f"{self._session_url}/{attached['data']['id']}"

    async def mountpoint(self) -> dict[str, Any]:
        """The plugin's ``info`` on our mountpoint: its media, codecs, packet ages."""
        answer = await self._post(
            self._handle_url,
            {"janus": "message", "body": {"request": "info", "id": MOUNTPOINT}},
        )
        info: dict[str, Any] = answer["plugindata"]["data"]["info"]
        return info

    async def _request(
        self, body: dict[str, Any], jsep: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """An asynchronous plugin request: Janus acks it, the result comes as an event."""
        message: dict[str, Any] = {"janus": "message", "body": body}
        if jsep is not None:
            message["jsep"] = jsep
        transaction = secrets.token_hex(6)
        response = await self._client.post(
            self._handle_url, json={**message, "transaction": transaction}
        )
        assert response.json().get("janus") == "ack", response.text
        while True:
            polled = await self._client.get(self._session_url, params={"maxev": 5})
            events: list[dict[str, Any]] | dict[str, Any] = polled.json()
            for event in events if isinstance(events, list) else [events]:
                self.events.append(event)
                if event.get("janus") == "event" and event.get("transaction") == transaction:
                    data: dict[str, Any] = event["plugindata"]["data"]
                    assert "error" not in data, data
                    return event

    async def watch(self) -> JanusViewer:
        """Watch the mountpoint: Janus offers, an aiortc peer answers, ``start`` plays."""
        event = await self._request({"request": "watch", "id": MOUNTPOINT})
        offer = event["jsep"]
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        viewer = JanusViewer(pc, self._handle_url, offer=offer["sdp"])

        @viewer.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            viewer.tracks[track.kind] = track

        await viewer.pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], offer["type"]))
        await viewer.pc.setLocalDescription(await viewer.pc.createAnswer())
        answer = {"type": "answer", "sdp": viewer.pc.localDescription.sdp}
        await self._request({"request": "start"}, jsep=answer)
        # aiortc put every candidate in the answer; tell Janus there are no more.
        await self._post(
            self._handle_url, {"janus": "trickle", "candidate": {"completed": True}}, "ack"
        )
        return viewer

    async def close(self) -> None:
        with contextlib.suppress(httpx.HTTPError, AssertionError):
            await self._post(self._session_url, {"janus": "destroy"})
        await self._client.aclose()
