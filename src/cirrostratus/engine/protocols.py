"""What the process and update rules need from the parts that run workflows.

A WorkflowRunner is the local ASL engine or AWS Step Functions: `start` hands a payload to
it and returns at once; the runner reports how the execution ended through the update rules.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from cirrostratus.payload import Payload


@runtime_checkable
class WorkflowRunner(Protocol):
    def start(self, payload: Payload, execution_id: str) -> None:
        """Begin running `payload` through `payload.workflow` as execution `execution_id`.

        Raise to say it cannot start (an unknown workflow, a full queue, no credentials…):
        the process rules record the payload FAILED with `"<ExceptionClass>: <message>"`.
        """
        ...


class PayloadWriter(Protocol):
    """The part of an ObjectStore the rules write through (`<payload id>/input.json`…)."""

    def put_bytes(self, key: str, data: bytes) -> str: ...
