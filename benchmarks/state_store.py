"""State transitions per second on SQLite: claim → processing → completed, with their events.

`single`: one transition per call, each its own transaction (what a naive engine would do).
`batched`: `apply` with many payloads' transitions in one transaction.
`raw_batched`: the same rows written by plain SQLite `executemany` into a database of the same
schema — per batch one transaction holding one record row per payload (its final state, as
`apply` writes it) and one event row per transition — the ceiling any writer of ours could
reach on this machine. `batched_vs_raw` is their ratio (target ≥ 0.25): unlike the absolute
figures, which move twofold between machines, it holds on any machine.
`group_commit`: many threads submitting one transition at a time to a GroupCommitWriter.
`rules`: payloads/s through `engine.process` + `engine.update` (batches of 200, a no-op
runner, inputs and outputs written to a local payload store) — the state side of the engine.
`rules_memory_store`: the same with payloads kept in a dict (the state side alone).
`intake`: messages/s sent, received and deleted in batches of 200.
Prints ONE JSON object on the last line.
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from cirrostratus.engine.protocols import PayloadWriter
from cirrostratus.state import GroupCommitWriter, SqliteStateStore, Transition
from cirrostratus.storage import LocalStore


def ids(prefix: str, n: int) -> list[str]:
    return [f"sentinel-2/workflow-cog/{prefix}-{i:07d}" for i in range(n)]


def single(store: SqliteStateStore, n: int) -> float:
    t0 = time.perf_counter()
    for i, pid in enumerate(ids("single", n)):
        ex = f"exec-{i}"
        store.claim(pid, ex)
        store.start(pid, ex)
        store.complete(pid, ex, [f"s3://bucket/{pid}.json"])
    return 3 * n / (time.perf_counter() - t0)


def batched(store: SqliteStateStore, n: int, batch: int) -> float:
    all_ids = ids("batched", n)
    t0 = time.perf_counter()
    for b in range(0, n, batch):
        chunk = all_ids[b : b + batch]
        ts: list[Transition] = []
        for pid in chunk:
            ex = "e-" + pid[-7:]
            ts.append(Transition.claim(pid, ex))
            ts.append(Transition.start(pid, ex))
            ts.append(Transition.complete(pid, ex, [f"s3://bucket/{pid}.json"]))
        outcomes = store.apply(ts)
        assert all(o.applied for o in outcomes)
    return 3 * n / (time.perf_counter() - t0)


_RAW_RECORD = (
    "INSERT INTO records (payload_id, collections, workflow, itemids, state, created, updated, "
    "state_changed, executions, outputs, last_error, lease_until, rev) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(payload_id) DO UPDATE SET "
    "state=excluded.state, updated=excluded.updated, state_changed=excluded.state_changed, "
    "executions=excluded.executions, outputs=excluded.outputs, last_error=excluded.last_error, "
    "lease_until=excluded.lease_until, rev=excluded.rev"
)
_RAW_EVENT = (
    "INSERT INTO events (time, payload_id, from_state, to_state, execution_id, error) "
    "VALUES (?,?,?,?,?,?)"
)


def raw_batched(path: Path, n: int, batch: int) -> float:
    """Transitions/s of `batched`'s rows written by bare `executemany`, one transaction a batch.

    The rows are built before the clock starts: this is SQLite's own cost for the same
    writes on the same schema, connection settings (WAL, synchronous=NORMAL) and batch size.
    """
    from cirrostratus.sqlitedb.connection import BUSY_TIMEOUT_MS
    from cirrostratus.state.schema import MIGRATIONS, open_database

    conn = open_database(path, MIGRATIONS, "state", BUSY_TIMEOUT_MS)
    now = "2026-01-01T00:00:00.000000+00:00"
    batches = []
    for b, chunk in enumerate(_chunks(ids("raw", n), batch)):
        records, events = [], []
        for pid in chunk:
            ex = "e-" + pid[-7:]
            execution = f'[{{"id":"{ex}","start":"{now}","end":"{now}","status":"SUCCEEDED"}}]'
            records.append(
                (
                    pid,
                    "sentinel-2",
                    "cog",
                    pid[-7:],
                    "COMPLETED",
                    now,
                    now,
                    now,
                    execution,
                    f'["s3://bucket/{pid}.json"]',
                    None,
                    None,
                    b + 1,
                )
            )
            events.append((now, pid, None, "CLAIMED", ex, None))
            events.append((now, pid, "CLAIMED", "PROCESSING", ex, None))
            events.append((now, pid, "PROCESSING", "COMPLETED", ex, None))
        batches.append((records, events))
    t0 = time.perf_counter()
    for records, events in batches:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE counters SET value = value + 1 WHERE name = 'rev'")
        conn.executemany(_RAW_RECORD, records)
        conn.executemany(_RAW_EVENT, events)
        conn.execute("COMMIT")
    rate = 3 * n / (time.perf_counter() - t0)
    conn.close()
    return rate


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def group_commit(store: SqliteStateStore, n: int, threads: int) -> tuple[float, int]:
    all_ids = ids("group", n)
    with GroupCommitWriter(store) as writer:

        def work(part: list[str]) -> None:
            for pid in part:
                ex = "g-" + pid[-7:]
                futures = [
                    writer.submit(Transition.claim(pid, ex)),
                    writer.submit(Transition.start(pid, ex)),
                    writer.submit(Transition.complete(pid, ex)),
                ]
                assert all(f.result().applied for f in futures)

        t0 = time.perf_counter()
        workers = [
            threading.Thread(target=work, args=(all_ids[i::threads],)) for i in range(threads)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        rate = 3 * n / (time.perf_counter() - t0)
        commits = writer.commits
    return rate, commits


class NoopRunner:
    def start(self, payload: object, execution_id: str) -> None:
        return None


class MemoryStore:
    """A payload store in a dict: separates the rules' cost from the file system's."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put_bytes(self, key: str, data: bytes) -> str:
        self.objects[key] = data
        return f"memory://{key}"


