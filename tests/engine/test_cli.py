"""`cirro run`, `submit`, `query`, `rerun`, `payload` and `deadletters`, as a user types them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1] / "engine"))
from conftest import make_payload

CIRRO = [sys.executable, "-m", "cirrostratus"]


def cirro(project: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CIRRO, "--project", str(project), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def write(path: Path, obj: Any) -> Path:
    path.write_text(json.dumps(obj))
    return path


def last_json(out: str) -> dict[str, Any]:
    return json.loads(out.strip().splitlines()[-1])


def test_run_json_summary_and_exit_codes(project: Path, tmp_path: Path) -> None:
    good = write(tmp_path / "good.json", make_payload("mirror", "g1"))
    bad = write(tmp_path / "bad.json", make_payload("invalid", "b1"))
    ok = cirro(project, "run", "--json", str(good))
    assert ok.returncode == 0, ok.stderr
    record = last_json(ok.stdout)["payloads"][0]
    assert record["payload_id"] == "test-collection/workflow-mirror/g1"
    assert record["workflow"] == "mirror" and record["state"] == "COMPLETED"
    assert record["duration_s"] > 0 and record["error"] is None

    failing = cirro(project, "run", "--json", str(bad))
    assert failing.returncode == 1
    (rec,) = last_json(failing.stdout)["payloads"]
    assert rec["state"] == "INVALID" and rec["error"].startswith("InvalidInput")


def test_run_reads_globs_lists_and_json_lines_from_stdin(project: Path, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(3):
        write(folder / f"p{i}.json", make_payload("mirror", f"glob{i}"))
    write(folder / "list.json", [make_payload("mirror", "l1"), make_payload("mirror", "l2")])
    lines = "\n".join(json.dumps(make_payload("mirror", f"line{i}")) for i in range(2))
    from_glob = cirro(project, "run", "--json", str(folder / "*.json"))
    assert from_glob.returncode == 0, from_glob.stderr
    assert last_json(from_glob.stdout)["counts"] == {"COMPLETED": 5}
    from_stdin = cirro(project, "run", "--json", "-", stdin=lines)
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert last_json(from_stdin.stdout)["counts"] == {"COMPLETED": 2}


def test_usage_errors_exit_2(project: Path, tmp_path: Path) -> None:
    missing = cirro(project, "run", str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    (tmp_path / "broken.json").write_text("{not json")
    broken = cirro(project, "run", str(tmp_path / "broken.json"))
    assert broken.returncode == 2 and "broken.json" in broken.stderr
    assert "Traceback" not in broken.stderr


def test_table_summary_on_a_pipe(project: Path, tmp_path: Path) -> None:
    good = write(tmp_path / "good.json", make_payload("mirror", "t1"))
    result = cirro(project, "run", str(good))
    assert result.returncode == 0, result.stderr
    assert "test-collection/workflow-mirror/t1" in result.stdout.replace("\n", "").replace("│", "")
    assert "1 payload" in result.stdout and "1 COMPLETED" in result.stdout
    assert "1/1 done" in result.stderr  # plain progress when not a terminal


def test_query_state_get_logs_rerun(project: Path, tmp_path: Path) -> None:
    payloads = [make_payload("mirror", "q1"), make_payload("crash", "q2")]
    write(tmp_path / "p.json", payloads)
    assert cirro(project, "run", str(tmp_path / "p.json")).returncode == 1

    query = cirro(project, "query", "--state", "FAILED", "--json")
    assert query.returncode == 0, query.stderr
    found = json.loads(query.stdout)
    assert [r["payload_id"] for r in found["items"]] == ["test-collection/workflow-crash/q2"]
    assert found["counts"]["COMPLETED"] == 1 and found["counts"]["FAILED"] == 1

    pid = "test-collection/workflow-mirror/q1"
    state = cirro(project, "payload", "state", pid, "--json")
    assert state.returncode == 0, state.stderr
    record = json.loads(state.stdout)
    assert record["state"] == "COMPLETED"
    names = [s["state"] for s in record["executions"][0]["states"]]
    assert names == ["mirror", "publish"]

    got = cirro(project, "payload", "get", pid, "--output")
    assert json.loads(got.stdout)["features"][0]["properties"]["mirrored"] == "provider"
    logs = cirro(project, "payload", "logs", pid)
    assert "mirrored 1 items" in logs.stdout
    assert "logged at INFO, kept because CIRRUS_LOG_LEVEL says so" in logs.stdout

    dry = cirro(project, "rerun", "--state", "FAILED", "--dry-run")
    assert "1 payload would run again" in dry.stdout
    rerun = cirro(project, "rerun", "--state", "FAILED")
    assert rerun.returncode == 1  # it fails again, the same way
    state = json.loads(
        cirro(project, "payload", "state", "test-collection/workflow-crash/q2", "--json").stdout
    )
    assert len(state["executions"]) == 2


def test_invalid_payload_goes_to_dead_letters_and_redrives(project: Path, tmp_path: Path) -> None:
    broken = make_payload("mirror", "d1")
    del broken["process"]["workflow"]
    write(tmp_path / "bad.json", broken)
    result = cirro(project, "run", "--json", str(tmp_path / "bad.json"))
    assert result.returncode == 1
    (rec,) = last_json(result.stdout)["payloads"]
    assert rec["state"] == "INVALID" and "process.workflow is required" in rec["error"]
    listed = json.loads(cirro(project, "deadletters", "list", "--json").stdout)
    assert len(listed) == 1 and "process.workflow" in listed[0]["error"]
    assert "redrove 1" in cirro(project, "deadletters", "redrive").stdout


def test_submit_queues_for_an_engine(project: Path, tmp_path: Path) -> None:
    write(tmp_path / "p.json", make_payload("mirror", "s1"))
    queued = cirro(project, "submit", str(tmp_path / "p.json"))
    assert queued.returncode == 0 and "queued 1 payload;" in queued.stdout
    # the next engine to run drains it: a run of something else completes the queued one too,
    # but reports only its own payload, the other in one count
    write(tmp_path / "o.json", make_payload("mirror", "s2"))
    ran = cirro(project, "run", "--json", str(tmp_path / "o.json"))
    report = last_json(ran.stdout)
    assert {r["payload_id"] for r in report["payloads"]} == {"test-collection/workflow-mirror/s2"}
    assert report["others"] == {"COMPLETED": 1} and ran.returncode == 0


def test_a_bad_task_parameter_makes_the_payload_invalid_before_it_runs(
    project: Path, tmp_path: Path
) -> None:
    definition = project / "tasks" / "mirror" / "definition.yml"
    definition.write_text(
        definition.read_text()
        + "parameters:\n  type: object\n  properties:\n    copies: {type: integer, minimum: 1}\n"
    )
    bad = write(
        tmp_path / "bad.json", make_payload("mirror", "p1", tasks={"mirror": {"copies": 0}})
    )
    good = write(
        tmp_path / "ok.json", make_payload("mirror", "p2", tasks={"mirror": {"copies": 2}})
    )
    failing = cirro(project, "run", "--json", str(bad), str(good))
    assert failing.returncode == 1, failing.stderr
    records = {r["payload_id"]: r for r in last_json(failing.stdout)["payloads"]}
    refused = records["test-collection/workflow-mirror/p1"]
    assert refused["state"] == "INVALID"
    assert refused["error"] == (
        "PayloadError: process.tasks.mirror.copies 0 is less than the minimum of 1"
    )
    assert records["test-collection/workflow-mirror/p2"]["state"] == "COMPLETED"
    dead = cirro(project, "deadletters", "list", "--json")
    assert "copies 0 is less than the minimum of 1" in dead.stdout
