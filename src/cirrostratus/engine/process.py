"""The process rules: which payloads start a workflow, which are skipped, dropped or refused.

For a batch of messages (intake deliveries or raw events):

1. unwrap each envelope (SQS, SNS, `{"url"}` claim checks …) and validate each payload (and,
   with `check`, its task parameters against their `parameters:` schemas); an invalid one is
   dead-lettered with its problems (and recorded INVALID when an id can be made from it);
2. drop a payload whose id was already seen in this batch;
3. claim every remaining id in ONE transaction: absent, FAILED and ABORTED records are
   claimed; COMPLETED and INVALID only with `replace` (the payload's `process.replace`, or
   the `replace` argument); CLAIMED and PROCESSING never — those are skipped;
4. for each claimed payload store its input at `<payload id>/input.json` — after the claim,
   so a duplicate never overwrites the input of a running execution — and start it with
   the runner; a runner that cannot start marks the record FAILED with the reason;
5. mark the started ones PROCESSING in ONE transaction.

A process killed between 3 and 5 leaves CLAIMED records with a lease: once the lease passes
they may be claimed again (and `release_expired` turns them FAILED), and the intake
messages, never deleted, come back after their visibility timeout.

Execution ids are random UUIDs (uuid4): a rerun of the same payload is a new execution,
and a late answer from an old one can never be mistaken for the current one.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import orjson

from cirrostratus.engine import faults
from cirrostratus.engine.protocols import PayloadWriter, WorkflowRunner
from cirrostratus.intake import IntakeQueue, Message
from cirrostratus.payload import (
    Payload,
    PayloadError,
    collections_part,
    decode,
    payload_id,
    split_payload_id,
    unwrap,
)
from cirrostratus.state import Outcome, StateStore, Transition
from cirrostratus.storage import ObjectStore, StoreError, read_url
from cirrostratus.storage.keys import payload_key

Incoming = Message | Mapping[str, Any] | bytes | str
Apply = Callable[[Sequence[Transition]], list[Outcome]]


@dataclass(frozen=True, slots=True)
class Rejected:
    """A payload (or a whole message) that can never run, and why."""

    payload_id: str | None
    error: str


@dataclass(slots=True)
class ProcessResult:
    """What `process` did with a batch. Ids are payload ids, in the order seen."""

    started: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    invalid: list[Rejected] = field(default_factory=list)
    executions: dict[str, str] = field(default_factory=dict)  # started id → execution id
    reasons: dict[str, str] = field(default_factory=dict)  # skipped/failed id → why

    def to_dict(self) -> dict[str, Any]:
        return {
            "started": self.started,
            "skipped": self.skipped,
            "dropped": self.dropped,
            "failed": self.failed,
            "invalid": [{"payload_id": r.payload_id, "error": r.error} for r in self.invalid],
        }


def new_execution_id() -> str:
    return str(uuid.uuid4())


def input_key(pid: str) -> str:
    """Where a payload's input is stored: a key that fits any id (storage/keys.py)."""
    return payload_key(pid, "input.json")


