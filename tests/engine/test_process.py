"""The process rules against SQLite: the Cirrus test_process state matrix and more."""

from __future__ import annotations

import copy
import json
import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from cirrostratus.engine.process import ProcessResult, derive_id, process
from cirrostratus.intake import SqliteIntakeQueue
from cirrostratus.payload import Payload
from cirrostratus.state import SqliteStateStore, State
from cirrostratus.storage import LocalStore

FIXTURES = Path(__file__).parents[1] / "payload" / "fixtures"
PID = "sentinel-2/workflow-cog/S2A_1"


def make_payload(item: str = "S2A_1", workflow: str = "cog", **process_opts: Any) -> dict:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": item,
                "collection": "sentinel-2",
                "properties": {},
                "links": [],
            }
        ],
        "process": {"workflow": workflow, "upload_options": {}, **process_opts},
    }


class UnknownWorkflow(Exception):
    pass


@dataclass
class FakeRunner:
    """Records what it was asked to start; refuses workflows it does not know."""

    known: set[str] = field(default_factory=lambda: {"cog", "publish"})
    started: list[tuple[str, str]] = field(default_factory=list)

    def start(self, payload: Payload, execution_id: str) -> None:
        if payload.workflow not in self.known:
            raise UnknownWorkflow(f"workflow {payload.workflow!r} does not exist")
        self.started.append((payload.id, execution_id))


class Clock:
    def __init__(self) -> None:
        self.t = datetime(2026, 11, 25, 12, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)


@dataclass
class Env:
    store: SqliteStateStore
    intake: SqliteIntakeQueue
    payloads: LocalStore
    runner: FakeRunner
    clock: Clock

    def run(self, *messages: Any, replace: bool = False, use_intake: bool = False) -> ProcessResult:
        return process(
            messages,
            store=self.store,
            payload_store=self.payloads,
            runner=self.runner,
            intake=self.intake if use_intake else None,
            replace=replace,
        )

    def state(self, pid: str = PID) -> State | None:
        rec = self.store.get(pid)
        return rec.state if rec else None

    def finish(self, state: State, pid: str = PID) -> None:
        ex = self.store.get(pid).execution_id
        {
            State.COMPLETED: lambda: self.store.complete(pid, ex),
            State.FAILED: lambda: self.store.fail(pid, "X: y", ex),
            State.INVALID: lambda: self.store.invalidate(pid, "InvalidInput: y", ex),
            State.ABORTED: lambda: self.store.abort(pid, ex),
        }[state]()


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    clock = Clock()
    store = SqliteStateStore(tmp_path / "state.db", now=clock, lease_seconds=60)
    intake = SqliteIntakeQueue(tmp_path / "intake.db", now=clock)
    yield Env(store, intake, LocalStore(tmp_path / "payloads"), FakeRunner(), clock)
    store.close()
    intake.close()


def test_direct_payload_starts_and_stores_its_input(env: Env) -> None:
    result = env.run(make_payload())
    assert result.started == [PID]
    assert env.state() is State.PROCESSING
    ex = result.executions[PID]
    assert env.runner.started == [(PID, ex)]
    assert env.store.get(PID).executions[-1].status == "RUNNING"
    stored = json.loads(env.payloads.get_bytes(f"{PID}/input.json"))
    assert stored["id"] == PID and stored["process"]["workflow"] == "cog"


def test_second_submission_is_skipped(env: Env) -> None:
    env.run(make_payload())
    result = env.run(make_payload())
    assert (result.started, result.skipped) == ([], [PID])
    assert "PROCESSING" in result.reasons[PID]
    assert len(env.runner.started) == 1


@pytest.mark.parametrize(
    ("state", "how", "starts"),
    [
        (State.COMPLETED, None, False),
        (State.COMPLETED, "payload", True),
        (State.COMPLETED, "argument", True),
        (State.FAILED, None, True),
        (State.ABORTED, None, True),
        (State.INVALID, None, False),
        (State.INVALID, "payload", True),
        (State.INVALID, "argument", True),
    ],
)
def test_rerun_matrix(env: Env, state: State, how: str | None, starts: bool) -> None:
    env.run(make_payload())
    env.finish(state)
    opts = {"replace": True} if how == "payload" else {}
    result = env.run(make_payload(**opts), replace=how == "argument")
    assert (result.started == [PID]) is starts
    assert (result.skipped == [PID]) is not starts
    assert env.state() is (State.PROCESSING if starts else state)
    assert len(env.store.get(PID).executions) == (2 if starts else 1)


