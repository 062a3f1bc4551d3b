"""The WorkflowRunner on AWS Step Functions, as Cirrus's process lambda starts workflows.

Cirrus starts `CIRRUS_BASE_WORKFLOW_ARN + <workflow>` (the base is
`arn:aws:states:<region>:<account>:stateMachine:<stack>-`) with the payload as the input.
We name each execution ourselves (a uuid4), so its ARN — what Cirrus records in the state
table's `executions` — is known before it starts: `execution_for` gives it to the process
rules' claim, and `start` starts exactly that execution. A payload over `threshold` bytes
starts with `{"url": ...}` (its stored input), as every other AWS boundary gets it.
"""

from __future__ import annotations

import uuid
from typing import Any

from cirrostratus.engine.protocols import PayloadWriter
from cirrostratus.payload import Payload
from cirrostratus.payload.transport import DEFAULT_THRESHOLD, to_transport_bytes
from cirrostratus.state.dynamodb_client import error_code, make_client
from cirrostratus.storage.keys import payload_key


class WorkflowNotFound(Exception):
    """No state machine for the payload's workflow (Cirrus's StateMachineDoesNotExist)."""


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN Step Functions gives execution `name` of a standard state machine."""
    head, sep, machine = state_machine_arn.rpartition(":stateMachine:")
    if not sep:
        raise ValueError(f"{state_machine_arn!r} is not a state machine ARN")
    return f"{head}:execution:{machine}:{name}"


class StepFunctionsRunner:
    """Starts `<base_arn><workflow>` executions (env `CIRRUS_BASE_WORKFLOW_ARN`)."""

    def __init__(
        self,
        base_arn: str,
        *,
        payload_store: PayloadWriter | None = None,
        threshold: int = DEFAULT_THRESHOLD,
        client: Any = None,
        session: Any = None,
        endpoint_url: str | None = None,
        region: str | None = None,
    ) -> None:
        if ":stateMachine:" not in (base_arn or ""):
            raise ValueError(
                f"CIRRUS_BASE_WORKFLOW_ARN={base_arn!r} is not a state machine ARN prefix; "
                "it looks like arn:aws:states:<region>:<account>:stateMachine:<stack>-"
            )
        self.base_arn = base_arn
        self.payload_store = payload_store
        self.threshold = threshold
        self.client = make_client(
            "stepfunctions",
            client=client,
            session=session,
            endpoint_url=endpoint_url,
            region=region,
        )

    def state_machine(self, workflow: str) -> str:
        return f"{self.base_arn}{workflow}"

    def execution_for(self, payload: Payload) -> str:
        """A new execution ARN for `payload` (pass as `process(..., execution_for=)`)."""
        return execution_arn(self.state_machine(payload.workflow), str(uuid.uuid4()))

    def _input(self, payload: Payload) -> bytes:
        data = payload.to_dict()
        if self.payload_store is None:
            from cirrostratus.payload.transport import encode

            return encode(data)
        key = payload_key(payload.id, "input.json")
        return to_transport_bytes(data, self.payload_store, key, self.threshold)

    def start(self, payload: Payload, execution_id: str) -> None:
        """Start execution `execution_id` (an ARN from `execution_for`, or a bare name)."""
        machine = self.state_machine(payload.workflow)
        name = execution_id.rsplit(":", 1)[-1]
        try:
            self.client.start_execution(
                stateMachineArn=machine, name=name, input=self._input(payload).decode("utf-8")
            )
        except Exception as exc:
            if error_code(exc) == "StateMachineDoesNotExist":
                raise WorkflowNotFound(
                    f"no state machine {machine} for workflow {payload.workflow!r}"
                ) from None
            raise
