"""What the API reads and writes, without any HTTP: one project's stores and its engine.

Routes stay thin: each calls one method here. The state store answers queries, the payload
store holds inputs and outputs, the history store the per-state timings, the log folder the
task output, and `LocalEngine.submit` queues payloads exactly as `cirro submit` does. Nothing
here reads or writes outside those stores.

The class is the surface the routes call and `DeploymentBackend` (api/deployment.py)
overrides; the work sits beside it: the SQL the state store protocol lacks (sqlreads.py),
what the write routes accept (submission.py), a payload's spans and traceback (timeline.py),
the cache for costly answers (cache.py) and the refusals (errors.py).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from typing import Any

from cirrostratus.api import sqlreads
from cirrostratus.api.cache import Cached
from cirrostratus.api.errors import BadRequest, NotFound, NotServed
from cirrostratus.api.submission import read_submission, rerun_targets
from cirrostratus.api.timeline import last_traceback, spans
from cirrostratus.state import StateRecord, StateStoreError
from cirrostratus.storage import StoreError, payload_key

#: Seconds a computed /stats (and the dashboard's overview) is served before it is
#: recomputed: binning 1,000,000 events takes seconds, so it is never done per request.
STATS_TTL_S = 30.0
OVERVIEW_TTL_S = 2.0


class ApiBackend:
    """The operations behind the routes, over a LocalEngine's stores (not its workers)."""

    def __init__(self, engine: Any, *, token: str, inflight: Callable[[], int] | None = None):
        self.engine = engine
        self.store = engine.store
        self.payloads = engine.payloads
        self.history = engine.history
        self.intake = engine.intake
        self.locations = engine.locations
        self.project = engine.project
        self.token = token
        self.inflight = inflight  # executions running in the serving engine, when there is one
        self._local = threading.local()
        self._stats = Cached()
        self._submit_lock = threading.Lock()
        self._url_root: str | None = None  # the engine's intake connection is shared
        self._overview = Cached()

    def close(self) -> None:
        self.engine.close()

    # --- what differs between a local project and a deployment (api/deployment.py) --------

    def service_name(self) -> str:
        return str(self.project.config.get("service") or self.project.root.name)

    def stac_url(self) -> str:
        return str(self.engine.data.url("catalog.json"))

    def total_counts(self) -> dict[str, int | str]:
        """Records per state over every workflow (`/metrics`)."""
        return dict(self.store.counts())

    def engine_status(self) -> dict[str, Any] | None:
        """What the `cirro serve` draining this project last published, if one runs."""
        from cirrostratus.engine.status import read_status

        return read_status(self.locations.root)

    def events_after(self, payload_id: str | None, after: int, limit: int) -> list[Any]:
        """Transitions after sequence number `after` (the `/events` stream)."""
        return list(self.store.events(payload_id, after=after, limit=limit))

    def _enqueue(self, payloads: list[dict[str, Any]], replace: bool) -> list[str]:
        """Send payloads to the intake; the message ids."""
        return list(self.engine.submit(payloads, replace=replace))

    def _read_inputs(
        self, payload_ids: list[str]
    ) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
        """Each id's input payload to run again, and (id, why) for those that cannot."""
        from cirrostratus.engine.process import read_inputs

        return read_inputs(self.payloads, payload_ids)

    # --- plain SQL the StateStore protocol has no method for -----------------------------

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self.store.connect()
            self._local.conn = conn
        return conn

    def pairs(self) -> list[tuple[str, str]]:
        """Every (collections, workflow) with records (the workflows list)."""
        return sqlreads.pairs(self._conn())

    def last_event_seq(self) -> int:
        return sqlreads.last_event_seq(self._conn())

    def transitions_since(self, seconds: float) -> dict[str, int]:
        """Transitions into each state during the last `seconds` (`/metrics`)."""
        return sqlreads.transitions_since(self._conn(), seconds)

    def task_durations(self, recent: int = 1000) -> dict[str, tuple[int, float, float]]:
        """Per state name over the last `recent` executions: (count, total s, max s)."""
        if self.history is None:
            return {}
        return sqlreads.task_durations(self.history.path, recent)

    # --- Cirrus's reads ------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        return dict(self._stats.get(STATS_TTL_S, self.store.stats))

    def summary(
        self, collections: str, workflow: str, since: str | None, limit: int | None
    ) -> dict[str, Any]:
        counts = self._call(
            self.store.counts, collections=collections, workflow=workflow, since=since, limit=limit
        )
        return {"collections": collections, "workflow": workflow, "counts": counts}

    def items(self, **query: Any) -> tuple[list[StateRecord], str | None]:
        page = self._call(self.store.query, **query)
        return list(page.items), page.nextkey

    def overview(self) -> list[dict[str, Any]]:
        """Counts per state of every (collections, workflow): the dashboard's table."""

        def compute() -> list[dict[str, Any]]:
            return [
                {
                    "collections": c,
                    "workflow": w,
                    "counts": self.store.counts(collections=c, workflow=w),
                }
                for c, w in self.pairs()
            ]

        return list(self._overview.get(OVERVIEW_TTL_S, compute))

    def record(self, payload_id: str) -> StateRecord:
        found: StateRecord | None = self.store.get(payload_id)
        if found is None:
            raise NotFound(f"no payload with id {payload_id!r}")
        return found

    def input_url(self, payload_id: str) -> str:
        """The URL of the stored input (Cirrus's `catalog`). Stores build URLs as their
        root plus the key, so the root is found once: per record `url()` cost 75 µs, a
        tenth of a page's time."""
        if self._url_root is None:
            probe = "probe/input.json"
            self._url_root = str(self.payloads.url(probe))[: -len(probe)]
        return self._url_root + payload_key(payload_id, "input.json")

    # --- beyond Cirrus -------------------------------------------------------------------

    def stored(self, payload_id: str, which: str) -> bytes:
        """The stored input or output payload (JSON bytes)."""
        self.record(payload_id)
        try:
            return bytes(self.payloads.get_bytes(payload_key(payload_id, f"{which}.json")))
        except StoreError:
            hint = " (it has not completed)" if which == "output" else ""
            raise NotFound(f"no stored {which} for {payload_id!r}{hint}") from None

    def data_file(self, href: str) -> tuple[str, str]:
        """(path, media type) of an image of the project's local data store (api/assets.py)."""
        from cirrostratus.api.assets import resolve_asset

        root = getattr(self.engine.data, "root", None) if self.engine is not None else None
        if root is None:
            raise NotServed("assets are served only from a local data store (a folder)")
        return resolve_asset(href, root, self.project.root)

    def executions(self, payload_id: str) -> list[dict[str, Any]]:
        """Each attempt with the states it visited and their timings, oldest first."""
        record = self.record(payload_id)
        out = []
        for execution in sorted(record.executions, key=lambda e: e.start or ""):
            doc = (self.history.get(execution.id) if self.history is not None else None) or {}
            out.append({**execution.to_dict(), "states": doc.get("states", [])})
        return out

    def history_of(self, payload_id: str) -> dict[str, Any]:
        """Per-state spans: the record's transitions from the event log, with each span's
        start, end and seconds (the last one open while the record is busy)."""
        record = self.record(payload_id)
        events = self.store.events(payload_id, limit=10_000)
        return {"payload_id": record.payload_id, "state": str(record.state), "spans": spans(events)}

    def logs(self, payload_id: str) -> Iterator[dict[str, Any]]:
        """Every task log record of the payload's executions, oldest execution first."""
        from cirrostratus.runtime.logs import read_logs

        record = self.record(payload_id)
        for execution in sorted(record.executions, key=lambda e: e.start or ""):
            lines = sorted(
                read_logs(self.locations.logs_dir, execution_id=execution.id),
                key=lambda r: str(r.get("time", "")),
            )
            yield from lines

    def traceback(self, payload_id: str) -> str | None:
        """The last Python traceback a task of the latest execution wrote, if any."""
        from cirrostratus.runtime.logs import read_logs

        record = self.record(payload_id)
        latest = max(record.executions, key=lambda e: e.start or "", default=None)
        if latest is None:
            return None
        return last_traceback(read_logs(self.locations.logs_dir, execution_id=latest.id))

    def submit(self, body: bytes) -> dict[str, Any]:
        """Queue one payload, a list of them, or envelopes holding them; never a `{"url"}`
        (a request may not make the server read a file or URL it names)."""
        raw, ids = read_submission(body)
        with self._submit_lock:
            messages = self._enqueue(raw, False)
        return {"payload_ids": ids, "message_ids": list(messages)}

    def rerun(
        self, filters: dict[str, Any], payload_ids: list[str], dry_run: bool
    ) -> dict[str, Any]:
        """Queue matching payloads again from their stored input, with replace (the rules
        of `cirro rerun --submit`: same filters, same reading of stored inputs)."""
        chosen = rerun_targets(self.store, filters, payload_ids)
        inputs, skipped = self._read_inputs(chosen)
        skipped_ids = {pid for pid, _ in skipped}
        ready = [p for p in chosen if p not in skipped_ids]
        if not dry_run and inputs:
            with self._submit_lock:
                self._enqueue(inputs, True)
        return {
            "dry_run": dry_run,
            "queued" if not dry_run else "would_queue": ready,
            "skipped": [{"payload_id": p, "reason": why} for p, why in skipped],
        }

    @staticmethod
    def _call(fn: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except (StateStoreError, ValueError) as exc:
            raise BadRequest(str(exc)) from None
