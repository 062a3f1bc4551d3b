"""Run a state machine definition through moto's Step Functions interpreter.

moto (5.x) ships an in-process ASL interpreter, switched on by
``mock_aws(config={"stepfunctions": {"execute_state_machine": True}})``. We use it as an
independent oracle: the conformance tests compare our interpreter with it, and the
``asl_vs_moto`` benchmark measures it. Starting a mock and a boto3 client costs about a
second, so one :class:`MotoRunner` is meant to serve many executions.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from dataclasses import dataclass, replace
from typing import Any

ROLE_ARN = "arn:aws:iam::123456789012:role/conformance"
REGION = "us-east-1"
_FINISHED = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
INVALID_DEFINITION = "INVALID_DEFINITION"
"""The pseudo-status of a definition that is refused before it runs."""


@dataclass(frozen=True)
class MotoOutcome:
    """What moto reported for one execution: the fields we compare with our interpreter."""

    status: str
    output: Any
    error: str | None
    cause: str | None
    history: tuple[str, ...] = ()
    """The execution's history event types in order (filled by :meth:`MotoRunner.run`)."""


class MotoRunner:
    """One mock_aws context and one stepfunctions client, reused for many executions."""

    def __init__(self) -> None:
        import boto3
        from moto import mock_aws

        for key, value in (
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_DEFAULT_REGION", REGION),
        ):
            os.environ.setdefault(key, value)
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self._mock.start()
        self.client = boto3.client("stepfunctions", region_name=REGION)
        self._names = itertools.count()

    def close(self) -> None:
        """Stop the mock; the runner is unusable afterwards."""
        self._mock.stop()

    def create(self, definition: dict[str, Any], name: str | None = None) -> str:
        """Create a state machine and return its ARN (moto parses the definition here)."""
        response = self.client.create_state_machine(
            name=name or f"sm-{next(self._names)}",
            definition=json.dumps(definition),
            roleArn=ROLE_ARN,
        )
        return str(response["stateMachineArn"])

    def start(self, state_machine_arn: str, input: Any, name: str | None = None) -> str:
        """Start one execution and return its ARN without waiting."""
        response = self.client.start_execution(
            stateMachineArn=state_machine_arn,
            name=name or f"ex-{next(self._names)}",
            input=json.dumps(input),
        )
        return str(response["executionArn"])

    def wait(self, execution_arn: str, timeout: float = 30.0) -> MotoOutcome:
        """Poll describe_execution until the execution has finished, then read its result."""
        deadline = time.monotonic() + timeout
        delay = 0.0005
        while True:
            described = self.client.describe_execution(executionArn=execution_arn)
            if described["status"] in _FINISHED:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"moto execution {execution_arn} still RUNNING after {timeout}s")
            time.sleep(delay)
            delay = min(delay * 2, 0.02)
        output = _decode_output(described["output"]) if "output" in described else None
        error, cause = described.get("error"), described.get("cause")
        if described["status"] == "FAILED" and error is None:
            error, cause = self._failure_from_history(execution_arn)
        return MotoOutcome(str(described["status"]), output, error, cause)

    def run(
        self,
        definition: dict[str, Any],
        input: Any,
        *,
        state_machine_name: str | None = None,
        execution_name: str | None = None,
    ) -> MotoOutcome:
        """Create, start and wait: the whole round trip for one case.

        A definition moto refuses comes back as status ``INVALID_DEFINITION`` (error and
        cause carry moto's message) so it can be compared like any other outcome.
        """
        from botocore.exceptions import ClientError

        try:
            arn = self.create(definition, state_machine_name)
        except ClientError as exc:
            message = str(exc.response.get("Error", {}).get("Message", exc))
            return MotoOutcome(INVALID_DEFINITION, None, "InvalidDefinition", message)
        return self.finish(self.start(arn, input, execution_name))

    def finish(self, execution_arn: str) -> MotoOutcome:
        """Wait for a started execution and read its outcome with its history event types."""
        return replace(self.wait(execution_arn), history=self.event_types(execution_arn))

    def event_types(self, execution_arn: str) -> tuple[str, ...]:
        """The types of an execution's history events, oldest first."""
        events = self.client.get_execution_history(executionArn=execution_arn)["events"]
        return tuple(str(event["type"]) for event in events)

    def _failure_from_history(self, execution_arn: str) -> tuple[str | None, str | None]:
        """Find error and cause in the ExecutionFailed event (older describe output lacks them)."""
        events = self.client.get_execution_history(executionArn=execution_arn)["events"]
        for event in reversed(events):
            details = event.get("executionFailedEventDetails")
            if details is not None:
                return details.get("error"), details.get("cause")
        return None, None


def _decode_output(text: str) -> Any:
    """Decode describe_execution's output.

    moto 5.2 returns a string output bare (``hello``) instead of as JSON text
    (``"hello"``); anything that is not valid JSON is therefore that string itself.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