def read_inputs(
    payload_store: ObjectStore, payload_ids: Iterable[str]
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """The stored input payload of each id, and (payload id, why) for those that cannot run
    again. `cirro rerun` (its dry run too) and the feed-rerun builtin all read through this,
    so they never disagree about what can run."""
    payloads: list[dict[str, Any]] = []
    skipped: list[tuple[str, str]] = []
    for pid in payload_ids:
        try:
            data = payload_store.get_bytes(input_key(pid))
        except StoreError:
            skipped.append((pid, "its stored input is missing"))
            continue
        except OSError as exc:
            skipped.append((pid, f"its stored input cannot be read ({exc})"))
            continue
        try:
            payloads.append(decode(data))
        except Exception as exc:  # any decoding failure: name it, skip this one
            skipped.append((pid, f"its stored input is not a payload ({exc})"))
    return payloads, skipped


@dataclass(slots=True)
class _Delivery:
    """One incoming message and what became of its payloads."""

    message: Message | None
    body: bytes
    retry_error: str | None = None  # set: give the message back to be delivered again


def _body(item: Incoming) -> tuple[Message | None, bytes, Any]:
    """The message (if any), its raw bytes, and the decoded event. Raises PayloadError."""
    if isinstance(item, Message):
        return item, item.body, _decode(item.body)
    if isinstance(item, bytes | str):
        data = item.encode() if isinstance(item, str) else item
        return None, data, _decode(data)
    return None, orjson.dumps(item), item


def _decode(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"the message body is not JSON ({exc})") from None


def derive_id(raw: Any) -> str | None:
    """The payload id of an invalid payload, when one can be made from what it has."""
    if not isinstance(raw, Mapping):
        return None
    given = raw.get("id")
    if isinstance(given, str):
        try:
            split_payload_id(given)
            return given
        except PayloadError:
            return None
    process = raw.get("process")
    if isinstance(process, list) and process:
        process = process[0]
    features = raw.get("features")
    if not isinstance(process, Mapping) or not isinstance(features, list) or not features:
        return None
    workflow = process.get("workflow")
    ids = [f.get("id") for f in features if isinstance(f, Mapping)]
    item_ids = [i for i in ids if isinstance(i, str)]
    if not isinstance(workflow, str) or not item_ids or len(item_ids) != len(features):
        return None
    given_cols = process.get("collections", process.get("input_collections"))
    item_cols = [f.get("collection") for f in features if isinstance(f, Mapping)]
    try:
        cols = collections_part(given_cols, [c if isinstance(c, str) else None for c in item_cols])
        return payload_id(cols, workflow, item_ids)
    except (PayloadError, TypeError):
        return None


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def put_many(store: PayloadWriter, items: Sequence[tuple[str, bytes]]) -> list[Exception | None]:
    """Write objects; several at once to a store that says it benefits (`concurrent_writes`:
    S3 and other remote stores wait on the network, not the CPU).

    Returns, per item, None when it was stored or the exception that stopped it.
    """

    def put(item: tuple[str, bytes]) -> Exception | None:
        try:
            store.put_bytes(*item)
        except Exception as exc:
            return exc
        return None

    if len(items) < 2 or not getattr(store, "concurrent_writes", False):
        # a local folder: threads only add GIL hand-offs to writes that take microseconds
        return [put(i) for i in items]
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="payload-writes")
    return list(_POOL.map(put, items))


