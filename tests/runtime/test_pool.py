"""The warm Lambda pool: environment, reuse, limits, failure classification, logs."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from cirrostratus.runtime import LambdaPool, LambdaSpec, TaskFailed, read_logs

from .conftest import PROBE


def _spec(name: str, handler: str, **kw: Any) -> LambdaSpec:
    return LambdaSpec(
        name=name,
        directory=PROBE,
        handler=f"lambda_function.{handler}",
        environment=kw.pop("environment", {"PROBE_VAR": "probe"}),
        region="eu-central-1",
        **kw,
    )


@pytest.fixture(scope="module")
def logs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="module")
def import_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("imports") / "imports.txt"


@pytest.fixture(scope="module")
def pool(run: Any, logs_dir: Path, import_log: Path) -> Iterator[LambdaPool]:
    specs = {
        s.name: s
        for s in [
            _spec(
                "warm",
                "lambda_handler",
                reserved_concurrency=1,
                environment={"IMPORT_LOG": str(import_log)},
            ),
            _spec("env", "environment", memory_mb=256, timeout_s=7),
            _spec("sleep", "sleep", timeout_s=0.5, reserved_concurrency=1),
            _spec("hog", "hog", memory_mb=150),
            _spec("fail", "fail"),
            _spec("invalid", "invalid"),
            _spec("exit", "exit_code"),
            _spec("kill", "kill_self"),
            _spec("segv", "segfault"),
            _spec("noisy", "noisy"),
            _spec("marshal", "unserialisable"),
            _spec("missing", "no_such_handler"),
            LambdaSpec(name="broken", directory=PROBE, handler="nomodule.handler"),
        ]
    }
    p = LambdaPool(specs, logs_dir=logs_dir, max_workers=6, depth=4)
    yield p
    run(p.close())


def _failure(run: Any, aw: Any) -> TaskFailed:
    with pytest.raises(TaskFailed) as info:
        run(aw)
    return info.value


def test_environment_seen_by_the_task(run: Any, pool: LambdaPool) -> None:
    out = run(pool.invoke("env", {"x": 1}, request_id="req-1"))
    env = out["env"]
    assert env["PROBE_VAR"] == "probe"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-central-1"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "env"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["GDAL_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "1"  # 256 MB: one vCPU's share
    assert env["LAMBDA_TASK_ROOT"] == str(PROBE)
    assert env["TMPDIR"] == out["cwd"] and out["cwd"] != str(PROBE)
    assert "PYTEST_CURRENT_TEST" not in env  # nothing of the parent leaks beyond the basics
    ctx = out["context"]
    assert ctx["aws_request_id"] == "req-1"
    assert ctx["function_name"] == "env"
    assert ctx["memory_limit_in_mb"] == "256"
    assert ctx["invoked_function_arn"].endswith(":function:env")
    assert ctx["log_group_name"] == "/aws/lambda/env"
    assert 0 < ctx["remaining"] <= 7000


def test_warm_reuse_imports_once(run: Any, pool: LambdaPool, import_log: Path) -> None:
    async def many() -> list[Any]:
        return await asyncio.gather(*(pool.invoke("warm", {"i": i}) for i in range(100)))

    results = run(many())
    assert [r["event"]["i"] for r in results] == list(range(100))
    assert len({r["pid"] for r in results}) == 1  # reserved concurrency 1: one worker
    assert sorted(r["calls"] for r in results)[-1] >= 100
    assert import_log.read_text().split() == [str(results[0]["pid"])]


def test_timeout_fails_and_replaces_the_worker(run: Any, pool: LambdaPool) -> None:
    run(pool.invoke("sleep", {"seconds": 0.001}))  # known to be quick: requests pipeline

    async def two() -> list[Any]:
        return await asyncio.gather(
            pool.invoke("sleep", {"seconds": 5}),
            pool.invoke("sleep", {"seconds": 0.05}),
            return_exceptions=True,
        )

    slow, quick = run(two())
    assert isinstance(slow, TaskFailed) and slow.error == "States.Timeout"
    assert "timed out after 0.50 seconds" in (slow.cause or "")
    # the request queued behind it never started: it ran on the replacement worker
    assert quick["slept"] == 0.05


def test_only_quick_functions_are_pipelined(run: Any) -> None:
    """A burst of a quick function fills one warm worker's pipe; a long one's requests
    wait in the parent and each worker holds one, so none idles while another has a queue."""
    specs = {
        "quick": _spec("quick", "sleep", reserved_concurrency=1, timeout_s=5),
        "long": _spec("long", "sleep", timeout_s=5),
    }

    async def burst(p: LambdaPool, name: str, seconds: float) -> list[int]:
        await p.invoke(name, {"seconds": seconds})  # one answer: its duration is known
        calls = [asyncio.ensure_future(p.invoke(name, {"seconds": seconds})) for _ in range(6)]
        await asyncio.sleep(0)  # every invoke has queued and been dispatched
        depths = p.pipe_depths(name)
        await asyncio.gather(*calls)
        return depths

    async def scenario() -> tuple[list[int], list[int]]:
        # three slots: the quick function's worker keeps one, the long one may grow to two
        async with LambdaPool(specs, max_workers=3, depth=4) as p:
            return await burst(p, "quick", 0.001), await burst(p, "long", 0.2)

    quick, long = run(scenario())
    assert quick == [4]
    assert long == [1, 1]


def test_memory_limit_kills_the_worker(run: Any, pool: LambdaPool) -> None:
    err = _failure(run, pool.invoke("hog", {}))
    assert err.error == "Runtime.OutOfMemory"
    assert "150 MB" in (err.cause or "")
    assert pool.worker_pids("hog") == []


def test_exception_becomes_class_name_and_lambda_cause(run: Any, pool: LambdaPool) -> None:
    err = _failure(run, pool.invoke("fail", {"value": 42}))
    assert err.error == "ValueError"
    cause = orjson.loads(err.cause or "")
    assert cause["errorType"] == "ValueError"
    assert cause["errorMessage"] == "bad value 42"
    assert any("lambda_function.py" in line for line in cause["stackTrace"])


def test_invalid_input_keeps_its_name(run: Any, pool: LambdaPool) -> None:
    assert _failure(run, pool.invoke("invalid", {})).error == "InvalidInput"


@pytest.mark.parametrize(
    ("name", "event", "words"),
    [
        ("exit", {"code": 3}, "exit status 3"),
        ("kill", {}, "signal: killed"),
        ("segv", {}, "signal: segmentation fault"),
    ],
)
def test_crash_is_exit_error_and_the_pool_recovers(
    run: Any, pool: LambdaPool, name: str, event: dict[str, Any], words: str
) -> None:
    err = _failure(run, pool.invoke(name, event))
    assert err.error == "Runtime.ExitError"
    assert words in (err.cause or "")
    # the crashed worker is replaced: the function answers (and crashes) again
    assert _failure(run, pool.invoke(name, event)).error == "Runtime.ExitError"


def test_crash_fails_other_inflight_requests_of_that_worker(run: Any, pool: LambdaPool) -> None:
    async def burst() -> list[Any]:
        return await asyncio.gather(
            *(pool.invoke("exit", {"code": 1}) for _ in range(3)), return_exceptions=True
        )

    results = run(burst())
    assert all(isinstance(r, TaskFailed) and r.error == "Runtime.ExitError" for r in results)


def test_unserialisable_result_and_import_errors(run: Any, pool: LambdaPool) -> None:
    assert _failure(run, pool.invoke("marshal", {})).error == "Runtime.MarshalError"
    assert _failure(run, pool.invoke("missing", {})).error == "Runtime.HandlerNotFound"
    err = _failure(run, pool.invoke("broken", {}))
    assert err.error == "Runtime.ImportModuleError"
    assert "nomodule" in (err.cause or "")


def test_unknown_function(run: Any, pool: LambdaPool) -> None:
    assert _failure(run, pool.invoke("nope", {})).error == "Lambda.ResourceNotFoundException"


def test_output_is_logged_per_invocation(run: Any, pool: LambdaPool, logs_dir: Path) -> None:
    run(pool.invoke("noisy", {"n": 7}, execution_id="exec-1", request_id="r-noisy"))
    run(asyncio.sleep(0.1))
    pool.flush_logs()
    records = list(read_logs(logs_dir, execution_id="exec-1"))
    messages = [(r["stream"], r["message"]) for r in records if r["request_id"] == "r-noisy"]
    assert ("stdout", "hello from print") in messages
    assert ("stdout", "two lines") in messages
    assert ("stdout", "second line") in messages
    assert ("stderr", "to stderr") in messages
    assert any(s == "stderr" and m.endswith("logged 7") for s, m in messages)
    assert all(r["function"] == "noisy" and r["time"].endswith("Z") for r in records)
    raw = [r for r in read_logs(logs_dir, function="noisy") if r["message"] == "raw fd write"]
    assert raw  # fd-level output is kept too
    assert next(iter(read_logs(logs_dir, request_id="r-noisy")))["execution_id"] == "exec-1"


def test_no_worker_starts_while_the_workers_fill_every_core(run: Any) -> None:
    """A function that has a worker waits for it while the workers keep every core busy; once
    cores are free again (measured), its waiting requests start another worker."""
    spec = _spec("long", "sleep", timeout_s=5)

    async def scenario() -> tuple[list[int], bool, list[int]]:
        # housekeeping never runs on its own here: the test sets and measures cores_full
        async with LambdaPool({"long": spec}, max_workers=4, poll_interval=3600) as p:
            p.cores = 4
            await p.invoke("long", {"seconds": 0.2})  # known to be long: not pipelined
            p.cores_full = True
            calls = [asyncio.ensure_future(p.invoke("long", {"seconds": 0.2})) for _ in range(4)]
            await asyncio.sleep(0)
            full = p.pipe_depths("long")
            p.measure_cpu()  # the worker sleeps: far from four busy cores
            freed = p.pipe_depths("long")
            await asyncio.gather(*calls)
            return full, p.cores_full, freed

    full, still_full, freed = run(scenario())
    assert full == [1]
    assert not still_full
    assert freed == [1, 1]  # one more starts (one start at a time), the rest wait for them


def test_throttling_beyond_the_queue_bound(run: Any, tmp_path: Path) -> None:
    spec = _spec("sleepy", "sleep", reserved_concurrency=1, timeout_s=5)

    async def flood() -> list[Any]:
        async with LambdaPool({"sleepy": spec}, depth=1, max_queue=2) as p:
            return await asyncio.gather(
                *(p.invoke("sleepy", {"seconds": 0.01}) for _ in range(6)), return_exceptions=True
            )

    results = run(flood())
    throttled = [r for r in results if isinstance(r, TaskFailed)]
    assert throttled and all(r.error == "Lambda.TooManyRequestsException" for r in throttled)
    assert any(isinstance(r, dict) for r in results)


def test_global_cap_and_idle_shrink(run: Any) -> None:
    specs = {n: _spec(n, "lambda_handler") for n in ("a", "b", "c")}

    async def scenario() -> tuple[int, int, int]:
        async with LambdaPool(specs, max_workers=2, idle_timeout=0.2, poll_interval=0.02) as p:
            await asyncio.gather(*(p.invoke(n, {}) for n in ("a", "b", "c") for _ in range(5)))
            peak = p.worker_count
            await asyncio.sleep(0.2)
            busy = p.worker_count
            await asyncio.sleep(0.5)
            return peak, busy, p.worker_count

    peak, _, after = run(scenario())
    assert peak <= 2
    assert after == 0


def test_pre_encoded_event(run: Any, pool: LambdaPool) -> None:
    out = run(pool.invoke("warm", orjson.Fragment(b'{"i": "raw"}')))
    assert out["event"] == {"i": "raw"}
