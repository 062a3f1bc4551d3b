"""What a serving engine is doing right now, in a small file another process can read.

`cirro serve` runs `publish_status` beside its drain loop: once a second it replaces
`.cirro/serve-status.json` with the executions in flight, the Lambda workers busy and live,
and the Batch job containers running. The API, which runs in a child process (or as
`cirro api` beside the engine), reads it for `/metrics` with `read_status`; a file whose
writer is gone or that has not been refreshed for `STALE_S` is ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

STATUS_FILE = "serve-status.json"
INTERVAL_S = 1.0
STALE_S = 5.0


def snapshot(engine: Any) -> dict[str, Any]:
    """The numbers of the engine's running session (zeros before it starts)."""
    session = getattr(engine, "live_session", None)
    runner = getattr(session, "runner", None)
    busy = getattr(getattr(session, "pool", None), "busy", None)
    workers_busy, workers = busy() if callable(busy) else (0, 0)
    return {
        "pid": os.getpid(),
        "time": time.time(),
        "executions_running": len(getattr(runner, "inflight", ()) or ()),
        "lambda_workers_busy": workers_busy,
        "lambda_workers": workers,
        "batch_jobs_running": int(getattr(getattr(session, "batch", None), "running_jobs", 0)),
    }


def write_status(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)  # a reader never sees half a file


async def publish_status(engine: Any, stop: asyncio.Event) -> None:
    """A `LocalEngine.serve` service: the status file, refreshed until the engine stops."""
    path = Path(engine.locations.root) / STATUS_FILE
    try:
        while not stop.is_set():
            with contextlib.suppress(OSError):  # a full disk must not stop the engine
                write_status(path, snapshot(engine))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), INTERVAL_S)
    finally:
        with contextlib.suppress(OSError):
            path.unlink()


def read_status(root: str | os.PathLike[str], *, now: float | None = None) -> dict[str, Any] | None:
    """The serving engine's last status, or None when no live engine keeps it fresh."""
    try:
        data = json.loads((Path(root) / STATUS_FILE).read_text(encoding="utf-8"))
        pid, written = int(data["pid"]), float(data["time"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if (now if now is not None else time.time()) - written > STALE_S:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, someone else's
    return dict(data)
