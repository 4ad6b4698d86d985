"""Real V4L2 and ALSA drivers: boot the QEMU guest once, run every check of inside/ there,
and report each of them here as a test of its own.

A check that failed in the guest fails here with the guest's message; one that did not run
(the guest crashed or timed out first) fails as not run. Where no guest can be booted
(QEMU, virtme-ng or the kernel missing), every check says so in one line: a failure in CI,
a skip with that reason elsewhere. Never a silent pass.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, unavailable
from tests.hardware import guest

CHECKS = [
    "test_devices_are_listed_with_their_modes",
    "test_autodetected_webcam_opens_in_an_offered_mode_and_streams",
    "test_control_set_through_the_api_reads_back_from_the_driver",
    "test_simulated_disconnect_goes_offline_and_comes_back",
    "test_unplug_and_replug_that_renumbers_keeps_the_camera",
    "test_new_webcam_is_offered_not_added",
    "test_mjpeg_and_h264_webcams_get_their_own_modes",
    "test_tone_into_the_alsa_loopback_reaches_a_viewer_and_raises_a_sound_event",
    "test_microphone_that_disappears_and_comes_back",
    "test_talk_back_comes_out_of_the_alsa_speaker_at_the_right_frequency",
    "test_auto_viewer_on_a_lossy_link_moves_to_the_light_stream_and_back",
]
GUEST_TIMEOUT_S = 1200  # boot and run: about 400 s on a quiet 2-core machine, 900+ when busy


@dataclass
class Results:
    missing: str | None = None
    outcomes: dict[str, str | None] = field(default_factory=dict)  # name -> failure or None
    log: str = ""
    server_log: str = ""  # the end of Sentrycam's own log in the guest (INFO and up)


def _prepare(share: Path) -> None:
    """What the guest would be slow to make: the data dir with an admin token (Argon2),
    and the media it plays (MJPEG and H.264 streams, a tone)."""
    from api.accounts import Accounts
    from api.db import Database, database_url

    data = share / "data"
    data.mkdir()
    db = Database(database_url(None, data))
    db.migrate()
    accounts = Accounts(10, 30, 7)
    with db.session() as session:
        accounts.create_user(session, "admin", PASSWORD, "admin", None)
        token = accounts.create_token(session, accounts.get_user(session, "admin"), "bed", None)[0]
    db.close()
    (share / "token").write_text(token)
    lavfi = ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi"]
    subprocess.run(
        [*lavfi, "-i", "testsrc2=size=640x480:rate=15", "-t", "4", "-c:v", "mjpeg",
         "-q:v", "6", str(share / "feed-mjpeg.mkv")],
        check=True,
    )  # fmt: skip
    subprocess.run(
        [*lavfi, "-i", "testsrc2=size=640x360:rate=15", "-t", "4", "-c:v", "libx264",
         "-preset", "ultrafast", "-profile:v", "baseline", "-g", "15",
         str(share / "feed-h264.ts")],
        check=True,
    )  # fmt: skip
    subprocess.run(
        [*lavfi, "-i", "sine=frequency=1000:sample_rate=48000:duration=20",
         str(share / "tone.wav")],
        check=True,
    )  # fmt: skip


def _outcomes(results: Path) -> dict[str, str | None]:
    """Check name -> None (passed) or what went wrong, from the guest's results.jsonl."""
    outcomes: dict[str, str | None] = {}
    for line in _read(results).splitlines():
        report = json.loads(line)
        name = report["name"]
        if report["outcome"] == "passed":
            outcomes.setdefault(name, None)
        else:
            outcomes[name] = f"{report['outcome']} in {report['when']}: {report['detail']}"
    return outcomes


@pytest.fixture(scope="module")
def guest_results(tmp_path_factory: pytest.TempPathFactory) -> Results:
    reason = guest.missing()
    if reason is not None:
        return Results(missing=reason)
    share = tmp_path_factory.mktemp("guest-bed")
    _prepare(share)
    command = (
        f"SENTRYCAM_IN_GUEST=1 SENTRYCAM_GUEST_SHARE={share} "
        f"{sys.executable} -m pytest tests/hardware/inside -p no:cacheprovider -q "
        f"-o addopts= --timeout 600 > {share}/pytest.log 2>&1"
    )
    result = guest.run_guest(command, share, timeout=GUEST_TIMEOUT_S)
    state = "timed out" if result.returncode is None else f"exited {result.returncode}"
    log = f"guest {state}; its pytest log ends:\n" + _read(share / "pytest.log")[-5000:]
    server_log = "".join(_read(share / "guest-server.log").splitlines(keepends=True)[-40:])
    return Results(outcomes=_outcomes(share / "results.jsonl"), log=log, server_log=server_log)


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


@pytest.mark.timeout(GUEST_TIMEOUT_S + 120)
@pytest.mark.parametrize("check", CHECKS)
def test_in_guest(guest_results: Results, check: str) -> None:
    if guest_results.missing:
        unavailable(f"QEMU guest bed not available: {guest_results.missing}")
    if check not in guest_results.outcomes:
        pytest.fail(f"{check} did not run in the guest. {guest_results.log[-4000:]}")
    failure = guest_results.outcomes[check]
    if failure:
        pytest.fail(f"in the guest: {failure}\nthe server's log ends:\n{guest_results.server_log}")


def test_every_guest_check_is_reported() -> None:
    """A check added inside/ but not to CHECKS would never be reported: refuse that."""
    source = (Path(__file__).parent / "inside" / "test_in_guest.py").read_text()
    defined = [line.split("(")[0][len("async def ") :] for line in source.splitlines()
               if line.startswith(("async def test_", "def test_"))]  # fmt: skip
    defined = [name.removeprefix("def ").strip() for name in defined]
    assert defined == CHECKS
