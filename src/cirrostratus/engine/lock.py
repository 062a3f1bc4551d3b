"""One engine per project at a time, so recovery can trust what it finds.

The engine that holds `.cirro/engine.lock` owns every CLAIMED or PROCESSING record and every
leased intake message of the project: whatever it finds busy when it starts was left by an
engine that died, and is resumed (see `recovery`). The lock is an OS file lock, released by
the kernel when its holder exits however it exits — kill -9 included.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class EngineBusy(Exception):
    """Another engine is running this project."""


class EngineLock:
    def __init__(self, path: Path) -> None:
        self.path = path

    def holder(self) -> str | None:
        """The pid written by the engine holding the lock, if any engine holds it."""
        try:
            with open(self.path, "a+") as fh:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    fh.seek(0)
                    return fh.read().strip() or "unknown"
                fcntl.flock(fh, fcntl.LOCK_UN)
                return None
        except FileNotFoundError:
            return None

    @contextmanager
    def hold(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pid = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                raise EngineBusy(
                    f"another cirro engine (pid {pid}) is running this project "
                    f"({self.path.parent}); send it payloads with `cirro submit`, or stop it first"
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock
