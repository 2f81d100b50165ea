"""The archive's lock: ``fcntl.flock`` on a lock file, so concurrent publishers (and cycles)
take turns and the index is read-modified-written by one process at a time.

Waiting never polls: without a limit it is a blocking ``flock``; with a limit (``wait_s``) a
one-shot ``SIGALRM`` timer interrupts the blocking call (main thread only; elsewhere the wait
is unbounded). The kernel drops the lock when the holder dies, SIGKILL included, so a killed
publisher never leaves the archive locked.
"""

from __future__ import annotations

import fcntl
import os
import signal
import threading
from pathlib import Path
from typing import Optional


class LockTimeout(Exception):
    """The lock was still held by another process after the wait."""


class ArchiveLock:
    """``with ArchiveLock(path, wait_s=None):`` holds an exclusive flock on ``path``.

    ``wait_s=None`` waits as long as it takes; ``0`` does not wait; ``> 0`` waits that long.
    Raises :class:`LockTimeout` when not acquired.
    """

    def __init__(self, path: Path, wait_s: Optional[float] = None):
        self.path = Path(path)
        self.wait_s = wait_s
        self._fd: Optional[int] = None

    def __enter__(self) -> "ArchiveLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            self._acquire(fd)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return self

    def _acquire(self, fd: int) -> None:
        if self.wait_s is None:
            fcntl.flock(fd, fcntl.LOCK_EX)
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if self.wait_s <= 0:
                raise LockTimeout(self._held_message()) from None
        if threading.current_thread() is not threading.main_thread():
            fcntl.flock(fd, fcntl.LOCK_EX)
            return

        def expire(signum, frame):  # noqa: ARG001 - signal handler signature
            raise LockTimeout(self._held_message())

        previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, self.wait_s)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    def _held_message(self) -> str:
        try:
            holder = self.path.read_text().strip()
        except OSError:
            holder = ""
        who = f" by pid {holder}" if holder.isdigit() else ""
        waited = f" after waiting {self.wait_s:g} s" if self.wait_s else ""
        return f"{self.path} is held{who}{waited}"

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
