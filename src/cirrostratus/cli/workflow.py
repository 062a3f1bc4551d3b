"""`cirro workflow exec`: run one workflow definition locally with mocked Task states.

Nothing is deployed or invoked: each Task state is answered by a `--mock` result file or a
`--mock-error`, so a definition's control flow (Choice, Retry, Catch, Parallel, Map, paths)
can be tested in milliseconds. Wait states and retry intervals use virtual time unless
`--real-time` is given.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click
import yaml

from cirrostratus.cli.errors import CliError


class _TagTolerantLoader(yaml.SafeLoader):
    """SafeLoader that reads CloudFormation short tags (`!GetAtt a.Arn`, `!Ref x`, `!Sub ...`)
    as their long forms instead of refusing them."""


def _cfn_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


_TagTolerantLoader.add_multi_constructor("!", _cfn_tag)
# keep unquoted timestamps (Wait `Timestamp: 2024-01-01T00:00:00Z`) as the strings ASL expects
_TagTolerantLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_document(path: Path) -> Any:
    """Read a JSON or YAML file (CloudFormation tags tolerated); errors name the file."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise CliError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        if path.suffix == ".json":
            return json.loads(text)
        return yaml.load(text, Loader=_TagTolerantLoader)
    except (ValueError, yaml.YAMLError) as exc:
        raise CliError(
            f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}"
        ) from None


def extract_definition(document: Any, source: str) -> dict[str, Any]:
    """Bare ASL (StartAt + States), or a Cirrus workflow definition.yml's `definition:` key."""
    if isinstance(document, dict) and "StartAt" in document and "States" in document:
        return document
    if isinstance(document, dict) and isinstance(document.get("definition"), dict):
        return document["definition"]  # type: ignore[no-any-return]
    raise CliError(
        f"{source}: no state machine found: expected an ASL definition (StartAt and States) "
        "or a Cirrus workflow file with a 'definition:' key"
    )


def _getatt_name(resource: Any) -> str | None:
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        target = resource["Fn::GetAtt"]
        if isinstance(target, str):
            target = target.split(".", 1)
        if isinstance(target, list) and target:
            return str(target[0])
    return None


LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"


def mock_keys(resource: Any, parameters: Any, state: str) -> list[str]:
    """The `--mock` keys that answer a Task state: its name, a string Resource, the name in
    a `Fn::GetAtt` Resource, and the FunctionName of a `lambda:invoke` integration."""
    keys = [state]
    if isinstance(resource, str):
        keys.append(resource)
    name = _getatt_name(resource)
    if name is not None:
        keys.append(name)
    if isinstance(parameters, dict):
        function = parameters.get("FunctionName")
        if isinstance(function, str):
            keys.append(function)
        elif _getatt_name(function) is not None:
            keys.append(str(_getatt_name(function)))
    return keys


def task_states(definition: Any) -> dict[str, list[str]]:
    """Every Task state of a definition, in Parallel branches and Map processors too, with
    the mock keys that answer it (see `mock_keys`)."""
    found: dict[str, list[str]] = {}
    states = definition.get("States") if isinstance(definition, dict) else None
    if not isinstance(states, dict):
        return found
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        if state.get("Type") == "Task":
            found[str(name)] = mock_keys(state.get("Resource"), state.get("Parameters"), str(name))
        for branch in state.get("Branches") or []:
            found.update(task_states(branch))
        for key in ("Iterator", "ItemProcessor"):
            found.update(task_states(state.get(key)))
    return found


def _check_mock_keys(definition: Path, asl: dict[str, Any], keys: list[tuple[str, str]]) -> None:
    """A --mock or --mock-error that answers no Task state is a mistake (a typo, the wrong
    file): say so, with the names that would work, before running anything."""
    tasks = task_states(asl)
    known = {key for state_keys in tasks.values() for key in state_keys}
    for option, key in keys:
        if key not in known:
            names = ", ".join(tasks) or "(none)"
            raise CliError(
                f"{option} {key}: no Task state in {definition} matches {key!r}; "
                f"its Task states are: {names} (a state name, its Resource or its function name)",
                exit_code=2,
            )


def _load_mock(key: str, file: str) -> Any:
    """A --mock result file (JSON, or YAML unless it ends in .json); problems are usage
    errors on one line."""
    path = Path(file)
    try:
        text = path.read_text()
    except OSError as exc:
        raise CliError(
            f"--mock {key}={file}: cannot read {file}: {exc.strerror}", exit_code=2
        ) from None
    try:
        if path.suffix == ".json":
            return json.loads(text)
        return yaml.load(text, Loader=_TagTolerantLoader)
    except (ValueError, yaml.YAMLError) as exc:
        detail = " ".join(str(exc).split())
        raise CliError(
            f"--mock {key}={file}: {file} is not valid JSON or YAML: {detail}", exit_code=2
        ) from None


class MockInvoker:
    """Answers Task states from `--mock` results and `--mock-error` failures.

    A key matches the Task state's name, a string Resource exactly, the name in a
    `Fn::GetAtt` Resource, or the FunctionName of a `lambda:invoke` integration. A mock
    result is what the function returns: for `lambda:invoke` it is wrapped in the
    integration's `{"Payload": ..., "StatusCode": 200}`, as on AWS.
    """

    def __init__(self, results: dict[str, Any], errors: dict[str, tuple[str, str | None]]) -> None:
        self.results = results
        self.errors = errors
        self.calls: list[tuple[str, Any]] = []

    async def __call__(self, resource: Any, parameters: Any, context: Any) -> Any:
        from cirrostratus.asl import TaskFailed

        self.calls.append((context.state_name, parameters))
        keys = mock_keys(resource, parameters, context.state_name)
        for key in keys:
            if key in self.errors:
                error, cause = self.errors[key]
                raise TaskFailed(error, cause)
            if key in self.results:
                result = self.results[key]
                if isinstance(resource, str) and resource.startswith(LAMBDA_INVOKE):
                    # what the lambda:invoke integration returns around the function's result
                    return {"ExecutedVersion": "$LATEST", "Payload": result, "StatusCode": 200}
                return result
        raise TaskFailed(
            "States.Runtime",
            f"Task state '{context.state_name}' has no mock (Resource {json.dumps(resource)}): "
            f"add --mock {context.state_name}=result.json or --mock-error {context.state_name}=Error:cause",
        )


