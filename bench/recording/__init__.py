"""Recording: what it costs the server, how much it writes, and how soon a clip is ready.

    .venv/bin/python -m bench.recording           # about 5 minutes
    .venv/bin/python -m bench.recording --quick   # about 75 seconds

One demo camera (1280x720, 30 fps, libx264, ``audio: demo``, motion detection on) per
server. Each recording mode (event clips with nothing to record, event clips, continuous
10 s segments; and recording off itself, as a control) runs in one server **beside a
recording-off server, at the same time**, and both are measured in the same windows: on a
shared virtual machine a server's CPU drifts by up to a third over a minute with nothing
else running, in step for both, so only the difference within a window can resolve a
couple of percent (with viewers, also of the threads outside the capture pipeline, the
steadier figure). A window gives each server's CPU (``/proc``), the bytes added under its
``recordings/`` and the bytes it sent to storage (``/proc/<pid>/io``), with no viewer and
with one (the ``bench.viewer_proc`` fleet process for video plus an audio-only WebRTC peer
in this process, so the video and the audio encoders run in every mode). In the
event-clip server a WebSocket client on ``/api/ws`` times every clip's ``recording``
"end" message against the end of its post-roll (its event's ``end`` +
``post_roll_seconds``). See bench/README.md, section "Recording".
"""
