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

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from cirrostratus.engine import faults, outbox
from cirrostratus.engine.notify import FAILED, INVALID, PUBLISHED, Notifier
from cirrostratus.engine.outbox import notification
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
from cirrostratus.state import (
    BUSY,
    INTAKE,
    NOTIFY,
    Action,
    Follow,
    Outcome,
    State,
    StateStore,
    Transition,
)
from cirrostratus.storage.keys import ORDINARY_ID_BYTES, payload_dir, payload_key

logger = logging.getLogger(__name__)
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
        reason = error_message(f.error, f.cause) if f.error else None
        return Transition.abort(f.payload_id, f.execution_id, reason), reason
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
    """Where a payload's output is stored: a key that fits any id (storage/keys.py)."""
    return payload_key(pid, "output.json")


def chained_key(pid: str, execution_id: str) -> str:
    return payload_key(pid, f"chained-from-{execution_id}.json")


class OutputsNotStored(Exception):
    """Output payloads (or large chained payloads) the payload store refused; nothing changed.

    `problems` maps each payload id to the error. The caller retries the batch later (a full
    disk, a read-only mount that comes back), or passes `fail_unstored=True` to record those
    payloads FAILED with `OutputNotStored: …` instead.
    """

    def __init__(self, problems: Mapping[str, Exception]) -> None:
        self.problems = dict(problems)
        pid, exc = next(iter(self.problems.items()))
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"{pid}: {type(exc).__name__}: {exc}{more}")


def not_stored_error(exc: Exception) -> str:
    """What a payload whose output could not be stored is recorded FAILED with."""
    return (
        "OutputNotStored: the output payload could not be written to the payload store "
        f"({type(exc).__name__}: {exc})"
    )


@dataclass(slots=True)
class _Plan:
    """One finished execution on its way to a transition: what it writes and what follows."""

    f: Finished
    transition: Transition
    error: str | None
    owned: bool
    nexts: list[dict[str, Any]] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    problem: Exception | None = None


def update(
    finished: Iterable[Finished],
    *,
    store: StateStore,
    payload_store: PayloadWriter,
    intake: IntakeQueue | None = None,
    notifier: Notifier | None = None,
    threshold: int = 120_000,
    apply: Callable[[Sequence[Transition]], list[Outcome]] | None = None,
    fail_unstored: bool = False,
    deliver_now: bool = True,
) -> list[UpdateResult]:
    """Apply the update rules to a batch of finished executions, in one state transaction.

    Output payloads are stored before the state changes, so a COMPLETED record's
    `output.json` always exists; a result whose execution no longer owns the record is
    refused and causes no side effect at all. When the payload store refuses a write,
    nothing changes and `OutputsNotStored` is raised — or, with `fail_unstored`, those
    payloads are recorded FAILED (`OutputNotStored: …`) and the rest go ahead.

    Chained payloads and notifications are written to the state store's outbox by the same
    transaction (see `cirrostratus.engine.outbox`), then delivered at once unless
    `deliver_now` is false; a crash in between leaves them for the next engine to deliver.
    `apply` runs the transitions (default `store.apply`; e.g.
    `lambda ts: writer.submit_many(ts).result()` for group commit).
    """
    batch = list(finished)
    records = store.get_many([f.payload_id for f in batch])
    plans: list[_Plan] = []
    writes: list[tuple[str, bytes]] = []
    writers: list[_Plan] = []
    for f in batch:
        t, error = transition_for(f)
        rec = records.get(f.payload_id)
        owned = rec is not None and rec.state in BUSY and rec.execution_id == f.execution_id
        plan = _Plan(f, t, error, owned or f.execution_id is None)
        plans.append(plan)
        if f.output is not None and f.status == "SUCCEEDED" and plan.owned:
            writes.append((output_key(f.payload_id), orjson.dumps(f.output)))
            writers.append(plan)
    for plan, problem in zip(writers, put_many(payload_store, writes), strict=True):
        if problem is not None:
            plan.problem = problem
        else:
            _plan_chain(plan, payload_store, intake, threshold)
    problems = {p.f.payload_id: p.problem for p in plans if p.problem is not None}
    if problems and not fail_unstored:  # nothing changed yet: the caller may retry the batch
        raise OutputsNotStored(problems)
    for plan in plans:
        if plan.problem is not None:
            plan.error = not_stored_error(plan.problem)
            plan.transition = Transition.fail(plan.f.payload_id, plan.error, plan.f.execution_id)
            plan.nexts, plan.bodies = [], []
        follows = _follows(plan, intake, notifier)
        if follows:
            plan.transition = replace(plan.transition, follow=follows)
    outcomes = (apply or store.apply)([p.transition for p in plans])
    faults.point("after_complete_commit")

    results: list[UpdateResult] = []
    for plan, outcome in zip(plans, outcomes, strict=True):
        r = UpdateResult(plan.f.payload_id, outcome.applied, outcome.state, plan.error)
        results.append(r)
        if not outcome.applied:
            r.reason = outcome.reason
            continue
        r.outputs = list(plan.transition.outputs or ())
        r.warnings.extend(plan.warnings)
        if outcome.state is State.COMPLETED:
            r.next_payloads = [str(n["id"]) for n in plan.nexts]
    if deliver_now:
        _deliver(store, intake, notifier, results)
    return results


