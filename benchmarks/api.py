"""State API latency at 1,000,000 records while `cirro serve` drains payloads.

Fills a project's state store with 1,000,000 records (and one event each) in one
transaction through the store's own schema (its secondary indexes and count triggers dropped
during the insert and rebuilt from their own SQL after), queues payloads, starts `cirro serve --port 0`, and
while it drains times 1,000 GETs of one workflow's counts (`/<collections>/workflow-<wf>`)
and 1,000 GETs of one items page (`.../items?limit=100`). The same-run baseline is the same
two reads called in-process on the state store (no HTTP). Last line, one JSON object:

    {"records", "counts_p50_ms", "counts_p99_ms", "items_p50_ms", "items_p99_ms",
     "direct_counts_p50_ms", "direct_items_p50_ms", "completed_during", "target_p99_ms": 100}

Usage: python benchmarks/api.py [--records N] [--payloads N] [--requests N] [--dir DIR]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
WORKFLOWS = [f"wf{i}" for i in range(9)] + ["noop3"]
TOKEN = "bench-token"


def engine_bench() -> Any:
    spec = importlib.util.spec_from_file_location("engine_bench", HERE / "engine.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fill(db: Path, n: int) -> float:
    """n records (80% COMPLETED, 10% FAILED, …) over 60 days, one event each."""
    from cirrostratus.state import SqliteStateStore

    SqliteStateStore(db).close()  # the schema, by the store's own migrations
    began = time.perf_counter()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL "
        "AND tbl_name IN ('records', 'events')"
    ).fetchall()
    triggers = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type='trigger' AND tbl_name = 'records'"
    ).fetchall()
    states = ["COMPLETED"] * 80 + ["FAILED"] * 10 + ["INVALID"] * 3 + ["ABORTED"] * 2
    states += ["PROCESSING"] * 5
    now = datetime.now(UTC)

    def rows() -> Any:
        for i in range(n):
            wf = WORKFLOWS[i % len(WORKFLOWS)]
            t = (now - timedelta(seconds=(i * 5183.0) % (60 * 86400))).isoformat()
            state = states[i % 100]
            error = "TimedOutError: the task timed out" if state == "FAILED" else None
            pid = f"bench/workflow-{wf}/old-{i:07d}"
            yield (pid, "bench", wf, f"old-{i:07d}", state, t, t, t, "[]", "[]", error, None, 1)

    conn.execute("BEGIN")
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    for name, _ in triggers:  # the per-state totals are counted once, after the insert
        conn.execute(f"DROP TRIGGER {name}")
    conn.executemany("INSERT INTO records VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows())
    conn.execute(
        "INSERT INTO events (time, payload_id, from_state, to_state) "
        "SELECT updated, payload_id, NULL, state FROM records"
    )
    for _, sql in indexes + triggers:
        conn.execute(sql)
    conn.execute(
        "INSERT INTO state_counts SELECT collections, workflow, state, count(*) FROM records "
        "GROUP BY 1, 2, 3"
    )
    conn.execute("UPDATE counters SET value = 1 WHERE name = 'rev'")
    conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - began


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)


def timed(fn: Any, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--payloads", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--dir", type=Path, default=HERE.parent / "build" / "bench" / "api")
    args = parser.parse_args()

    import httpx

    from cirrostratus.engine.local import LocalEngine
    from cirrostratus.state import SqliteStateStore

    shutil.rmtree(args.dir, ignore_errors=True)
    args.dir.mkdir(parents=True)
    bench = engine_bench()
    root = bench.make_project(args.dir / "project")
    fill_s = fill(root / ".cirro" / "state.db", args.records)
    print(f"filled {args.records} records in {fill_s:.1f}s", file=sys.stderr)

    engine = LocalEngine.open(root)
    engine.submit(bench.payload(i) for i in range(args.payloads))
    engine.close()

    store = SqliteStateStore(root / ".cirro" / "state.db")
    direct_counts = timed(lambda: store.counts(collections="bench", workflow="noop3"), 200)
    direct_items = timed(lambda: store.query(collections="bench", workflow="noop3", limit=100), 200)

    env = {**os.environ, "CIRRO_API_TOKEN": TOKEN}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cirrostratus", "--project", str(root), "serve", "--port", "0"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert proc.stderr is not None
    url = None
    while url is None:
        line = proc.stderr.readline()
        if not line:
            raise SystemExit("cirro serve stopped before it served the API")
        found = re.search(r"state API on (http://\S+)", line)
        url = found.group(1) if found else None
    try:
        client = httpx.Client(base_url=url, timeout=30)
        before = int(store.counts(collections="bench", workflow="noop3")["COMPLETED"])
        summary = "/bench/workflow-noop3"
        page = "/bench/workflow-noop3/items?limit=100"
        for path in (summary, page):
            client.get(path).raise_for_status()  # warm: connections, caches
        counts = timed(lambda: client.get(summary).raise_for_status(), args.requests)
        items = timed(lambda: client.get(page).raise_for_status(), args.requests)
        after = int(store.counts(collections="bench", workflow="noop3")["COMPLETED"])
        client.close()
    finally:
        proc.terminate()
        proc.wait(60)
        store.close()
    result = {
        "records": args.records,
        "requests": args.requests,
        "counts_p50_ms": pct(counts, 0.50),
        "counts_p99_ms": pct(counts, 0.99),
        "items_p50_ms": pct(items, 0.50),
        "items_p99_ms": pct(items, 0.99),
        "direct_counts_p50_ms": round(statistics.median(direct_counts) * 1000, 2),
        "direct_items_p50_ms": round(statistics.median(direct_items) * 1000, 2),
        "completed_during": after - before,
        "fill_s": round(fill_s, 1),
        "target_p99_ms": 100,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