def rules(store: SqliteStateStore, payloads: PayloadWriter, n: int, batch: int, tag: str) -> float:
    from cirrostratus.engine.process import process
    from cirrostratus.engine.update import Finished, update

    def payload(i: int) -> dict[str, object]:
        item = {"type": "Feature", "id": f"{tag}{i:07d}", "collection": "s2", "properties": {}}
        item["links"] = [{"rel": "self", "href": f"file:///data/{tag}{i:07d}.json"}]
        return {"type": "FeatureCollection", "features": [item], "process": {"workflow": "cog"}}

    t0 = time.perf_counter()
    for b in range(0, n, batch):
        docs = [payload(i) for i in range(b, b + batch)]
        result = process(docs, store=store, payload_store=payloads, runner=NoopRunner())
        assert len(result.started) == batch
        finished = [
            Finished(pid, result.executions[pid], "SUCCEEDED", output=doc)
            for pid, doc in zip(result.started, docs, strict=True)
        ]
        updated = update(finished, store=store, payload_store=payloads)
        assert all(r.applied for r in updated)
    return n / (time.perf_counter() - t0)


def intake_rate(tmp: Path, n: int, batch: int) -> float:
    """Messages/s through the intake queue: send_batch → receive → delete_batch."""
    from cirrostratus.intake import SqliteIntakeQueue

    q = SqliteIntakeQueue(tmp / "intake.db")
    body = b'{"type":"FeatureCollection","features":[],"process":{"workflow":"cog"}}'
    t0 = time.perf_counter()
    for _ in range(0, n, batch):
        q.send_batch([body] * batch)
        got = q.receive(batch)
        assert q.delete_batch([m.receipt for m in got]) == batch
    rate = n / (time.perf_counter() - t0)
    q.close()
    return rate


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStateStore(Path(tmp) / "state.db")
        s = single(store, 1000)
        b = batched(store, 60_000, 1000)
        raw = raw_batched(Path(tmp) / "raw.db", 60_000, 1000)
        g, commits = group_commit(store, 6000, 32)
        r = rules(store, LocalStore(Path(tmp) / "payloads"), 4000, 200, "file")
        rm = rules(store, MemoryStore(), 10_000, 200, "mem")
        q = intake_rate(Path(tmp), 20_000, 200)
        events = len(store.events(limit=10**9))
        store.close()
    print(
        json.dumps(
            {
                "single_per_s": round(s),
                "batched_per_s": round(b),
                "raw_sqlite_batched_per_s": round(raw),
                "batched_vs_raw": round(b / raw, 3),
                "group_commit_per_s": round(g),
                "group_commit_transactions": commits,
                "events_logged": events,
                "process_update_payloads_per_s": round(r),
                "process_update_memory_store_payloads_per_s": round(rm),
                "intake_messages_per_s": round(q),
            }
        )
    )


if __name__ == "__main__":
    main()
