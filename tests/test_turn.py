"""TURN: logins minted from coturn's shared secret, against Debian's real coturn on loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aioice import stun, turn

from api.settings import parse_settings
from camera.config import WebRTCConfig
from camera.errors import ConfigError
from camera.ice import mint, resolve, turn_credential
from tests.turn import SECRET, Turn, coturn

pytestmark = pytest.mark.timeout(90)


class _Sink(asyncio.DatagramProtocol):
    pass


async def _allocate(port: int, username: str, password: str, transport: str = "udp") -> Any:
    relay, _ = await turn.create_turn_endpoint(
        _Sink, ("127.0.0.1", port), username, password, lifetime=600, transport=transport
    )
    address = relay.get_extra_info("sockname")
    relay.close()
    return address


def test_minted_login_follows_coturns_scheme() -> None:
    username, credential, expiry = mint("s" * 16, "u7", now=1000.0, ttl_seconds=600)
    assert (username, expiry) == ("1600:u7", 1600)
    # The reference value, computed by hand: base64(HMAC-SHA1(secret, username)).
    assert credential == turn_credential("s" * 16, "1600:u7")
    assert credential != turn_credential("t" * 16, "1600:u7")


def test_resolve_mints_only_for_secret_servers() -> None:
    config = WebRTCConfig.model_validate(
        {
            "turn_ttl_seconds": 120,
            "ice_servers": [
                {"urls": ["stun:127.0.0.1:3478"]},
                {"urls": ["turn:127.0.0.1:3478"], "username": "u", "credential": "c"},
                {"urls": ["turns:turn.example.org:443"], "auth_secret": "x" * 20},
            ],
        }
    )
    resolved = resolve(config, "u1", now=5000.0)
    stun_entry, fixed, minted = resolved.servers
    assert (stun_entry.username, fixed.username, fixed.credential) == (None, "u", "c")
    assert minted.username == "5120:u1"
    assert minted.credential == turn_credential("x" * 20, "5120:u1")
    assert resolved.expires_at == 5120
    assert resolve(WebRTCConfig(), "u1", now=0).expires_at is None


@pytest.mark.parametrize(
    ("server", "fragment"),
    [
        ({"urls": ["http://turn.example.org"]}, "not a stun:"),
        ({"urls": ["turn:h:3478"]}, "needs username/credential or auth_secret"),
        (
            {"urls": ["turn:h"], "auth_secret": "x" * 16, "username": "u", "credential": "c"},
            "not both",
        ),
        ({"urls": ["turn:h"], "username": "u"}, "go together"),
        ({"urls": ["turn:h"], "auth_secret": "short"}, "at least 16"),
        ({"urls": []}, "at least 1"),
    ],
)
def test_bad_ice_servers_are_refused(server: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        parse_settings({"webrtc": {"ice_servers": [server]}})


async def test_coturn_takes_minted_logins_and_refuses_expired_ones(tmp_path: Path) -> None:
    async with coturn(tmp_path / "turn") as server:
        username, password, _ = mint(SECRET, "u1", time.time(), 600)
        for transport in ("udp", "tcp"):
            host, _port = await _allocate(server.port, username, password, transport)
            assert host == "127.0.0.1"
        expired_user, expired_password, _ = mint(SECRET, "u1", time.time() - 700, 600)
        with pytest.raises(stun.TransactionFailed, match="401"):
            await _allocate(server.port, expired_user, expired_password)
        forged = f"{int(time.time()) + 600}:u1"
        with pytest.raises(stun.TransactionFailed, match="401"):
            await _allocate(server.port, forged, turn_credential("w" * 32, forged))


# The page plays the camera the way the dashboard does (whep.js, the server's ICE servers),
# told to use nothing but the TURN relay, and reports the path Chromium chose.
RELAY_PLAY = """async () => {
  const { WhepSession, rtcConfiguration } = await import('/whep.js');
  const config = await rtcConfiguration({ iceTransportPolicy: 'relay' });
  const session = new WhepSession('/api/cameras/demo/whep', config);
  const video = document.createElement('video');
  video.muted = true;
  document.body.append(video);
  video.srcObject = await session.start();
  await video.play();
  window.__relay = { session, video, config };
  return config.iceServers.map((s) => s.username);
}"""

RELAY_PATH = """async () => {
  const { session, video } = window.__relay;
  const report = await session.pc.getStats();
  let pair = null;
  report.forEach((s) => {
    if (s.type === 'transport') pair = report.get(s.selectedCandidatePairId);
  });
  const local = pair && report.get(pair.localCandidateId);
  return { frames: video.getVideoPlaybackQuality().totalVideoFrames, local: local?.candidateType };
}"""


@pytest.fixture
async def turn_server(tmp_path: Path) -> AsyncIterator[Turn]:
    """coturn for the length of the test; requested before start_server, so it stops
    after the server has hung up its peers (aioice waits on a dead TURN server)."""
    async with coturn(tmp_path / "turn") as server:
        yield server


@pytest.mark.browser
async def test_chromium_plays_through_the_relay_with_minted_login(
    turn_server: Turn, start_server: Any, browser: Any
) -> None:
    from tests.browser import logged_in_context, wait_js
    from tests.conftest import demo_config

    config = demo_config()
    config["webrtc"]["ice_servers"] = [{"urls": [turn_server.url], "auth_secret": SECRET}]
    config["webrtc"]["turn_ttl_seconds"] = 300
    server = await start_server(config)
    await server.wait_online("demo")
    settings = (await server.client.get("/api/webrtc")).json()
    expiry = settings["expires_at"]
    assert time.time() + 200 < expiry <= time.time() + 300
    assert settings["ice_servers"][0]["username"] == f"{expiry}:u1"
    assert SECRET not in str(settings)
    context = await logged_in_context(server, browser)
    page = await context.new_page()
    await page.goto(server.base_url + "/")
    usernames = await page.evaluate(RELAY_PLAY)
    assert usernames[0].endswith(":u1")
    await wait_js(page, "window.__relay.video.getVideoPlaybackQuality().totalVideoFrames > 10")
    path = await page.evaluate(RELAY_PATH)
    assert path["local"] == "relay"
    # coturn allocated the relay for the login Sentrycam minted for this user.
    assert f"user <{usernames[0]}>" in turn_server.log_text()

    # The dashboard's own tile goes direct (loopback host candidates) and says so; the
    # connection check finds the relay and names the path in use.
    await wait_js(page, "window.sentrycam.path?.demo === 'direct'")
    assert await page.get_by_test_id("path-demo").inner_text() == "Direct"
    await page.get_by_test_id("user-menu").click()
    await page.get_by_test_id("netcheck-open").click()
    await wait_js(page, "document.querySelector('#netcheck').dataset.state === 'done'")
    result = await page.evaluate("window.sentrycam.netcheck")
    assert result["summary"]["relay"] is True
    assert result["summary"]["host"] is True
    assert result["path"]["kind"] == "direct", result
    advice = await page.get_by_test_id("netcheck-advice").inner_text()
    assert "reaches the camera directly" in advice, result
    await context.close()
