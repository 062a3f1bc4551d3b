"""`cirro workflow exec`: run a definition file with mocked tasks, one JSON line out."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from cirrostratus.cli import main

DATA = Path(__file__).parent.parent / "asl" / "data"


def cirro(
    args: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch | None = None,
    stdin: str | None = None,
) -> tuple[int, Any, str]:
    if stdin is not None and monkeypatch is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    return code, json.loads(lines[-1]) if lines else None, err


@pytest.fixture
def copied(tmp_path: Path) -> Path:
    payload = json.loads((DATA / "payload.json").read_text())
    payload["features"][0]["copied"] = True
    path = tmp_path / "copied.json"
    path.write_text(json.dumps(payload))
    return path


def test_mirror_succeeds_with_mocks(capsys: pytest.CaptureFixture[str], copied: Path) -> None:
    code, out, _ = cirro(
        ["workflow", "exec", str(DATA / "mirror.yml"), "--input", str(DATA / "payload.json"),
         "--mock", f"copy-assets={copied}", "--mock", f"publish={DATA / 'publish-result.json'}"],
        capsys,
    )  # fmt: skip
    assert code == 0
    assert out["status"] == "SUCCEEDED" and out["error"] is None and out["cause"] is None
    assert out["output"] == json.loads((DATA / "publish-result.json").read_text())
    assert "history" not in out


def test_mock_error_is_caught_into_failure(
    capsys: pytest.CaptureFixture[str], copied: Path
) -> None:
    code, out, _ = cirro(
        ["workflow", "exec", str(DATA / "mirror.yml"), "--input", str(DATA / "payload.json"),
         "--mock", f"copy-assets={copied}", "--mock-error", "publish=Lambda.Unknown:boom", "--history"],
        capsys,
    )  # fmt: skip
    assert code == 1
    assert out["status"] == "FAILED" and out["failed_state"] == "failure"
    fail = next(e for e in out["history"] if e["type"] == "FailStateEntered")
    assert fail["details"]["input"]["error"] == {"Error": "Lambda.Unknown", "Cause": "boom"}
    retries = [e for e in out["history"] if e["type"] == "RetryScheduled"]
    assert len(retries) == 5  # Lambda.Unknown is retried 5 times first (in virtual time)


def test_unmocked_task_fails_clearly(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cirro(["workflow", "exec", str(DATA / "publish-only.yml")], capsys)
    assert code == 1
    assert out["error"] == "States.Runtime" and "--mock publish=" in out["cause"]


def test_bare_asl_json_from_stdin_and_matching_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    definition = {
        "StartAt": "by-name",
        "States": {
            "by-name": {"Type": "Task", "Resource": "anything", "ResultPath": "$.a", "Next": "by-arn"},
            "by-arn": {"Type": "Task", "Resource": "arn:aws:states:::batch:submitJob.sync", "ResultPath": "$.b", "Next": "by-function"},
            "by-function": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                            "Parameters": {"FunctionName": {"Fn::GetAtt": ["fn", "Arn"]}}, "ResultPath": "$.c", "End": True},
        },
    }  # fmt: skip
    (tmp_path / "sm.json").write_text(json.dumps(definition))
    for name, value in (("one", 1), ("two", 2), ("three", 3)):
        (tmp_path / f"{name}.json").write_text(json.dumps(value))
    code, out, _ = cirro(
        ["workflow", "exec", str(tmp_path / "sm.json"), "--input", "-",
         "--mock", f"by-name={tmp_path / 'one.json'}",
         "--mock", f"arn:aws:states:::batch:submitJob.sync={tmp_path / 'two.json'}",
         "--mock", f"fn={tmp_path / 'three.json'}"],
        capsys, monkeypatch, stdin='{"x": 0}',
    )  # fmt: skip
    assert code == 0, out
    lambda_invoke = {"ExecutedVersion": "$LATEST", "Payload": 3, "StatusCode": 200}
    assert out["output"] == {"x": 0, "a": 1, "b": 2, "c": lambda_invoke}


def test_yaml_tags_and_wait_in_virtual_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "wf.yml").write_text(
        "definition:\n"
        "  StartAt: nap\n"
        "  States:\n"
        "    nap: {Type: Wait, Seconds: 86400, Next: go}\n"
        "    go: {Type: Task, Resource: !GetAtt my-task.Arn, Parameters: {q: !Ref Queue, s: !Sub '${AWS::Region}'}, End: true}\n"
    )
    (tmp_path / "r.json").write_text('"done"')
    code, out, _ = cirro(
        ["workflow", "exec", str(tmp_path / "wf.yml"), "--mock", f"my-task={tmp_path / 'r.json'}"],
        capsys,
    )
    assert (code, out["output"]) == (0, "done")


def test_invalid_definition_lists_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cirro(["workflow", "exec", str(DATA / "bad.json")], capsys)
    assert code == 1 and out is None
    assert "bad.json" in err and "unreachable" in err and "state 'first' field 'Next'" in err


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--mock", "nofile"], 2, "expected RESOURCE=VALUE"),
        (["--mock", "publish=/does/not/exist.json"], 2, "cannot read /does/not/exist.json"),
        (["--mock", f"publish={DATA / 'bad.yml-not-there'}"], 2, "cannot read"),
        (["--input", "/does/not/exist.json"], 2, "cannot read the input"),
        (["--mock", f"pubish={DATA / 'payload.json'}"], 2, "no Task state"),
        (["--mock-error", "copy-assets=Boom"], 2, "its Task states are: publish"),
    ],
)
def test_usage_errors(
    capsys: pytest.CaptureFixture[str], args: list[str], code: int, message: str
) -> None:
    got, _, err = cirro(["workflow", "exec", str(DATA / "publish-only.yml"), *args], capsys)
    assert got == code and message in err
    assert len(err.strip().splitlines()) == 1, err  # one line, no traceback


def test_unreadable_mock_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "broken.yml").write_text("a: [1,\nb: {\n")
    got, _, err = cirro(
        ["workflow", "exec", str(DATA / "publish-only.yml"), "--mock", f"publish={tmp_path / 'broken.yml'}"],
        capsys,
    )  # fmt: skip
    assert got == 2 and "broken.yml is not valid JSON or YAML" in err
    assert len(err.strip().splitlines()) == 1, err


def test_mocks_match_task_states_inside_parallel_branches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --mock is checked against every Task state, in Parallel branches and Map too."""
    definition = {
        "StartAt": "both",
        "States": {
            "both": {"Type": "Parallel", "End": True, "Branches": [
                {"StartAt": "inner", "States": {"inner": {"Type": "Task", "Resource": {"Fn::GetAtt": ["pre-batch", "Arn"]}, "End": True}}},
                {"StartAt": "each", "States": {"each": {"Type": "Map", "End": True, "ItemProcessor": {
                    "StartAt": "deep", "States": {"deep": {"Type": "Task", "Resource": "r", "End": True}}}}}},
            ]},
        },
    }  # fmt: skip
    (tmp_path / "sm.json").write_text(json.dumps(definition))
    (tmp_path / "one.json").write_text("1")
    (tmp_path / "list.json").write_text("[0, 0]")
    code, out, err = cirro(
        ["workflow", "exec", str(tmp_path / "sm.json"), "--input", str(tmp_path / "list.json"),
         "--mock", f"pre-batch={tmp_path / 'one.json'}", "--mock", f"deep={tmp_path / 'one.json'}"],
        capsys,
    )  # fmt: skip
    assert (code, out["output"]) == (0, [1, [1, 1]]), err


