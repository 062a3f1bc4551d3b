"""Run every case of the ASL conformance corpus through our interpreter and through moto's.

Each file in ``cases/`` is one state machine with one input. moto's Step Functions
interpreter is the oracle: status, output and error must be the same (and the cause, where
it is deterministic). Where moto departs from the Amazon States Language specification the
case says why in ``moto_differs`` and gives the specification's outcome in ``expect``; we
are held to ``expect``, and moto is still run to show that it really differs, so a fixed
moto makes ``test_moto_still_differs`` fail and the case can go back to the plain oracle.
Task states run through moto's callback pattern and a shared deterministic worker
(task_worker.py), so both interpreters see the same task results and failures.
See docs/conformance.md.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import task_worker
from moto_runner import INVALID_DEFINITION, MotoOutcome, MotoRunner

try:
    from cirrostratus.asl import AslDefinitionError, TaskFailed, compile_definition
except ImportError as exc:  # pragma: no cover - only while the interpreter is being written
    pytest.skip(f"cirrostratus.asl is not importable yet: {exc}", allow_module_level=True)

CASES_DIR = Path(__file__).parent / "cases"
CASE_KEYS = {"description", "definition", "input", "expect", "moto_differs"}
EXPECT_KEYS = {"status", "output", "error", "cause"}


@dataclass(frozen=True)
class Case:
    """One corpus file, validated."""

    id: str
    description: str
    definition: dict[str, Any]
    input: Any
    expect: dict[str, Any] | None
    moto_differs: str | None


def load_case(path: Path) -> Case:
    """Read and check one case file; a malformed file names itself and the fix."""
    data = json.loads(path.read_text())
    problems = []
    if not isinstance(data, dict):
        raise ValueError(f"{path.name}: a case is a JSON object with {sorted(CASE_KEYS)}")
    if unknown := set(data) - CASE_KEYS:
        problems.append(f"unknown keys {sorted(unknown)} (allowed: {sorted(CASE_KEYS)})")
    for key in ("description", "definition", "input"):
        if key not in data:
            problems.append(f"'{key}' is required")
    expect, differs = data.get("expect"), data.get("moto_differs")
    if (expect is None) != (differs is None):
        problems.append("'expect' and 'moto_differs' go together: give both or neither")
    if expect is not None and (not isinstance(expect, dict) or not set(expect) <= EXPECT_KEYS):
        problems.append(f"'expect' is an object with some of {sorted(EXPECT_KEYS)}")
    if problems:
        raise ValueError(f"{path.name}: " + "; ".join(problems))
    return Case(path.stem, data["description"], data["definition"], data["input"], expect, differs)


CASES = [load_case(p) for p in sorted(CASES_DIR.glob("*.json"))]
DIFFERING = [c for c in CASES if c.moto_differs]


def _sequential(case: Case) -> bool:
    """No Map or Parallel anywhere, so the history order is fully deterministic, and no Task:
    a Task's events depend on its service integration, which our invoker does not model."""
    text = json.dumps(case.definition)
    return not any(f'"Type": "{kind}"' in text for kind in ("Map", "Parallel", "Task"))


SEQUENTIAL = [c for c in CASES if c.moto_differs is None and _sequential(c)]

# Cases our interpreter gets wrong today, each with the exact difference (none at present).
# They run as strict xfail: a case that starts passing fails the suite until its entry goes.
KNOWN_BUGS: dict[str, str] = {}

# moto deviations that show only when its threads happen to interleave one way: ours is still
# held to the specification, but whether moto differs on a given run is not a stable fact.
MOTO_TIMING_DEPENDENT: dict[str, str] = {
    "task_retry_then_succeed": (
        "moto reuses the task token across retries, so its retry fails or succeeds depending "
        "on thread timing; a loaded machine sometimes lets it succeed"
    ),
}


def _params(cases: list[Case]) -> list[Any]:
    return [
        pytest.param(
            case,
            id=case.id,
            marks=[pytest.mark.xfail(reason=KNOWN_BUGS[case.id], strict=True)]
            if case.id in KNOWN_BUGS
            else [],
        )
        for case in cases
    ]


class FastClock:
    """Real wall-clock time plus whatever the execution has 'slept': Retry intervals and
    Wait states cost nothing, yet timestamps still move forward consistently."""

    def __init__(self) -> None:
        self._skipped = 0.0

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self._skipped)

    async def sleep(self, seconds: float) -> None:
        self._skipped += max(0.0, seconds)
        await asyncio.sleep(0)


_our_attempts: Counter[str] = Counter()


async def worker_invoker(resource: Any, parameters: Any, context: Any) -> Any:
    """Our side of task_worker: the same answers moto's worker thread gives."""
    assert resource == task_worker.RESOURCE, f"unexpected Task Resource {resource!r}"
    try:
        output = task_worker.respond(parameters["MessageBody"], _our_attempts)
    except task_worker.WorkerFailure as failure:
        raise TaskFailed(failure.error, None) from None
    if output is task_worker.HANG:
        await asyncio.Event().wait()
    return output


