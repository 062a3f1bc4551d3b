"""Task invocations on a real Dask cluster: same outcome, errors, logs and retries as local."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

from cirrostratus.runtime.logs import read_logs

from .conftest import make_payload, run_on_cluster, wait_for_workers


def _outputs(root: Path) -> list[dict[str, Any]]:
    """The items of every output payload the engine stored."""
    payloads = sorted((root / ".cirro" / "payloads").rglob("output.json"))
    return [item for p in payloads for item in orjson.loads(p.read_bytes())["features"]]


def test_lambda_and_batch_tasks_run_on_dask_workers(cluster: Any, project: Path) -> None:
    payloads = [make_payload("mixed", f"item-{n}") for n in range(4)]
    report, said = run_on_cluster(cluster.scheduler_address, project, payloads)

    assert report.counts() == {"COMPLETED": 4}
    assert any("2 workers" in line for line in said)
    items = _outputs(project)
    assert sorted(i["id"] for i in items) == [f"item-{n}" for n in range(4)]
    for item in items:
        props = item["properties"]
        assert props["batched"] == "job"  # the Batch job ran (its own environment)
        assert props["from_provider"] == "provider"  # the Lambda had the task's environment
        assert props["function"] == "mark"
        assert props["marked_by"] != os.getpid()  # not in the engine
    # the module is imported once per worker process and kept warm: one runtime worker per
    # Dask worker at most, however many invocations ran
    assert len({i["properties"]["marked_by"] for i in items}) <= 2
    # the logs came back to this engine's .cirro/logs, filed under their executions
    records = list(read_logs(project / ".cirro" / "logs"))
    marked = [r for r in records if r["message"].startswith("marked 1 items in ")]
    assert len(marked) == 4 and all(r["execution_id"] for r in marked)
    assert len({r["execution_id"] for r in marked}) == 4
    assert sum(r["message"] == "batchy done" for r in records) == 4


def test_a_handler_error_keeps_its_name(cluster: Any, project: Path) -> None:
    report, _ = run_on_cluster(
        cluster.scheduler_address, project, [make_payload("mixed", mark={"fail": True})]
    )

    (record,) = report.records.values()
    assert record.state == "FAILED"
    assert record.error.startswith("ValueError: asked to fail")
    logs = [r["message"] for r in read_logs(project / ".cirro" / "logs", function="mark")]
    assert "[ERROR] ValueError: asked to fail" in logs


def test_a_worker_lost_mid_task_fails_as_lambda_then_retry_completes(
    cluster: Any, project: Path
) -> None:
    wait_for_workers(cluster)
    report, _ = run_on_cluster(cluster.scheduler_address, project, [make_payload("killer")])

    (record,) = report.records.values()
    assert record.state == "COMPLETED", record.error
    killed = project / ".cirro" / "killed-item-1"
    assert killed.exists()  # the first attempt did kill its worker
    logs = [r["message"] for r in read_logs(project / ".cirro" / "logs", function="killer")]
    lost = [m for m in logs if "Runtime exited with error" in m]
    assert len(lost) == 1 and "was lost" in lost[0]
    assert "second attempt runs" in logs
    wait_for_workers(cluster)  # the nanny restarts it, for the tests that follow


def test_a_gpu_task_is_refused_at_once_on_a_cluster_without_gpus(
    cluster: Any, project: Path
) -> None:
    report, _ = run_on_cluster(cluster.scheduler_address, project, [make_payload("gpu")])

    (record,) = report.records.values()
    assert record.state == "FAILED"
    assert record.error.startswith("States.TaskFailed")
    assert "GPU=1" in record.error
    assert "no worker declares a GPU resource" in record.error


def test_a_batch_job_whose_worker_is_lost_fails_as_a_terminated_host_then_retries(
    cluster: Any, project: Path
) -> None:
    wait_for_workers(cluster)
    report, _ = run_on_cluster(cluster.scheduler_address, project, [make_payload("batch-killer")])

    (record,) = report.records.values()
    assert record.state == "COMPLETED", record.error
    assert (project / ".cirro" / "batch-killed").exists()
    logs = [
        p.read_text() for p in (project / ".cirro" / "logs" / "batch").rglob("*") if p.is_file()
    ]
    terminated = [text for text in logs if "Host EC2 (instance tcp://" in text]
    assert len(terminated) == 1 and terminated[0].rstrip().endswith(") terminated.")
    assert any("second attempt done" in text for text in logs)
    wait_for_workers(cluster)


def test_serve_runs_what_arrives_on_the_cluster(cluster: Any, project: Path) -> None:
    import asyncio

    from cirrostratus.engine.local import LocalEngine
    from cirrostratus.executors.dask_cluster import ClusterOptions
    from cirrostratus.executors.dask_runtime import DaskExecutor

    engine = LocalEngine.open(project)
    engine.task_runtimes = DaskExecutor(  # type: ignore[attr-defined]
        ClusterOptions(scheduler=cluster.scheduler_address, say=lambda _t: None)
    )

    async def scenario() -> dict[str, int]:
        stop = asyncio.Event()
        serving = asyncio.ensure_future(engine.serve(stop))
        engine.submit([make_payload("mixed", "served-1"), make_payload("mixed", "served-2")])
        outputs = project / ".cirro" / "payloads"
        for _ in range(600):  # until both outputs are stored (at most a minute)
            if len(list(outputs.rglob("output.json"))) == 2:
                break
            await asyncio.sleep(0.1)
        stop.set()
        report = await serving
        return dict(report.counts())

    try:
        counts = asyncio.run(scenario())
    finally:
        engine.close()
    assert counts == {"COMPLETED": 2}
    assert {i["id"] for i in _outputs(project)} == {"served-1", "served-2"}


def test_a_timeout_on_a_worker_is_states_timeout_with_its_log(cluster: Any, project: Path) -> None:
    report, _ = run_on_cluster(cluster.scheduler_address, project, [make_payload("sleepy")])

    (record,) = report.records.values()
    assert record.state == "FAILED"
    assert record.error.startswith("States.Timeout")
    assert "Task timed out after 1.00 seconds" in record.error
    logs = [r["message"] for r in read_logs(project / ".cirro" / "logs", function="sleepy")]
    assert logs[0] == "going to sleep"  # what it printed before the kill …
    assert logs[-1].endswith("Error: Task timed out after 1.00 seconds")  # … then why
