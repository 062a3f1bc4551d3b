"""Payloads still waiting in the intake (QUEUED): what `cirro query` and `cirro payload state`
show besides the state database, which knows a payload only once an engine has taken it."""

from __future__ import annotations

from typing import Any

import click

from cirrostratus.cli.local import locations


def _intake(ctx: click.Context) -> Any:
    """The project's intake queue, or None when none was ever created (nothing queued)."""
    from cirrostratus.intake import IntakeError, SqliteIntakeQueue

    path = locations(ctx).intake_db
    if not path.exists():
        return None
    try:
        return SqliteIntakeQueue(path)
    except IntakeError:
        return None  # an unusable intake is reported by the commands that use it


def waiting(ctx: click.Context, payload_id: str) -> Any:
    """The intake message waiting for `payload_id` (an `intake.Waiting`), or None."""
    intake = _intake(ctx)
    if intake is None:
        return None
    try:
        return intake.waiting([payload_id]).get(payload_id)
    finally:
        intake.close()


def queued_count(ctx: click.Context, query: dict[str, Any]) -> int | None:
    """How many payloads matching `query` wait in the intake; None when it cannot be told
    (a --since or --error filter, or a workflow without its collections)."""
    if query.get("since") or query.get("error_prefix"):
        return None
    collections, workflow = query.get("collections"), query.get("workflow")
    if workflow and not collections:
        return None
    prefix = None
    if collections:
        prefix = f"{collections}/workflow-" + (f"{workflow}/" if workflow else "")
    intake = _intake(ctx)
    if intake is None:
        return 0
    try:
        return int(intake.waiting_count(prefix))
    finally:
        intake.close()


def describe(found: Any) -> str:
    """`QUEUED (delivered 2 times, last error: …)` for a waiting message."""
    if found.receive_count == 0:
        how = "waiting in the intake, not delivered yet"
    else:
        times = "once" if found.receive_count == 1 else f"{found.receive_count} times"
        how = f"in the intake, delivered {times}" + (
            " (an engine holds it)" if found.leased else ""
        )
    if found.last_error:
        how += f"; last error: {found.last_error}"
    return how