def test_claimed_by_another_process_is_skipped(env: Env) -> None:
    env.store.claim(PID, "someone-else")
    result = env.run(make_payload())
    assert result.skipped == [PID] and env.runner.started == []
    env.clock.advance(61)  # the other claimer died: its lease passed
    assert env.run(make_payload()).started == [PID]


def test_two_payloads_and_a_duplicate(env: Env) -> None:
    result = env.run(make_payload("a"), make_payload("b"), make_payload("a"))
    assert sorted(result.started) == ["sentinel-2/workflow-cog/a", "sentinel-2/workflow-cog/b"]
    assert result.dropped == ["sentinel-2/workflow-cog/a"]
    assert len(env.runner.started) == 2


def test_bad_workflow_fails_that_payload_only(env: Env) -> None:
    result = env.run(make_payload("a"), make_payload("b", workflow="nope"))
    bad = "sentinel-2/workflow-nope/b"
    assert result.started == ["sentinel-2/workflow-cog/a"]
    assert result.failed == [bad]
    rec = env.store.get(bad)
    assert rec.state is State.FAILED
    assert rec.last_error == "UnknownWorkflow: workflow 'nope' does not exist"
    assert env.state("sentinel-2/workflow-cog/a") is State.PROCESSING
    # a failed start can be retried (FAILED is restartable)
    env.runner.known.add("nope")
    assert env.run(make_payload("b", workflow="nope")).started == [bad]


def test_sqs_event_fixture(env: Env) -> None:
    """Cirrus's SNS-in-SQS fixture: the payload id has no `id` in the payload, it is made."""
    env.runner.known.add("publish-sentinel")
    event = json.loads((FIXTURES / "sqs-event.json").read_text())
    result = env.run(event)
    assert result.started == [
        "sentinel-s2-l2a-aws/workflow-publish-sentinel/tiles-17-H-QD-2020-11-3-0"
    ]


def test_sns_in_sqs_records_each_become_a_payload(env: Env) -> None:
    records = [
        {"body": json.dumps({"Type": "Notification", "Message": json.dumps(make_payload(i))})}
        for i in ("a", "b")
    ]
    result = env.run({"Records": records})
    assert len(result.started) == 2


def test_missing_id_is_generated_and_given_id_is_kept(env: Env) -> None:
    given = make_payload("x")
    given["id"] = "custom/workflow-cog/x-2"
    result = env.run(make_payload("y"), given)
    assert result.started == ["sentinel-2/workflow-cog/y", "custom/workflow-cog/x-2"]


def test_url_payload_is_read_through_the_store(env: Env) -> None:
    url = env.payloads.put_bytes("big/payload.json", orjson.dumps(make_payload()))
    assert env.run({"url": url}).started == [PID]


def test_invalid_payload_is_dead_lettered_with_its_problems(env: Env) -> None:
    bad = make_payload()
    del bad["process"]["workflow"]
    bad["id"] = "sentinel-2/workflow-cog/S2A_1"
    env.intake.send(bad)
    msgs = env.intake.receive()
    result = process(
        msgs, store=env.store, payload_store=env.payloads, runner=env.runner, intake=env.intake
    )
    assert [r.payload_id for r in result.invalid] == [PID]
    assert "process.workflow" in result.invalid[0].error
    dead = env.intake.dead_letters()
    assert len(dead) == 1 and "process.workflow" in (dead[0].error or "")
    assert json.loads(dead[0].body)["id"] == PID
    assert env.intake.counts().to_dict() == {"visible": 0, "in_flight": 0, "delayed": 0, "dead": 1}
    rec = env.store.get(PID)
    assert rec.state is State.INVALID and rec.last_error.startswith("PayloadError: ")


