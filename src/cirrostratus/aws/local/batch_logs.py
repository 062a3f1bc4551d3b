"""Batch job logs in moto's CloudWatch Logs, for Cirrus's post-batch.

When a Batch step fails, Cirrus's post-batch reads the job's log stream (`/aws/batch/job`,
the stream named in the Cause's `Attempts[-1].Container.LogStreamName`) and raises the
error its last line names. Locally a job's output is the file `.cirro/logs/batch/<stream>`;
moto's `get_log_events` is hooked (in this process, like the S3 mirror) so that reading a
stream of `/aws/batch/job` loads that file first, one event per line.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from cirrostratus.runtime.logs import batch_log_path

BATCH_GROUP = "/aws/batch/job"
_lock = threading.RLock()
_logs_dir: list[Path] = []  # the running local AWS's `.cirro/logs` (at most one)
_original: dict[str, Any] = {}


def serve_batch_logs(logs_dir: Path) -> None:
    """Answer `/aws/batch/job` streams from `logs_dir/batch/`."""
    with _lock:
        _logs_dir[:] = [logs_dir]
        if _original:
            return
        from moto.logs.models import LogsBackend

        _original["get_log_events"] = LogsBackend.get_log_events
        LogsBackend.get_log_events = _get_log_events  # type: ignore[method-assign]


def stop_batch_logs() -> None:
    with _lock:
        _logs_dir.clear()
        if not _original:
            return
        from moto.logs.models import LogsBackend

        LogsBackend.get_log_events = _original.pop("get_log_events")  # type: ignore[method-assign]


def _get_log_events(
    self: Any, log_group_name: str, log_group_id: Any, log_stream_name: str, *a: Any, **kw: Any
) -> Any:
    if log_group_name == BATCH_GROUP and _logs_dir:
        path = batch_log_path(_logs_dir[0], log_stream_name)
        if path.is_file():
            _load(self, log_stream_name, path)
    return _original["get_log_events"](
        self, log_group_name, log_group_id, log_stream_name, *a, **kw
    )


def _load(backend: Any, stream: str, path: Path) -> None:
    """(Re)write the stream from the file: one event per non-empty line."""
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    now = int(time.time() * 1000)
    with _lock:
        if BATCH_GROUP not in backend.groups:
            backend.create_log_group(BATCH_GROUP, {})
        group = backend.groups[BATCH_GROUP]
        group.streams.pop(stream, None)
        group.create_log_stream(stream)
        if lines:
            group.put_log_events(stream, [{"timestamp": now, "message": line} for line in lines])
