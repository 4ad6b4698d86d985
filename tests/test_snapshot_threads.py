"""JPEG pictures of one frame from several threads at once (the reader thread's event
picture and a snapshot request): PyAV caches a scaler on the frame, and sharing it crashed
the whole process (found by the full suite). In a child process, so a crash is a failure
here, not the end of the run."""

from __future__ import annotations

import subprocess
import sys

STRESS = """
import threading, av, numpy as np
from camera.snapshots import encode_jpeg
frame = av.VideoFrame.from_ndarray(np.zeros((360, 640, 3), np.uint8), format="rgb24")
def work(width):
    for _ in range(60):
        assert encode_jpeg(frame, width=width)[:2] == b"\\xff\\xd8"
threads = [threading.Thread(target=work, args=(w,)) for w in (640, 320, 480, 160)]
[t.start() for t in threads]
[t.join() for t in threads]
"""


def test_one_frame_encoded_by_several_threads_at_once() -> None:
    done = subprocess.run([sys.executable, "-c", STRESS], capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
