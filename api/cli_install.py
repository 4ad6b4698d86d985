"""``sentrycam install`` / ``uninstall``: the system service in one command (as root).

Install creates the system user ``sentrycam`` (in the ``video`` and ``audio`` groups),
the config and data directories, writes ``/etc/systemd/system/sentrycam.service`` (the
unit of ``systemd/``, with ``ExecStart`` pointing at the ``sentrycam`` being run) and
enables and starts it. Every step looks first and says what it did, so running it again
changes nothing (and restarts the service only when its unit changed, e.g. after an
upgrade moved the program). Uninstall stops, disables and removes the unit; the user, the
config and the data (events, recordings) stay unless ``--purge``.

``--root DIR`` works on another root file system (an image being built, or a test): the
user goes to ``DIR/etc/passwd`` (``useradd --prefix``), the unit is enabled with
``systemctl --root`` and nothing is started.
"""

from __future__ import annotations

import argparse
import grp
import os
import pwd
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

UNIT_NAME = "sentrycam.service"
DEFAULT_EXEC = "/opt/sentrycam/bin/sentrycam serve --data-dir /var/lib/sentrycam"
GROUPS = ("video", "audio")
CONFIG_TEMPLATE = """\
# Sentrycam configuration: every key is in docs/config.md. Without cameras here, the
# webcams found are used (or the demo camera). Secrets: ${SENTRYCAM_...} from
# /etc/sentrycam/env (mode 0600).
# cameras:
#   - id: porch
#     source: /dev/video0
#     input_format: mjpeg
"""


class InstallError(Exception):
    pass


