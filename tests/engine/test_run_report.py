"""A run reports exactly its own payloads (and what they chain to), whatever else it drains;
two runs of one project both finish with their own reports; progress and hints are honest."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from cirrostratus.cli.run import Progress, report_notes, run_engine
from cirrostratus.engine.handoff import hand_over
from cirrostratus.engine.local import LocalEngine

from .conftest import make_payload

PID = "test-collection/workflow-mirror/{}"


def test_leftovers_in_the_intake_are_counted_not_reported(project: Path) -> None:
    engine = LocalEngine.open(project)
    engine.submit([make_payload("mirror", f"left-{i}") for i in range(3)])  # an earlier run's
    report = asyncio.run(engine.run([make_payload("mirror", "mine")]))
    assert list(report.records) == [PID.format("mine")]
    assert report.ok and report.exit_code == 0
    assert report.others == {"COMPLETED": 3}
    assert any("also ran 3 payloads" in line for line in report_notes(report))
    engine.close()


def test_a_payload_this_run_executed_is_not_reported_skipped(project: Path) -> None:
    engine = LocalEngine.open(project, concurrency=2)  # the leftovers come in their own batch
    # an interrupted run left a and b queued; the same files are run again
    engine.submit([make_payload("mirror", "a"), make_payload("mirror", "b")])
    payloads = [make_payload("mirror", x) for x in ("a", "b", "c")]
    report = asyncio.run(engine.run(payloads))
    assert [(r.payload_id, r.state, r.skipped) for r in report.records.values()] == [
        (PID.format(x), "COMPLETED", False) for x in ("a", "b", "c")
    ]
    assert not report.others
    # run again: now this run executed none of them
    again = asyncio.run(engine.run(payloads))
    assert all(r.skipped and r.state == "COMPLETED" for r in again.records.values())
    assert again.skipped_terminal() == 3
    assert any("--replace" in line for line in report_notes(again))
    engine.close()


def test_the_same_payload_twice_and_an_unnamed_invalid_one(project: Path) -> None:
    broken = make_payload("mirror", "broken")
    del broken["process"]["workflow"]  # no payload id can be made for it
    engine = LocalEngine.open(project)
    report = asyncio.run(
        engine.run([make_payload("mirror", "x"), make_payload("mirror", "x"), broken])
    )
    states = {pid: r.state for pid, r in report.records.items()}
    assert states == {PID.format("x"): "COMPLETED", "(invalid payload #2)": "INVALID"}
    assert "workflow" in (report.records["(invalid payload #2)"].error or "")
    assert report.exit_code == 1
    engine.close()


def test_progress_counts_every_submitted_payload_from_the_start(project: Path) -> None:
    calls: list[tuple[int, int]] = []
    engine = LocalEngine.open(project, concurrency=2)
    report = asyncio.run(
        engine.run(
            [make_payload("mirror", f"p{i}") for i in range(6)],
            progress=lambda done, total, counts: calls.append((done, total)),
        )
    )
    assert report.ok
    assert calls[0] == (0, 6)  # the total is what was submitted, not what was admitted
    assert calls[-1] == (6, 6)
    engine.close()


def test_serve_keeps_counts_not_records(project: Path) -> None:
    engine = LocalEngine.open(project)
    engine.submit([make_payload("mirror", f"s{i}") for i in range(3)])
    stop = asyncio.Event()

    async def stop_when_done(eng: LocalEngine, _: asyncio.Event) -> None:
        while eng.intake.waiting_count() or eng.store.counts().get("COMPLETED", 0) < 3:
            await asyncio.sleep(0.05)
        stop.set()

    report = asyncio.run(engine.serve(stop, services=[stop_when_done]))
    assert report.records == {} and report.counts() == {"COMPLETED": 3}
    engine.close()


def test_a_run_whose_engine_stops_first_takes_the_project_over(project: Path) -> None:
    """The lock holder was a `cirro run` that finished its own payloads and exited: the
    second run must run its payloads itself, not poll an engine that is gone."""
    engine = LocalEngine.open(project)
    holder = engine.lock.hold()
    holder.__enter__()  # the other run, about to exit
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 1:
            holder.__exit__(None, None, None)  # the other run exits, leaving ours queued
        if len(sleeps) > 20:
            raise AssertionError("still following an engine that has stopped")

    report = hand_over(
        engine, [make_payload("mirror", "h1"), make_payload("mirror", "h2")], sleep=sleep
    )
    assert {pid: r.state for pid, r in report.records.items()} == {
        PID.format("h1"): "COMPLETED",
        PID.format("h2"): "COMPLETED",
    }
    assert report.exit_code == 0
    engine.close()


class _Interrupted:
    """An engine whose run is interrupted (Ctrl-C) with payloads left in its intake."""

    def __init__(self, intake: Any) -> None:
        self.intake = intake
        self.closed = False

    async def run(self, *args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    def close(self) -> None:
        self.closed = True


def test_ctrl_c_says_how_many_are_left_queued(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = LocalEngine.open(project)
    engine.submit([make_payload("mirror", f"q{i}") for i in range(4)])
    fake = _Interrupted(engine.intake)
    with pytest.raises(KeyboardInterrupt):
        run_engine(fake, [], False, Progress(enabled=False))
    err = capsys.readouterr().err
    assert "4 payloads left queued" in err and "next `cirro run` or `cirro serve`" in err
    assert fake.closed
    engine.close()


def test_queued_payloads_are_shown_by_payload_state_and_query(project: Path) -> None:
    import json
    import subprocess
    import sys

    def cirro(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "cirrostratus", "--project", str(project), *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=120)

    engine = LocalEngine.open(project)
    engine.submit([make_payload("mirror", "waiting"), make_payload("mirror", "other")])
    [delivery] = engine.intake.receive(1)
    engine.intake.release(delivery.receipt, error="worker died")  # delivered once already
    engine.close()
    shown = cirro("payload", "state", PID.format("waiting"))
    assert shown.returncode == 0, shown.stderr
    assert "QUEUED" in shown.stdout and "delivered once" in shown.stdout
    assert "worker died" in shown.stdout
    data = json.loads(cirro("payload", "state", "--json", PID.format("waiting")).stdout)
    assert data["state"] == "QUEUED" and data["queued"]["receive_count"] == 1
    counts = json.loads(cirro("query", "--counts", "--json").stdout)
    assert counts["QUEUED"] == 2
    mine = cirro("query", "--counts", "--collections", "test-collection", "--workflow", "mirror")
    assert "QUEUED=2" in mine.stdout
    assert "QUEUED" not in cirro("query", "--counts", "--collections", "elsewhere").stdout


def test_payload_files_are_checked_before_anything_is_queued_then_streamed(
    tmp_path: Path,
) -> None:
    import json

    from cirrostratus.cli.errors import CliError
    from cirrostratus.cli.run import PayloadSource

    lines = tmp_path / "a.jsonl"
    lines.write_text("\n".join(json.dumps(make_payload("mirror", f"l{i}")) for i in range(3)))
    listed = tmp_path / "b.json"
    listed.write_text(json.dumps([make_payload("mirror", "x"), make_payload("mirror", "y")]))
    source = PayloadSource((str(lines), str(listed)))
    assert source.check() == 5
    ids = [p["features"][0]["id"] for p in source]
    assert ids == ["l0", "l1", "l2", "x", "y"]

    broken = tmp_path / "c.jsonl"
    broken.write_text(json.dumps(make_payload("mirror", "ok")) + "\n{not json\n")
    with pytest.raises(CliError) as refused:
        PayloadSource((str(lines), str(broken))).check()
    assert refused.value.exit_code == 2 and f"{broken} line 2" in str(refused.value)


def test_stdin_is_spooled_to_a_file_and_read_a_line_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """stdin cannot be read twice: it is copied to a temporary file (not held as payloads),
    checked, then streamed from it; a bad line is named by its number."""
    import io
    import json

    from cirrostratus.cli.errors import CliError
    from cirrostratus.cli.run import PayloadSource

    text = "\n".join(json.dumps(make_payload("mirror", f"s{i}")) for i in range(4))
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    source = PayloadSource(("-",))
    assert source.check() == 4
    assert not isinstance(source._stdin, list) and source._stdin is not None
    assert [p["features"][0]["id"] for p in source] == ["s0", "s1", "s2", "s3"]

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b'{"a": 1}\n{not json\n')))
    with pytest.raises(CliError) as refused:
        PayloadSource(("-",)).check()
    assert refused.value.exit_code == 2 and "<stdin> line 2" in str(refused.value)


def test_quiet_and_json_runs_pass_no_progress_callback() -> None:
    from cirrostratus.engine.report import RunReport

    seen: dict[str, Any] = {}

    class Engine:
        async def run(self, items: Any, **kwargs: Any) -> RunReport:
            seen.update(kwargs)
            return RunReport()

        def close(self) -> None:
            pass

    run_engine(Engine(), [], False, Progress(enabled=False))
    assert seen["progress"] is None
