"""A value recomputed at most every few seconds, for answers too costly to compute per request.

`/stats` bins every event and the dashboard's overview counts every workflow: on a million
records that takes seconds, so the backends (local and deployment) serve the last result
while it is young. One lock per value: concurrent requests wait for one computation rather
than each starting their own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Cached:
    """One cached value, when it was computed, and how long computing it took."""

    value: Any = None
    at: float = float("-inf")
    lock: threading.Lock = field(default_factory=threading.Lock)

    took: float = 0.0

    def get(self, ttl: float, compute: Callable[[], Any]) -> Any:
        """The cached value while younger than `ttl`, or ten times what computing it took
        (a small project's stats are always fresh, a million events' at most `ttl` old)."""
        with self.lock:
            if time.monotonic() - self.at > min(ttl, max(0.5, 10 * self.took)):
                began = time.monotonic()
                self.value = compute()
                self.at = time.monotonic()
                self.took = self.at - began
            return self.value