def _split(option: str, value: str) -> tuple[str, str]:
    key, sep, rest = value.partition("=")
    if not sep or not key or not rest:
        raise CliError(f"{option} {value!r}: expected RESOURCE=VALUE", exit_code=2)
    return key, rest


def _read_input(input_file: str | None) -> Any:
    if input_file is None:
        return {}
    if input_file == "-":
        text, source = sys.stdin.read(), "<stdin>"
    else:
        path = Path(input_file)
        try:
            text, source = path.read_text(), str(path)
        except OSError as exc:
            raise CliError(
                f"{input_file}: cannot read the input: {exc.strerror}", exit_code=2
            ) from None
    try:
        return json.loads(text) if text.strip() else {}
    except ValueError as exc:
        raise CliError(f"{source}: the input is not valid JSON: {exc}") from None


@click.group()
def workflow() -> None:
    """Check and run workflow (Step Functions) definitions locally."""


@workflow.command("exec")
@click.argument("definition", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--input",
    "input_file",
    metavar="FILE|-",
    help="JSON input for the execution (default {}; - reads stdin).",
)
@click.option("--mock", "mocks", multiple=True, metavar="RESOURCE=RESULT.json",
              help="Answer Task states matching RESOURCE (state name, Resource string or GetAtt name) with this JSON file.")  # fmt: skip
@click.option("--mock-error", "mock_errors", multiple=True, metavar="RESOURCE=ERROR:CAUSE",
              help="Fail Task states matching RESOURCE with this error (and optional cause).")  # fmt: skip
@click.option("--history", is_flag=True, help="Include the execution history in the JSON output.")
@click.option(
    "--strict", is_flag=True, help="Fail (States.DataLimitExceeded) on state data over 256 KiB."
)
@click.option(
    "--real-time",
    is_flag=True,
    help="Really sleep in Wait states and retries (default: virtual time).",
)
def exec_(
    definition: Path,
    input_file: str | None,
    mocks: tuple[str, ...],
    mock_errors: tuple[str, ...],
    history: bool,
    strict: bool,
    real_time: bool,
) -> None:
    """Run DEFINITION (ASL JSON/YAML or a Cirrus workflow definition.yml) with mocked tasks.

    Prints one JSON object on its last line: status, output, error, cause (and history).
    Exits 0 when the execution SUCCEEDED, 1 otherwise, 2 for usage errors (a --mock that
    matches no Task state, a mock file that cannot be read).

    \b
    Example:
      cirro workflow exec workflows/mirror/definition.yml --input payload.json \\
        --mock copy-assets=copied.json --mock-error publish=Lambda.Unknown:throttled
    """
    from cirrostratus.asl import AslDefinitionError, SystemClock, VirtualClock, compile_definition

    if not definition.exists():
        raise CliError(f"{definition}: no such file", exit_code=2)
    asl = extract_definition(load_document(definition), str(definition))
    given = [(option, value) for option, values in (("--mock", mocks), ("--mock-error", mock_errors)) for value in values]  # fmt: skip
    _check_mock_keys(
        definition, asl, [(option, _split(option, value)[0]) for option, value in given]
    )
    results: dict[str, Any] = {}
    for value in mocks:
        key, file = _split("--mock", value)
        results[key] = _load_mock(key, file)
    errors: dict[str, tuple[str, str | None]] = {}
    for value in mock_errors:
        key, spec = _split("--mock-error", value)
        error, _, cause = spec.partition(":")
        errors[key] = (error, cause or None)
    payload = _read_input(input_file)
    try:
        machine = compile_definition(asl, name=definition.parent.name or "workflow", strict=strict)
    except AslDefinitionError as exc:
        lines = "\n".join(f"  {p}" for p in exc.problems)
        raise CliError(f"{definition}: the workflow definition has problems:\n{lines}") from None
    for problem in machine.problems:
        click.echo(f"{definition}: {problem}", err=True)
    clock = SystemClock() if real_time else VirtualClock()
    result = asyncio.run(
        machine.execute(payload, invoker=MockInvoker(results, errors), clock=clock, strict=strict)
    )
    click.echo(json.dumps(result.to_dict(history=history), default=str))
    if not result.succeeded:
        sys.exit(1)


@workflow.command("check")
@click.argument(
    "definitions", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path)
)
def check(definitions: tuple[Path, ...]) -> None:
    """Check DEFINITIONS (ASL files or Cirrus workflow definition.yml) without running them.

    Lists every problem with its state and field; exits 1 if any file has errors.
    """
    from cirrostratus.asl import check_definition

    failed = False
    for path in definitions:
        if not path.exists():
            raise CliError(f"{path}: no such file", exit_code=2)
        problems = check_definition(extract_definition(load_document(path), str(path)))
        for problem in problems:
            click.echo(f"{path}: {problem}")
        errors = sum(1 for p in problems if p.severity == "error")
        failed = failed or errors > 0
        if not problems:
            click.echo(f"{path}: ok")
    if failed:
        sys.exit(1)