def run_ours(case: Case) -> MotoOutcome:
    """Compile and execute one case with our interpreter, in moto's outcome shape."""
    try:
        machine = compile_definition(case.definition, name=case.id)
    except AslDefinitionError as exc:
        return MotoOutcome(INVALID_DEFINITION, None, "AslDefinitionError", str(exc))
    result = asyncio.run(
        machine.execute(case.input, invoker=worker_invoker, clock=FastClock(), name=case.id)
    )
    output = json.loads(json.dumps(result.output)) if result.status == "SUCCEEDED" else None
    history = tuple(event.type for event in result.history)
    return MotoOutcome(result.status, output, result.error, result.cause, history)


_moto_outcomes: dict[str, MotoOutcome] = {}
_moto_started: dict[str, str] = {}
"""Executions of slow cases, started ahead: case id -> execution ARN."""
SLOW_FIELDS = ('"Retry"', '"TimeoutSeconds', '"HeartbeatSeconds')


def _start_slow_cases(runner: MotoRunner) -> None:
    """Start every case that sleeps in moto (Retry intervals, timeouts) at once, so their
    seconds of waiting overlap instead of adding up."""
    from botocore.exceptions import ClientError

    for case in CASES:
        if any(field in json.dumps(case.definition) for field in SLOW_FIELDS):
            try:
                arn = runner.create(case.definition, case.id)
            except ClientError:
                continue  # an invalid definition: run() reports it when the case comes up
            _moto_started[case.id] = runner.start(arn, case.input, case.id)


def run_moto(runner: MotoRunner, case: Case) -> MotoOutcome:
    """moto's outcome for a case, computed once per worker process."""
    if not _moto_outcomes and not _moto_started:
        _start_slow_cases(runner)
    if case.id not in _moto_outcomes:
        if case.id in _moto_started:
            _moto_outcomes[case.id] = runner.finish(_moto_started[case.id])
        else:
            _moto_outcomes[case.id] = runner.run(
                case.definition, case.input, state_machine_name=case.id, execution_name=case.id
            )
    return _moto_outcomes[case.id]


def comparable(outcome: MotoOutcome) -> dict[str, Any]:
    """The fields two interpreters must agree on.

    Output only matters for a success. The cause is compared when the error is a
    user-defined name (from a Fail state or a branch): the causes of States.* errors are
    free text that differs between any two implementations.
    """
    fields: dict[str, Any] = {"status": outcome.status}
    if outcome.status == "SUCCEEDED":
        fields["output"] = outcome.output
    if outcome.status == "FAILED":
        fields["error"] = outcome.error
        if outcome.error and not outcome.error.startswith("States."):
            fields["cause"] = outcome.cause
    return fields


def describe(outcome: MotoOutcome) -> str:
    return json.dumps(
        {
            "status": outcome.status,
            "output": outcome.output,
            "error": outcome.error,
            "cause": outcome.cause,
        },
        indent=1,
        default=str,
    )


def differences(expected: dict[str, Any], actual: MotoOutcome) -> list[str]:
    """Keys of ``expected`` that ``actual`` does not match."""
    got = {
        "status": actual.status,
        "output": actual.output,
        "error": actual.error,
        "cause": actual.cause,
    }
    return [key for key, value in expected.items() if got[key] != value]


def test_corpus_is_large_enough() -> None:
    """Issue #3 asks for at least 60 cases."""
    assert len(CASES) >= 60, f"only {len(CASES)} cases in {CASES_DIR}"


def test_known_bugs_name_real_cases() -> None:
    assert set(KNOWN_BUGS) <= {c.id for c in CASES}


@pytest.mark.parametrize("case", _params(CASES))
def test_conformance(case: Case, moto_runner: MotoRunner) -> None:
    moto = run_moto(moto_runner, case)
    ours = run_ours(case)
    if case.expect is None:
        assert comparable(ours) == comparable(moto), (
            f"{case.id}: {case.description}\nours:\n{describe(ours)}\nmoto:\n{describe(moto)}"
        )
    else:
        wrong = differences(case.expect, ours)
        assert not wrong, (
            f"{case.id}: {case.description}\n"
            f"ours differs from the specification in {wrong}:\n"
            f"expected: {json.dumps(case.expect)}\nours:\n{describe(ours)}\n"
            f"(moto, known to differ because {case.moto_differs}):\n{describe(moto)}"
        )


@pytest.mark.parametrize("case", DIFFERING, ids=[c.id for c in DIFFERING])
def test_moto_still_differs(case: Case, moto_runner: MotoRunner) -> None:
    """A documented moto deviation must still be real, or the case should drop it."""
    assert case.expect is not None
    if case.id in MOTO_TIMING_DEPENDENT:
        pytest.skip(MOTO_TIMING_DEPENDENT[case.id])
    moto = run_moto(moto_runner, case)
    assert differences(case.expect, moto), (
        f"{case.id}: moto now agrees with the specification ({json.dumps(case.expect)}); "
        f"remove 'expect' and 'moto_differs' from cases/{case.id}.json.\n"
        f"moto:\n{describe(moto)}"
    )


@pytest.mark.parametrize(
    "case", [c for c in SEQUENTIAL if c.id not in KNOWN_BUGS], ids=lambda c: str(c.id)
)
def test_history_event_types(case: Case, moto_runner: MotoRunner) -> None:
    """Where nothing runs concurrently, both interpreters log the same event types in order."""
    moto = run_moto(moto_runner, case)
    if moto.status == INVALID_DEFINITION:
        pytest.skip("moto refuses the definition: there is no history to compare")
    ours = run_ours(case)
    assert list(ours.history) == list(moto.history), f"{case.id}: {case.description}"