def process_retry_delay(receive_count: int) -> float:
    """How long a message whose payload could not be stored waits before it is delivered
    again: 2, 4, 8, 16… s (at most 60), so a full or read-only payload store gets time to
    come back before the message uses up its receives and goes to the dead letters."""
    return float(min(2 ** max(receive_count, 1), 60))


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def process(
    messages: Iterable[Incoming],
    *,
    store: StateStore,
    payload_store: PayloadWriter,
    runner: WorkflowRunner,
    intake: IntakeQueue | None = None,
    replace: bool = False,
    reader: Callable[[str], bytes] = read_url,
    new_id: Callable[[], str] = new_execution_id,
    apply: Apply | None = None,
    check: Callable[[dict[str, Any]], list[str]] | None = None,
    execution_for: Callable[[Payload], str] | None = None,
) -> ProcessResult:
    """Apply the process rules to a batch (see the module docstring) and return the outcome.

    `apply` runs the state transitions (default `store.apply`); pass
    `lambda ts: writer.submit_many(ts).result()` to share a GroupCommitWriter's transactions.
    With `intake`, messages that were intake deliveries are settled: deleted when every
    payload in them was handled, released with the error when something may succeed on a
    retry (storing the input failed), and invalid ones moved to the dead letters.
    `check` returns a payload's further problems (e.g. `Project.validate_payload`, its task
    parameters): a payload with any is refused as invalid before it is claimed.
    `execution_for` names an execution after its payload instead of `new_id` (Step Functions:
    the execution ARN, known before it starts, so the claim records what Cirrus records).
    """
    run = apply or store.apply
    result = ProcessResult()
    deliveries: list[_Delivery] = []
    accepted: list[tuple[Payload, _Delivery]] = []
    seen: set[str] = set()

    for item in messages:
        try:
            message, body, event = _body(item)
        except PayloadError as exc:
            message = item if isinstance(item, Message) else None
            if isinstance(item, Message):
                data = item.body
            else:
                data = item if isinstance(item, bytes) else str(item).encode()
            _refuse(result, intake, _Delivery(message, data), None, None, exc)
            continue
        delivery = _Delivery(message, body)
        try:
            raws = unwrap(event, reader)
        except PayloadError as exc:
            _refuse(result, intake, delivery, None, None, exc)
            continue
        deliveries.append(delivery)
        for raw in raws:
            try:
                payload = Payload.from_dict(raw)
            except PayloadError as exc:
                _refuse(result, intake, delivery, derive_id(raw), raw, exc)
                continue
            problems = check(raw) if check is not None else []
            if problems:
                _refuse(result, intake, delivery, payload.id, raw, PayloadError(problems))
                continue
            if payload.id in seen:
                result.dropped.append(payload.id)
                continue
            seen.add(payload.id)
            accepted.append((payload, delivery))

    # an invalid payload is recorded INVALID unless a valid one with its id runs in this batch
    valid_ids = {p.id for p, _ in accepted}
    marks = [
        Transition.invalidate(r.payload_id, r.error)
        for r in result.invalid
        if r.payload_id and r.payload_id not in valid_ids
    ]
    claims = [(p, d, execution_for(p) if execution_for else new_id()) for p, d in accepted]
    transitions = marks + [
        Transition.claim(p.id, ex, replace=replace or p.replace) for p, _, ex in claims
    ]
    outcomes = run(transitions)[len(marks) :] if transitions else []
    faults.point("after_claim")

    claimed: list[tuple[Payload, _Delivery, str]] = []
    for (payload, delivery, ex), outcome in zip(claims, outcomes, strict=True):
        if outcome.applied:
            claimed.append((payload, delivery, ex))
        else:
            result.skipped.append(payload.id)
            result.reasons[payload.id] = outcome.reason or str(outcome.state)
    stored = put_many(
        payload_store, [(input_key(p.id), orjson.dumps(p.to_dict())) for p, _, _ in claimed]
    )

    settle: list[Transition] = []
    for (payload, delivery, ex), problem in zip(claimed, stored, strict=True):
        if problem is not None:
            error = f"failed storing input ({_error(problem)})"
            settle.append(Transition.fail(payload.id, error, ex))
            result.failed.append(payload.id)
            result.reasons[payload.id] = error
            delivery.retry_error = f"{payload.id}: {error}"
            continue
        try:
            runner.start(payload, ex)
        except Exception as exc:
            error = _error(exc)
            settle.append(Transition.fail(payload.id, error, ex))
            result.failed.append(payload.id)
            result.reasons[payload.id] = error
            continue
        settle.append(Transition.start(payload.id, ex))
        result.started.append(payload.id)
        result.executions[payload.id] = ex
    if settle:
        run(settle)
        faults.point("after_start")

    if intake is not None:
        done = [d.message.receipt for d in deliveries if d.message and d.retry_error is None]
        intake.delete_batch(done)
        for d in deliveries:
            if d.message is not None and d.retry_error is not None:
                delay = process_retry_delay(d.message.receive_count)
                intake.release(d.message.receipt, error=d.retry_error, delay=delay)
    return result


def _refuse(
    result: ProcessResult,
    intake: IntakeQueue | None,
    delivery: _Delivery,
    pid: str | None,
    raw: Any,
    exc: PayloadError,
) -> None:
    """Record an invalid payload and dead-letter it (its own JSON, or the whole message)."""
    error = f"{type(exc).__name__}: {exc}"
    result.invalid.append(Rejected(pid, error))
    if intake is None:
        return
    intake.dead_letter(orjson.dumps(raw) if raw is not None else delivery.body, error)
    if delivery.message is not None and raw is None:
        # the whole message is dead-lettered: never deliver it again
        intake.delete(delivery.message.receipt)
