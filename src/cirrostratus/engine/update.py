"""The update rules: how an execution's end becomes a payload's state, outputs and next steps.

| execution | record    | recorded                                                        |
|-----------|-----------|-----------------------------------------------------------------|
| SUCCEEDED | COMPLETED | outputs; output payload at `<id>/output.json`; next payloads → intake |
| FAILED    | INVALID   | when the Error is `InvalidInput` (any module prefix)            |
| FAILED    | FAILED    | any other Error, as `"<Error>: <message>"`                      |
| TIMED_OUT | FAILED    | `"TimedOutError: <message>"`                                    |
| ABORTED   | ABORTED   |                                                                 |

The message is the Cause's `errorMessage` when the Cause is JSON (`unknown` when it has
none), else the Cause text — what Cirrus's update-state records. Outputs are the published
item URLs when the caller gives them, else the `self` links of the output payload's items.

A result names its execution: it changes the record only while that execution owns it, so
a late result of an old execution never overwrites a rerun (the result says `applied=False`
and no side effect happens). FAILED and INVALID records are announced on the `failed` and
`invalid` topics (the record, as the API shows it); each output item of a COMPLETED payload
on `published`. A notifier that fails never undoes or blocks the state change: its error is
returned in the result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from cirrostratus.engine import faults
from cirrostratus.engine.notify import FAILED, INVALID, PUBLISHED, Notifier
from cirrostratus.engine.process import put_many
from cirrostratus.engine.protocols import PayloadWriter
from cirrostratus.intake import IntakeQueue
from cirrostratus.payload import (
    Payload,
    PayloadError,
    Reader,
    decode,
    read_url,
    to_transport_bytes,
    unwrap,
)
from cirrostratus.state import BUSY, Outcome, State, StateStore, Transition

STATUSES = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


@dataclass(frozen=True, slots=True)
class Finished:
    """How one execution ended, as the runner reports it.

    `output` is the output payload (a dict) of a SUCCEEDED execution; `error`/`cause` are
    the ASL Error and Cause of a FAILED or TIMED_OUT one; `published` optionally lists the
    URLs the workflow published its items at.
    """

    payload_id: str
    execution_id: str | None
    status: str
    output: Mapping[str, Any] | None = None
    error: str | None = None
    cause: str | None = None
    published: Sequence[str] | None = None


@dataclass(slots=True)
class UpdateResult:
    """What an update did for one payload."""

    payload_id: str
    applied: bool
    state: State | None
    error: str | None = None  # the error recorded on the payload
    outputs: list[str] = field(default_factory=list)
    next_payloads: list[str] = field(default_factory=list)  # ids sent to intake
    reason: str | None = None  # why nothing changed
    warnings: list[str] = field(default_factory=list)  # chaining/notification problems


def error_message(error: str | None, cause: str | None) -> str:
    """`"<Error>: <message>"` from an ASL Error and Cause, as Cirrus records it."""
    name = error or "Unknown"
    if cause is None or cause == "":
        return f"{name}: unknown"
    try:
        parsed = orjson.loads(cause)
    except orjson.JSONDecodeError:
        return f"{name}: {cause}"
    if isinstance(parsed, dict):
        if "errorMessage" not in parsed and "StatusReason" in parsed:  # a Batch job's Cause
            from cirrostratus.runtime.errors import job_failure

            return f"{name}: {job_failure(parsed) or 'unknown'}"
        return f"{name}: {parsed.get('errorMessage', 'unknown')}"
    return f"{name}: {cause}"


def is_invalid_input(error: str | None) -> bool:
    """`InvalidInput`, `stactask.exceptions.InvalidInput`, `mytasks.InvalidInput`, …"""
    return bool(error) and str(error).rsplit(".", 1)[-1] == "InvalidInput"


def output_urls(output: Mapping[str, Any] | None, published: Sequence[str] | None) -> list[str]:
    """The published URLs if given, else each output item's `self` link."""
    if published is not None:
        return list(published)
    urls: list[str] = []
    for feature in (output or {}).get("features") or []:
        if not isinstance(feature, Mapping):
            continue
        for link in feature.get("links") or []:
            if isinstance(link, Mapping) and link.get("rel") == "self" and link.get("href"):
                urls.append(str(link["href"]))
                break
    return urls


def transition_for(f: Finished) -> tuple[Transition, str | None]:
    """The state transition one finished execution asks for, and the error it records."""
    if f.status == "SUCCEEDED":
        return Transition.complete(
            f.payload_id, f.execution_id, output_urls(f.output, f.published)
        ), None
    if f.status == "FAILED":
        message = error_message(f.error, f.cause)
        if is_invalid_input(f.error):
            return Transition.invalidate(f.payload_id, message, f.execution_id), message
        return Transition.fail(f.payload_id, message, f.execution_id), message
    if f.status == "TIMED_OUT":
        cause = f.cause or "The execution timed out."
        message = error_message("TimedOutError", cause)
        return Transition.fail(f.payload_id, message, f.execution_id, status="TIMED_OUT"), message
    if f.status == "ABORTED":
        return Transition.abort(f.payload_id, f.execution_id), None
    raise ValueError(
        f"execution status {f.status!r} of {f.payload_id!r} is not one of {', '.join(STATUSES)}"
    )


