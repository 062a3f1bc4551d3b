"""The embedded engine end to end, with real task code in worker processes."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

from cirrostratus.engine.local import LocalEngine
from cirrostratus.engine.report import RunReport
from cirrostratus.runtime import read_logs

from .conftest import make_payload


def run(project: Path, payloads: list[dict[str, Any]], **kw: Any) -> tuple[LocalEngine, RunReport]:
    engine = LocalEngine.open(project)
    report = asyncio.run(engine.run(payloads, **kw))
    return engine, report


def test_lambda_workflow_completes_and_publishes(project: Path) -> None:
    engine, report = run(project, [make_payload("mirror", "a"), make_payload("mirror", "b")])
    assert report.ok, report.to_json()
    pid = "test-collection/workflow-mirror/a"
    record = engine.store.get(pid)
    assert record is not None and str(record.state) == "COMPLETED"
    # publish wrote the item where path_template says, with self/canonical links first
    item_path = project / ".cirro/data/test-collection/2024/7/a/a.json"
    item = orjson.loads(item_path.read_bytes())
    assert item["properties"]["mirrored"] == "provider"
    assert [link["rel"] for link in item["links"][:2]] == ["self", "canonical"]
    assert record.outputs == (item_path.as_uri(),)
    # input and output stored beside each other, as Cirrus's payload bucket has them
    out = orjson.loads((project / f".cirro/payloads/{pid}/output.json").read_bytes())
    assert out["id"] == pid
    assert (project / f".cirro/payloads/{pid}/input.json").exists()
    published = (project / ".cirro/notifications/published.jsonl").read_text().splitlines()
    assert len(published) == 2


def test_invalid_input_marks_invalid_and_a_crash_marks_failed(project: Path) -> None:
    payloads = [
        make_payload("invalid", "i"),
        make_payload("crash", "raise", tasks={"crash": {"how": "raise"}}),
        make_payload("crash", "exit", tasks={"crash": {"how": "exit"}}),
        make_payload("mirror", "fine"),
    ]
    _engine, report = run(project, payloads)
    states = {r.payload_id.rsplit("/", 1)[1]: r for r in report.records.values()}
    assert states["i"].state == "INVALID"
    assert states["i"].error == "InvalidInput: this scene has no usable data"
    assert states["raise"].state == "FAILED"
    assert states["raise"].error == "RuntimeError: the task broke"
    assert states["exit"].state == "FAILED"
    assert states["exit"].error.startswith("Runtime.ExitError")
    assert states["fine"].state == "COMPLETED"  # a task's failure never stops the engine
    assert report.exit_code == 1
    failed = (project / ".cirro/notifications/failed.jsonl").read_text().splitlines()
    assert len(failed) == 2


def test_a_retry_then_success(project: Path, tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    _engine, report = run(
        project, [make_payload("flaky", "f", tasks={"flaky": {"marks": str(marks)}})]
    )
    assert report.ok, report.to_json()
    assert (marks / "f").exists()


def test_batch_only_task_runs_through_pre_and_post_batch(project: Path) -> None:
    engine, report = run(project, [make_payload("batchy", "b1")])
    assert report.ok, report.to_json()
    out = engine.payloads.get_json("test-collection/workflow-batchy/b1/output.json")
    assert out["features"][0]["properties"]["batched"] == "job"
    # what the job printed is filed under the execution, beside the lambda logs
    record = engine.store.get("test-collection/workflow-batchy/b1")
    assert record is not None and record.execution_id is not None
    logs = list(read_logs(engine.locations.logs_dir, execution_id=record.execution_id))
    assert any(r["function"] == "batch:batchy" and r["message"] == "batchy done" for r in logs)


def test_replace_semantics(project: Path) -> None:
    engine, first = run(project, [make_payload("mirror", "r")])
    assert first.ok
    _, again = run(project, [make_payload("mirror", "r")])
    (rec,) = again.records.values()
    assert rec.skipped and rec.state == "COMPLETED"
    _, replaced = run(project, [make_payload("mirror", "r")], replace=True)
    (rec,) = replaced.records.values()
    assert not rec.skipped and rec.state == "COMPLETED"
    record = engine.store.get("test-collection/workflow-mirror/r")
    assert record is not None and len(record.executions) == 2


def test_unknown_workflow_fails_the_payload_not_the_run(project: Path) -> None:
    _, report = run(project, [make_payload("nope", "x"), make_payload("mirror", "y")])
    states = {r.payload_id: r for r in report.records.values()}
    bad = states["test-collection/workflow-nope/x"]
    assert bad.state == "FAILED" and "does not exist" in (bad.error or "")
    assert states["test-collection/workflow-mirror/y"].state == "COMPLETED"


def test_invalid_payload_is_reported_and_dead_lettered(project: Path) -> None:
    broken = make_payload("mirror", "z")
    broken["features"][0]["id"] = ""
    engine, report = run(project, [broken, make_payload("mirror", "ok")])
    assert report.counts()["INVALID"] == 1
    assert report.counts()["COMPLETED"] == 1
    (dead,) = engine.intake.dead_letters()
    assert "features[0].id" in (dead.error or "")


def test_chain_with_fan_out(project: Path) -> None:
    second = [
        {"workflow": "chain-second", "collections": "branch-a"},
        {"workflow": "chain-second", "collections": "branch-b"},
    ]
    first = {"workflow": "mirror", "upload_options": {"path_template": "${collection}/${id}"}}
    payload = make_payload("mirror", "c", process=[first, second])
    engine, report = run(project, [payload])
    assert report.ok, report.to_json()
    ids = set(report.records)
    assert ids == {
        "test-collection/workflow-mirror/c",
        "branch-a/workflow-chain-second/c",
        "branch-b/workflow-chain-second/c",
    }
    child = report.records["branch-a/workflow-chain-second/c"]
    assert child.parent == "test-collection/workflow-mirror/c"
    # the chained payload is the first workflow's OUTPUT (mirrored), not its input
    out = engine.payloads.get_json("branch-b/workflow-chain-second/c/input.json")
    assert out["features"][0]["properties"]["mirrored"] == "provider"


def test_many_payloads_through_cirro_run(project: Path, tmp_path: Path) -> None:
    lines = "\n".join(json.dumps(make_payload("noop3", f"n{i:04d}")) for i in range(1000))
    (tmp_path / "many.jsonl").write_text(lines)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "cirrostratus",
            "--project",
            str(project),
            "run",
            "--json",
            str(tmp_path / "many.jsonl"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["ok"] and summary["counts"] == {"COMPLETED": 1000}
    assert len({r["payload_id"] for r in summary["payloads"]}) == 1000
    engine = LocalEngine.open(project)
    assert engine.store.counts()["COMPLETED"] == 1000


def test_sample_project_chooses_lambda_or_batch(tmp_path: Path) -> None:
    """The example project's workflow: a Choice on process.tasks.copy-assets.batch."""
    root = tmp_path / "sample"
    shutil.copytree(Path(__file__).parents[2] / "examples" / "sample-project", root)
    asset = tmp_path / "scene.txt"
    asset.write_text("pixels")
    payloads = []
    for item_id, batch in (("on-lambda", False), ("on-batch", True)):
        p = make_payload("sample-pipeline", item_id, tasks={"copy-assets": {"batch": batch}})
        feature = p["features"][0]
        feature["geometry"] = {
            "type": "Polygon",
            "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]],
        }
        feature["assets"] = {"data": {"href": str(asset), "type": "text/plain"}}
        payloads.append(p)
    engine, report = run(root, payloads)
    assert report.ok, report.to_json()
    histories = {}
    for rec in report.records.values():
        record = engine.store.get(rec.payload_id)
        assert record is not None and engine.history is not None
        doc = engine.history.get(record.executions[-1].id)
        assert doc is not None
        histories[rec.payload_id.rsplit("/", 1)[1]] = {s["state"] for s in doc["states"]}
    assert (
        "copy-assets" in histories["on-lambda"]
        and "copy-assets-batch" not in histories["on-lambda"]
    )
    assert "copy-assets-batch" in histories["on-batch"]
    copied = root / ".cirro/data/test-collection/2024/7/on-batch/scene.txt"
    assert copied.read_text() == "pixels"


