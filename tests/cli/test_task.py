"""`cirro task run`: one task, one payload, real processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

PROJECT = Path(__file__).resolve().parents[1] / "runtime" / "fixtures" / "project"
PAYLOAD = PROJECT / "payload.json"


def cirro(
    tmp_path: Path, *args: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    env = {"PATH": "/usr/bin:/bin", "CIRRO_HOME": str(tmp_path / "home")}
    return subprocess.run(
        [sys.executable, "-m", "cirrostratus", "--project", str(PROJECT), "task", "run", *args],
        capture_output=True,
        input=stdin,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )


def _payload_file(tmp_path: Path, **envdump: object) -> Path:
    payload = orjson.loads(PAYLOAD.read_bytes())
    payload["process"][0]["tasks"]["envdump"] = envdump
    path = tmp_path / "in.json"
    path.write_bytes(orjson.dumps(payload))
    return path


def test_lambda_task_prints_the_output_payload(tmp_path: Path) -> None:
    proc = cirro(tmp_path, "envdump", str(PAYLOAD), "--env", "EXTRA=yes")
    assert proc.returncode == 0, proc.stderr
    out = orjson.loads(proc.stdout)
    assert out["id"] == "test-collection/workflow-batchy/item-1"
    env = out["seen"]["env"]
    assert env["EXTRA"] == "yes" and env["SHARED"] == "lambda"
    assert env["CIRRUS_LOG_DIR"] == str(tmp_path / "home" / "logs")


def test_failure_exits_1_with_type_and_message(tmp_path: Path) -> None:
    proc = cirro(tmp_path, "envdump", str(_payload_file(tmp_path, **{"raise": "InvalidInput"})))
    assert proc.returncode == 1
    assert b"Error: InvalidInput: no usable assets in the item" in proc.stderr
    assert proc.stdout == b""


def test_batch_contract_from_stdin_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "out" / "result.json"
    proc = cirro(
        tmp_path, "envdump", "-", "--batch", "--output", str(out), stdin=PAYLOAD.read_bytes()
    )
    assert proc.returncode == 0, proc.stderr
    result = orjson.loads(out.read_bytes())
    assert result["seen"]["env"]["JOB_VAR"] == "from-job"
    assert result["seen"]["context"] is False
    assert b"running lambda_function.lambda_handler" in proc.stderr  # the job's log on stderr


def test_batch_failure_reports_the_jobs_error(tmp_path: Path) -> None:
    proc = cirro(
        tmp_path, "envdump", str(_payload_file(tmp_path, **{"raise": "InvalidInput"})), "--batch"
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().endswith(b"Error: InvalidInput: no usable assets in the item")


def test_stactask_class_with_workdir(tmp_path: Path) -> None:
    work = tmp_path / "work"
    target = f"{PROJECT / 'tasks' / 'stacky' / 'task.py'}:Stacky"
    proc = cirro(tmp_path, target, str(PAYLOAD), "--no-upload", "--workdir", str(work))
    assert proc.returncode == 0, proc.stderr
    item = orjson.loads(proc.stdout)["features"][0]
    assert item["properties"]["stacky:label"] == "hello"
    assert work.is_dir()


def test_stactask_invalid_input(tmp_path: Path) -> None:
    payload = orjson.loads(PAYLOAD.read_bytes())
    payload["process"][0]["tasks"]["stacky"] = {"reject": True}
    path = tmp_path / "reject.json"
    path.write_bytes(orjson.dumps(payload))
    proc = cirro(tmp_path, "stacky", str(path))
    assert proc.returncode == 1
    assert b"Error: InvalidInput: rejected on request" in proc.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["nope", str(PAYLOAD)], b"no task, function or feeder named 'nope'"),
        (["envdump", "missing.json"], b"cannot read payload missing.json"),
        (["envdump", str(PAYLOAD), "--env", "NOEQUALS"], b"expected KEY=VALUE"),
    ],
)
def test_bad_input_is_a_clear_error(tmp_path: Path, args: list[str], words: bytes) -> None:
    proc = cirro(tmp_path, *args)
    assert proc.returncode in (1, 2)
    assert words in proc.stderr and b"Traceback" not in proc.stderr


def test_a_payload_without_an_id_gets_cirrus_id_before_the_task_runs(tmp_path: Path) -> None:
    """Cirrus's process lambda assigns the id first; lib2 tasks read event["id"] (KeyError)."""
    handler = tmp_path / "needs_id.py"
    handler.write_text(
        "def handler(event, context=None):\n"
        "    return {'seen_id': event['id'], 'features': event['features']}\n"
    )
    payload = orjson.loads(PAYLOAD.read_bytes())
    del payload["id"]
    path = tmp_path / "no-id.json"
    path.write_bytes(orjson.dumps(payload))
    proc = cirro(tmp_path, f"{handler}:handler", str(path))
    assert proc.returncode == 0, proc.stderr
    assert orjson.loads(proc.stdout)["seen_id"] == "test-collection/workflow-batchy/item-1"
    assert b"assigned test-collection/workflow-batchy/item-1" in proc.stderr


def test_batch_run_of_a_payload_without_an_id_sees_the_id(tmp_path: Path) -> None:
    payload = orjson.loads(PAYLOAD.read_bytes())
    del payload["id"]
    proc = cirro(tmp_path, "envdump", "-", "--batch", stdin=orjson.dumps(payload))
    assert proc.returncode == 0, proc.stderr
    assert orjson.loads(proc.stdout)["id"] == "test-collection/workflow-batchy/item-1"


def test_an_event_that_is_not_a_payload_is_passed_on_untouched(tmp_path: Path) -> None:
    handler = tmp_path / "echo.py"
    handler.write_text("def handler(event, context=None):\n    return event\n")
    event = {"collections": ["c"], "process": {"workflow": "w"}}  # a feeder's event, say
    proc = cirro(tmp_path, f"{handler}:handler", "-", stdin=orjson.dumps(event))
    assert proc.returncode == 0, proc.stderr
    assert orjson.loads(proc.stdout) == event


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["envdump", "-", "--no-upload"], b"--no-upload reaches a stactask Task class only"),
        (["nope", "-"], b"no task, function or feeder named 'nope'"),
    ],
)
def test_a_refused_run_prints_its_refusal_alone(
    tmp_path: Path, args: list[str], words: bytes
) -> None:
    """A payload without an id would be given one; a run refused before it starts must not say
    so (no id line for a payload that never ran): the refusal is the only output."""
    payload = orjson.loads(PAYLOAD.read_bytes())
    del payload["id"]
    proc = cirro(tmp_path, *args, stdin=orjson.dumps(payload))
    assert proc.returncode == (2 if b"no-upload" in words else 1), proc.stderr
    assert proc.stdout == b""
    lines = proc.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and words.decode() in lines[0], lines
    assert b"assigned" not in proc.stderr and b"Traceback" not in proc.stderr
