"""Messages framed once and written straight to each live-channel socket (api.prepared_frames)."""

from __future__ import annotations

import pytest
from httpx_ws import aconnect_ws
from websockets.frames import Frame
from websockets.server import ServerProtocol
from websockets.streams import StreamReader

from api.prepared_frames import frame_writer, text_frame
from api.services.live_channel import LiveChannel
from tests.test_live_channel import quiet_demo
from tests.waiting import wait_until


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65_535, 65_536, 70_000])
def test_a_prepared_frame_is_what_websockets_sends(size: int) -> None:
    # Every length encoding (7-bit, 16-bit, 64-bit) and non-ASCII text.
    text = ("é" * size)[:size]
    protocol = ServerProtocol()
    protocol.state = protocol.state.OPEN  # past the handshake
    protocol.send_text(text.encode())
    assert text_frame(text) == b"".join(protocol.data_to_send())
    # And it parses back, unmasked, to the same message.
    reader = StreamReader()
    reader.feed_data(text_frame(text))
    parser = Frame.parse(reader.read_exact, mask=False)
    with pytest.raises(StopIteration) as parsed:
        next(parser)
    assert parsed.value.value.data.decode() == text


def test_other_servers_offer_no_writer() -> None:
    assert (
        frame_writer({"type": "websocket", "extensions": {"websocket.http.response": {}}}) is None
    )
    assert frame_writer({"type": "websocket"}) is None


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
async def test_live_connections_write_prepared_frames_until_the_socket_closes(start_server, tls):
    server = await start_server(quiet_demo(), tls=tls)
    live: LiveChannel = server.services.live
    async with aconnect_ws(server.base_url + "/api/ws", server.client) as ws:
        hello = await ws.receive_json(timeout=10)
        assert hello["type"] == "hello"
        (connection,) = live.connections
        assert connection.write_frame is not None  # the server sentrycam runs offers it
        assert connection.write_frame(text_frame('{"type":"probe"}'))
        assert await ws.receive_json(timeout=10) == {"type": "probe"}
    # Closed by the client: nothing more is written (the caller falls back, and fails).
    await wait_until(lambda: not live.connections, timeout=10)
    assert not connection.write_frame(text_frame('{"type":"probe"}'))