def _plan_chain(
    plan: _Plan, payload_store: PayloadWriter, intake: IntakeQueue | None, threshold: int
) -> None:
    """The output payload's next payloads (its process chain), as intake message bodies."""
    f = plan.f
    if isinstance((f.output or {}).get("process"), dict):
        return  # a single process block: nothing follows, no need to parse the output again
    try:
        nexts = Payload.from_dict(dict(f.output or {})).next_payloads()
    except PayloadError as exc:
        plan.warnings.append(f"no next payloads: the output payload is not valid ({exc})")
        return
    if not nexts:
        return
    if intake is None:
        plan.warnings.append(f"{len(nexts)} next payload(s) not sent: no intake queue")
        return
    try:
        plan.bodies = [
            to_transport_bytes(
                n, payload_store, chained_key(n["id"], str(f.execution_id)), threshold
            )
            for n in nexts
        ]
    except Exception as exc:  # a large one goes to the payload store first: that can fail
        plan.problem = exc
        return
    plan.nexts = nexts


def _follows(
    plan: _Plan, intake: IntakeQueue | None, notifier: Notifier | None
) -> tuple[Follow, ...]:
    """What must follow the plan's transition if it applies: chained payloads, notifications."""
    t, f = plan.transition, plan.f
    follows = (
        [
            Follow(INTAKE, body, str(n["id"]))
            for n, body in zip(plan.nexts, plan.bodies, strict=True)
        ]
        if intake is not None
        else []
    )
    if notifier is None:
        return tuple(follows)
    if t.action in (Action.FAIL, Action.INVALIDATE):
        topic = FAILED if t.action is Action.FAIL else INVALID
        attributes = {"error": plan.error or ""}
        follows.append(Follow(NOTIFY, notification({}, attributes), topic, record=True))
    elif t.action is Action.COMPLETE and f.output is not None:
        which = _payload_attributes(f.payload_id)
        for item in f.output.get("features") or []:
            if not isinstance(item, Mapping):
                continue
            attributes = {"collection": str(item.get("collection", "")), **which}
            follows.append(Follow(NOTIFY, notification(item, attributes), PUBLISHED))
    return tuple(follows)


def _payload_attributes(payload_id: str) -> dict[str, str]:
    """Which payload published an item: its id when it is ordinary, and always the folder of
    its input and output. An id of thousands of items is tens of KB: repeated on every one of
    its items' notifications it made publishing quadratic (10,000 items: over 1 GB)."""
    folder = {"payload_dir": payload_dir(payload_id)}
    if len(payload_id.encode()) <= ORDINARY_ID_BYTES:
        return {"payload_id": payload_id, **folder}
    return folder


def _deliver(
    store: StateStore,
    intake: IntakeQueue | None,
    notifier: Notifier | None,
    results: list[UpdateResult],
) -> None:
    """Deliver the outbox now; a failure leaves it for later and becomes a warning."""
    try:
        warnings = outbox.deliver(store, intake, notifier)
    except Exception as exc:
        logger.warning("the outbox is delivered later: %s: %s", type(exc).__name__, exc)
        for r in results:
            if r.applied:
                r.warnings.append(
                    f"delivery deferred ({type(exc).__name__}: {exc}); the outbox keeps it"
                )
        return
    for r in results:
        r.warnings.extend(warnings.pop(r.payload_id, ()))
    for pid, lines in warnings.items():
        logger.warning("%s: %s", pid, "; ".join(lines))
