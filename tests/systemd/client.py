"""The viewer side of the real-systemd proof (tests/systemd/run.sh), run inside the
container with the installed sentrycam's Python: HTTP with a token, a WHEP viewer that
decodes frames, the unit's STATUS while watching, a finished event clip, /api/system."""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
import urllib.request
from typing import Any

import av
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from camera.webrtc import restrict_ice_addresses

BASE = "http://127.0.0.1:8080"


def request(token: str, method: str, path: str, body: bytes | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    if body is not None:
        headers["Content-Type"] = "application/sdp"
    req = urllib.request.Request(BASE + path, data=body, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=15) as response:
        text = response.read().decode()
        if response.headers.get("Content-Type", "").startswith("application/json"):
            return json.loads(text)
        return text, dict(response.headers)


def unit_status() -> str:
    return subprocess.run(
        ["systemctl", "show", "-p", "StatusText", "--value", "sentrycam"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


async def watch(token: str) -> dict[str, Any]:
    restrict_ice_addresses(["127.0.0.1"])
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("video", direction="recvonly")
    tracks: list[Any] = []
    pc.on("track", tracks.append)
    await pc.setLocalDescription(await pc.createOffer())
    answer, headers = await asyncio.to_thread(
        request, token, "POST", "/api/cameras/demo/whep", pc.localDescription.sdp.encode()
    )
    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    started = time.monotonic()
    frames = 0
    size = None
    while frames < 30:
        frame = await asyncio.wait_for(tracks[0].recv(), 15)
        assert isinstance(frame, av.VideoFrame)
        frames += 1
        size = (frame.width, frame.height)
    # STATUS= is brought up to date every few seconds: watch on until it counts us.
    deadline = time.monotonic() + 20
    status_while_watching = await asyncio.to_thread(unit_status)
    while "1 viewer" not in status_while_watching and time.monotonic() < deadline:
        await asyncio.wait_for(tracks[0].recv(), 15)
        frames += 1
        status_while_watching = await asyncio.to_thread(unit_status)
    elapsed = time.monotonic() - started
    await asyncio.to_thread(request, token, "DELETE", headers["location"])
    await pc.close()
    return {
        "frames_decoded": frames,
        "size": size,
        "seconds": round(elapsed, 1),
        "status_while_watching": status_while_watching,
    }


def wait_for_clip(token: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = request(token, "GET", "/api/recordings?kind=clip")
        done = [r for r in page["recordings"] if r["state"] == "complete"]
        if done:
            return done[0]
        time.sleep(1)
    raise SystemExit("no complete clip within the deadline")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--token", required=True)
    token = parser.parse_args().token
    report: dict[str, Any] = {"cameras": request(token, "GET", "/api/cameras")["cameras"]}
    report["viewer"] = asyncio.run(watch(token))
    print(json.dumps(report["viewer"]), flush=True)
    clip = wait_for_clip(token)
    report["clip"] = {k: clip[k] for k in ("id", "duration", "size", "sha256", "state")}
    report["system"] = request(token, "GET", "/api/system")
    json.dump(report, sys.stdout, indent=1)
    print()
    ok = (
        report["cameras"][0]["status"] == "online"
        and report["viewer"]["frames_decoded"] >= 30
        and "1 viewer" in report["viewer"]["status_while_watching"]
        and clip["size"] > 0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
