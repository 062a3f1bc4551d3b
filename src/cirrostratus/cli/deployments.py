"""`cirro deployments add|list|show|remove`, and the `--deployment NAME` option other commands
take to work on a live stack (Cirrus 0.9's or ours) instead of the local `.cirro/`.

The commands keep their code paths: a deployment only swaps what sits behind the protocols
(the DynamoDB StateStore for SQLite, the SQS IntakeQueue for the local one, S3 for folders).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from cirrostratus.cli.errors import CliError
from cirrostratus.cli.local import echo_json


def aws_error_message(exc: BaseException) -> str | None:
    """One line for an error boto3 raised (no credentials, access denied, a table or queue
    that is not there), or None for anything else. main() prints it instead of a traceback:
    any `--deployment` command can meet one."""
    if not type(exc).__module__.startswith(("botocore", "boto3")):
        return None
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        operation = getattr(exc, "operation_name", "") or "a call"
        detail = f"{error.get('Code', 'Error')} on {operation}: {error.get('Message', '')}"
    else:
        detail = str(exc)
    return (
        f"AWS answered {detail.rstrip(': ')} (check the credentials, the region, and that the "
        "deployment still exists: `cirro deployments add NAME --stack STACK` reads it again)"
    )


def deployment_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`--deployment NAME`: work on that live deployment (see `cirro deployments`)."""
    return click.option(
        "--deployment",
        "deployment",
        default=None,
        help="A live deployment added with `cirro deployments add` (default: this project).",
    )(fn)


def get_deployment(name: str) -> Any:
    from cirrostratus.aws.deployments import DeploymentError, get

    try:
        return get(name)
    except DeploymentError as exc:
        raise CliError(str(exc), 2) from None


def deployment_state(name: str) -> Any:
    """The deployment's StateStore: Cirrus's state table (and our events table if any)."""
    from cirrostratus.state.dynamodb import DynamoStateStore

    d = get_deployment(name)
    return DynamoStateStore(
        d.need("CIRRUS_STATE_DB"),
        events_table=d.environment.get("CIRRO_EVENTS_TABLE") or None,
        session=d.session(),
    )


def deployment_intake(name: str) -> Any:
    """The deployment's process queue, as an IntakeQueue."""
    from cirrostratus.intake.sqs import SqsIntakeQueue

    d = get_deployment(name)
    return SqsIntakeQueue(d.need("CIRRUS_PROCESS_QUEUE_URL"), session=d.session())


def deployment_payloads(name: str) -> Any:
    """An ObjectStore on the deployment's payload bucket (large payloads go there)."""
    from cirrostratus.storage import open_store

    d = get_deployment(name)
    return open_store(f"s3://{d.need('CIRRUS_PAYLOAD_BUCKET')}")


def submit_to(name: str, payloads: Any, replace: bool) -> list[str]:
    """Send payloads to the deployment's process queue, as Cirrus's process function reads
    them (large ones stored in the payload bucket and sent as {"url": ...})."""
    import uuid

    from cirrostratus.payload.transport import to_transport_bytes

    intake = deployment_intake(name)
    store = None
    ids: list[str] = []
    for payload in payloads:
        if replace:
            from cirrostratus.engine.local import with_replace

            payload = with_replace(payload)
        if store is None and len(str(payload)) > 100_000:
            store = deployment_payloads(name)
        data = to_transport_bytes(payload, store or _NoStore(), f"payloads/{uuid.uuid4()}.json")
        ids.append(intake.send(data))
    return ids


def execution_payload(name: str, payload_id: str, which: str) -> bytes:
    """The input or output of `payload_id`'s latest execution, as Step Functions keeps it
    (cirrus-mgmt's get-execution-input / get-execution-output; a `{"url"}` is followed), or
    with which="execution" the execution's description (get-execution)."""
    import orjson

    d = get_deployment(name)
    record = deployment_state(name).get(payload_id)
    if record is None or not record.executions:
        raise CliError(f"deployment {name} has no execution of {payload_id!r} (see `cirro query`)")
    arn = record.executions[-1].id
    session = d.session()
    try:
        execution = session.client("stepfunctions").describe_execution(executionArn=arn)
    except Exception as exc:
        raise CliError(f"execution {arn}: {exc}") from None
    if which == "execution":
        execution.pop("ResponseMetadata", None)
        return orjson.dumps(execution, default=str)
    text = execution.get(which)
    if not text:
        hint = f" (it is {execution.get('status')})" if which == "output" else ""
        raise CliError(f"execution {arn} has no {which}{hint}")
    data = orjson.loads(text)
    url = data.get("url") if isinstance(data, dict) and len(data) == 1 else None
    if isinstance(url, str) and url.startswith("s3://"):
        bucket, _, key = url[5:].partition("/")
        body = session.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        return bytes(body)
    return bytes(text.encode() if isinstance(text, str) else text)


