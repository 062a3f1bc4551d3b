"""Runs executions on the engine's event loop and settles them through the update rules.

`LocalRunner` is the local twin of Step Functions for the process rules. `start` only checks the
workflow compiles and queues the execution; `spawn_pending` starts the queued executions
once the process rules have recorded them PROCESSING, so an execution can never finish
before its start is on record. Finished executions are settled in batches by one
flusher — everything that finished while the previous batch was being written goes into the
next transaction — which is what keeps durable state cheap.

The flusher never dies of a failed write. When the payload store refuses an output (a full
disk, a read-only mount) the batch is retried with backoff for `WRITE_PATIENCE_S`, then the
payloads it could not store are recorded FAILED (`OutputNotStored: …`). When the state store
cannot commit (disk full under state.db, a lock held too long) the batch is retried with
backoff — until it works in `serve` (the engine recovers by itself once space comes back),
for at most `STATE_PATIENCE_S` in `run`, and no longer once the engine is stopping: then the
payloads are left PROCESSING for the next engine to resume, and reported as not settled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from cirrostratus.asl import ExecutionResult, Invoker, StateMachine, state_spans
from cirrostratus.engine import faults
from cirrostratus.engine.history import HistoryStore
from cirrostratus.engine.notify import Notifier
from cirrostratus.engine.protocols import PayloadWriter
from cirrostratus.engine.update import Finished, OutputsNotStored, UpdateResult, update
from cirrostratus.engine.workflows import WorkflowRegistry
from cirrostratus.intake import IntakeQueue
from cirrostratus.payload import Payload
from cirrostratus.sqlitedb import is_damaged
from cirrostratus.state import State, StateStore

logger = logging.getLogger(__name__)
GROUP_COMMIT_S = 0.002
RETRY_FIRST_S = 0.05  # backoff of a batch that could not be settled: doubles each time …
RETRY_MAX_S = 2.0  # … up to this
WRITE_PATIENCE_S = 10.0  # outputs the payload store refuses this long: those payloads FAIL
STATE_PATIENCE_S = 60.0  # `run` gives up settling after this long (serve never does)
STOPPED = "the engine stopped before the execution finished"  # why a cancel is ABORTED
Settled = Callable[[Finished, UpdateResult, float], None]
#: A finished execution waiting to be settled: how it ended, how long it took, its history.
Waiting = tuple[Finished, float, dict[str, Any] | None]


def caught_error(result: ExecutionResult) -> tuple[str | None, str | None]:
    """The Error and Cause of a FAILED execution, as Cirrus's update-state finds them.

    A Cirrus workflow catches States.ALL into `$.error` and ends in a Fail state without an
    Error of its own; the real error is the `error` object in the input of that last state.
    """
    if result.error:
        return result.error, result.cause
    for event in reversed(result.history[-10:]):
        data = (event.details or {}).get("input")
        if isinstance(data, Mapping) and isinstance(data.get("error"), Mapping):
            err = data["error"]
            cause = err.get("Cause")
            return str(err.get("Error") or "Unknown"), None if cause is None else str(cause)
    return result.error, result.cause


def history_document(result: ExecutionResult) -> dict[str, Any]:
    """Where the execution's time went: each state visited, with when it was entered, how
    long it took and the error that ended it — what `cirro payload state` shows. The
    payloads themselves are in input.json / output.json, so they are not repeated here.
    Its `status` is replaced by the one the record keeps when the history is stored."""
    states = [
        {
            "state": span.path,
            "type": span.type,
            "entered": span.entered.timestamp(),
            "seconds": span.seconds,
            "error": span.error,
        }
        for span in state_spans(result.history)
    ]
    return {"status": result.status, "error": result.error, "states": states}


def recorded_status(finished: Finished, state: State | None) -> str:
    """The execution status the record keeps for a settled execution (one truth for the
    record's `executions` and history.db): a SUCCEEDED execution whose output could not be
    stored is FAILED there, a cancelled one ABORTED."""
    if state is State.COMPLETED:
        return "SUCCEEDED"
    if state is State.ABORTED:
        return "ABORTED"
    if finished.status in ("FAILED", "TIMED_OUT"):
        return finished.status
    return "FAILED"


def claim_checked(output: Any) -> Any:
    """The payload behind a `{"url": ...}` output, as Cirrus's update-state reads it.

    cirrus-lib's `get_payload()` returns `{"url": "s3://<payload bucket>/payloads/…"}` for any
    payload over 30,000 bytes, so a workflow whose last task uses it ends with a claim check.
    With `--aws local` the engine's process reads that s3:// URL from moto (s3fs)."""
    if not (isinstance(output, Mapping) and isinstance(output.get("url"), str)):
        return output
    if "process" in output or "features" in output:
        return output
    from cirrostratus.payload import resolve
    from cirrostratus.storage import read_url

    return resolve(output, read_url)


def finished_from(payload_id: str, execution_id: str, result: ExecutionResult) -> Finished:
    """What the update rules need to know about how an execution ended."""
    if result.status == "SUCCEEDED":
        try:
            output = claim_checked(result.output)
        except Exception as exc:  # a claim check that cannot be read: the payload FAILS
            return Finished(
                payload_id,
                execution_id,
                "FAILED",
                error="States.Runtime",
                cause=f"the workflow's output is a claim check that cannot be read: {exc}",
            )
        if isinstance(output, Mapping):
            return Finished(payload_id, execution_id, "SUCCEEDED", output=output)
        return Finished(
            payload_id,
            execution_id,
            "FAILED",
            error="States.Runtime",
            cause="the workflow's output is not a payload (a JSON object)",
        )
    if result.status == "FAILED":
        error, cause = caught_error(result)
        return Finished(payload_id, execution_id, "FAILED", error=error, cause=cause)
    return Finished(payload_id, execution_id, result.status, error=result.error, cause=result.cause)


class LocalRunner:
    """A WorkflowRunner whose executions are tasks on one asyncio event loop."""

    def __init__(
        self,
        workflows: WorkflowRegistry,
        invoker: Invoker,
        *,
        store: StateStore,
        payload_store: PayloadWriter,
        intake: IntakeQueue,
        notifier: Notifier | None,
        history: HistoryStore | None = None,
        on_settled: Settled | None = None,
    ) -> None:
        self.workflows = workflows
        self.invoker = invoker
        self.store = store
        self.payload_store = payload_store
        self.intake = intake
        self.notifier = notifier
        self.on_settled = on_settled
        self.history = history
        self.inflight: dict[str, asyncio.Task[None]] = {}
        self._pending: list[tuple[StateMachine, Payload, str]] = []
        self._finished: list[Waiting] = []
        self._flusher: asyncio.Task[None] | None = None
        self._settled = asyncio.Event()
        #: how long to keep retrying a batch the state store refuses (None: until stopping)
        self.patience: float | None = STATE_PATIENCE_S
        self.fatal: Exception | None = None  # a damaged database: the drain loop re-raises it
        self.stopping = False  # set when the engine stops: a failing batch is given up
        self.failing: str | None = None  # the last settle error, while batches fail

    # --- the WorkflowRunner protocol (called by the process rules) -----------------------

    def start(self, payload: Payload, execution_id: str) -> None:
        machine = self.workflows.get(payload.workflow)  # UnknownWorkflow → the record FAILS
        self._pending.append((machine, payload, execution_id))

    # --- on the event loop ---------------------------------------------------------------

    def spawn_pending(self) -> None:
        """Start the executions the process rules accepted (they are PROCESSING now)."""
        pending, self._pending = self._pending, []
        loop = asyncio.get_running_loop()
        for machine, payload, execution_id in pending:
            self.inflight[execution_id] = loop.create_task(
                self._execute(machine, payload, execution_id), name=execution_id
            )

    def drop_pending(self) -> None:
        """Forget queued starts of a process batch that failed as a whole."""
        self._pending.clear()

    async def _execute(self, machine: StateMachine, payload: Payload, execution_id: str) -> None:
        began = time.monotonic()
        history = None
        try:
            result = await machine.execute(
                payload.to_dict(),
                invoker=self.invoker,
                name=execution_id,
                execution_id=execution_id,
                history=True,  # the caught `$.error` of a Cirrus workflow is read from it
            )
            finished = finished_from(payload.id, execution_id, result)
            if self.history is not None and result.history:
                history = history_document(result)
        except asyncio.CancelledError:
            finished = Finished(
                payload.id, execution_id, "ABORTED", error="EngineStopped", cause=STOPPED
            )
        except Exception as exc:  # an engine bug must not leave the payload PROCESSING
            finished = Finished(
                payload.id, execution_id, "FAILED", error=type(exc).__name__, cause=str(exc)
            )
        self._finished.append((finished, time.monotonic() - began, history))
        if self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        """Settle finished executions, a batch at a time, until none is waiting.

        A batch that cannot be settled is retried with backoff (see the module docstring);
        nothing that goes wrong here stops the flusher or leaves an execution in `inflight`.
        """
        try:
            # group commit: executions finishing within a couple of milliseconds share one
            # state transaction (a commit costs about as much as a hundred row updates)
            await asyncio.sleep(GROUP_COMMIT_S)
            failing_since: float | None = None
            delay = RETRY_FIRST_S
            while self._finished:
                batch, self._finished = self._finished, []
                now = time.monotonic()
                failing_for = 0.0 if failing_since is None else now - failing_since
                # outputs refused for long enough (or at a stop): fail those payloads instead
                fail_unstored = self.stopping or failing_for >= WRITE_PATIENCE_S
                try:
                    results = self._settle(batch, fail_unstored=fail_unstored)
                except Exception as exc:
                    failing_since = now if failing_since is None else failing_since
                    self.failing = f"{type(exc).__name__}: {exc}"
                    if self._give_up(exc, failing_for):
                        self._abandon(batch, exc)
                        continue
                    logger.warning(
                        "could not settle %d executions (%s); retrying in %.2fs",
                        len(batch),
                        self.failing,
                        delay,
                    )
                    self._finished = batch + self._finished
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, RETRY_MAX_S)
                    continue
                failing_since, delay, self.failing = None, RETRY_FIRST_S, None
                self._settled_batch(batch, results)
        finally:
            self._flusher = None

    def _give_up(self, exc: Exception, failing_for: float) -> bool:
        """Whether a batch that failed to settle is abandoned rather than retried: never for
        refused outputs (those payloads FAIL once the write patience is over), else at a
        stop or when the patience is over."""
        if isinstance(exc, OutputsNotStored):
            return False
        if is_damaged(exc):  # a damaged state database does not mend: stop, say so
            self.fatal = exc
            return True
        return self.stopping or (self.patience is not None and failing_for >= self.patience)

    def _abandon(self, batch: list[Waiting], exc: Exception) -> None:
        """Stop trying to settle `batch`: its records stay PROCESSING (the next engine resumes
        them) and its executions leave `inflight`, reported as not settled, with the error."""
        error = (
            f"NotSettled: the result could not be recorded ({type(exc).__name__}: {exc}); "
            "the payload stays PROCESSING and is resumed when an engine next starts"
        )
        logger.error("%d executions not settled: %s", len(batch), error)
        results = [
            UpdateResult(f.payload_id, False, None, error, reason=error) for f, _, _ in batch
        ]
        self._settled_batch(batch, results)

    def _settled_batch(self, batch: list[Waiting], results: list[UpdateResult]) -> None:
        for (finished, took, _), result in zip(batch, results, strict=True):
            if finished.execution_id is not None:
                self.inflight.pop(finished.execution_id, None)
            if self.on_settled is not None:
                self.on_settled(finished, result, took)
        self._settled.set()

    def _settle(self, batch: list[Waiting], *, fail_unstored: bool = False) -> list[UpdateResult]:
        faults.point("mid_flush")
        results = update(
            [f for f, _, _ in batch],
            store=self.store,
            payload_store=self.payload_store,
            intake=self.intake,
            notifier=self.notifier,
            fail_unstored=fail_unstored,
        )
        if self.history is not None:
            self._keep_histories(batch, results)
        return results

    def _keep_histories(self, batch: list[Waiting], results: list[UpdateResult]) -> None:
        """Store the histories of the executions whose end was recorded, with the status the
        record keeps. After the state commit, so history.db never tells another story; best
        effort, since a history is an aid, not state."""
        assert self.history is not None
        rows = []
        for (f, _, doc), r in zip(batch, results, strict=True):
            if doc is None or f.execution_id is None or not r.applied:
                continue
            status = recorded_status(f, r.state)
            rows.append(
                (f.payload_id, f.execution_id, status, orjson.dumps({**doc, "status": status}))
            )
        try:
            self.history.put_many(rows)
        except Exception as exc:
            logger.warning("%d execution histories not kept: %s", len(rows), exc)

    async def wait_settled(self, timeout: float = 0.5) -> None:
        """Until some execution has been settled (or `timeout` passed)."""
        self._settled = event = asyncio.Event()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    async def finish(self) -> None:
        """Wait for everything running to end and be settled."""
        while self.inflight:
            await self.wait_settled()

    async def cancel_all(self) -> None:
        """Abort what is running (a stop that cannot wait): each ends ABORTED, not lost."""
        self.stopping = True
        tasks = list(self.inflight.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await self.finish()
