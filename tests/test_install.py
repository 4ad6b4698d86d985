"""``sentrycam install`` / ``uninstall`` on a root file system of its own (``--root``):
the real useradd/groupadd/userdel (``--prefix``) and ``systemctl --root``, and the unit
it writes scored by ``systemd-analyze security --offline=yes``."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from api import cli_install
from tests.conftest import unavailable
from tests.test_cli import SENTRYCAM

MAX_EXPOSURE = 2.0


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A root with the host's user databases, minus the ``audio`` group."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    for name in ("passwd", "shadow", "group", "gshadow", "login.defs"):
        text = Path("/etc", name).read_text()
        if name in ("group", "gshadow"):
            text = "".join(line for line in text.splitlines(True) if not line.startswith("audio:"))
        (root / "etc" / name).write_text(text)
    return root


def run(root: Path, *args: str) -> str:
    done = subprocess.run(
        [*SENTRYCAM, *args, "--root", str(root)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def entry(root: Path, database: str, name: str) -> list[str] | None:
    for line in (root / "etc" / database).read_text().splitlines():
        if line.split(":")[0] == name:
            return line.split(":")
    return None


def test_install_is_idempotent_and_says_what_it_did(root: Path) -> None:
    first = run(root, "install")
    assert "group audio: created" in first
    assert "user sentrycam: created (groups video, audio)" in first
    user = entry(root, "passwd", "sentrycam")
    assert user is not None
    assert user[5:] == ["/var/lib/sentrycam", "/usr/sbin/nologin"]
    for group in ("video", "audio"):
        members = entry(root, "group", group)
        assert members is not None
        assert "sentrycam" in members[3].split(",")
    uid, gid = int(user[2]), int(user[3])
    data, config = root / "var/lib/sentrycam", root / "etc/sentrycam"
    assert (data.stat().st_uid, data.stat().st_gid, data.stat().st_mode & 0o777) == (
        uid,
        gid,
        0o750,
    )
    assert (config.stat().st_uid, config.stat().st_gid) == (0, gid)
    assert (config / "config.yaml").read_text() == cli_install.CONFIG_TEMPLATE
    unit = root / "etc/systemd/system/sentrycam.service"
    program = Path(sys.executable).parent / "sentrycam"
    assert f"ExecStart={program} serve --data-dir /var/lib/sentrycam\n" in unit.read_text()
    wants = root / "etc/systemd/system/multi-user.target.wants/sentrycam.service"
    assert wants.is_symlink()

    (config / "config.yaml").write_text("cameras: []\n")  # the user's edits stay
    again = run(root, "install")
    for line in (
        "user sentrycam: already there (groups video, audio)",
        f"{config}: already there",
        f"{data}: already there",
        f"{config / 'config.yaml'}: kept",
        f"{unit}: up to date",
    ):
        assert line in again
    assert "created" not in again
    assert (config / "config.yaml").read_text() == "cameras: []\n"
    assert entry(root, "passwd", "sentrycam") == user


def test_install_repairs_what_drifted(root: Path) -> None:
    run(root, "install")
    data = root / "var/lib/sentrycam"
    data.chmod(0o777)
    unit = root / "etc/systemd/system/sentrycam.service"
    unit.write_text(unit.read_text().replace("WatchdogSec=30", "WatchdogSec=0"))
    again = run(root, "install")
    assert f"{data}: fixed" in again
    assert f"{unit}: updated" in again
    assert data.stat().st_mode & 0o777 == 0o750
    assert "WatchdogSec=30\n" in unit.read_text()


def test_uninstall_keeps_data_unless_purged(root: Path) -> None:
    run(root, "install")
    (root / "var/lib/sentrycam/sentrycam.db").write_bytes(b"events")
    out = run(root, "uninstall")
    assert "etc/systemd/system/sentrycam.service: removed" in out
    assert not (root / "etc/systemd/system/sentrycam.service").exists()
    assert not (root / "etc/systemd/system/multi-user.target.wants/sentrycam.service").exists()
    assert (root / "var/lib/sentrycam/sentrycam.db").read_bytes() == b"events"
    assert entry(root, "passwd", "sentrycam") is not None
    assert "not installed" in run(root, "uninstall")
    purged = run(root, "uninstall", "--purge")
    assert "user sentrycam: deleted" in purged
    assert entry(root, "passwd", "sentrycam") is None
    assert not (root / "var/lib/sentrycam").exists()
    assert not (root / "etc/sentrycam").exists()


def test_refuses_a_program_the_service_cannot_see(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", "/root/venv/bin/python")
    monkeypatch.setattr(Path, "exists", lambda self: True)
    with pytest.raises(cli_install.InstallError, match="under /root"):
        cli_install.sentrycam_command()


def test_installed_unit_is_hardened(root: Path) -> None:
    if not shutil.which("systemd-analyze"):
        unavailable("needs systemd-analyze (Debian's systemd; tests/run.sh installs it)")
    run(root, "install")
    unit = root / "etc/systemd/system/sentrycam.service"
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Unknown key" not in done.stderr, done.stderr
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout)
    assert match is not None, done.stdout + done.stderr
    assert float(match.group(1)) <= MAX_EXPOSURE, done.stdout