def rerun_on(name: str, limit: int, query: dict[str, Any], *, dry_run: bool, as_json: bool) -> int:
    """`cirro rerun --deployment`: the matching records' latest execution inputs, sent to the
    process queue with replace (as Cirrus's feed-rerun does). Returns the exit code: 1 when
    some input could not be read (listed), else 0."""
    import orjson

    from cirrostratus.cli.query import fetch
    from cirrostratus.cli.tables import plural

    found, _ = fetch(deployment_state(name), limit, **query)
    payloads, skipped = [], []
    for record in found:
        try:
            payloads.append(orjson.loads(execution_payload(name, record.payload_id, "input")))
        except (CliError, orjson.JSONDecodeError) as exc:
            skipped.append({"payload_id": record.payload_id, "reason": str(exc)})
    if not dry_run and payloads:
        submit_to(name, payloads, True)
    verb = "would run" if dry_run else "sent to run"
    if as_json:
        key = "would_run" if dry_run else "sent"
        echo_json({key: [p.get("id") for p in payloads], "skipped": skipped})
    else:
        for item in skipped:
            click.echo(f"skipping {item['payload_id']}: {item['reason']}", err=True)
        if not found:
            click.echo("nothing matches")
        else:
            click.echo(f"{plural(len(payloads), 'payload')} {verb} again on deployment {name}")
    return 1 if skipped else 0


FINAL = ("COMPLETED", "FAILED", "INVALID", "ABORTED")


def run_on(
    name: str,
    payloads: list[dict[str, Any]],
    replace: bool,
    *,
    timeout: float,
    poll: float,
    as_json: bool,
) -> int:
    """`cirro run --deployment`: submit, then follow each payload's record in the state table
    until it ends (a record already final counts only once it changed after submitting).
    Exit 0 when all end COMPLETED, 1 otherwise (or on timeout)."""
    import time

    from cirrostratus.engine.process import derive_id

    ids = [pid for pid in (derive_id(p) for p in payloads) if pid]
    if len(ids) < len(payloads):
        raise CliError("every payload needs an id Cirrus can derive (features or process)", 2)
    store = deployment_state(name)
    before = {pid: r.updated for pid, r in store.get_many(ids).items()}
    submit_to(name, payloads, replace)
    deadline = time.monotonic() + timeout
    ended: dict[str, Any] = {}
    while True:
        for pid, record in store.get_many([i for i in ids if i not in ended]).items():
            state = str(record.state)
            if state in FINAL and before.get(pid) != record.updated:
                ended[pid] = record
                if not as_json:
                    click.echo(f"{pid}  {state}  {record.last_error or ''}".rstrip())
        if len(ended) == len(ids) or time.monotonic() > deadline:
            break
        time.sleep(poll)
    waiting = [pid for pid in ids if pid not in ended]
    if as_json:
        echo_json({"records": [r.to_dict() for r in ended.values()], "waiting": waiting})
    for pid in waiting if not as_json else []:
        click.echo(f"{pid}  still not finished after {timeout:g} s")
    ok = not waiting and all(str(r.state) == "COMPLETED" for r in ended.values())
    return 0 if ok else 1


class _NoStore:
    """Stands in for the payload bucket until a payload is large enough to need it."""

    def put_bytes(self, key: str, data: bytes) -> str:
        raise CliError("a large payload needs the deployment's payload bucket")


@click.group()
def deployments() -> None:
    """Live deployments (Cirrus 0.9's or ours) that `--deployment NAME` works on.

    Kept in $CIRRO_CONFIG_DIR (else $XDG_CONFIG_HOME, else ~/.config)/cirrostratus/deployments.json.
    """


