"""Runs executions on the engine's event loop and settles them through the update rules.

`LocalRunner` is the local twin of Step Functions for the process rules: `start` compiles
(once) the payload's workflow and schedules its execution as an asyncio task, returning at
once. Finished executions are settled in batches — one state transaction for everything
that finished since the last loop iteration — which is what keeps durable state cheap.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from cirrostratus.asl import ExecutionResult, Invoker, StateMachine
from cirrostratus.engine.notify import Notifier
from cirrostratus.engine.protocols import PayloadWriter
from cirrostratus.engine.update import Finished, UpdateResult, update
from cirrostratus.engine.workflows import WorkflowRegistry
from cirrostratus.intake import IntakeQueue
from cirrostratus.payload import Payload
from cirrostratus.state import StateStore

Settled = Callable[[Finished, UpdateResult, float], None]


def history_key(payload_id: str, execution_id: str) -> str:
    return f"{payload_id}/executions/{execution_id}/history.json"


def caught_error(result: ExecutionResult) -> tuple[str | None, str | None]:
    """The Error and Cause of a FAILED execution, as Cirrus's update-state finds them.

    A Cirrus workflow catches States.ALL into `$.error` and ends in a Fail state without an
    Error of its own; the real error is the `error` object in the input of that last state.
    """
    if result.error:
        return result.error, result.cause
    for event in reversed(result.history[-10:]):
        details = event.details or {}
        data = details.get("input")
        if isinstance(data, Mapping) and isinstance(data.get("error"), Mapping):
            err = data["error"]
            cause = err.get("Cause")
            return str(err.get("Error") or "Unknown"), None if cause is None else str(cause)
    return result.error, result.cause


class LocalRunner:
    """A WorkflowRunner that runs executions as tasks on the current event loop."""

    def __init__(
        self,
        workflows: WorkflowRegistry,
        invoker: Invoker,
        *,
        store: StateStore,
        payload_store: PayloadWriter,
        intake: IntakeQueue,
        notifier: Notifier | None,
        on_settled: Settled | None = None,
        keep_history: bool = True,
    ) -> None:
        self.workflows = workflows
        self.invoker = invoker
        self.store = store
        self.payload_store = payload_store
        self.intake = intake
        self.notifier = notifier
        self.on_settled = on_settled
        self.keep_history = keep_history
        self.inflight: dict[str, asyncio.Task[None]] = {}
        self._finished: list[tuple[Finished, float]] = []
        self._flush_scheduled = False
        self.idle = asyncio.Event()
        self.idle.set()

    # --- the WorkflowRunner protocol -------------------------------------------------

    def start(self, payload: Payload, execution_id: str) -> None:
        machine = self.workflows.get(payload.workflow)  # UnknownWorkflow → the record FAILS
        task = asyncio.get_running_loop().create_task(
            self._execute(machine, payload, execution_id), name=execution_id
        )
        self.inflight[execution_id] = task
        self.idle.clear()

    # --- running and settling ----------------------------------------------------------

    async def _execute(self, machine: StateMachine, payload: Payload, execution_id: str) -> None:
        began = time.monotonic()
        try:
            result = await machine.execute(
                payload.to_dict(),
                invoker=self.invoker,
                name=execution_id,
                execution_id=execution_id,
                history=self.keep_history,
            )
            finished = self._finished_from(payload.id, execution_id, result)
        except asyncio.CancelledError:
            finished = Finished(payload.id, execution_id, "ABORTED")
        except Exception as exc:  # an engine bug must not leave the payload PROCESSING
            finished = Finished(
                payload.id, execution_id, "FAILED", error=type(exc).__name__, cause=str(exc)
            )
        self._finished.append((finished, time.monotonic() - began))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def _finished_from(
        self, payload_id: str, execution_id: str, result: ExecutionResult
    ) -> Finished:
        if self.keep_history and result.history:
            events = [e.to_dict() for e in result.history]
            for e in events:  # keep the history small: inputs live in input.json/output.json
                details = e.get("details")
                if details:
                    details.pop("input", None)
                    details.pop("output", None)
            self.payload_store.put_bytes(
                history_key(payload_id, execution_id),
                orjson.dumps({"status": result.status, "events": events}, default=str),
            )
        if result.status == "SUCCEEDED":
            output = result.output if isinstance(result.output, Mapping) else None
            if output is None:
                return Finished(
                    payload_id,
                    execution_id,
                    "FAILED",
                    error="States.Runtime",
                    cause="the workflow's output is not a payload (a JSON object)",
                )
            return Finished(payload_id, execution_id, "SUCCEEDED", output=output)
        error, cause = caught_error(result) if result.status == "FAILED" else (None, None)
        if result.status == "TIMED_OUT":
            error, cause = result.error, result.cause
        return Finished(payload_id, execution_id, result.status, error=error, cause=cause)

    def flush(self) -> None:
        """Settle every execution that finished since the last flush, in one transaction."""
        self._flush_scheduled = False
        if not self._finished:
            return
        batch, self._finished = self._finished, []
        results = update(
            [f for f, _ in batch],
            store=self.store,
            payload_store=self.payload_store,
            intake=self.intake,
            notifier=self.notifier,
        )
        for (finished, took), result in zip(batch, results, strict=True):
            if finished.execution_id is not None:
                self.inflight.pop(finished.execution_id, None)
            if self.on_settled is not None:
                self.on_settled(finished, result, took)
        if not self.inflight:
            self.idle.set()

    async def cancel_all(self) -> None:
        """Abort what is running (a stop that cannot wait): each ends ABORTED, not lost."""
        tasks = list(self.inflight.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self.flush()


def describe(result: Any) -> dict[str, Any]:
    """A compact view of a finished execution for logs and the CLI."""
    return {"status": getattr(result, "status", None), "error": getattr(result, "error", None)}