def test_serve_runs_services_beside_the_drain_loop(project: Path) -> None:
    seen: list[str] = []

    async def service(engine: LocalEngine, stop: asyncio.Event) -> None:
        seen.append("started")
        engine.submit([make_payload("mirror", "via-service")])
        await asyncio.sleep(0.5)
        stop.set()
        await asyncio.sleep(3600)  # cancelled when the engine stops

    engine = LocalEngine.open(project)
    asyncio.run(engine.serve(asyncio.Event(), services=[service]))
    assert seen == ["started"]
    record = engine.store.get("test-collection/workflow-mirror/via-service")
    assert record is not None and str(record.state) == "COMPLETED"


def test_a_large_payload_crosses_the_intake_as_a_url(project: Path) -> None:
    big = make_payload("mirror", "big")
    big["features"][0]["properties"]["notes"] = "x" * 200_000  # over the 120 KB threshold
    engine = LocalEngine.open(project)
    engine.submit([big])
    (message,) = engine.intake.receive(1)
    body = orjson.loads(message.body)
    assert set(body) == {"url"} and body["url"].startswith("file://")
    engine.intake.release_all()
    report = asyncio.run(engine.drain_queued())
    assert report.ok, report.to_json()
    out = engine.payloads.get_json("test-collection/workflow-mirror/big/output.json")
    assert len(out["features"][0]["properties"]["notes"]) == 200_000


def test_builtin_publish_only_workflow(project: Path) -> None:
    payload = make_payload("publish-only", "p1")
    payload["features"][0]["links"] = [{"rel": "self", "href": "s3://old/place.json"}]
    engine, report = run(project, [payload])
    assert report.ok, report.to_json()
    item_path = project / ".cirro/data/test-collection/2024/7/p1/p1.json"
    item = orjson.loads(item_path.read_bytes())
    assert [ln["href"] for ln in item["links"] if ln["rel"] == "self"] == [item_path.as_uri()]
    created = item["properties"]["created"]
    # publishing again keeps `created` from the copy already there and moves `updated`
    _, again = run(project, [payload], replace=True)
    assert again.ok
    item2 = orjson.loads(item_path.read_bytes())
    assert item2["properties"]["created"] == created
    assert item2["properties"]["updated"] >= item["properties"]["updated"]
    record = engine.store.get("test-collection/workflow-publish-only/p1")
    assert record is not None and record.outputs == (item_path.as_uri(),)


def test_publish_without_a_path_template_fails_clearly(project: Path) -> None:
    payload = make_payload("publish-only", "p2")
    del payload["process"]["upload_options"]["path_template"]
    _, report = run(project, [payload])
    (rec,) = report.records.values()
    assert rec.state == "FAILED"
    assert rec.error is not None and "path_template is required" in rec.error