def add_parsers(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    install = commands.add_parser("install", help="install and start the system service (as root)")
    uninstall = commands.add_parser("uninstall", help="stop and remove the system service")
    for parser in (install, uninstall):
        parser.add_argument("--root", type=Path, default=Path("/"), help=argparse.SUPPRESS)
        parser.add_argument("--user", default="sentrycam", help="system user (sentrycam)")
    install.add_argument(
        "--no-start", action="store_true", help="enable the unit, but do not start it now"
    )
    uninstall.add_argument(
        "--purge",
        action="store_true",
        help="also delete the user, /etc/sentrycam and /var/lib/sentrycam (events and "
        "recordings too)",
    )


@dataclass
class Layout:
    root: Path
    user: str

    @property
    def live(self) -> bool:
        """Working on the running system (not an image under --root)."""
        return self.root == Path("/")

    def path(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")

    @property
    def unit(self) -> Path:
        return self.path(f"/etc/systemd/system/{UNIT_NAME}")

    @property
    def config_dir(self) -> Path:
        return self.path("/etc/sentrycam")

    @property
    def data_dir(self) -> Path:
        return self.path(f"/var/lib/{self.user}")


def run(args: argparse.Namespace) -> int:
    layout = Layout(args.root, args.user)
    if os.geteuid() != 0:
        print("sentrycam: run this as root (sudo sentrycam ...)", file=sys.stderr)
        return 1
    try:
        if args.command == "install":
            install(layout, start=not args.no_start)
        else:
            uninstall(layout, purge=args.purge)
    except InstallError as error:
        print(f"sentrycam: {error}", file=sys.stderr)
        return 1
    return 0


# ----- install ----------------------------------------------------------------------------


def install(layout: Layout, start: bool = True) -> None:
    command = sentrycam_command(check_visible=layout.live)
    for group in GROUPS:
        ensure_group(layout, group)
    ensure_user(layout)
    uid, gid = ids(layout)
    ensure_dir(layout.config_dir, 0, gid, 0o750)
    ensure_file(layout.config_dir / "config.yaml", CONFIG_TEMPLATE, 0, gid, 0o640)
    ensure_dir(layout.data_dir, uid, gid, 0o750)
    changed = write_unit(layout, command)
    if not layout.live:
        systemctl(layout, "enable", UNIT_NAME)
        return
    systemctl(layout, "daemon-reload")
    systemctl(layout, "enable", UNIT_NAME)
    if not start:
        return
    active = systemctl(layout, "is-active", "--quiet", UNIT_NAME, check=False) == 0
    if active and not changed:
        say(f"{UNIT_NAME}: running")
    else:
        systemctl(layout, "restart" if active else "start", UNIT_NAME)
    say(
        "Open http://<this machine>:8080/ and create the admin with the setup code from "
        f"`journalctl -u {UNIT_NAME.removesuffix('.service')}`; config: "
        f"{layout.config_dir / 'config.yaml'}"
    )


def sentrycam_command(check_visible: bool = True) -> str:
    """``ExecStart``: the ``sentrycam`` next to this Python (a venv's bin/). On the running
    system it must be where the hardened service can see it; an image under ``--root`` is
    the builder's business (and the tests run from wherever the checkout is)."""
    program = Path(sys.executable).parent / "sentrycam"
    if not program.exists():
        raise InstallError(f"no sentrycam program next to {sys.executable}")
    for hidden in ("/home", "/root", "/run/user", "/tmp") if check_visible else ():
        if program.is_relative_to(hidden):
            raise InstallError(
                f"{program} is under {hidden}, which the service cannot see (ProtectHome, "
                "PrivateTmp): install into /opt, e.g. `python3 -m venv /opt/sentrycam && "
                "/opt/sentrycam/bin/pip install sentrycam`, then run "
                "/opt/sentrycam/bin/sentrycam install"
            )
    return f"{program} serve --data-dir /var/lib/{{user}}"


def render_unit(layout: Layout, command: str) -> str:
    template = (resources.files("api") / UNIT_NAME).read_text(encoding="utf-8")
    if f"ExecStart={DEFAULT_EXEC}" not in template:
        raise InstallError(f"the packaged {UNIT_NAME} has no ExecStart={DEFAULT_EXEC} line")
    text = template.replace(DEFAULT_EXEC, command.format(user=layout.user))
    if layout.user != "sentrycam":
        text = text.replace("User=sentrycam", f"User={layout.user}")
        text = text.replace("Group=sentrycam", f"Group={layout.user}")
        text = text.replace("StateDirectory=sentrycam", f"StateDirectory={layout.user}")
    return text


def write_unit(layout: Layout, command: str) -> bool:
    text = render_unit(layout, command)
    if layout.unit.is_file() and layout.unit.read_text(encoding="utf-8") == text:
        say(f"{layout.unit}: up to date")
        return False
    existed = layout.unit.exists()
    layout.unit.parent.mkdir(parents=True, exist_ok=True)
    layout.unit.write_text(text, encoding="utf-8")
    layout.unit.chmod(0o644)
    say(f"{layout.unit}: {'updated' if existed else 'written'} (ExecStart={command.split()[0]})")
    return True


def ensure_group(layout: Layout, group: str) -> None:
    if lookup(layout, "group", group) is None:
        tool(layout, "groupadd", "--system", group)
        say(f"group {group}: created")


def ensure_user(layout: Layout) -> None:
    user = layout.user
    if lookup(layout, "passwd", user) is None:
        tool(
            layout,
            "useradd",
            "--system",
            "--user-group",
            "--groups",
            ",".join(GROUPS),
            "--home-dir",
            f"/var/lib/{user}",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            user,
        )
        say(f"user {user}: created (groups {', '.join(GROUPS)})")
        return
    missing = [g for g in GROUPS if user not in members(layout, g)]
    if missing:
        tool(layout, "usermod", "--append", "--groups", ",".join(missing), user)
        say(f"user {user}: added to {', '.join(missing)}")
    else:
        say(f"user {user}: already there (groups {', '.join(GROUPS)})")


def ensure_dir(path: Path, uid: int, gid: int, mode: int) -> None:
    existed = path.is_dir()
    path.mkdir(parents=True, exist_ok=True)
    stat = path.stat()
    if existed and (stat.st_uid, stat.st_gid, stat.st_mode & 0o7777) == (uid, gid, mode):
        say(f"{path}: already there")
        return
    os.chown(path, uid, gid)
    path.chmod(mode)
    say(f"{path}: {'fixed' if existed else 'created'} (owner {uid}:{gid}, mode {mode:o})")


def ensure_file(path: Path, text: str, uid: int, gid: int, mode: int) -> None:
    if path.exists():
        say(f"{path}: kept")
        return
    path.write_text(text, encoding="utf-8")
    os.chown(path, uid, gid)
    path.chmod(mode)
    say(f"{path}: written (a commented starting point)")


# ----- uninstall --------------------------------------------------------------------------


def uninstall(layout: Layout, purge: bool = False) -> None:
    if layout.unit.exists():
        if layout.live:
            systemctl(layout, "disable", "--now", UNIT_NAME, check=False)
        else:
            systemctl(layout, "disable", UNIT_NAME, check=False)
        layout.unit.unlink()
        say(f"{layout.unit}: removed")
        if layout.live:
            systemctl(layout, "daemon-reload")
    else:
        say(f"{layout.unit}: not installed")
    if not purge:
        say(f"kept: user {layout.user}, {layout.config_dir}, {layout.data_dir} (--purge)")
        return
    for directory in (layout.config_dir, layout.data_dir):
        if directory.exists():
            shutil.rmtree(directory)
            say(f"{directory}: deleted")
    if lookup(layout, "passwd", layout.user) is not None:
        tool(layout, "userdel", layout.user)
        say(f"user {layout.user}: deleted")


# ----- helpers ----------------------------------------------------------------------------


def say(text: str) -> None:
    print(text, flush=True)


def tool(layout: Layout, name: str, *args: str) -> None:
    """A shadow-utils command (useradd, groupadd, ...), on --root's files if given."""
    prefix = [] if layout.live else ["--prefix", str(layout.root)]
    execute([name, *prefix, *args])


def systemctl(layout: Layout, *args: str, check: bool = True) -> int:
    prefix = [] if layout.live else [f"--root={layout.root}"]
    quiet = "--quiet" in args or args[0] == "is-active"
    return execute(["systemctl", *prefix, *args], check=check, echo=not quiet)


def execute(argv: list[str], check: bool = True, echo: bool = True) -> int:
    if echo:
        say("$ " + " ".join(argv))
    try:
        done = subprocess.run(argv, check=False)
    except FileNotFoundError:
        raise InstallError(f"{argv[0]} not found (is this a systemd-based Linux?)") from None
    if check and done.returncode != 0:
        raise InstallError(f"{' '.join(argv)} failed with status {done.returncode}")
    return done.returncode


def _entries(layout: Layout, database: str) -> list[list[str]]:
    path = layout.path(f"/etc/{database}")
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split(":") for line in lines if line and not line.startswith("#")]


def lookup(layout: Layout, database: str, name: str) -> list[str] | None:
    """The passwd or group entry of ``name`` (the system's own databases when live)."""
    if layout.live:
        try:
            entry = pwd.getpwnam(name) if database == "passwd" else grp.getgrnam(name)
        except KeyError:
            return None
        if isinstance(entry, pwd.struct_passwd):
            return [entry.pw_name, "x", str(entry.pw_uid), str(entry.pw_gid)]
        return [entry.gr_name, "x", str(entry.gr_gid), ",".join(entry.gr_mem)]
    return next((fields for fields in _entries(layout, database) if fields[0] == name), None)


def members(layout: Layout, group: str) -> list[str]:
    entry = lookup(layout, "group", group)
    return entry[3].split(",") if entry and len(entry) > 3 and entry[3] else []


def ids(layout: Layout) -> tuple[int, int]:
    entry = lookup(layout, "passwd", layout.user)
    if entry is None:
        raise InstallError(f"user {layout.user} was not created")
    return int(entry[2]), int(entry[3])