def finished_from_event(event: Mapping[str, Any], reader: Reader = read_url) -> Finished:
    """A Step Functions "Execution Status Change" EventBridge event as a `Finished`.

    This is what Cirrus's update-state lambda receives: `detail.status`, `detail.input`
    (the input payload, or an envelope or `{"url"}` claim check), `detail.output`,
    `detail.executionArn`, and for failures `detail.error` / `detail.cause`.
    """
    detail = event.get("detail")
    if not isinstance(detail, Mapping) or not isinstance(detail.get("status"), str):
        raise PayloadError(
            "event is not a Step Functions execution status change (detail.status is missing)"
        )

    def first(value: Any, where: str) -> dict[str, Any] | None:
        if value is None or value == "":
            return None
        data = decode(value, where) if isinstance(value, str | bytes) else value
        found = unwrap(data, reader)
        return found[0] if found else None

    payload = first(detail.get("input"), "detail.input")
    if payload is None:
        raise PayloadError("detail.input holds no payload")
    status = str(detail["status"])
    return Finished(
        payload_id=Payload.from_dict(payload).id,
        execution_id=detail.get("executionArn"),
        status=status,
        output=first(detail.get("output"), "detail.output") if status == "SUCCEEDED" else None,
        error=detail.get("error"),
        cause=detail.get("cause"),
    )


def output_key(pid: str) -> str:
    from cirrostratus.storage.keys import payload_key  # fits any id (storage/keys.py)

    return payload_key(pid, "output.json")


def chained_key(pid: str, execution_id: str) -> str:
    from cirrostratus.storage.keys import payload_key

    return payload_key(pid, f"chained-from-{execution_id}.json")


def update(
    finished: Iterable[Finished],
    *,
    store: StateStore,
    payload_store: PayloadWriter,
    intake: IntakeQueue | None = None,
    notifier: Notifier | None = None,
    threshold: int = 120_000,
    apply: Callable[[Sequence[Transition]], list[Outcome]] | None = None,
) -> list[UpdateResult]:
    """Apply the update rules to a batch of finished executions, in one state transaction.

    Output payloads are stored before the state changes, so a COMPLETED record's
    `output.json` always exists; a result whose execution no longer owns the record is
    refused and causes no side effect at all. `apply` runs the transitions (default
    `store.apply`; e.g. `lambda ts: writer.submit_many(ts).result()` for group commit).
    """
    batch = list(finished)
    planned = [transition_for(f) for f in batch]
    records = store.get_many([f.payload_id for f in batch])
    writes = []
    for f in batch:
        rec = records.get(f.payload_id)
        owned = rec is not None and rec.state in BUSY and rec.execution_id == f.execution_id
        if f.output is not None and f.status == "SUCCEEDED" and (owned or f.execution_id is None):
            writes.append((output_key(f.payload_id), orjson.dumps(f.output)))
    problems = [p for p in put_many(payload_store, writes) if p is not None]
    if problems:  # nothing changed yet: the caller may retry the whole batch
        raise problems[0]
    outcomes = (apply or store.apply)([t for t, _ in planned])
    faults.point("after_complete_commit")

    results: list[UpdateResult] = []
    for f, (t, error), outcome in zip(batch, planned, outcomes, strict=True):
        r = UpdateResult(f.payload_id, outcome.applied, outcome.state, error)
        results.append(r)
        if not outcome.applied:
            r.reason = outcome.reason
            continue
        r.outputs = list(t.outputs or ())
        if outcome.state is State.COMPLETED and f.output is not None:
            _chain(f, r, payload_store, intake, threshold)
    _notify(batch, results, store, notifier)
    return results


def _chain(
    f: Finished,
    r: UpdateResult,
    payload_store: PayloadWriter,
    intake: IntakeQueue | None,
    threshold: int,
) -> None:
    """Send the output payload's next payloads (its process chain) to intake."""
    if isinstance((f.output or {}).get("process"), dict):
        return  # a single process block: nothing follows, no need to parse the output again
    try:
        nexts = Payload.from_dict(dict(f.output or {})).next_payloads()
    except PayloadError as exc:
        r.warnings.append(f"no next payloads: the output payload is not valid ({exc})")
        return
    if not nexts:
        return
    if intake is None:
        r.warnings.append(f"{len(nexts)} next payload(s) not sent: no intake queue")
        return
    bodies = [
        to_transport_bytes(n, payload_store, chained_key(n["id"], f.execution_id), threshold)
        for n in nexts
    ]
    intake.send_batch(bodies)
    r.next_payloads = [str(n["id"]) for n in nexts]


def _notify(
    batch: list[Finished],
    results: list[UpdateResult],
    store: StateStore,
    notifier: Notifier | None,
) -> None:
    if notifier is None:
        return
    bad = [r.payload_id for r in results if r.applied and r.state in (State.FAILED, State.INVALID)]
    records = store.get_many(bad) if bad else {}
    for f, r in zip(batch, results, strict=True):
        if not r.applied:
            continue
        try:
            if r.state in (State.FAILED, State.INVALID):
                rec = records.get(r.payload_id)
                message = rec.to_dict() if rec else {"payload_id": r.payload_id}
                attributes = {"error": r.error or ""}
                if rec:
                    attributes.update(collections=rec.collections, workflow=rec.workflow)
                topic = FAILED if r.state is State.FAILED else INVALID
                notifier.publish(topic, message, attributes)
            elif r.state is State.COMPLETED and f.output is not None:
                for item in f.output.get("features") or []:
                    notifier.publish(
                        PUBLISHED,
                        item,
                        {"collection": str(item.get("collection", "")), "payload_id": r.payload_id},
                    )
        except Exception as exc:
            r.warnings.append(f"notification failed ({type(exc).__name__}: {exc})")
