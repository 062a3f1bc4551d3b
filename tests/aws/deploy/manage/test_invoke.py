"""`cirro task invoke --deployment` and `cirro deployments show --lambdas` on moto's Lambda
without Docker: it answers an invoke by echoing the event, or with a result queued through
moto's API; a result over Lambda's 6 MB response limit comes back as a FunctionError."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

from ..conftest import cirro
from .conftest import REGION, STACK


def _queue_result(url: str, result: str) -> None:
    body = json.dumps({"results": [result], "region": REGION}).encode()
    request = urllib.request.Request(
        f"{url}/moto-api/static/lambda-simple/response", data=body, method="POST"
    )
    urllib.request.urlopen(request, timeout=30).read()


def test_invoke_sends_the_payload_to_the_named_function(
    mgmt: dict[str, Any], tmp_path: Path
) -> None:
    event = {"id": "c/workflow-w/x", "features": [], "process": [{"workflow": "w"}]}
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    result = cirro("task", "invoke", "task-a", "--deployment", "mgmt", "--payload", str(path))
    assert json.loads(result.stdout) == event  # moto's simple Lambda echoes what it got
    assert f"{STACK}-task-a: status 200" in result.stderr
    piped = cirro("task", "invoke", "task-b", "--deployment", "mgmt", "--payload", "-",
                  input='{"from": "stdin"}')  # fmt: skip
    assert json.loads(piped.stdout) == {"from": "stdin"}
    assert f"{STACK}-task-b: status 200" in piped.stderr
    queued = cirro("task", "invoke", f"{STACK}-task-c", "--deployment", "mgmt", "--async")
    assert f"{STACK}-task-c: status 202" in queued.stderr and queued.stdout == ""


def test_invoke_shows_the_functions_answer_and_its_error(
    mgmt: dict[str, Any], mgmt_url: str
) -> None:
    _queue_result(mgmt_url, '{"answer": 42}')
    result = cirro("task", "invoke", "process", "--deployment", "mgmt")
    assert json.loads(result.stdout) == {"answer": 42}
    # over 6 MB: Lambda (and moto) answer with FunctionError Unhandled and an error document
    _queue_result(mgmt_url, json.dumps({"big": "x" * 6_100_000}))
    failed = cirro("task", "invoke", "process", "--deployment", "mgmt", code=1)
    assert f"{STACK}-process: status 200, FunctionError Unhandled" in failed.stderr
    assert json.loads(failed.stdout)["errorType"] == "Function.ResponseSizeTooLarge"
    assert "failed: Function.ResponseSizeTooLarge: Response payload size exceeded" in str(
        failed.exception
    )


def test_invoke_refuses_unknown_names_and_local_use(mgmt: dict[str, Any]) -> None:
    unknown = cirro("task", "invoke", "nope", "--deployment", "mgmt", code=1)
    message = str(unknown.exception)
    assert "no function 'nope' in stack mgmt-dev" in message
    assert "process, task-a, task-b, task-c" in message
    partial = cirro("task", "invoke", "a", "--deployment", "mgmt", code=1)
    assert "no function 'a'" in str(partial.exception)  # a suffix is a whole -name
    local = cirro("task", "invoke", "task-a", code=None)
    assert "cirro task run task-a PAYLOAD" in str(local.exception)
    assert getattr(local.exception, "exit_code", None) == 2  # a usage error
    bad = cirro("task", "invoke", "task-a", "--deployment", "mgmt", "--payload", "-",
                input="{not json", code=None)  # fmt: skip
    assert "payload stdin is not valid JSON" in str(bad.exception)
    assert getattr(bad.exception, "exit_code", None) == 2


def test_show_lambdas_lists_the_stacks_functions(mgmt: dict[str, Any]) -> None:
    listed = json.loads(cirro("deployments", "show", "mgmt", "--lambdas", "--json").output)
    assert [f["name"] for f in listed] == [f"{STACK}-{n}" for n in
                                           ("process", "task-a", "task-b", "task-c")]  # fmt: skip
    assert {(f["runtime"], f["memory"], f["timeout"], f["handler"]) for f in listed} == {
        ("python3.12", 256, 30, "handler.handler")
    }
    text = cirro("deployments", "show", "mgmt", "--lambdas").output.splitlines()
    assert text[0] == f"{STACK}-process\tpython3.12\t256 MB\t30 s\thandler.handler"


def test_env_and_exec_give_the_deployments_environment(
    mgmt: dict[str, Any], tmp_path: Path
) -> None:
    import sys

    exports = cirro("deployments", "env", "mgmt").output.splitlines()
    assert f"export CIRRUS_STATE_DB={STACK}-state" in exports
    assert f"export AWS_REGION={REGION}" in exports
    seen = tmp_path / "seen.txt"
    script = ("import os, sys; open(sys.argv[1], 'w').write(os.environ['CIRRUS_STATE_DB'] + ' ' "
              "+ os.environ['AWS_DEFAULT_REGION']); sys.exit(3)")  # fmt: skip
    ran = cirro("deployments", "exec", "mgmt", "--", sys.executable, "-c", script, str(seen),
                code=3)  # fmt: skip
    assert seen.read_text() == f"{STACK}-state {REGION}" and ran.exit_code == 3
    missing = cirro("deployments", "exec", "mgmt", "--", str(tmp_path / "nope"), code=None)
    assert getattr(missing.exception, "exit_code", None) == 2
    assert "cannot run" in str(missing.exception)


def test_an_aws_error_is_one_line_not_a_traceback(mgmt: dict[str, Any], capsys: Any) -> None:
    import pytest

    from cirrostratus.aws.deployments import Deployment, save
    from cirrostratus.cli import main

    save(Deployment("gone", "gone-dev", REGION, environment={"CIRRUS_STATE_DB": "gone-state"}))
    with pytest.raises(SystemExit) as ended:
        main(["payload", "logs", "--deployment", "gone", "c/workflow-w/x"])
    assert ended.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: AWS answered ResourceNotFoundException on GetItem: ")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
