"""Error names and exception types of the interpreter.

ASL errors are plain strings (`States.Timeout`, `Lambda.Unknown`, `ValueError`); inside the
interpreter a failing state raises `StatesError` carrying the name and cause, which Retry and
Catch match on. Invokers raise the public `TaskFailed`.
"""

from __future__ import annotations

from dataclasses import dataclass

ALL = "States.ALL"
TASK_FAILED = "States.TaskFailed"
TIMEOUT = "States.Timeout"
HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
RUNTIME = "States.Runtime"
RESULT_PATH_MATCH_FAILURE = "States.ResultPathMatchFailure"
PARAMETER_PATH_FAILURE = "States.ParameterPathFailure"
INTRINSIC_FAILURE = "States.IntrinsicFailure"
BRANCH_FAILED = "States.BranchFailed"
NO_CHOICE_MATCHED = "States.NoChoiceMatched"
EXCEED_TOLERATED_FAILURE_THRESHOLD = "States.ExceedToleratedFailureThreshold"
DATA_LIMIT_EXCEEDED = "States.DataLimitExceeded"
PERMISSIONS = "States.Permissions"

KNOWN_ERRORS = frozenset(
    {
        ALL, TASK_FAILED, TIMEOUT, HEARTBEAT_TIMEOUT, RUNTIME, RESULT_PATH_MATCH_FAILURE,
        PARAMETER_PATH_FAILURE, INTRINSIC_FAILURE, BRANCH_FAILED, NO_CHOICE_MATCHED,
        EXCEED_TOLERATED_FAILURE_THRESHOLD, DATA_LIMIT_EXCEEDED, PERMISSIONS,
        "States.ItemReaderFailed", "States.ResultWriterFailed", "States.QueryEvaluationError",
        "States.Http.Socket", "States.Aborted",
    }
)  # fmt: skip

# Terminal errors: no Retry or Catch sees them (AWS: States.ALL never matches these, and
# naming them explicitly does not help either, the execution simply fails).
TERMINAL_ERRORS = frozenset({RUNTIME, DATA_LIMIT_EXCEEDED})


class TaskFailed(Exception):
    """Raised by an invoker to fail a Task state with an ASL error name and cause."""

    def __init__(self, error: str, cause: str | None = None) -> None:
        super().__init__(f"{error}: {cause}" if cause else error)
        self.error = error
        self.cause = cause


class StatesError(Exception):
    """A state failed with `error` (an ASL error name); Retry and Catch match on it.

    `missing_cause` is what the error output's "Cause" holds when there is no cause: Step
    Functions always hands a Catch both fields, binding "" when a Fail state gave no Cause,
    and null when a task failure was reported without one.

    `also` is one more name a Retrier or Catcher may match it by, though it reports as
    `error`: a missed heartbeat reports States.Timeout (as AWS's execution history does) yet
    is also matched by States.HeartbeatTimeout, so it can be handled apart from a slow task.
    """

    def __init__(
        self,
        error: str,
        cause: str | None = None,
        *,
        missing_cause: str | None = None,
        also: str | None = None,
    ) -> None:
        super().__init__(f"{error}: {cause}" if cause else error)
        self.error = error
        self.cause = cause
        self.missing_cause = missing_cause
        self.also = also
        self.state: str | None = None  # path of the state that raised it, set on the way out

    @property
    def terminal(self) -> bool:
        return self.error in TERMINAL_ERRORS

    def output(self) -> dict[str, str | None]:
        """The error output a Catch hands to its next state: always both fields."""
        return {
            "Error": self.error,
            "Cause": self.missing_cause if self.cause is None else self.cause,
        }


def error_matches(
    patterns: frozenset[str] | tuple[str, ...], error: str, also: str | None = None
) -> bool:
    """Does a Retrier/Catcher's ErrorEquals list match `error` (or its extra name `also`)?

    States.ALL matches everything except the terminal errors; States.TaskFailed matches
    everything except States.Timeout (and the terminal errors), as AWS documents.
    """
    if error in TERMINAL_ERRORS:
        return False
    if error in patterns or ALL in patterns or (also is not None and also in patterns):
        return True
    return TASK_FAILED in patterns and error != TIMEOUT


@dataclass(frozen=True, slots=True)
class AslProblem:
    """One problem found in a definition. `state` is a path for nested states
    (`Outer.Branches[0].Inner`, `Map.ItemProcessor.Step`) or None for the top level."""

    state: str | None
    field: str | None
    message: str
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        where = []
        if self.state is not None:
            where.append(f"state '{self.state}'")
        if self.field is not None:
            where.append(f"field '{self.field}'")
        prefix = " ".join(where) + ": " if where else ""
        return f"{self.severity}: {prefix}{self.message}"


class AslDefinitionError(ValueError):
    """The definition has errors; `problems` lists every one (warnings included)."""

    def __init__(self, problems: list[AslProblem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        lines = "\n".join(f"  {p}" for p in errors)
        super().__init__(f"invalid state machine definition ({len(errors)} error(s)):\n{lines}")
