"""The camera package's exceptions.

    SentrycamError
    ├── ConfigError              bad config file or value (start-up refuses to run)
    ├── WrongThread              code ran on a thread that does not own what it touched
    │                            (camera.threads; a bug, never expected)
    └── CameraError              anything about one camera
        ├── UnknownCamera        no camera with that id
        ├── CameraOffline        the source is not delivering (yet, or any more)
        ├── ViewerLimitReached   the camera's viewer cap is full
        ├── BadOffer             a WebRTC offer we cannot answer (malformed, no usable codec)
        ├── NotAWebcam           V4L2 controls asked of a camera that is no webcam
        ├── DeviceUnavailable    (camera.v4l2) the webcam is not connected
        ├── ModeUnavailable      (camera.modes) the configured mode is not offered
        └── ControlError         (camera.controls) a control name or value is refused

The API maps them to HTTP statuses in one place (``api.errors``).
"""

from __future__ import annotations


class SentrycamError(Exception):
    """Base of every error Sentrycam raises on purpose."""


class ConfigError(SentrycamError):
    """The configuration is invalid; the message names the key and what is allowed."""


class CameraError(SentrycamError):
    """Something about one camera."""


class UnknownCamera(CameraError):
    pass


class CameraOffline(CameraError):
    pass


class ViewerLimitReached(CameraError):
    pass


class BadOffer(CameraError):
    pass


class NotAWebcam(CameraError):
    pass