@deployments.command()
@click.argument("name")
@click.option(
    "--stack", required=True, help="The CloudFormation stack (Cirrus: <service>-<stage>)."
)
@click.option("--profile", default=None, help="A named AWS profile (default: boto3's).")
@click.option("--region", default=None, help="The stack's region (default: boto3's).")
def add(name: str, stack: str, profile: str | None, region: str | None) -> None:
    """Read STACK's outputs and its functions' environment and remember them as NAME."""
    import os

    from cirrostratus.aws.deployments import DeploymentError, discover, save

    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise CliError("say which region the stack is in: --region R", 2)
    try:
        deployment = discover(name, stack, region=region, profile=profile)
        save(deployment)
    except DeploymentError as exc:
        raise CliError(str(exc)) from None
    click.echo(
        f"added deployment {name}: stack {stack} in {region}, "
        f"{len(deployment.functions)} function(s), state table "
        f"{deployment.environment['CIRRUS_STATE_DB']}"
    )


@deployments.command(name="list")
def list_() -> None:
    """The deployments added so far."""
    from cirrostratus.aws.deployments import DeploymentError, load_all

    try:
        found = load_all()
    except DeploymentError as exc:
        raise CliError(str(exc)) from None
    if not found:
        click.echo("no deployments yet: `cirro deployments add NAME --stack STACK`")
    for d in found.values():
        click.echo(f"{d.name}\t{d.stack}\t{d.region}\t{d.profile or ''}".rstrip())


@deployments.command()
@click.argument("name")
@click.option(
    "--lambdas", is_flag=True, help="List the stack's Lambda functions as Lambda configures them."
)
@click.option("--json", "as_json", is_flag=True, help="With --lambdas: JSON.")
def show(name: str, lambdas: bool, as_json: bool) -> None:
    """Everything known about NAME (JSON): stack, region, environment, outputs, functions."""
    from dataclasses import asdict

    d = get_deployment(name)
    if not lambdas:
        echo_json(asdict(d))
        return
    from cirrostratus.aws.deployments import DeploymentError
    from cirrostratus.aws.invoke import describe_functions

    try:
        found = describe_functions(d)
    except DeploymentError as exc:
        raise CliError(str(exc)) from None
    if as_json:
        echo_json(found)
        return
    if not found:
        click.echo(f"stack {d.stack} has no Lambda function")
    for fn in found:
        if "error" in fn:
            click.echo(f"{fn['name']}\t({fn['error']})")
            continue
        click.echo(f"{fn['name']}\t{fn['runtime']}\t{fn['memory']} MB\t{fn['timeout']} s\t"
                   f"{fn['handler']}")  # fmt: skip


def deployment_environment(d: Any) -> dict[str, str]:
    """What a deployed function sees of its deployment: the CIRRUS_*/CIRRO_* variables, the
    region, and the profile `deployments add` was given."""
    env = dict(d.environment)
    env["AWS_REGION"] = env["AWS_DEFAULT_REGION"] = d.region
    if d.profile:
        env["AWS_PROFILE"] = d.profile
    return env


@deployments.command(name="env")
@click.argument("name")
def env_(name: str) -> None:
    """Print NAME's environment as shell `export` lines: `eval "$(cirro deployments env NAME)"`."""
    import shlex

    for key, value in sorted(deployment_environment(get_deployment(name)).items()):
        click.echo(f"export {key}={shlex.quote(value)}")


@deployments.command(name="exec", context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_(name: str, command: tuple[str, ...]) -> None:
    """Run COMMAND with NAME's environment added (cirrus-mgmt's exec/call); exit with its status.

    cirro deployments exec dev -- python my_script.py
    """
    import os
    import subprocess

    env = {**os.environ, **deployment_environment(get_deployment(name))}
    try:
        code = subprocess.call(list(command), env=env)
    except OSError as exc:
        raise CliError(f"cannot run {command[0]}: {exc.strerror}", 2) from None
    if code:
        raise SystemExit(code if code > 0 else 128 - code)  # killed by signal N: 128 + N


@deployments.command(name="remove")
@click.argument("name")
def remove_(name: str) -> None:
    """Forget NAME (the stack itself is left alone; `cirro remove` deletes a stack)."""
    from cirrostratus.aws.deployments import DeploymentError, forget

    try:
        forget(name)
    except DeploymentError as exc:
        raise CliError(str(exc)) from None
    click.echo(f"forgot deployment {name}")