def test_not_a_workflow_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.yml").write_text("just: data\n")
    code, _, err = cirro(["workflow", "exec", str(tmp_path / "x.yml")], capsys)
    assert code == 1 and "no state machine found" in err
    (tmp_path / "broken.json").write_text("{")
    code, _, err = cirro(["workflow", "exec", str(tmp_path / "broken.json")], capsys)
    assert code == 1 and "not valid JSON" in err


def test_missing_file_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cirro(["workflow", "exec", "/nope/definition.yml"], capsys)
    assert code == 2 and "no such file" in err


def test_unquoted_yaml_timestamps_stay_strings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "wf.yml").write_text(
        "StartAt: w\nStates:\n  w: {Type: Wait, Timestamp: 2020-01-01T00:00:00Z, Next: p}\n"
        "  p: {Type: Pass, Result: {at: 2020-01-01T00:00:00Z}, End: true}\n"
    )
    code, out, _ = cirro(["workflow", "exec", str(tmp_path / "wf.yml")], capsys)
    assert (code, out["output"]) == (0, {"at": "2020-01-01T00:00:00Z"})


def test_check_lists_problems(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        main(["workflow", "check", str(DATA / "mirror.yml"), str(DATA / "bad.json")])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr().out
    assert code == 1
    assert f"{DATA / 'mirror.yml'}: ok" in out
    assert "bad.json: error: state 'orphan': unreachable" in out


def test_check_passes_valid_files(capsys: pytest.CaptureFixture[str]) -> None:
    main(["workflow", "check", str(DATA / "publish-only.yml")])
    assert capsys.readouterr().out.strip().endswith(": ok")
