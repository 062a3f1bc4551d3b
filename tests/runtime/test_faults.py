"""Dying and misbehaving tasks fail the way AWS says they fail, and leave a trace.

sys.exit → Runtime.ExitError; a worker's death requeues what had not started; results Lambda's
`json` refuses → Runtime.MarshalError; output without newlines is kept whole and cut in
records; a raised exception logs Lambda's `[ERROR]` line and traceback; an over-memory
`cirro task run` prints no asyncio noise.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from cirrostratus.runtime import LambdaPool, LambdaSpec, TaskFailed, read_logs
from cirrostratus.runtime.errors import error_message
from cirrostratus.runtime.logs import MAX_RECORD, LineSplitter

from .conftest import PROBE

FORTY_MB = 40 * 1024 * 1024


def _spec(name: str, handler: str, **kw: Any) -> LambdaSpec:
    return LambdaSpec(
        name=name,
        directory=PROBE,
        handler=f"lambda_function.{handler}",
        environment={},
        region="eu-central-1",
        **kw,
    )


@pytest.fixture(scope="module")
def logs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="module")
def pool(run: Any, logs_dir: Path) -> Iterator[LambdaPool]:
    specs = {
        s.name: s
        for s in [
            _spec("exits", "maybe_exit", reserved_concurrency=1),
            _spec("returns", "returns"),
            _spec("unbroken", "unbroken", timeout_s=120),
            _spec("raises", "raises"),
        ]
    }
    p = LambdaPool(specs, logs_dir=logs_dir, max_workers=4, depth=4)
    yield p
    run(p.close())


def _failure(run: Any, aw: Any) -> TaskFailed:
    with pytest.raises(TaskFailed) as info:
        run(aw)
    return info.value


def _logged(pool: LambdaPool, logs_dir: Path, request_id: str) -> list[dict[str, Any]]:
    pool.flush_logs()
    return list(read_logs(logs_dir, request_id=request_id))


def test_sys_exit_is_runtime_exit_error(run: Any, pool: LambdaPool, logs_dir: Path) -> None:
    err = _failure(run, pool.invoke("exits", {"exit": 3}, request_id="r-exit"))
    assert err.error == "Runtime.ExitError"
    assert "Runtime exited with error: exit status 3" in error_message(err)
    text = _failure(run, pool.invoke("exits", {"exit": "giving up"}))
    assert "exit status 1" in error_message(text)


def test_a_dying_worker_hands_what_had_not_started_to_another(run: Any, pool: LambdaPool) -> None:
    async def burst() -> list[Any]:
        # one worker (reservedConcurrency 1), four requests pipelined into it; the first
        # ends the process, the three behind it had not started
        first = pool.invoke("exits", {"exit": 3, "sleep": 0})
        rest = [pool.invoke("exits", {"n": n, "sleep": 0.05}) for n in range(3)]
        return await asyncio.gather(first, *rest, return_exceptions=True)

    died, *answered = run(burst())
    assert isinstance(died, TaskFailed) and died.error == "Runtime.ExitError"
    assert [a["n"] for a in answered] == [0, 1, 2]


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        (
            "datetime",
            "Unable to marshal response: Object of type datetime is not JSON serializable",
        ),
        ("nan", "Unable to marshal response: Out of range float values are not JSON compliant"),
        ("inf", "Unable to marshal response: Out of range float values are not JSON compliant"),
    ],
)
def test_results_lambda_cannot_marshal_fail_here_too(
    run: Any, pool: LambdaPool, kind: str, message: str
) -> None:
    err = _failure(run, pool.invoke("returns", {"kind": kind}))
    assert err.error == "Runtime.MarshalError"
    assert error_message(err) == message


def test_results_lambda_can_marshal_pass(run: Any, pool: LambdaPool) -> None:
    assert run(pool.invoke("returns", {"kind": "null_inside"})) == {"value": None}
    assert run(pool.invoke("returns", {"kind": "decimal"})) == {"value": 1.5}
    assert run(pool.invoke("returns", {"kind": "none"})) is None


def test_output_without_newlines_is_kept_whole(run: Any, pool: LambdaPool, logs_dir: Path) -> None:
    run(pool.invoke("unbroken", {"size": FORTY_MB}, request_id="r-unbroken"))
    run(asyncio.sleep(0.2))  # stray fd output arrives on the worker's stderr pipe
    records = _logged(pool, logs_dir, "r-unbroken")
    by_stream: dict[str, int] = {}
    for r in records:
        by_stream[r["stream"]] = by_stream.get(r["stream"], 0) + len(r["message"])
    assert by_stream == {"stderr": FORTY_MB // 2, "stdout": FORTY_MB // 2}
    assert max(len(r["message"]) for r in records) <= MAX_RECORD


def test_line_splitter_copies_each_byte_a_bounded_number_of_times() -> None:
    splitter = LineSplitter()
    chunk = b"z" * 4096
    out: list[bytes] = []
    n = 4096  # 16 MiB, no newline
    for _ in range(n):
        out += splitter.feed(chunk)
    out += splitter.close()
    assert b"".join(out) == chunk * n
    assert all(len(piece) <= MAX_RECORD for piece in out)
    # joining re-copies each byte about once, not once per chunk fed (which was quadratic)
    assert splitter.joins <= 2 * len(chunk) * n
    assert splitter.feed(b"a\nbc\n\nd") == [b"a", b"bc", b""]
    assert splitter.close() == [b"d"]


def test_a_raised_exception_logs_lambdas_error_line_and_traceback(
    run: Any, pool: LambdaPool, logs_dir: Path
) -> None:
    err = _failure(run, pool.invoke("raises", {"value": 7}, request_id="r-raises"))
    assert err.error == "ValueError"
    messages = [r["message"] for r in _logged(pool, logs_dir, "r-raises")]
    assert messages[0] == "[ERROR] ValueError: bad value 7"
    assert messages[1] == "Traceback (most recent call last):"
    joined = "\n".join(messages)
    assert "in raises" in joined and "in _deeper" in joined
    assert 'raise ValueError(f"bad value' in joined
    assert "worker.py" not in joined  # the runtime's own frame is not the task's


HOG_PROJECT = {
    "cirrus.yml": """
        service: hogsvc
        provider:
          name: aws
          stage: dev
          region: eu-west-1
          runtime: python3.11
        """,
    "tasks/hog/definition.yml": """
        description: grows until the memory limit stops it
        lambda:
          handler: lambda_function.lambda_handler
          memorySize: 128
          timeout: 60
        """,
    "tasks/hog/README.md": "# hog\n",
    "tasks/hog/lambda_function.py": """
        import time

        def lambda_handler(event, context):
            chunks = []
            while True:
                chunks.append(b"x" * (8 * 1024 * 1024))
                time.sleep(0.01)
        """,
    "payload.json": '{"type": "FeatureCollection", "features": []}',
}


def test_task_run_over_memory_prints_only_the_error(tmp_path: Path) -> None:
    for name, text in HOG_PROJECT.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    cirro = Path(sys.executable).parent / "cirro"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIRRUS_", "CIRRO_"))}
    env["PYTHONWARNINGS"] = "default"  # show what a user with warnings on would see
    proc = subprocess.run(
        [str(cirro), "task", "run", "hog", "payload.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("Error: Runtime.OutOfMemory: ")
    assert "exceeded the function's memorySize (128 MB)" in lines[0]
    assert orjson.loads(proc.stdout or "null") is None


def test_close_waits_for_workers_it_killed(tmp_path: Path) -> None:
    """A worker killed for its memory is reaped before `close()` returns; one the loop had
    not seen exit is what later printed `Loop … that handles pid N is closed`."""
    pidfile = tmp_path / "hog.pid"

    async def main() -> str:
        spec = _spec("hog", "hog_pid", memory_mb=600)
        async with LambdaPool({"hog": spec}) as pool:
            with pytest.raises(TaskFailed) as info:
                await pool.invoke("hog", {"pidfile": str(pidfile)})
        return info.value.error

    assert asyncio.run(main()) == "Runtime.OutOfMemory"
    assert not Path(f"/proc/{int(pidfile.read_text())}").exists()  # gone, not even a zombie


def test_output_before_a_timeout_is_kept(run: Any, logs_dir: Path) -> None:
    """Lambda's log keeps what a handler printed before it timed out, then the reason."""
    spec = _spec("chatty", "chatty_sleep", timeout_s=0.5)

    async def main() -> TaskFailed:
        async with LambdaPool({"chatty": spec}, logs_dir=logs_dir) as pool:
            with pytest.raises(TaskFailed) as info:
                await pool.invoke("chatty", {}, request_id="r-chatty")
            await asyncio.sleep(0.5)
        return info.value

    err = run(main())
    assert err.error == "States.Timeout"
    records = [(r["stream"], r["message"]) for r in read_logs(logs_dir, request_id="r-chatty")]
    assert records == [
        ("stdout", "started the long part"),
        ("stderr", "still going"),
        ("stderr", "RequestId: r-chatty Error: Task timed out after 0.50 seconds"),
    ]
