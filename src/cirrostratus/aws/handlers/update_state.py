"""The update-state Lambda: a Step Functions status change (EventBridge) → the update rules.

The event is `aws.states` "Step Functions Execution Status Change" for SUCCEEDED, FAILED,
ABORTED or TIMED_OUT. The same `engine.update.update` the local engine runs records the
outcome in the DynamoDB state table (COMPLETED / FAILED / INVALID / ABORTED, Cirrus's
schema), stores the output payload, sends chained payloads to the process queue and
announces FAILED and INVALID records on Cirrus's topics. Items are announced on the publish
topic by the publish task, as in Cirrus, not here.

The error of a FAILED execution is read from its history as Cirrus does: of the last 10
events, newest first, the first state entered with an `error` in its input (the Fail state
after a `Catch` with `ResultPath: $.error`), else the first `lambdaFunctionFailed` details,
else the event's own `error`/`cause`, else `Unknown`. A TIMED_OUT execution records
`TimedOutError: The step function execution timed out.`

An event that is not a status change raises (it goes to the function's dead-letter queue).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import orjson

from cirrostratus.aws.handlers import env

logger = logging.getLogger(__name__)
HISTORY_EVENTS = 10
TIMED_OUT_CAUSE = "The step function execution timed out."


def error_from_history(events: list[dict[str, Any]]) -> tuple[str, str] | None:
    """(Error, Cause) from execution history events given newest first, or None."""
    for ev in events:
        details = ev.get("stateEnteredEventDetails")
        if not details:
            continue
        try:
            data = orjson.loads(details.get("input") or "null")
        except orjson.JSONDecodeError:
            continue
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, Mapping):
            return str(error.get("Error", "Unknown")), str(error.get("Cause", ""))
    for ev in events:
        details = ev.get("lambdaFunctionFailedEventDetails")
        if details:
            return str(details.get("error", "Unknown")), str(details.get("cause", ""))
    return None


def read_error(client: Any, execution_arn: str) -> tuple[str, str] | None:
    """The error of a failed execution from its last events (None when none says)."""
    try:
        resp = client.get_execution_history(
            executionArn=execution_arn, reverseOrder=True, maxResults=HISTORY_EVENTS
        )
    except Exception as exc:
        logger.warning("history of %s unreadable: %s", execution_arn, exc)
        return None
    return error_from_history(list(resp.get("events", [])))


def lambda_handler(event: Any, context: Any = None) -> list[dict[str, Any]]:
    from cirrostratus.engine.notify import FAILED, INVALID
    from cirrostratus.engine.update import finished_from_event, update
    from cirrostratus.payload import PayloadError
    from cirrostratus.storage import read_url

    try:
        finished = finished_from_event(event, read_url)
    except (PayloadError, AttributeError, TypeError) as exc:
        raise ValueError(f"Unknown event: {orjson.dumps(event)[:2000].decode()} ({exc})") from None
    if finished.status == "FAILED" and finished.execution_id:
        found = read_error(env.client("stepfunctions"), finished.execution_id)
        if found is not None:
            finished = replace(finished, error=found[0], cause=found[1])
        elif not finished.error:
            finished = replace(finished, error="Unknown", cause=None)
    elif finished.status == "TIMED_OUT":
        finished = replace(finished, cause=finished.cause or TIMED_OUT_CAUSE)
    results = update(
        [finished],
        store=env.state_store(),
        payload_store=env.payload_store(),
        intake=env.process_queue(required=False),
        notifier=env.notifier(FAILED, INVALID),
        fail_unstored=False,
    )
    out = []
    for r in results:
        logger.info("update-state %s: %s (%s)", r.payload_id, r.state, r.reason or r.error)
        out.append(
            {
                "payload_id": r.payload_id,
                "applied": r.applied,
                "state": str(r.state) if r.state else None,
                "error": r.error,
                "reason": r.reason,
                "next_payloads": r.next_payloads,
                "warnings": r.warnings,
            }
        )
    return out
