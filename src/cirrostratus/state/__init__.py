"""Where every payload is: the StateStore protocol and its SQLite default.

One record per payload id (CLAIMED, PROCESSING, COMPLETED, FAILED, INVALID, ABORTED) and an
append-only event log of every transition. Writes are `Transition`s applied in batches
(`SqliteStateStore.apply`, or `GroupCommitWriter` to batch across callers). See docs/state.md.
"""

from cirrostratus.state.model import (
    BUSY,
    INTAKE,
    NOTIFY,
    REPLACEABLE,
    RESTARTABLE,
    STATES,
    TERMINAL,
    Action,
    Event,
    Execution,
    Follow,
    OutboxRow,
    Outcome,
    Page,
    State,
    StateRecord,
    StateStoreError,
    Transition,
    id_parts,
    iso,
    parse_since,
    utcnow,
)
from cirrostratus.state.protocol import StateStore
from cirrostratus.state.sqlite import DEFAULT_LEASE_SECONDS, SqliteStateStore
from cirrostratus.state.writer import GroupCommitWriter

__all__ = [
    "BUSY",
    "DEFAULT_LEASE_SECONDS",
    "INTAKE",
    "NOTIFY",
    "REPLACEABLE",
    "RESTARTABLE",
    "STATES",
    "TERMINAL",
    "Action",
    "Event",
    "Execution",
    "Follow",
    "GroupCommitWriter",
    "OutboxRow",
    "Outcome",
    "Page",
    "SqliteStateStore",
    "State",
    "StateRecord",
    "StateStore",
    "StateStoreError",
    "Transition",
    "id_parts",
    "iso",
    "parse_since",
    "utcnow",
]
