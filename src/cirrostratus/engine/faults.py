"""Crash-injection points: where the reliability suite kills the engine on purpose.

A point is one line in the engine, `faults.point("after_complete_commit")`, at an instant a
crash is most likely to lose or duplicate something. It does nothing unless the environment
variable `CIRRO_CRASH_AT` names it when this module is imported:

    CIRRO_CRASH_AT=after_complete_commit      # the first time the point is reached
    CIRRO_CRASH_AT=after_complete_commit:3    # the third time

Then the process sends itself SIGKILL there — no `finally`, no atexit, no flushed buffers,
exactly what `kill -9` or the OOM killer does. The variable is read once, at import, and when
it is unset `point` is a function that returns at once, so the points cost nothing in
production. The names in use are listed in `POINTS` (tests/reliability runs each one).
"""

from __future__ import annotations

import os
import signal

ENV = "CIRRO_CRASH_AT"
POINTS = (
    "after_claim",  # process rules: the claims are committed, inputs not stored, nothing started
    "after_start",  # process rules: the records say PROCESSING, no execution is running yet
    "mid_flush",  # flusher: executions have finished, their results are not committed
    "after_complete_commit",  # update rules: COMPLETED is committed, nothing chained/notified
)


def _parse(spec: str) -> tuple[str, int] | None:
    """`name[:N]` → (name, N); None when unset. A malformed N counts as 1."""
    spec = spec.strip()
    if not spec:
        return None
    name, _, nth = spec.partition(":")
    try:
        count = max(1, int(nth)) if nth else 1
    except ValueError:
        count = 1
    return name.strip(), count


_TARGET = _parse(os.environ.get(ENV, ""))
_hits = 0


def crash() -> None:
    """Die now, as `kill -9` would."""
    os.kill(os.getpid(), signal.SIGKILL)
    os._exit(137)  # pragma: no cover - only where SIGKILL cannot be sent


if _TARGET is None:

    def point(name: str) -> None:
        """A crash-injection point; switched off (CIRRO_CRASH_AT is unset)."""
        return None

else:

    def point(name: str) -> None:
        """A crash-injection point: die here on the N-th hit when CIRRO_CRASH_AT names it."""
        global _hits
        if _TARGET is None or name != _TARGET[0]:
            return
        _hits += 1
        if _hits >= _TARGET[1]:
            crash()
