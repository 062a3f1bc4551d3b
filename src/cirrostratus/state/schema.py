"""The SQLite schema of the state store: its ordered migrations (see `cirrostratus.sqlitedb`)."""

from __future__ import annotations

import sqlite3

from cirrostratus.sqlitedb import migrate as _migrate
from cirrostratus.sqlitedb import open_database

#: Append only; never edit a migration that has shipped.
MIGRATIONS: tuple[str, ...] = (
    # 1: records, the transition log, and the write counter used by stable pagination
    """
    CREATE TABLE records (
        payload_id    TEXT PRIMARY KEY,
        collections   TEXT NOT NULL,
        workflow      TEXT NOT NULL,
        itemids       TEXT NOT NULL,
        state         TEXT NOT NULL,
        created       TEXT NOT NULL,
        updated       TEXT NOT NULL,
        state_changed TEXT NOT NULL,
        executions    TEXT NOT NULL DEFAULT '[]',
        outputs       TEXT NOT NULL DEFAULT '[]',
        last_error    TEXT,
        lease_until   TEXT,
        rev           INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX records_cw_updated ON records (collections, workflow, updated, payload_id);
    CREATE INDEX records_state_updated ON records (state, updated, payload_id);
    CREATE INDEX records_updated ON records (updated, payload_id);
    CREATE INDEX records_state_changed ON records (state_changed, payload_id);
    CREATE TABLE events (
        seq          INTEGER PRIMARY KEY,
        time         TEXT NOT NULL,
        payload_id   TEXT NOT NULL,
        from_state   TEXT,
        to_state     TEXT,
        execution_id TEXT,
        error        TEXT
    );
    CREATE INDEX events_time ON events (time);
    CREATE INDEX events_payload ON events (payload_id, seq);
    CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    INSERT INTO counters VALUES ('rev', 0);
    """,
    # 2: the outbox - what must follow a committed transition (chained payloads for the intake,
    # notifications), written in the transition's transaction and deleted once delivered
    """
    CREATE TABLE outbox (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        payload_id TEXT NOT NULL,
        kind       TEXT NOT NULL,
        topic      TEXT NOT NULL DEFAULT '',
        body       BLOB NOT NULL
    );
    """,
    # 3: counts per state of one workflow (the API's `<collections>/workflow-<wf>` and the
    # dashboard) read this index alone, and a state-filtered page of one workflow walks it in
    # `updated` order; without it both read every record of the workflow (~85 ms per 33,000)
    """
    CREATE INDEX records_cw_state ON records (collections, workflow, state, updated, payload_id);
    """,
    # 4: records per (collections, workflow, state), kept by triggers in the transaction that
    # writes the records: counts without `since` or an error prefix read a few rows instead
    # of every index entry of a workflow (50-100 ms per 100,000 records, on every dashboard
    # refresh and API summary)
    """
    CREATE TABLE state_counts (
        collections TEXT NOT NULL,
        workflow    TEXT NOT NULL,
        state       TEXT NOT NULL,
        n           INTEGER NOT NULL,
        PRIMARY KEY (collections, workflow, state)
    ) WITHOUT ROWID;
    INSERT INTO state_counts
        SELECT collections, workflow, state, count(*) FROM records GROUP BY 1, 2, 3;
    CREATE TRIGGER records_counted_insert AFTER INSERT ON records BEGIN
        INSERT INTO state_counts VALUES (NEW.collections, NEW.workflow, NEW.state, 1)
            ON CONFLICT DO UPDATE SET n = n + 1;
    END;
    CREATE TRIGGER records_counted_delete AFTER DELETE ON records BEGIN
        UPDATE state_counts SET n = n - 1
            WHERE collections = OLD.collections AND workflow = OLD.workflow
            AND state = OLD.state;
    END;
    CREATE TRIGGER records_counted_update AFTER UPDATE OF state ON records
    WHEN OLD.state IS NOT NEW.state BEGIN
        UPDATE state_counts SET n = n - 1
            WHERE collections = OLD.collections AND workflow = OLD.workflow
            AND state = OLD.state;
        INSERT INTO state_counts VALUES (NEW.collections, NEW.workflow, NEW.state, 1)
            ON CONFLICT DO UPDATE SET n = n + 1;
    END;
    """,
)


def migrate(conn: sqlite3.Connection, migrations: tuple[str, ...] = MIGRATIONS) -> int:
    """Bring a state database to the newest schema; return its version."""
    return _migrate(conn, migrations, "state")


__all__ = ["MIGRATIONS", "migrate", "open_database"]
