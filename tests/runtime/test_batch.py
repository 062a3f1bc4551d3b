"""The Batch runner: job definitions from a real project, the batch contract, limits, errors."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from cirrostratus.project import Project
from cirrostratus.runtime import LambdaPool, TaskFailed, project_specs
from cirrostratus.runtime.batch import BatchRunner
from cirrostratus.storage import open_store, read_url
from cirrostratus.storage.locations import Locations

from .conftest import FIXTURES

PROJECT = FIXTURES / "project"


@pytest.fixture(scope="module")
def project() -> Project:
    return Project.load(PROJECT)


@pytest.fixture(scope="module")
def locations(tmp_path_factory: pytest.TempPathFactory) -> Locations:
    return Locations.for_project(tmp_path_factory.mktemp("deploy"), env={}).ensure()


@pytest.fixture(scope="module")
def runner(project: Project, locations: Locations) -> BatchRunner:
    return BatchRunner.for_project(project, locations, engine_probe=lambda: None, gpus=0)


@pytest.fixture(scope="module")
def pool(run: Any, project: Project, locations: Locations) -> Iterator[LambdaPool]:
    p = LambdaPool(project_specs(project, locations), logs_dir=locations.logs_dir)
    yield p
    run(p.close())


def _payload(**task_options: Any) -> dict[str, Any]:
    payload = orjson.loads((PROJECT / "payload.json").read_bytes())
    payload["process"][0]["tasks"]["envdump"] = task_options
    return payload


def _stage(locations: Locations, payload: dict[str, Any], name: str) -> str:
    return open_store(locations.payload_url).put_bytes(
        f"batch/test/{name}.json", orjson.dumps(payload)
    )


def _out(url: str) -> Any:
    return orjson.loads(read_url(url.replace(".json", "_out.json")))


def _failed(run: Any, aw: Any) -> tuple[TaskFailed, dict[str, Any]]:
    with pytest.raises(TaskFailed) as info:
        run(aw)
    return info.value, orjson.loads(info.value.cause or "{}")


def test_lambda_runner_job_environment_and_result(
    run: Any, runner: BatchRunner, locations: Locations
) -> None:
    url = _stage(locations, _payload(), "env")
    result = run(
        runner.submit_job(
            {
                "JobDefinition": "EnvdumpAsBatchJob",
                "JobQueue": "EnvdumpJobQueue",
                "JobName": "envdump-job",
                "Parameters": {"url": url},
            }
        )
    )
    assert result["Status"] == "SUCCEEDED"
    assert result["JobName"] == "envdump-job"
    assert result["JobDefinition"].endswith(":job-definition/testsvc-dev-envdump:1")
    assert result["JobQueue"].endswith(":job-queue/testsvc-dev-envdump")
    assert result["Parameters"] == {"url": url}
    assert result["Container"]["Command"] == ["run", "testsvc-dev-envdump", url]
    assert result["Container"]["ExitCode"] == 0
    assert result["Attempts"][0]["Container"]["LogStreamName"].startswith(
        "testsvc-dev-envdump/default/"
    )
    assert result["StartedAt"] <= result["StoppedAt"]
    seen = _out(url)["seen"]
    env = seen["env"]
    assert seen["context"] is False  # handler(payload): the batch contract has no context
    assert env["PROVIDER_VAR"] == "from-provider"
    assert env["TASK_VAR"] == "from-task"
    assert env["JOB_VAR"] == "from-job"
    assert env["SHARED"] == "job"  # provider < task < job definition
    assert "LAMBDA_VAR" not in env  # lambda.environment is not the job's
    assert env["NUMBER"] == "5" and env["FLAG"] == "true"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["CIRRUS_STACK"] == "testsvc-dev"
    assert env["GDAL_NUM_THREADS"] == env["OMP_NUM_THREADS"] == "1"  # its Vcpus: 1
    assert env["CIRRUS_DATA_BUCKET"] == locations.data_url
    assert env["CIRRUS_PAYLOAD_BUCKET"] == locations.payload_url
    assert env["CIRRUS_LOG_DIR"] == str(locations.logs_dir)
    assert "CIRRUS_PROCESS_QUEUE_URL" not in env and "QUEUE_ARN" not in env
    assert env["AWS_BATCH_JOB_ID"] == result["JobId"]
    listed = {e["Name"]: e["Value"] for e in result["Container"]["Environment"]}
    assert listed["JOB_VAR"] == "from-job" and "AWS_SECRET_ACCESS_KEY" not in listed


def test_lambda_environment_of_the_same_task(
    run: Any, pool: LambdaPool, locations: Locations
) -> None:
    env = run(pool.invoke("testsvc-dev-envdump", _payload()))["seen"]["env"]
    assert env["SHARED"] == "lambda"  # provider < task < lambda
    assert env["LAMBDA_VAR"] == "from-lambda" and env["TASK_VAR"] == "from-task"
    assert env["AWS_REGION"] == "eu-west-1"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "envdump"
    assert env["CIRRUS_PAYLOAD_BUCKET"] == locations.payload_url
    assert "CIRRUS_PROCESS_QUEUE_URL" not in env and "JOB_VAR" not in env


def test_retry_strategy_attempts(
    run: Any, runner: BatchRunner, locations: Locations, tmp_path: Path
) -> None:
    marker = tmp_path / "failed-once"
    url = _stage(locations, _payload(fail_once=str(marker)), "retry")
    fn = "arn:aws:lambda:eu-west-1:123456789012:function:testsvc-dev-envdump"
    result = run(
        runner.submit_job(
            {
                "JobDefinition": "EnvdumpRetryJob",
                "JobName": "r",
                "JobQueue": "q",
                "Parameters": {"lambda_function": fn, "url": url},
            }
        )
    )
    assert result["Status"] == "SUCCEEDED"
    assert [a["Container"]["ExitCode"] for a in result["Attempts"]] == [1, 0]
    assert "seen" in _out(url)


def test_failed_job_and_its_last_log_line(
    run: Any, runner: BatchRunner, locations: Locations
) -> None:
    url = _stage(locations, _payload(**{"raise": "InvalidInput"}), "invalid")
    err, cause = _failed(
        run,
        runner.submit_job(
            {
                "JobDefinition": "EnvdumpAsBatchJob",
                "JobName": "x",
                "JobQueue": "EnvdumpJobQueue",
                "Parameters": {"url": url},
            }
        ),
    )
    assert err.error == "States.TaskFailed"
    assert cause["Status"] == "FAILED" and cause["Container"]["ExitCode"] == 1
    stream = cause["Attempts"][-1]["Container"]["LogStreamName"]
    log = (locations.logs_dir / "batch" / stream).read_text().splitlines()
    assert log[-1] == "InvalidInput: no usable assets in the item"


def test_job_definition_references(runner: BatchRunner) -> None:
    by_name = runner.job("testsvc-dev-envdump")
    assert by_name.logical_id == "EnvdumpAsBatchJob"
    assert runner.job("#{EnvdumpAsBatchJob}") is by_name
    assert runner.job("arn:aws:batch:eu-west-1:1:job-definition/testsvc-dev-envdump:3") is by_name
    with pytest.raises(TaskFailed) as info:
        runner.job("nope")
    assert info.value.error == "Batch.ClientException" and "EnvdumpAsBatchJob" in (
        info.value.cause or ""
    )


def test_local_command_and_timeout(run: Any, runner: BatchRunner, locations: Locations) -> None:
    url = _stage(locations, _payload(), "shell")
    result = run(
        runner.submit_job(
            {
                "JobDefinition": "ShellJob",
                "JobName": "s",
                "JobQueue": "q",
                "Parameters": {"url": url},
            }
        )
    )
    out = _out(url)
    assert out["shell"]["cwd"] == str(PROJECT / "tasks" / "shell")
    assert out["shell"]["SHELL_JOB"] == result["JobId"]
    _err, cause = _failed(
        run,
        runner.submit_job(
            {
                "JobDefinition": "ShellJob",
                "JobName": "s",
                "JobQueue": "q",
                "Parameters": {"url": url, "mode": "sleep:5"},
            }
        ),
    )
    assert cause["StatusReason"] == "Job attempt duration exceeded timeout"


def test_no_container_engine_says_how_to_run_locally(run: Any, runner: BatchRunner) -> None:
    err, cause = _failed(
        run,
        runner.submit_job(
            {
                "JobDefinition": "ImagedJob",
                "JobName": "i",
                "JobQueue": "q",
                "Parameters": {"url": "file:///x.json"},
            }
        ),
    )
    assert err.error == "States.TaskFailed"
    reason = cause["StatusReason"]
    assert "docker nor podman" in reason and "tasks/imaged/definition.yml" in reason
    assert "local" in reason and "command" in reason


def test_container_engine_command(
    run: Any, project: Project, locations: Locations, tmp_path: Path
) -> None:
    fake = tmp_path / "docker"
    fake.write_text('#!/bin/sh\necho "$@"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    runner = BatchRunner.for_project(project, locations, engine_probe=lambda: str(fake))
    result = run(
        runner.submit_job(
            {
                "JobDefinition": "ImagedJob",
                "JobName": "i",
                "JobQueue": "q",
                "Parameters": {"url": "file:///x.json"},
            }
        )
    )
    stream = result["Container"]["LogStreamName"]
    line = (locations.logs_dir / "batch" / stream).read_text()
    assert line.startswith("run --rm")
    assert "--memory 128m" in line and "example.org/needs-docker:1 process file:///x.json" in line
    assert "-e PROVIDER_VAR=from-provider" in line


def test_gpu_job_without_gpu(run: Any, runner: BatchRunner) -> None:
    _err, cause = _failed(
        run,
        runner.submit_job(
            {
                "JobDefinition": "GpuJob",
                "JobName": "g",
                "JobQueue": "q",
                "Parameters": {"url": "file:///x.json"},
            }
        ),
    )
    assert "GPU" in cause["StatusReason"] and "none is visible" in cause["StatusReason"]


def test_queue_max_vcpus_serialises_jobs(
    run: Any, runner: BatchRunner, locations: Locations
) -> None:
    urls = [_stage(locations, _payload(), f"cap{i}") for i in range(2)]

    async def both() -> list[dict[str, Any]]:
        return await asyncio.gather(
            *(
                runner.submit_job(
                    {
                        "JobDefinition": "EnvdumpAsBatchJob",
                        "JobName": "c",
                        "JobQueue": "#{EnvdumpJobQueue}",
                        "Parameters": {"url": u},
                    }
                )
                for u in urls
            )
        )

    first, second = sorted(run(both()), key=lambda r: r["StartedAt"])
    assert second["StartedAt"] >= first["StoppedAt"]  # MaxvCpus 1: one job at a time


def test_pre_batch_job_post_batch(run: Any, pool: LambdaPool, runner: BatchRunner) -> None:
    payload = _payload()
    pre = run(pool.invoke("pre-batch", payload))
    assert (
        pre["url"].endswith(".json")
        and "/batch/test-collection/workflow-batchy/item-1/" in pre["url"]
    )
    job = run(
        runner.submit_job(
            {
                "JobDefinition": "EnvdumpAsBatchJob",
                "JobName": "p",
                "JobQueue": "EnvdumpJobQueue",
                "Parameters": {"url": pre["url"]},
            }
        )
    )
    post = run(pool.invoke("post-batch", job))
    assert post["id"] == payload["id"] and "seen" in post


def test_error_type_comes_back_through_post_batch(
    run: Any, pool: LambdaPool, runner: BatchRunner
) -> None:
    pre = run(pool.invoke("pre-batch", _payload(**{"raise": "InvalidInput"})))
    err, _ = _failed(
        run,
        runner.submit_job(
            {
                "JobDefinition": "EnvdumpAsBatchJob",
                "JobName": "p",
                "JobQueue": "EnvdumpJobQueue",
                "Parameters": {"url": pre["url"]},
            }
        ),
    )
    caught = {**pre, "error": {"Error": err.error, "Cause": err.cause}}
    post_err, cause = _failed(run, pool.invoke("post-batch", caught))
    assert post_err.error == "InvalidInput"
    assert cause["errorMessage"] == "no usable assets in the item"


def test_container_overrides(
    run: Any, project: Project, locations: Locations, tmp_path: Path
) -> None:
    fake = tmp_path / "podman"
    fake.write_text('#!/bin/sh\necho "$@"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    runner = BatchRunner(project, locations, engine_probe=lambda: str(fake))
    overrides = {
        "Command": ["other", "Ref::url"],
        "Environment": [
            {"Name": "OVERRIDDEN", "Value": "yes"},
            {"Name": "SHARED", "Value": "override"},
        ],
        "ResourceRequirements": [
            {"Type": "MEMORY", "Value": "64"},
            {"Type": "VCPU", "Value": "0.5"},
        ],
    }
    result = run(
        runner.submit_job(
            {
                "JobDefinition": "ImagedJob",
                "JobName": "o",
                "JobQueue": "q",
                "Parameters": {"url": "file:///y.json"},
                "ContainerOverrides": overrides,
            }
        )
    )
    assert result["Container"]["Command"] == ["other", "file:///y.json"]
    line = (locations.logs_dir / "batch" / result["Container"]["LogStreamName"]).read_text()
    assert "--memory 64m" in line and "--cpus 0.5" in line
    assert "-e OVERRIDDEN=yes" in line and "-e SHARED=override" in line
    assert line.rstrip().endswith("example.org/needs-docker:1 other file:///y.json")


def test_a_job_killed_by_a_signal_says_so(
    run: Any, pool: LambdaPool, runner: BatchRunner, locations: Locations
) -> None:
    """Exit code 137 and the signal, as a container reports it; through update-state's
    message and through post-batch (not `unknown` nor `UnknownError: working on item 3`)."""
    from cirrostratus.engine.update import error_message

    url = _stage(locations, _payload(), "killed")
    params = {
        "JobDefinition": "ShellJob",
        "JobName": "k",
        "Parameters": {"url": url, "mode": "kill"},
    }
    err, cause = _failed(run, runner.submit_job(params))
    assert err.error == "States.TaskFailed"
    assert cause["Status"] == "FAILED"
    assert cause["StatusReason"] == "Essential container in task exited"
    container = cause["Attempts"][-1]["Container"]
    assert container["ExitCode"] == 137 and cause["Container"]["ExitCode"] == 137
    assert container["Reason"] == "Container killed by SIGKILL (exit code 137)"
    assert error_message(err.error, err.cause) == (
        "States.TaskFailed: Essential container in task exited: "
        "Container killed by SIGKILL (exit code 137)"
    )
    caught = {"url": url, "error": {"Error": err.error, "Cause": err.cause}}
    post_err, post_cause = _failed(run, pool.invoke("post-batch", caught))
    assert post_err.error == "UnknownError"
    assert post_cause["errorMessage"] == (
        "Essential container in task exited: Container killed by SIGKILL (exit code 137) "
        "(last log line: working on item 3)"
    )


def test_a_failing_job_names_its_exit_code(
    run: Any, runner: BatchRunner, locations: Locations
) -> None:
    from cirrostratus.engine.update import error_message

    url = _stage(locations, _payload(), "fails")
    params = {
        "JobDefinition": "ShellJob",
        "JobName": "f",
        "Parameters": {"url": url, "mode": "fail"},
    }
    err, _cause = _failed(run, runner.submit_job(params))
    assert error_message(err.error, err.cause) == (
        "States.TaskFailed: Essential container in task exited (exit code 2)"
    )