def test_task_parameter_problems_refuse_the_payload_before_its_claim(env: Env) -> None:
    def check(raw: dict) -> list[str]:
        size = raw["process"]["tasks"]["cog"]["blocksize"]
        return [] if size >= 64 else [f"process.tasks.cog.blocksize {size} is less than 64"]

    env.intake.send(make_payload(tasks={"cog": {"blocksize": 16}}))
    env.intake.send(make_payload(item="S2A_2", tasks={"cog": {"blocksize": 512}}))
    result = process(
        env.intake.receive(),
        store=env.store,
        payload_store=env.payloads,
        runner=env.runner,
        intake=env.intake,
        check=check,
    )
    assert result.started == ["sentinel-2/workflow-cog/S2A_2"]
    assert [r.payload_id for r in result.invalid] == [PID]
    rec = env.store.get(PID)
    assert rec.state is State.INVALID
    assert rec.last_error == "PayloadError: process.tasks.cog.blocksize 16 is less than 64"
    dead = env.intake.dead_letters()
    assert len(dead) == 1 and json.loads(dead[0].body)["process"]["tasks"]["cog"]["blocksize"] == 16
    assert not env.payloads.exists(f"{PID}/input.json")


def test_invalid_payload_never_overwrites_a_running_one(env: Env) -> None:
    env.run(make_payload())
    bad = make_payload()
    bad["id"] = PID
    bad["features"] = "nope"
    result = env.run(bad)
    assert result.invalid and env.state() is State.PROCESSING


def test_not_json_message_goes_to_the_dead_letters_whole(env: Env) -> None:
    env.intake.send(b"{not json")
    result = env.run(*env.intake.receive(), use_intake=True)
    assert result.invalid[0].payload_id is None
    assert "not JSON" in result.invalid[0].error
    dead = env.intake.dead_letters()
    assert dead[0].body == b"{not json"
    assert env.intake.counts().dead == 1 and env.intake.counts().in_flight == 0


def test_mixed_batch_settles_each_message(env: Env) -> None:
    bad = make_payload("bad")
    bad["process"] = "not a block"
    env.intake.send_batch([orjson.dumps(make_payload("good")), orjson.dumps(bad)])
    result = env.run(*env.intake.receive(), use_intake=True)
    assert result.started == ["sentinel-2/workflow-cog/good"]
    assert len(result.invalid) == 1
    counts = env.intake.counts()
    assert (counts.visible, counts.in_flight, counts.dead) == (0, 0, 1)


def test_skipped_and_failed_messages_are_deleted_too(env: Env) -> None:
    env.run(make_payload("a"))
    env.intake.send_batch(
        [orjson.dumps(make_payload("a")), orjson.dumps(make_payload("b", workflow="x"))]
    )
    result = env.run(*env.intake.receive(), use_intake=True)
    assert result.skipped and result.failed
    assert env.intake.counts().to_dict() == {"visible": 0, "in_flight": 0, "delayed": 0, "dead": 0}


def test_input_store_failure_fails_the_record_and_retries_the_message(env: Env) -> None:
    class BrokenStore:
        def put_bytes(self, key: str, data: bytes) -> str:
            raise OSError("disk full")

    env.intake.send(make_payload())
    result = process(
        env.intake.receive(),
        store=env.store,
        payload_store=BrokenStore(),
        runner=env.runner,
        intake=env.intake,
    )
    assert result.failed == [PID] and env.runner.started == []
    assert env.store.get(PID).last_error == "failed storing input (OSError: disk full)"
    # given back for another try, after a backoff (not at once: that burns every receive)
    assert env.intake.counts().delayed == 1 and env.intake.receive() == []
    env.clock.advance(2)
    again = env.run(*env.intake.receive(), use_intake=True)
    assert again.started == [PID]
    assert env.intake.receive() == []


def test_messages_without_intake_are_left_alone(env: Env) -> None:
    env.intake.send(make_payload())
    msgs = env.intake.receive()
    env.run(*msgs)  # no intake given: nothing deleted
    assert env.intake.counts().in_flight == 1


def test_derive_id() -> None:
    assert derive_id(make_payload()) == PID
    assert derive_id({"id": "c/workflow-w/i"}) == "c/workflow-w/i"
    assert derive_id({"id": "nonsense"}) is None
    assert (
        derive_id(
            {
                "process": [{"workflow": "w", "collections": "x"}],
                "features": [{"id": "b"}, {"id": "a"}],
            }
        )
        == "x/workflow-w/a/b"
    )
    assert derive_id([1]) is None
    assert derive_id({"process": {"workflow": "w"}, "features": [{"id": 3}]}) is None


