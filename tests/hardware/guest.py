"""Boot a Linux guest with real V4L2 and ALSA drivers, run one command in it, come back.

The test bed of tests/hardware (README there): virtme-ng (``vng``, PyPI) boots Debian's
``linux-image-amd64`` under ``qemu-system-x86`` with this machine's root file system,
read-only, plus writable overlays; KVM does not work inside these machines, so QEMU
emulates (``--disable-kvm``). Inside, the kernel's own test drivers give real devices:
``vivid`` (a V4L2 webcam with error injection), ``snd-aloop`` (an ALSA loopback card) and
``v4l2loopback`` (any stream played into a V4L2 node; from ``v4l2loopback-dkms``).

Reusable: :func:`run_guest` runs any shell command with a shared directory (``share``,
the same path inside and out) that the command reports through. Boot the guest once per
run and put every check in that one boot: it costs 15 s or more before the command starts.

The root file system is shared over 9p without a cache (virtme-ng's choice), which makes
every page of every library a round trip: Python with PyAV, aiortc and FastAPI took
minutes to import. The command therefore runs behind a second 9p export of ``/`` mounted
with ``cache=loose`` (read-only, so the cache cannot go stale), bind-mounted over ``/usr``
and over the checkout: imports got 3x faster.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
MODULES = Path("/lib/modules")


@dataclass(frozen=True)
class GuestResult:
    returncode: int | None  # None: timed out
    output: str  # the guest's console and the command's output (tail)


def kernel() -> tuple[str, Path] | None:
    """The newest installed kernel that has its modules: (version, vmlinuz)."""
    found = []
    for image in Path("/boot").glob("vmlinuz-*"):
        version = image.name[len("vmlinuz-") :]
        if (MODULES / version / "modules.dep").exists():
            found.append((version, image))
    return max(found) if found else None


def vng() -> str | None:
    candidate = VENV_BIN / "vng"
    return str(candidate) if candidate.exists() else shutil.which("vng")


def missing() -> str | None:
    """Why no guest can be booted here, in one line; None when it can."""
    needs = {
        "qemu-system-x86_64": "qemu-system-x86",
        "busybox": "busybox-static",
    }
    for binary, package in needs.items():
        if shutil.which(binary) is None:
            return f"{binary} is missing (Debian package {package})"
    if vng() is None:
        return "vng is missing (PyPI package virtme-ng, in the test extras)"
    if kernel() is None:
        return "no kernel with modules in /boot (Debian package linux-image-amd64)"
    return None


def _prelude(share: Path) -> str:
    """Shell run first in the guest: the cached view of the root file system."""
    binds = [Path("/usr"), REPO]
    venv = Path(sys.prefix)
    if not venv.is_relative_to(REPO) and not venv.is_relative_to("/usr"):
        binds.append(venv)
    lines = [
        "set -e",
        "mkdir -p /run/bed",
        "mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,cache=loose,ro bedroot /run/bed",
    ]
    lines += [f"mount --bind /run/bed{shlex.quote(str(p))} {shlex.quote(str(p))}" for p in binds]
    lines += [f"cd {shlex.quote(str(REPO))}", "set +e"]
    return "\n".join(lines)


def run_guest(
    command: str,
    share: Path,
    *,
    timeout: float = 600,
    cpus: int = 2,
    memory: str = "3G",
    env: dict[str, str] | None = None,
) -> GuestResult:
    """Boot the guest, run ``command`` (sh, as root, in the checkout) and return.

    ``share`` is writable from the guest at the same path: write results there. The guest
    has the host's files read-only (writes go to a throw-away overlay; ``/tmp`` is local to
    the guest and the place for SQLite, which fails on 9p).
    """
    found = kernel()
    binary = vng()
    if found is None or binary is None:
        raise RuntimeError(missing() or "no guest")
    share.mkdir(parents=True, exist_ok=True)
    script = share / "guest-command.sh"
    exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in (env or {}).items())
    script.write_text(f"{_prelude(share)}\n{exports}{command}\n", encoding="utf-8")
    qemu_opts = (
        "-fsdev local,id=bed,path=/,security_model=none,readonly=on,multidevs=remap "
        "-device virtio-9p-pci,fsdev=bed,mount_tag=bedroot"
    )
    args = [
        binary,
        "--disable-kvm",
        "--cpus",
        str(cpus),
        "--memory",
        memory,
        "--run",
        str(found[1]),
        "--user",
        "root",
        "--rwdir",
        str(share),
        f"--qemu-opts={qemu_opts}",
        "--exec",
        f"sh {shlex.quote(str(script))}",
    ]
    path = f"{VENV_BIN}:{os.environ.get('PATH', '')}"  # vng runs virtme-run from PATH
    try:
        done = subprocess.run(
            args,
            cwd=share,
            env={**os.environ, "PATH": path},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        text = (expired.output or b"").decode(errors="replace")
        return GuestResult(None, text[-20000:])
    return GuestResult(done.returncode, done.stdout.decode(errors="replace")[-20000:])


if __name__ == "__main__":  # python -m tests.hardware.guest 'command' [share]
    import tempfile

    if reason := missing():
        sys.exit(f"cannot boot a guest: {reason}")
    where = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(tempfile.mkdtemp(prefix="guest-"))
    result = run_guest(sys.argv[1], where)
    print(result.output)
    sys.exit(1 if result.returncode is None else result.returncode)
