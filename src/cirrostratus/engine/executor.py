"""Runs executions on the engine's event loop and settles them through the update rules.

`LocalRunner` is the local twin of Step Functions for the process rules. `start` only checks the
workflow compiles and queues the execution; `spawn_pending` starts the queued executions
once the process rules have recorded them PROCESSING, so an execution can never finish
before its start is on record. Finished executions are settled in batches by one
flusher — everything that finished while the previous batch was being written goes into the
next transaction — which is what keeps durable state cheap.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping

import orjson

from cirrostratus.asl import ExecutionResult, Invoker, StateMachine, state_spans
from cirrostratus.engine import faults
from cirrostratus.engine.history import HistoryStore
from cirrostratus.engine.notify import Notifier
from cirrostratus.engine.protocols import PayloadWriter
from cirrostratus.engine.update import Finished, UpdateResult, update
from cirrostratus.engine.workflows import WorkflowRegistry
from cirrostratus.intake import IntakeQueue
from cirrostratus.payload import Payload
from cirrostratus.state import StateStore

GROUP_COMMIT_S = 0.002
Settled = Callable[[Finished, UpdateResult, float], None]


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


def history_document(result: ExecutionResult) -> bytes:
    """Where the execution's time went: each state visited, with when it was entered, how
    long it took and the error that ended it — what `cirro payload state` shows. The
    payloads themselves are in input.json / output.json, so they are not repeated here."""
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
    return orjson.dumps({"status": result.status, "error": result.error, "states": states})


def finished_from(payload_id: str, execution_id: str, result: ExecutionResult) -> Finished:
    """What the update rules need to know about how an execution ended."""
    if result.status == "SUCCEEDED":
        if isinstance(result.output, Mapping):
            return Finished(payload_id, execution_id, "SUCCEEDED", output=result.output)
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
        self._finished: list[tuple[Finished, float, bytes | None]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._settled = asyncio.Event()

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
            finished = Finished(payload.id, execution_id, "ABORTED")
        except Exception as exc:  # an engine bug must not leave the payload PROCESSING
            finished = Finished(
                payload.id, execution_id, "FAILED", error=type(exc).__name__, cause=str(exc)
            )
        self._finished.append((finished, time.monotonic() - began, history))
        if self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        """Settle finished executions, a batch at a time, until none is waiting."""
        try:
            # group commit: executions finishing within a couple of milliseconds share one
            # state transaction (a commit costs about as much as a hundred row updates)
            await asyncio.sleep(GROUP_COMMIT_S)
            while self._finished:
                batch, self._finished = self._finished, []
                results = self._settle(batch)
                for (finished, took, _), result in zip(batch, results, strict=True):
                    if finished.execution_id is not None:
                        self.inflight.pop(finished.execution_id, None)
                    if self.on_settled is not None:
                        self.on_settled(finished, result, took)
                self._settled.set()
        finally:
            self._flusher = None

    def _settle(self, batch: list[tuple[Finished, float, bytes | None]]) -> list[UpdateResult]:
        if self.history is not None:
            self.history.put_many(
                [
                    (f.payload_id, f.execution_id, f.status, doc)
                    for f, _, doc in batch
                    if doc is not None and f.execution_id is not None
                ]
            )
        faults.point("mid_flush")
        return update(
            [f for f, _, _ in batch],
            store=self.store,
            payload_store=self.payload_store,
            intake=self.intake,
            notifier=self.notifier,
        )

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
        tasks = list(self.inflight.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await self.finish()
