"""WebSocket messages framed once and written to many sockets (the live channel's fan-out).

A server's WebSocket frames are not masked, so one message is the same bytes on every
connection. ASGI has no way to say "send these bytes to that socket": each
``websocket.send`` goes through Starlette, uvicorn and websockets' framing again, about a
third of a send's cost when 1000 dashboards get the same event. uvicorn takes the class
of its WebSocket protocol as a setting (``Config(ws=...)``); this one is uvicorn's own
(websockets' sans-I/O protocol) plus an ASGI extension in the connection's scope,
``sentrycam.prepared_frames``, whose ``write`` puts a frame made by :func:`text_frame`
straight on the connection's transport.

``write`` only writes when the connection is open and its transport is taking data; it
returns False otherwise (closing, closed, or the client is not reading and the transport
has paused writing), and the caller sends the message the ordinary way, which waits or
fails as ASGI says. A frame written this way is a complete message (FIN set), so it never
interleaves with a message websockets is sending in fragments (uvicorn sends none).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode

logger = logging.getLogger(__name__)

EXTENSION = "sentrycam.prepared_frames"
# What write_prepared reads of uvicorn's protocol: a uvicorn without them (another
# release) offers no extension, and the live channel sends the ordinary way.
_STATE = ("handshake_complete", "close_sent", "disconnected", "initial_response", "writable")

WriteFrame = Callable[[bytes], bool]


def text_frame(text: str) -> bytes:
    """One complete, unmasked text frame (what a server sends), built by websockets."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False)


def frame_writer(scope: Mapping[str, Any]) -> WriteFrame | None:
    """The connection's ``write``, when the server offers the extension (uvicorn run the
    way ``sentrycam serve`` runs it); None under other servers and test clients."""
    extension = scope.get("extensions", {}).get(EXTENSION)
    return None if extension is None else extension["write"]


class PreparedFramesProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol, offering ``sentrycam.prepared_frames`` to the app."""

    warned = False

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        if not self.handshake_initiated or self.close_sent:
            return
        if not all(hasattr(self, name) for name in _STATE):
            if not PreparedFramesProtocol.warned:
                PreparedFramesProtocol.warned = True
                logger.warning("this uvicorn cannot take prepared WebSocket frames")
            return
        # The app's task is created but has not run yet: it sees the extension.
        self.scope["extensions"][EXTENSION] = {"write": self.write_prepared}

    def write_prepared(self, frame: bytes) -> bool:
        """Write ``frame`` now if the connection is open and writable; else False."""
        if (
            not self.handshake_complete
            or self.close_sent
            or self.disconnected
            or self.initial_response is not None
            or not self.writable.is_set()
            or self.transport.is_closing()
        ):
            return False
        self.transport.write(frame)
        return True
