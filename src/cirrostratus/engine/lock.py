"""One engine per project at a time, so recovery can trust what it finds.

The engine that holds `.cirro/engine.lock` owns every CLAIMED or PROCESSING record and every
leased intake message of the project: whatever it finds busy when it starts was left by an
engine that died, and is resumed (see `recovery`). The lock is an OS file lock, released by
the kernel when its holder exits however it exits — kill -9 included.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class EngineBusy(Exception):
    """Another engine is running this project."""


PROBE_GRACE_S = 0.5
"""How long `hold` keeps trying while something may only be probing the lock (`holder`)."""


class EngineLock:
    def __init__(self, path: Path) -> None:
        self.path = path

    def holder(self) -> str | None:
        """The pid written by the engine holding the lock, if any engine holds it.

        A probe: it opens the file read-only (so asking never creates `.cirro/engine.lock`) and
        takes a shared lock for an instant, which an engine holding the exclusive one refuses.
        """
        try:
            with open(self.path) as fh:
                try:
                    fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
                except BlockingIOError:
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
            if not _lock_within(fd, PROBE_GRACE_S):
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


def _lock_within(fd: int, grace: float) -> bool:
    """Take the exclusive lock, retrying for `grace` seconds past a probe's shared lock.

    An engine holds the lock for its whole life, so a refusal that lasts the grace period is
    an engine; one that ends within it was `holder()` asking (`cirro submit`, `cirro clean`).
    """
    deadline = time.monotonic() + grace
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
