"""The writer thread: every file operation of one camera's recordings, off the event loop.

The recorder (on the loop) sends open/write/close commands; this thread runs them in
order with :class:`camera.mp4.Mp4File` and settles a future per file with its
:class:`~camera.mp4.FileResult`. A write error (disk full, disk gone) keeps what was
written, closes the file as failed and tells the recorder, which goes on in a new file.
A disk that falls behind makes :meth:`WriterThread.write` refuse packets beyond
``MAX_QUEUED_BYTES`` rather than use more memory. Any other error is caught at the top of
the thread: it ends that one file, never the thread, and every close is answered even if
the thread ends, so one unexpected error can neither stop recording nor hang shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av.error

from .mp4 import FileResult, Mp4File, StreamTemplates, VideoFormat
from .preroll import Timed
from .progress import Progress

logger = logging.getLogger(__name__)

MAX_QUEUED_BYTES = 48 * 1024 * 1024  # a stalled disk drops packets rather than memory


@dataclass
class _Open:
    key: int
    path: Path
    video: VideoFormat
    audio: bool
    start_pts: int


@dataclass
class _Write:
    key: int
    timed: Timed
    video: bool


@dataclass
class _Close:
    key: int


class WriterThread:
    """Does every file operation of one camera's recordings, in order, off the event loop."""

    def __init__(
        self, name: str, loop: asyncio.AbstractEventLoop, on_failure: Callable[[int], None]
    ) -> None:
        self._loop = loop
        self._on_failure = on_failure
        self._queue: queue.SimpleQueue[_Open | _Write | _Close | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._queued_bytes = 0
        self._results: dict[int, asyncio.Future[FileResult]] = {}
        # Written by the thread, read by the loop (single assignments):
        self.progress = Progress(name)  # busy inside a command: the service watchdog
        self.bytes_written = 0  # packet bytes handed to files since start (/metrics)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def backlog(self) -> int:
        return self._queued_bytes

    def open(self, key: int, path: Path, video: VideoFormat, audio: bool, start_pts: int) -> None:
        self._results[key] = self._loop.create_future()
        self._queue.put(_Open(key, path, video, audio, start_pts))

    def write(self, key: int, timed: Timed, video: bool) -> bool:
        """Queue a packet; False when the disk is too far behind (the packet is dropped)."""
        size = timed.packet.size
        with self._lock:
            if self._queued_bytes + size > MAX_QUEUED_BYTES:
                return False
            self._queued_bytes += size
        self._queue.put(_Write(key, timed, video))
        return True

    def close(self, key: int) -> asyncio.Future[FileResult]:
        self._queue.put(_Close(key))
        # A failed write may have settled it already; it stays here until then.
        future = self._results[key]
        future.add_done_callback(lambda _: self._results.pop(key, None))
        return future

    async def stop(self) -> None:
        self._queue.put(None)
        await asyncio.to_thread(self._thread.join)

    def _run(self) -> None:
        files: dict[int, Mp4File] = {}
        try:
            self._serve(files)
        finally:
            # Whatever happened, every file gets closed and every waiting close answered:
            # stop() and the recorder never hang on this thread.
            for key, handle in files.items():
                try:
                    result = handle.close()
                except Exception as error:  # pragma: no cover - close() catches its own
                    result = FileResult(0, 0.0, None, 0, 0, f"closing failed: {error}")
                self._resolve(key, result)
            self._resolve_all(FileResult(0, 0.0, None, 0, 0, "the writer stopped"))

    def _serve(self, files: dict[int, Mp4File]) -> None:
        templates = StreamTemplates()
        failed: dict[int, str] = {}
        while (command := self._queue.get()) is not None:
            self.progress.begin()
            try:
                self._do(command, templates, files, failed)
            except Exception as error:
                # The top of the writer thread: an unexpected error ends that one file (as
                # a write error does) and never the thread, so recording goes on.
                logger.exception("recording writer: %s failed", type(command).__name__)
                handle = files.pop(command.key, None)
                failed[command.key] = f"unexpected error: {error}"
                if handle is not None:
                    with contextlib.suppress(Exception):
                        self._resolve(command.key, handle.close(failed[command.key]))
                if isinstance(command, _Close):  # its answer must not wait for stop()
                    reason = failed.pop(command.key)
                    self._resolve(command.key, FileResult(0, 0.0, None, 0, 0, reason))
                self._report_failure(command.key)
            finally:
                self.progress.end()

    def _do(
        self,
        command: _Open | _Write | _Close,
        templates: StreamTemplates,
        files: dict[int, Mp4File],
        failed: dict[int, str],
    ) -> None:
        if isinstance(command, _Write):
            self._write(command, files, failed)
        elif isinstance(command, _Open):
            self._open(command, templates, files, failed)
        else:
            self._close(command, files, failed)

    def _write(self, command: _Write, files: dict[int, Mp4File], failed: dict[int, str]) -> None:
        with self._lock:
            self._queued_bytes -= command.timed.packet.size
        handle = files.get(command.key)
        if handle is None:
            return
        self.bytes_written += command.timed.packet.size
        try:
            if command.video:
                handle.write_video(command.timed)
            else:
                handle.write_audio(command.timed)
        except (av.error.FFmpegError, OSError, ValueError) as error:
            # Disk full, disk gone: keep what was written; the recorder goes on in a new
            # file once the archive has made room.
            logger.error("writing %s failed: %s", handle.path, error)
            failed[command.key] = str(error)
            result = handle.close(str(error))
            del files[command.key]
            self._resolve(command.key, result)
            self._report_failure(command.key)

    def _open(
        self,
        command: _Open,
        templates: StreamTemplates,
        files: dict[int, Mp4File],
        failed: dict[int, str],
    ) -> None:
        try:
            files[command.key] = Mp4File(
                command.path, templates, command.video, command.audio, command.start_pts
            )
        except (av.error.FFmpegError, OSError, ValueError) as error:
            logger.error("cannot create %s: %s", command.path, error)
            failed[command.key] = f"cannot create the file: {error}"
            self._report_failure(command.key)

    def _close(self, command: _Close, files: dict[int, Mp4File], failed: dict[int, str]) -> None:
        handle = files.pop(command.key, None)
        if handle is not None:
            self._resolve(command.key, handle.close())
        else:
            reason = failed.pop(command.key, "not written")
            self._resolve(command.key, FileResult(0, 0.0, None, 0, 0, reason))

    def _resolve_all(self, result: FileResult) -> None:
        def settle() -> None:
            for future in list(self._results.values()):
                if not future.done():
                    future.set_result(result)

        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(settle)

    def _report_failure(self, key: int) -> None:
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._on_failure, key)

    def _resolve(self, key: int, result: FileResult) -> None:
        def settle() -> None:
            future = self._results.get(key)
            if future is not None and not future.done():
                future.set_result(result)

        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting
            self._loop.call_soon_threadsafe(settle)
