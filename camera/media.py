"""Typing aliases for PyAV objects (its stubs make ``Packet`` generic, the runtime does not)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

import av

if TYPE_CHECKING:
    Packet: TypeAlias = av.Packet[Any]
else:
    Packet = av.Packet
