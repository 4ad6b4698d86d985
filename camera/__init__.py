"""Capture and media pipeline: sources, the shared encoder, packet hubs, WebRTC viewers."""

__version__ = "0.1.0"
