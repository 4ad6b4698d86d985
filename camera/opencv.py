"""OpenCV, loaded on its first use.

``import cv2`` costs about 20 MB resident (the library, its own FFmpeg and OpenBLAS), and
only the detectors need it (``camera.motion``, ``camera.health``): a server whose cameras
all run without them (``motion.enabled: false``, ``health.frozen_seconds: 0``,
``health.tamper: false``, e.g. live-only ``copy`` cameras) never loads it. The detectors
work on 144 px frames, far too small for OpenCV's thread pool to pay: one thread.
"""

from __future__ import annotations

import importlib
import threading
from types import ModuleType
from typing import Any

_lock = threading.Lock()


class _OpenCV:
    """Stands in for the ``cv2`` module; the real one is imported on first attribute."""

    _module: ModuleType | None = None

    def __getattr__(self, name: str) -> Any:
        module = _OpenCV._module
        if module is None:
            with _lock:  # two cameras' reader threads may get here at once
                if _OpenCV._module is None:
                    loaded = importlib.import_module("cv2")
                    loaded.setNumThreads(1)
                    _OpenCV._module = loaded
                module = _OpenCV._module
        return getattr(module, name)


cv2 = _OpenCV()
