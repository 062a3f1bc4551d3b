"""The transition rules, as one pure function over an in-memory row.

Every backend runs the same `step`: the SQLite store loads the rows a batch touches, steps
each transition in order (so claim → start → complete for one id in one batch works), and
writes the final rows and the events back in one transaction. Keeping the rules free of I/O
is what lets the property tests drive them directly and a DynamoDB twin share them.

The legal moves (anything else is refused with a reason, never applied):

| from                            | action                  | to          |
|---------------------------------|-------------------------|-------------|
| absent, FAILED, ABORTED         | claim / claim_and_start | CLAIMED / PROCESSING |
| COMPLETED, INVALID (+ replace)  | claim / claim_and_start | CLAIMED / PROCESSING |
| CLAIMED with an expired lease   | claim / claim_and_start | CLAIMED / PROCESSING |
| CLAIMED (same execution)        | start                   | PROCESSING  |
| CLAIMED/PROCESSING (same exec.) | complete/fail/invalidate/abort | COMPLETED/FAILED/INVALID/ABORTED |
| anything not busy, or absent    | fail/invalidate/abort/complete without execution | that state |
| CLAIMED with an expired lease   | release                 | FAILED      |
| any record                      | delete                  | absent      |
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cirrostratus.state.model import (
    BUSY,
    FINISH,
    REPLACEABLE,
    Action,
    Execution,
    Outcome,
    State,
    StateRecord,
    Transition,
    id_parts,
)


@dataclass(slots=True)
class Row:
    """A record being worked on: mutable, JSON columns already decoded."""

    payload_id: str
    collections: str
    workflow: str
    itemids: str
    state: State
    created: str
    updated: str
    state_changed: str
    executions: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    last_error: str | None = None
    lease_until: str | None = None

    @property
    def execution_id(self) -> str | None:
        return str(self.executions[-1]["id"]) if self.executions else None

    def expired(self, now: str) -> bool:
        """A CLAIMED row whose claimer did not start before its lease ended."""
        return self.state is State.CLAIMED and (self.lease_until or "") <= now

    def record(self) -> StateRecord:
        """The immutable record this row stands for (what reads and notifications show)."""
        return StateRecord(
            payload_id=self.payload_id,
            collections=self.collections,
            workflow=self.workflow,
            itemids=self.itemids,
            state=self.state,
            created=self.created,
            updated=self.updated,
            state_changed=self.state_changed,
            executions=tuple(Execution.from_dict(e) for e in self.executions),
            outputs=tuple(self.outputs),
            last_error=self.last_error,
            lease_until=self.lease_until,
        )


@dataclass(slots=True)
class LogLine:
    """An event to append: the store adds the sequence number and the time. (Not frozen: a
    frozen dataclass pays a `object.__setattr__` per field, and one is made per transition.)"""

    payload_id: str
    from_state: State | None
    to_state: State | None
    execution_id: str | None
    error: str | None


def _refuse(row: Row | None, t: Transition, reason: str) -> Outcome:
    state = row.state if row else None
    return Outcome(t.payload_id, False, state, state, reason)


def _new_row(payload_id: str, now: str) -> Row:
    collections, workflow, itemids = id_parts(payload_id)
    return Row(payload_id, collections, workflow, itemids, State.FAILED, now, now, now)


def _end_expired_claim(row: Row, now: str) -> None:
    """Close the execution entry of a claim whose lease ran out."""
    if row.expired(now) and row.executions:
        last = dict(row.executions[-1])
        last.update(end=now, status="LEASE_EXPIRED")
        row.executions[-1] = last


def step(
    row: Row | None, t: Transition, now: str, lease_until: str
) -> tuple[Row | None, Outcome, LogLine | None]:
    """Apply `t` to `row` at time `now`; return the new row, the outcome and the event.

    The row passed in may be modified in place; callers use the returned row.
    """
    before = row.state if row else None
    a = t.action

    if a is Action.CLAIM or a is Action.CLAIM_AND_START:
        if row is not None:
            if row.state in REPLACEABLE and not t.replace:
                return row, _refuse(row, t, f"{row.state} (pass replace to run it again)"), None
            if row.state in BUSY and not row.expired(now):
                return row, _refuse(row, t, f"{row.state} (owned by {row.execution_id})"), None
            _end_expired_claim(row, now)
        else:
            row = _new_row(t.payload_id, now)
        starting = a is Action.CLAIM_AND_START
        row.state = State.PROCESSING if starting else State.CLAIMED
        row.executions.append(
            {
                "id": t.execution_id,
                "start": now if starting else None,
                "end": None,
                "status": "RUNNING" if starting else "PENDING",
            }
        )
        row.lease_until = None if starting else lease_until
        return _moved(row, t, before, now, t.execution_id, None)

    if row is None:
        if a in FINISH and t.execution_id is None:
            row = _new_row(t.payload_id, now)
            return _finish(row, t, None, now)
        return None, _refuse(None, t, "no such payload"), None

    if a is Action.START:
        if row.state is not State.CLAIMED or row.execution_id != t.execution_id:
            return row, _refuse(row, t, _owner(row)), None
        last = dict(row.executions[-1])
        last.update(start=now, status="RUNNING")
        row.executions[-1] = last
        row.state = State.PROCESSING
        row.lease_until = None
        return _moved(row, t, before, now, t.execution_id, None)

    if a in FINISH:
        if t.execution_id is not None:
            if row.state not in BUSY or row.execution_id != t.execution_id:
                return (
                    row,
                    _refuse(row, t, f"stale execution {t.execution_id}: {_owner(row)}"),
                    None,
                )
        elif row.state in BUSY and not row.expired(now):
            return row, _refuse(row, t, f"{row.state} (owned by {row.execution_id})"), None
        else:
            _end_expired_claim(row, now)
        return _finish(row, t, before, now)

    if a is Action.RELEASE:
        if not row.expired(now):
            return row, _refuse(row, t, f"{row.state}, not a claim with an expired lease"), None
        error = (
            f"LeaseExpired: execution {row.execution_id} claimed the payload but did not "
            f"start before its lease ended at {row.lease_until}"
        )
        _end_expired_claim(row, now)
        row.state = State.FAILED
        row.last_error = error
        row.lease_until = None
        return _moved(row, t, before, now, row.execution_id, error)

    if a is Action.DELETE:
        line = LogLine(t.payload_id, before, None, row.execution_id, None)
        return None, Outcome(t.payload_id, True, None, before), line

    raise ValueError(f"unknown action {a!r}")  # pragma: no cover


def _owner(row: Row) -> str:
    if row.state in BUSY:
        return f"{row.state}, owned by execution {row.execution_id}"
    return f"{row.state}"


def _finish(
    row: Row, t: Transition, before: State | None, now: str
) -> tuple[Row, Outcome, LogLine]:
    state, status = FINISH[t.action]
    if t.execution_id is not None and row.executions:
        last = dict(row.executions[-1])
        last.update(end=now, status=t.status or status)
        row.executions[-1] = last
    row.state = state
    row.lease_until = None
    if t.error is not None:
        row.last_error = t.error
    if t.outputs is not None:
        row.outputs = list(t.outputs)
    return _moved(row, t, before, now, t.execution_id, t.error)


def _moved(
    row: Row,
    t: Transition,
    before: State | None,
    now: str,
    execution_id: str | None,
    error: str | None,
) -> tuple[Row, Outcome, LogLine]:
    row.updated = now
    if before is not row.state:
        row.state_changed = now
    line = LogLine(t.payload_id, before, row.state, execution_id, error)
    return row, Outcome(t.payload_id, True, row.state, before), line
