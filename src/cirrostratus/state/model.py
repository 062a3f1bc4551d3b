"""The values the state store speaks: states, records, transitions, outcomes, events.

They are plain frozen dataclasses so a record read from SQLite, one built by a test and one
sent over HTTP compare equal, and so the rules in `cirrostratus.engine` can be written as pure
functions over them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from cirrostratus.sqlitedb import DatabaseError


class State(StrEnum):
    """Where a payload is. The order is the order used in counts and listings."""

    CLAIMED = "CLAIMED"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    INVALID = "INVALID"
    ABORTED = "ABORTED"


STATES: tuple[State, ...] = tuple(State)
#: States a new claim may start from without `replace` (absent counts too).
RESTARTABLE: frozenset[State] = frozenset({State.FAILED, State.ABORTED})
#: States a claim may start from only with `replace`.
REPLACEABLE: frozenset[State] = frozenset({State.COMPLETED, State.INVALID})
#: States in which a payload is owned by an execution (or a claim on its way to one).
BUSY: frozenset[State] = frozenset({State.CLAIMED, State.PROCESSING})
#: Where an execution ends.
TERMINAL: frozenset[State] = frozenset(
    {State.COMPLETED, State.FAILED, State.INVALID, State.ABORTED}
)


class StateStoreError(DatabaseError):
    """A state store that cannot be opened, migrated or queried as asked."""


class Action(StrEnum):
    """What a `Transition` asks the store to do."""

    CLAIM = "claim"  # absent/FAILED/ABORTED (or COMPLETED/INVALID with replace) -> CLAIMED
    START = "start"  # CLAIMED (same execution) -> PROCESSING
    CLAIM_AND_START = "claim_and_start"  # claim + start in one step -> PROCESSING
    COMPLETE = "complete"  # -> COMPLETED
    FAIL = "fail"  # -> FAILED
    INVALIDATE = "invalidate"  # -> INVALID
    ABORT = "abort"  # -> ABORTED
    RELEASE = "release"  # expired CLAIMED -> FAILED (the claimer died before starting)
    DELETE = "delete"  # forget the record (its events stay)


#: The state each finishing action leads to, and the execution status it records.
FINISH: dict[Action, tuple[State, str]] = {
    Action.COMPLETE: (State.COMPLETED, "SUCCEEDED"),
    Action.FAIL: (State.FAILED, "FAILED"),
    Action.INVALIDATE: (State.INVALID, "FAILED"),
    Action.ABORT: (State.ABORTED, "ABORTED"),
}


#: Kinds of outbox row: a message for the intake queue, a notification for a topic.
INTAKE = "intake"
NOTIFY = "notify"


@dataclass(frozen=True, slots=True)
class Follow:
    """Something that must happen once a transition is committed, and never be lost.

    A transition carrying follows writes them to the store's outbox in the same transaction
    that applies it (and only if it applies): a chained payload for the intake queue
    (`kind=INTAKE`, `body` the message bytes, `topic` the chained payload's id, which labels
    its intake message) or a notification (`kind=NOTIFY`, `topic`, `body`
    the JSON `{"message", "attributes"}`). With `record=True` the message is the record as
    the transition left it (what the `failed`/`invalid` topics announce), filled in by the
    store, and the attributes gain its `collections` and `workflow`.
    """

    kind: str
    body: bytes = b""
    topic: str = ""
    record: bool = False


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A committed follow waiting to be delivered; `seq` names it for `outbox_done`."""

    seq: int
    payload_id: str
    kind: str
    topic: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Transition:
    """One requested change to one record; `SqliteStateStore.apply` runs many in a transaction.

    `execution_id` ties a finishing transition to the execution that owns the record: with it,
    the change applies only while that execution still owns the record (CLAIMED/PROCESSING), so
    a late answer from an old execution can never overwrite a rerun. Without it (an operator,
    or `process` marking an invalid payload) the change applies unless the record is busy.
    """

    action: Action
    payload_id: str
    execution_id: str | None = None
    replace: bool = False
    error: str | None = None
    outputs: tuple[str, ...] | None = None
    status: str | None = None  # execution status to record instead of the default
    lease_seconds: float | None = None  # claim lease; None = the store's default
    follow: tuple[Follow, ...] = ()  # written to the outbox with it, if it applies

    @classmethod
    def claim(
        cls,
        payload_id: str,
        execution_id: str,
        *,
        replace: bool = False,
        lease_seconds: float | None = None,
    ) -> Transition:
        return cls(
            Action.CLAIM, payload_id, execution_id, replace=replace, lease_seconds=lease_seconds
        )

    @classmethod
    def start(cls, payload_id: str, execution_id: str) -> Transition:
        return cls(Action.START, payload_id, execution_id)

    @classmethod
    def claim_and_start(
        cls, payload_id: str, execution_id: str, *, replace: bool = False
    ) -> Transition:
        return cls(Action.CLAIM_AND_START, payload_id, execution_id, replace=replace)

    @classmethod
    def complete(
        cls,
        payload_id: str,
        execution_id: str | None = None,
        outputs: list[str] | tuple[str, ...] | None = None,
    ) -> Transition:
        out = tuple(outputs) if outputs is not None else None
        return cls(Action.COMPLETE, payload_id, execution_id, outputs=out)

    @classmethod
    def fail(
        cls,
        payload_id: str,
        error: str,
        execution_id: str | None = None,
        *,
        status: str | None = None,
    ) -> Transition:
        return cls(Action.FAIL, payload_id, execution_id, error=error, status=status)

    @classmethod
    def invalidate(cls, payload_id: str, error: str, execution_id: str | None = None) -> Transition:
        return cls(Action.INVALIDATE, payload_id, execution_id, error=error)

    @classmethod
    def abort(
        cls, payload_id: str, execution_id: str | None = None, error: str | None = None
    ) -> Transition:
        return cls(Action.ABORT, payload_id, execution_id, error=error)

    @classmethod
    def release(cls, payload_id: str) -> Transition:
        return cls(Action.RELEASE, payload_id)

    @classmethod
    def delete(cls, payload_id: str) -> Transition:
        return cls(Action.DELETE, payload_id)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one `Transition`.

    `applied` says whether the record changed; `state` is the record's state afterwards (None
    when absent) and `previous` its state before; `reason` says why nothing changed.
    """

    payload_id: str
    applied: bool
    state: State | None
    previous: State | None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Execution:
    """One attempt at running a payload: claimed (PENDING), RUNNING, then how it ended."""

    id: str
    start: str | None = None
    end: str | None = None
    status: str = "PENDING"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "start": self.start, "end": self.end, "status": self.status}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Execution:
        return cls(
            id=str(data["id"]),
            start=data.get("start"),
            end=data.get("end"),
            status=str(data.get("status", "PENDING")),
        )


@dataclass(frozen=True, slots=True)
class StateRecord:
    """The state of one payload id. Timestamps are ISO 8601 UTC strings."""

    payload_id: str
    collections: str
    workflow: str
    itemids: str
    state: State
    created: str
    updated: str
    state_changed: str
    executions: tuple[Execution, ...] = ()
    outputs: tuple[str, ...] = ()
    last_error: str | None = None
    lease_until: str | None = None

    @property
    def execution_id(self) -> str | None:
        """The execution that owns (or last owned) the record."""
        return self.executions[-1].id if self.executions else None

    def to_dict(self) -> dict[str, Any]:
        """The API representation (Cirrus's `dbitem_to_item`, without AWS console links)."""
        return {
            "payload_id": self.payload_id,
            "collections": self.collections,
            "workflow": self.workflow,
            "items": self.itemids,
            "state": str(self.state),
            "created": self.created,
            "updated": self.updated,
            "state_changed": self.state_changed,
            "executions": [e.to_dict() for e in self.executions],
            "outputs": list(self.outputs),
            "last_error": self.last_error,
        }


@dataclass(frozen=True, slots=True)
class Event:
    """One line of the append-only transition log. `from_state` is None for a new record."""

    seq: int
    time: str
    payload_id: str
    from_state: State | None
    to_state: State | None  # None: the record was deleted
    execution_id: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a query; pass `nextkey` back to get the next one (None: no more)."""

    items: list[StateRecord] = field(default_factory=list)
    nextkey: str | None = None


# --- payload ids -------------------------------------------------------------------------


def id_parts(payload_id: str) -> tuple[str, str, str]:
    """Split `<collections>/workflow-<workflow>/<item ids>` into its three parts.

    Kept here (rather than importing the payload package) because the store needs only this
    split, and it must accept every id the payload package makes.
    """
    collections, sep, rest = payload_id.partition("/workflow-")
    if not sep:
        raise StateStoreError(
            f"payload id {payload_id!r} has no '/workflow-' part; "
            "ids look like <collections>/workflow-<workflow>/<item ids>"
        )
    workflow, _, itemids = rest.partition("/")
    return collections, workflow, itemids


def check_transition(t: Transition) -> None:
    """Refuse a transition no state could accept (bad id, missing execution id)."""
    id_parts(t.payload_id)
    needs_execution = (Action.CLAIM, Action.START, Action.CLAIM_AND_START)
    if t.action in needs_execution and not t.execution_id:
        raise StateStoreError(f"{t.action} of {t.payload_id!r} needs an execution id")


# --- time --------------------------------------------------------------------------------


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(t: datetime) -> str:
    """A fixed-width UTC timestamp, so that text order is time order in SQL."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC).isoformat(timespec="microseconds")


_SINCE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(since: str | timedelta) -> timedelta:
    """`10m`, `8h`, `2d`, `1w` -> timedelta (Cirrus's `since`, plus weeks)."""
    if isinstance(since, timedelta):
        return since
    m = _SINCE.match(since)
    if not m:
        raise StateStoreError(
            f"since={since!r} is not a duration; use a number and a unit m, h, d or w "
            "(e.g. 10m, 8h, 2d, 1w)"
        )
    return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
