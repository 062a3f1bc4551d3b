"""The trigger-kept `state_counts` (state schema 4) always equals counting the records."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cirrostratus.state import SqliteStateStore, Transition


def counted(db: Path) -> dict[tuple[str, str, str], int]:
    with sqlite3.connect(db) as conn:
        kept = {
            (c, w, s): n for c, w, s, n in conn.execute("SELECT * FROM state_counts WHERE n != 0")
        }
        actual = {
            (c, w, s): n
            for c, w, s, n in conn.execute(
                "SELECT collections, workflow, state, count(*) FROM records GROUP BY 1, 2, 3"
            )
        }
    assert kept == actual
    return kept


def test_counts_follow_claims_finishes_replaces_and_deletes(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    store = SqliteStateStore(db)
    ids = [f"c{i % 2}/workflow-w{i % 3}/item-{i}" for i in range(30)]
    store.apply([Transition.claim_and_start(p, f"e-{p}") for p in ids])
    counted(db)
    store.apply([Transition.complete(p, f"e-{p}") for p in ids[:10]])
    store.apply([Transition.fail(p, "Boom: x", f"e-{p}") for p in ids[10:20]])
    store.apply([Transition.invalidate(ids[20], "InvalidInput: no")])
    counted(db)
    store.apply([Transition.claim_and_start(p, f"again-{p}", replace=True) for p in ids[:15]])
    store.apply([Transition.delete(p) for p in ids[25:]])
    totals = counted(db)
    assert sum(totals.values()) == 25
    assert store.counts(collections="c0", workflow="w0") == store.counts(
        collections="c0", workflow="w0", since="1d"
    )
    store.close()


def test_an_old_file_gains_its_counts(tmp_path: Path) -> None:
    from cirrostratus.state.schema import MIGRATIONS, migrate

    db = tmp_path / "state.db"
    conn = sqlite3.connect(db, isolation_level=None)
    migrate(conn, MIGRATIONS[:3])
    conn.execute(
        "INSERT INTO records (payload_id, collections, workflow, itemids, state, created, "
        "updated, state_changed, rev) VALUES ('a/workflow-b/c', 'a', 'b', 'c', 'FAILED', "
        "'t', 't', 't', 1)"
    )
    conn.close()
    store = SqliteStateStore(db)  # migrates to schema 4
    assert store.counts(collections="a", workflow="b")["FAILED"] == 1
    store.close()
