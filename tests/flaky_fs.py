"""A disk that can vanish: a pass-through FUSE file system that fails on demand.

    python -m tests.flaky_fs BACKING MOUNTPOINT CONTROL

Everything under MOUNTPOINT is BACKING, until CONTROL (a file outside the mount) says
``eio``: from then on every operation fails with EIO, as a USB disk pulled out mid-write
does; ``enospc`` makes writes fail as a full disk; ``ok`` (or no file) brings it back.
Runs in the foreground until unmounted (``fusermount3 -u MOUNTPOINT``). Needs /dev/fuse,
libfuse3 (Debian ``fuse3``) and mfusepy (pure Python, ctypes).
"""

from __future__ import annotations

import errno
import os
import sys
import time
from typing import Any

import mfusepy
from mfusepy import FuseOSError, Operations


class FlakyPassthrough(Operations):
    use_ns = True  # utimens gets nanoseconds

    def __init__(self, backing: str, control: str) -> None:
        self.backing = os.path.realpath(backing)
        self.control = control
        self._mode = "ok"
        self._checked = 0.0

    def _fault(self) -> str:
        now = time.monotonic()
        if now - self._checked > 0.05:
            self._checked = now
            try:
                with open(self.control, encoding="ascii") as handle:
                    self._mode = handle.read().strip() or "ok"
            except OSError:
                self._mode = "ok"
        return self._mode

    def _full(self, path: str) -> str:
        if self._fault() == "eio":
            raise FuseOSError(errno.EIO)
        return os.path.join(self.backing, path.lstrip("/"))

    # ----- metadata ------------------------------------------------------------------------

    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        st = os.lstat(self._full(path))
        keys = ("st_atime", "st_ctime", "st_gid", "st_mode", "st_mtime", "st_nlink", "st_size")
        return {key: getattr(st, key) for key in (*keys, "st_uid")}

    def readdir(self, path: str, fh: int) -> list[str]:
        return [".", "..", *os.listdir(self._full(path))]

    def access(self, path: str, amode: int) -> int:
        if not os.access(self._full(path), amode):
            raise FuseOSError(errno.EACCES)
        return 0

    def mkdir(self, path: str, mode: int) -> int:
        os.mkdir(self._full(path), mode)
        return 0

    def rmdir(self, path: str) -> int:
        os.rmdir(self._full(path))
        return 0

    def unlink(self, path: str) -> int:
        os.unlink(self._full(path))
        return 0

    def rename(self, old: str, new: str) -> int:
        os.rename(self._full(old), self._full(new))
        return 0

    def chmod(self, path: str, mode: int) -> int:
        os.chmod(self._full(path), mode)
        return 0

    def chown(self, path: str, uid: int, gid: int) -> int:
        os.chown(self._full(path), uid, gid)
        return 0

    def utimens(self, path: str, times: tuple[int, int] | None = None) -> int:
        os.utime(self._full(path), ns=times) if times else os.utime(self._full(path))
        return 0

    def statfs(self, path: str) -> dict[str, int]:
        st = os.statvfs(self._full(path))
        keys = ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree")
        return {key: getattr(st, key) for key in (*keys, "f_files", "f_flag", "f_frsize")}

    # ----- files ---------------------------------------------------------------------------

    def open(self, path: str, flags: int) -> int:
        return os.open(self._full(path), flags)

    def create(self, path: str, mode: int, fi: Any = None) -> int:
        return os.open(self._full(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        self._full(path)
        return os.pread(fh, size, offset)

    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        self._full(path)
        if self._mode == "enospc":
            raise FuseOSError(errno.ENOSPC)
        return os.pwrite(fh, data, offset)

    def truncate(self, path: str, length: int, fh: int | None = None) -> int:
        os.truncate(self._full(path), length)
        return 0

    def flush(self, path: str, fh: int) -> int:
        self._full(path)
        return 0

    def fsync(self, path: str, datasync: int, fh: int) -> int:
        self._full(path)
        os.fsync(fh)
        return 0

    def release(self, path: str, fh: int) -> int:
        os.close(fh)  # always: a vanished disk must not leak descriptors here
        return 0


def main() -> None:
    backing, mountpoint, control = sys.argv[1:4]
    mfusepy.FUSE(FlakyPassthrough(backing, control), mountpoint, foreground=True, nothreads=True)


if __name__ == "__main__":
    main()
