"""A deterministic stand-in for a Task's worker, shared by both interpreters.

moto cannot run Lambda here, but it can run a Task through the callback pattern: the Task
sends a message to an SQS queue (``sqs:sendMessage.waitForTaskToken``) and waits until
someone calls SendTaskSuccess or SendTaskFailure with the token. A thread plays that someone
for moto; our interpreter gets an invoker that calls the same :func:`respond`. Both sides are
thus fed identical task results and failures, and the test compares how each interpreter
handles them (Parameters, ResultSelector, ResultPath, Retry, Catch, TimeoutSeconds).

The message body is the work order: ``{"token.$": "$$.Task.Token", "key.$":
"$$.Execution.Id", ...payload}``. The payload may hold ``error`` (fail with that error name,
every attempt or only the first ``fail_times``), ``hang`` (never answer; ``hang_times``: not on
the first attempts) or ``return`` (answer exactly that value). Otherwise the worker answers ``{"echo": payload, "attempt": n}``.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

QUEUE_NAME = "conformance-tasks"
QUEUE_URL = f"https://sqs.us-east-1.amazonaws.com/123456789012/{QUEUE_NAME}"
RESOURCE = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
HANG = object()
"""What :func:`respond` returns when the worker should never answer."""


class WorkerFailure(Exception):
    """The worker reports a failure with this error name (and no cause: moto drops causes)."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def respond(body: dict[str, Any], attempts: Counter[str]) -> Any:
    """The worker's answer to one work order: an output, HANG, or a raised WorkerFailure."""
    payload = {k: v for k, v in body.items() if k not in ("token", "key")}
    key = str(body.get("key", body.get("token")))
    attempts[key] += 1
    if payload.get("hang") or attempts[key] <= int(payload.get("hang_times", 0)):
        return HANG
    error = payload.get("error")
    if error is not None and attempts[key] <= int(payload.get("fail_times", 1_000_000)):
        raise WorkerFailure(str(error))
    if "return" in payload:
        return payload["return"]
    return {"echo": payload, "attempt": attempts[key]}


class MotoWorker:
    """Answers moto's queued work orders from a background thread until stopped."""

    def __init__(self) -> None:
        import boto3

        self._sqs = boto3.client("sqs", region_name="us-east-1")
        self._sfn = boto3.client("stepfunctions", region_name="us-east-1")
        self._sqs.create_queue(QueueName=QUEUE_NAME)
        self._attempts: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="moto-task-worker", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        # Poll briskly while tasks are about, lazily when idle: every poll goes through
        # botocore and moto and costs the other tests CPU time.
        idle_polls = 0
        while not self._stop.is_set():
            try:
                response = self._sqs.receive_message(QueueUrl=QUEUE_URL, MaxNumberOfMessages=10)
            except Exception:  # moto racing with itself; the message stays queued
                self._stop.wait(0.01)
                continue
            messages = response.get("Messages", [])
            for message in messages:
                self._sqs.delete_message(QueueUrl=QUEUE_URL, ReceiptHandle=message["ReceiptHandle"])
                self._answer(json.loads(message["Body"]))
            idle_polls = 0 if messages else idle_polls + 1
            self._stop.wait(0.005 if idle_polls < 400 else 0.1)

    def _answer(self, body: dict[str, Any]) -> None:
        token = body["token"]
        try:
            output = respond(body, self._attempts)
        except WorkerFailure as failure:
            error = failure.error
            self._send(lambda: self._sfn.send_task_failure(taskToken=token, error=error))
            return
        if output is not HANG:
            answer = json.dumps(output)
            self._send(lambda: self._sfn.send_task_success(taskToken=token, output=answer))

    def _send(self, call: Callable[[], object]) -> None:
        """Deliver one answer. A ClientError means the execution has moved on (timed out, or
        moto handed a retry a stale answer): nobody waits for it, as with a late worker on
        AWS. Anything else is moto tripping over its own threads (it walks its list of
        executions while other tests add to it): try again shortly."""
        from botocore.exceptions import ClientError

        for attempt in range(5):
            try:
                call()
                return
            except ClientError:
                return
            except Exception:
                # after a few tries the execution has most likely ended under us (moto then
                # trips over its own cleared worker): drop the answer, as AWS drops a late
                # one, rather than let this thread die and starve every later Task case
                if attempt < 4:
                    self._stop.wait(0.01)
