"""The API over a live deployment (`cirro api --deployment NAME`): the same routes and shapes,
read from the deployment's DynamoDB state table (Cirrus 0.9's schema) and our events table.

What a local project keeps on disk a deployment keeps in AWS, so a few operations read
elsewhere:

* input/output: the latest Step Functions execution's input or output (as `cirro payload get
  --deployment`); submit and rerun: the deployment's ProcessQueue (as `cirro submit` /
  `cirro rerun --deployment`). The CLI hands these in as callables, so nothing here imports
  boto3 or the CLI.
* `/stats`, the dashboard's chart, history spans and `/events`: the events table. A Cirrus 0.9
  stack has none (its events went to Timestream): `/stats` answers 404 saying so, as Cirrus
  does when its timeseries database is not configured; spans and events are empty.
* the workflows list (`/`, the dashboard's table): DynamoDB cannot list distinct partition
  keys, so it is a keys-only scan of the state table, kept for `PAIRS_TTL_S`.
* task logs live in CloudWatch Logs: `…/logs` reads them as `cirro payload logs --deployment`
  does (the workflow's Lambda lines that name the payload id, its Batch jobs' streams, within
  each execution's window); a history carries no traceback.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from cirrostratus.api.backend import ApiBackend
from cirrostratus.api.cache import Cached
from cirrostratus.api.errors import NotFound, NotServed
from cirrostratus.state import STATES, StateStoreError, iso, utcnow
from cirrostratus.state.dynamodb_events import event_from

#: Seconds the scanned list of (collections, workflow) is reused.
PAIRS_TTL_S = 300.0
#: The `/events` stream hands out transitions at least this old: an event is stamped just
#: before its transaction lands, so a younger one may still be overtaken by an older one.
SETTLE = timedelta(seconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)

STATS_OFF = (
    "Endpoint /stats is not enabled because timeseries database is not configured: deployment "
    "{name} has no state events table (CIRRO_EVENTS_TABLE). A Cirrus 0.9 stack keeps its "
    "events in Timestream, which cirro does not read; stacks deployed by `cirro deploy` have one."
)


def micros(when: str) -> int:
    """An event time (our ISO form) as microseconds since the epoch: the `/events` seq."""
    return (datetime.fromisoformat(when) - _EPOCH) // _MICRO


class DeploymentBackend(ApiBackend):
    """ApiBackend over a deployment's state store and process queue (no local engine)."""

    def __init__(
        self,
        name: str,
        *,
        store: Any,
        intake: Any,
        environment: dict[str, str],
        token: str,
        fetch_execution: Callable[[str, str], bytes],
        send: Callable[[list[dict[str, Any]], bool], list[str]],
        fetch_logs: Callable[[Any], list[dict[str, Any]]] | None = None,
    ) -> None:
        self.name = name
        self.engine = None
        self.store = store
        self.intake = intake
        self.payloads = None
        self.history = None
        self.project = None
        self.environment = environment
        self.token = token
        self.inflight = None
        self.fetch_execution = fetch_execution
        self.send = send
        self.fetch_logs = fetch_logs
        self._local = threading.local()
        self._stats = Cached()
        self._overview = Cached()
        self._pairs = Cached()
        self._submit_lock = threading.Lock()
        self._url_root = None

    def close(self) -> None:
        self.store.close()

    def service_name(self) -> str:
        return self.name

    def stac_url(self) -> str:
        return f"s3://{self.environment.get('CIRRUS_DATA_BUCKET', '')}/catalog.json"

    def input_url(self, payload_id: str) -> str:
        """Cirrus's `payload` URL: `s3://<payload bucket>/<payload id>/input.json`."""
        return f"s3://{self.environment.get('CIRRUS_PAYLOAD_BUCKET', '')}/{payload_id}/input.json"

    # --- reads -----------------------------------------------------------------------------

    def pairs(self) -> list[tuple[str, str]]:
        def scan() -> list[tuple[str, str]]:
            found: set[str] = set()
            kwargs: dict[str, Any] = {
                "TableName": self.store.table,
                "ProjectionExpression": "#cw",
                "ExpressionAttributeNames": {"#cw": "collections_workflow"},
            }
            while True:
                resp = self.store.client.scan(**kwargs)
                found.update(i["collections_workflow"]["S"] for i in resp.get("Items", []))
                if "LastEvaluatedKey" not in resp:
                    break
                kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
            return sorted((c, w) for c, _, w in (cw.rpartition("_") for cw in found))

        return list(self._pairs.get(PAIRS_TTL_S, scan))

    def total_counts(self) -> dict[str, int | str]:
        """The sum of each workflow's counts (indexed COUNT queries, not a table scan)."""
        total = {str(s): 0 for s in STATES}
        for entry in self.overview():
            for state, n in entry["counts"].items():
                total[state] = int(total.get(state, 0)) + int(str(n).rstrip("+"))
        return dict(total)

    def stats(self) -> dict[str, Any]:
        if not self.store.events_table:
            raise NotFound(STATS_OFF.format(name=self.name))
        try:
            return dict(self._stats.get(30.0, self.store.stats))
        except StateStoreError as exc:
            raise NotFound(str(exc)) from None

    def _day_events(self, day: str, lo: str, hi: str) -> Iterator[dict[str, Any]]:
        """The events of one day partition with lo < sk < hi, oldest first."""
        from cirrostratus.state.dynamodb_items import decode

        kwargs: dict[str, Any] = {
            "TableName": self.store.events_table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {
                ":pk": {"S": f"day#{day}"},
                ":lo": {"S": lo},
                ":hi": {"S": hi},
            },
        }
        while True:
            resp = self.store.client.query(**kwargs)
            for item in resp.get("Items", []):
                if item["sk"]["S"] > lo:
                    yield {k: decode(v) for k, v in item.items()}
            if "LastEvaluatedKey" not in resp:
                return
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def _window(self, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
        """Every transition stamped after `start` and up to `end`, across day partitions."""
        lo, hi = iso(start) + "#~", iso(end) + "#~"
        day = start.date()
        while day <= end.date():
            yield from self._day_events(str(day), lo, hi)
            day += timedelta(days=1)

    def last_event_seq(self) -> int:
        return (utcnow() - SETTLE - _EPOCH) // _MICRO

    def events_after(self, payload_id: str | None, after: int, limit: int) -> list[Any]:
        """Transitions stamped after `after` (microseconds since the epoch, also each
        event's seq) and at least SETTLE old. Without a payload id it reads the day partitions
        from `after` on (at most since yesterday: a live stream, not an archive)."""
        if not self.store.events_table:
            return []
        end = utcnow() - SETTLE
        if payload_id is not None:
            found = [
                e
                for e in self.store.events(payload_id, limit=10_000)
                if after < micros(e.time) <= (end - _EPOCH) // _MICRO
            ]
            return [replace(e, seq=micros(e.time)) for e in found][:limit]
        start = max(_EPOCH + after * _MICRO, end - timedelta(days=1))
        out: list[Any] = []
        for data in self._window(start, end):
            out.append(event_from(data, micros(str(data["time"]))))
            if len(out) >= limit:
                break
        return out

    def transitions_since(self, seconds: float) -> dict[str, int]:
        if not self.store.events_table:
            return {}
        end = utcnow()
        found: dict[str, int] = {}
        for data in self._window(end - timedelta(seconds=seconds), end):
            state = data.get("to_state")
            if state:
                found[str(state)] = found.get(str(state), 0) + 1
        return found

    def engine_status(self) -> dict[str, Any] | None:
        return None  # no local engine: Step Functions runs the executions

    def task_durations(self, recent: int = 1000) -> dict[str, tuple[int, float, float]]:
        return {}  # per-state timings are in Step Functions' execution histories, not read

    # --- what lives in AWS -----------------------------------------------------------------

    def stored(self, payload_id: str, which: str) -> bytes:
        """The latest execution's input or output, from Step Functions."""
        self.record(payload_id)
        return self.fetch_execution(payload_id, which)

    def logs(self, payload_id: str) -> Iterator[dict[str, Any]]:
        """Its executions' lines from CloudWatch Logs (as `cirro payload logs --deployment`),
        read whole before the answer starts, so a refused read is an error, not half a log."""
        record = self.record(payload_id)
        if self.fetch_logs is None:
            raise NotServed(
                f"task logs of deployment {self.name} are in CloudWatch Logs, not served here: "
                f"`cirro payload logs --deployment {self.name}` reads them"
            )
        return iter(self.fetch_logs(record))

    def traceback(self, payload_id: str) -> str | None:
        return None

    def _enqueue(self, payloads: list[dict[str, Any]], replace: bool) -> list[str]:
        return list(self.send(payloads, replace))

    def _read_inputs(
        self, payload_ids: list[str]
    ) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
        """The latest execution input of each (as `cirro rerun --deployment`)."""
        import orjson

        payloads, skipped = [], []
        for pid in payload_ids:
            try:
                payloads.append(orjson.loads(self.fetch_execution(pid, "input")))
            except NotFound as exc:
                skipped.append((pid, str(exc)))
            except orjson.JSONDecodeError as exc:
                skipped.append((pid, f"its execution input is not JSON ({exc})"))
        return payloads, skipped