# --- a process killed between claim and start -----------------------------------------


class HangingRunner:
    def __init__(self, signal_path: str) -> None:
        self.signal_path = signal_path

    def start(self, payload: Payload, execution_id: str) -> None:
        Path(self.signal_path).write_text(execution_id)
        time.sleep(60)  # killed here


def _doomed(db: str, intake_db: str, payloads: str, signal_path: str) -> None:
    store = SqliteStateStore(db, lease_seconds=30)
    intake = SqliteIntakeQueue(intake_db, visibility_timeout=30)
    process(
        intake.receive(),
        store=store,
        payload_store=LocalStore(payloads),
        runner=HangingRunner(signal_path),
        intake=intake,
    )


def test_kill_9_between_claim_and_start_leaves_nothing_stuck(tmp_path: Path) -> None:
    db, intake_db = str(tmp_path / "state.db"), str(tmp_path / "intake.db")
    payloads, flag = str(tmp_path / "payloads"), tmp_path / "started"
    with SqliteIntakeQueue(intake_db) as q:
        q.send(make_payload())
    ctx = multiprocessing.get_context("fork")
    child = ctx.Process(target=_doomed, args=(db, intake_db, payloads, str(flag)))
    child.start()
    deadline = time.monotonic() + 30
    while not flag.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert flag.exists()
    os.kill(child.pid, signal.SIGKILL)
    child.join()

    later = datetime.now(UTC) + timedelta(seconds=31)  # both leases have passed
    store = SqliteStateStore(db, now=lambda: later)
    intake = SqliteIntakeQueue(intake_db, now=lambda: later)
    rec = store.get(PID)
    assert rec.state is State.CLAIMED and rec.execution_id == flag.read_text()
    runner = FakeRunner()
    result = process(
        intake.receive(),
        store=store,
        payload_store=LocalStore(payloads),
        runner=runner,
        intake=intake,
    )
    assert result.started == [PID]
    rec = store.get(PID)
    assert rec.state is State.PROCESSING
    assert [e.status for e in rec.executions] == ["LEASE_EXPIRED", "RUNNING"]
    assert intake.counts().to_dict() == {"visible": 0, "in_flight": 0, "delayed": 0, "dead": 0}
    store.close()
    intake.close()


def test_expired_claims_can_be_released_to_failed(env: Env) -> None:
    env.store.claim(PID, "dead-process")
    env.clock.advance(61)
    assert [o.payload_id for o in env.store.release_expired()] == [PID]
    assert env.state() is State.FAILED
    assert env.store.query(state="FAILED", error_prefix="LeaseExpired").items[0].payload_id == PID


def test_payload_dicts_are_not_modified(env: Env) -> None:
    p = make_payload()
    before = copy.deepcopy(p)
    env.run(p)
    assert p == before


def test_process_through_the_group_commit_writer(env: Env) -> None:
    from cirrostratus.state import GroupCommitWriter

    with GroupCommitWriter(env.store) as writer:
        result = process(
            [make_payload("a"), make_payload("b")],
            store=env.store,
            payload_store=env.payloads,
            runner=env.runner,
            apply=lambda ts: writer.submit_many(ts).result(),
        )
        assert writer.commits == 2  # claims, then starts
    assert len(result.started) == 2
    assert env.store.counts()["PROCESSING"] == 2


def test_empty_batch(env: Env) -> None:
    assert env.run().to_dict() == {
        "started": [],
        "skipped": [],
        "dropped": [],
        "failed": [],
        "invalid": [],
    }


def test_an_invalid_twin_does_not_block_the_valid_payload(env: Env) -> None:
    bad = make_payload()
    bad["id"] = PID
    bad["features"] = "nope"
    result = env.run(bad, make_payload())
    assert result.started == [PID] and len(result.invalid) == 1
    assert env.state() is State.PROCESSING


def test_input_store_failures_back_off_before_the_dead_letters() -> None:
    from cirrostratus.engine.process import process_retry_delay

    delays = [process_retry_delay(n) for n in range(1, 6)]
    assert delays == sorted(delays) and delays[0] >= 1 and sum(delays[:4]) >= 30
    assert max(process_retry_delay(n) for n in range(1, 50)) <= 60
