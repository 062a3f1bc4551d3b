"""The update rules against SQLite: Cirrus's test_update_state scenarios and more."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cirrostratus.engine.notify import JsonLinesNotifier
from cirrostratus.engine.update import (
    Finished,
    error_message,
    is_invalid_input,
    output_urls,
    update,
)
from cirrostratus.intake import SqliteIntakeQueue
from cirrostratus.state import SqliteStateStore, State
from cirrostratus.storage import LocalStore

PID = "sentinel-2/workflow-cog/S2A_1"


def item(iid: str = "S2A_1", href: str | None = None) -> dict[str, Any]:
    links = [{"rel": "self", "href": href}] if href else []
    return {
        "type": "Feature",
        "id": iid,
        "collection": "sentinel-2-cogs",
        "properties": {},
        "links": [{"rel": "root", "href": "x"}, *links],
    }


def output(process: Any = None, features: list | None = None) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "id": PID,
        "features": features if features is not None else [item(href="s3://data/S2A_1.json")],
        "process": process or {"workflow": "cog", "upload_options": {}},
    }


@dataclass
class Env:
    store: SqliteStateStore
    intake: SqliteIntakeQueue
    payloads: LocalStore
    notifier: JsonLinesNotifier
    ex: str = "ex-1"

    def finish(self, status: str, **kw: Any):
        kw.setdefault("execution_id", self.ex)
        results = update(
            [Finished(PID, status=status, **kw)],
            store=self.store,
            payload_store=self.payloads,
            intake=self.intake,
            notifier=self.notifier,
        )
        return results[0]


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    store = SqliteStateStore(tmp_path / "state.db")
    intake = SqliteIntakeQueue(tmp_path / "intake.db")
    e = Env(store, intake, LocalStore(tmp_path / "payloads"), JsonLinesNotifier(tmp_path / "n"))
    store.claim_and_start(PID, e.ex)
    yield e
    store.close()
    intake.close()


def test_succeeded_completes_with_self_links_and_stores_the_output(env: Env) -> None:
    r = env.finish("SUCCEEDED", output=output())
    assert r.applied and r.state is State.COMPLETED
    rec = env.store.get(PID)
    assert rec.state is State.COMPLETED and rec.outputs == ("s3://data/S2A_1.json",)
    assert rec.executions[-1].status == "SUCCEEDED"
    assert json.loads(env.payloads.get_bytes(f"{PID}/output.json"))["id"] == PID
    published = env.notifier.read("published")
    assert [n["message"]["id"] for n in published] == ["S2A_1"]
    assert published[0]["attributes"] == {
        "collection": "sentinel-2-cogs",
        "payload_id": PID,
        "payload_dir": PID,  # an ordinary id is its own folder
    }


def test_published_urls_win_over_self_links(env: Env) -> None:
    env.finish("SUCCEEDED", output=output(), published=["file:///data/a.json"])
    assert env.store.get(PID).outputs == ("file:///data/a.json",)


def test_succeeded_without_output(env: Env) -> None:
    r = env.finish("SUCCEEDED")
    assert r.state is State.COMPLETED and r.outputs == [] and r.next_payloads == []


def test_chained_payloads_go_to_intake(env: Env) -> None:
    chain = [
        {"workflow": "cog", "upload_options": {}},
        [
            {"workflow": "publish", "upload_options": {}},
            {"workflow": "thumbnail", "upload_options": {}},
        ],
    ]
    r = env.finish("SUCCEEDED", output=output(chain))
    assert r.next_payloads == [
        "sentinel-2-cogs/workflow-publish/S2A_1",
        "sentinel-2-cogs/workflow-thumbnail/S2A_1",
    ]
    # waiting in the intake under their own ids: `cirro payload state` shows them QUEUED
    assert set(env.intake.waiting(r.next_payloads)) == set(r.next_payloads)
    sent = [m.json() for m in env.intake.receive(10)]
    assert [p["process"][0]["workflow"] for p in sent] == ["publish", "thumbnail"]


def test_large_chained_payload_travels_by_url(env: Env) -> None:
    chain = [
        {"workflow": "cog", "upload_options": {}},
        {"workflow": "publish", "upload_options": {}},
    ]
    big = item(href="s3://x")
    big["properties"]["blob"] = "x" * 200_000
    env.finish("SUCCEEDED", output=output(chain, [big]))
    body = env.intake.receive()[0].json()
    assert set(body) == {"url"}
    stored = json.loads(env.payloads.get_bytes(body["url"]))
    assert stored["id"] == "sentinel-2-cogs/workflow-publish/S2A_1"


def test_chain_without_intake_is_a_warning(env: Env) -> None:
    chain = [
        {"workflow": "cog", "upload_options": {}},
        {"workflow": "publish", "upload_options": {}},
    ]
    [r] = update(
        [Finished(PID, env.ex, "SUCCEEDED", output=output(chain))],
        store=env.store,
        payload_store=env.payloads,
    )
    assert r.state is State.COMPLETED and "no intake" in r.warnings[0]


def test_invalid_output_payload_still_completes(env: Env) -> None:
    r = env.finish("SUCCEEDED", output={"features": [item(href="s3://a")], "process": 7})
    assert r.state is State.COMPLETED and r.outputs == ["s3://a"]
    assert "not valid" in r.warnings[0]


@pytest.mark.parametrize(
    ("error", "cause", "state", "recorded"),
    [
        (
            "ValueError",
            '{"errorMessage": "bad band", "errorType": "ValueError"}',
            State.FAILED,
            "ValueError: bad band",
        ),
        ("InvalidInput", '{"errorMessage": "no assets"}', State.INVALID, "InvalidInput: no assets"),
        (
            "stactask.exceptions.InvalidInput",
            "plain text",
            State.INVALID,
            "stactask.exceptions.InvalidInput: plain text",
        ),
        (
            "mytasks.errors.InvalidInput",
            None,
            State.INVALID,
            "mytasks.errors.InvalidInput: unknown",
        ),
        ("States.TaskFailed", '{"other": 1}', State.FAILED, "States.TaskFailed: unknown"),
        (None, None, State.FAILED, "Unknown: unknown"),
        ("NotInvalidInputError", "x", State.FAILED, "NotInvalidInputError: x"),
    ],
)
def test_failed_classification(env: Env, error, cause, state, recorded) -> None:
    r = env.finish("FAILED", error=error, cause=cause)
    assert r.state is state and r.error == recorded
    rec = env.store.get(PID)
    assert rec.state is state and rec.last_error == recorded
    topic = "invalid" if state is State.INVALID else "failed"
    [note] = env.notifier.read(topic)
    assert note["message"]["payload_id"] == PID and note["message"]["state"] == state.value
    assert note["attributes"] == {"error": recorded, "collections": "sentinel-2", "workflow": "cog"}


def test_timed_out_is_failed(env: Env) -> None:
    r = env.finish("TIMED_OUT")
    assert r.state is State.FAILED and r.error == "TimedOutError: The execution timed out."
    assert env.store.get(PID).executions[-1].status == "TIMED_OUT"
    r2 = update(
        [Finished("c/workflow-w/x", None, "TIMED_OUT", cause="States.Timeout after 30 s")],
        store=env.store,
        payload_store=env.payloads,
    )[0]
    assert r2.error == "TimedOutError: States.Timeout after 30 s"


def test_aborted(env: Env) -> None:
    r = env.finish("ABORTED")
    assert r.state is State.ABORTED and r.error is None
    assert env.store.get(PID).executions[-1].status == "ABORTED"
    assert env.notifier.read("failed") == []


def test_late_result_of_an_old_execution_changes_nothing(env: Env) -> None:
    env.finish("FAILED", error="X", cause="y")
    env.store.claim_and_start(PID, "ex-2")
    r = env.finish("SUCCEEDED", output=output(), execution_id="ex-1")
    assert not r.applied and "stale" in (r.reason or "")
    assert env.store.get(PID).state is State.PROCESSING
    assert not env.payloads.exists(f"{PID}/output.json")
    assert env.notifier.read("published") == []


def test_unknown_status_is_refused(env: Env) -> None:
    with pytest.raises(ValueError, match="SUCCEEDED, FAILED, TIMED_OUT, ABORTED"):
        env.finish("RUNNING")


def test_notifier_failure_does_not_undo_the_update(env: Env) -> None:
    class Broken:
        def publish(self, topic, message, attributes=None):
            raise OSError("no route")

    [r] = update(
        [Finished(PID, env.ex, "FAILED", error="E", cause="c")],
        store=env.store,
        payload_store=env.payloads,
        notifier=Broken(),
    )
    assert r.state is State.FAILED and "no route" in r.warnings[0]


def test_batch_of_updates_is_one_call(env: Env) -> None:
    ids = [f"c/workflow-w/{i}" for i in range(20)]
    for i in ids:
        env.store.claim_and_start(i, "e")
    results = update(
        [Finished(i, "e", "SUCCEEDED" if n % 2 else "ABORTED") for n, i in enumerate(ids)],
        store=env.store,
        payload_store=env.payloads,
    )
    assert [r.state for r in results] == [State.ABORTED, State.COMPLETED] * 10


def test_helpers() -> None:
    assert is_invalid_input("InvalidInput") and not is_invalid_input(None)
    assert error_message("E", '"just a string"') == 'E: "just a string"'
    assert output_urls({"features": [item(href="a"), item(), "junk"]}, None) == ["a"]


def test_eventbridge_events(env: Env) -> None:
    from cirrostratus.engine.update import finished_from_event
    from cirrostratus.payload import PayloadError

    detail = {
        "executionArn": "arn:aws:states:us-west-2:1:execution:stack-cog:ex-1",
        "status": "SUCCEEDED",
        "input": json.dumps(output()),
        "output": json.dumps(output()),
    }
    f = finished_from_event({"detail": detail})
    assert (f.payload_id, f.status, f.execution_id) == (PID, "SUCCEEDED", detail["executionArn"])
    assert f.output is not None and f.output["id"] == PID
    url = env.payloads.put_bytes("in.json", json.dumps(output()).encode())
    failed = {**detail, "status": "FAILED", "input": json.dumps({"url": url}), "output": None}
    failed.update(error="InvalidInput", cause='{"errorMessage": "no"}')
    f = finished_from_event({"detail": failed})
    assert (f.payload_id, f.error, f.output) == (PID, "InvalidInput", None)
    with pytest.raises(PayloadError, match=r"detail\.status"):
        finished_from_event({})
    with pytest.raises(PayloadError, match="not valid JSON"):
        finished_from_event({"detail": {"status": "FAILED", "input": "{"}})


def test_updates_through_the_group_commit_writer(env: Env) -> None:
    from cirrostratus.state import GroupCommitWriter

    with GroupCommitWriter(env.store) as writer:
        [r] = update(
            [Finished(PID, env.ex, "SUCCEEDED", output=output())],
            store=env.store,
            payload_store=env.payloads,
            apply=lambda ts: writer.submit_many(ts).result(),
        )
    assert r.state is State.COMPLETED and env.store.get(PID).state is State.COMPLETED
