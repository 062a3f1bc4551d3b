"""The state matrix: which transitions apply from which state, and what they record."""

from __future__ import annotations

import pytest

from cirrostratus.state import Action, SqliteStateStore, State, StateStoreError, Transition

PID = "sentinel-2/workflow-cog/item-1"


def run_to(store: SqliteStateStore, state: State, ex: str = "e0") -> None:
    """Bring PID to `state` through the normal path."""
    assert store.claim_and_start(PID, ex, replace=True).applied
    if state is State.PROCESSING:
        return
    if state is State.COMPLETED:
        store.complete(PID, ex, ["file:///out.json"])
    elif state is State.FAILED:
        store.fail(PID, "ValueError: boom", ex)
    elif state is State.INVALID:
        store.invalidate(PID, "InvalidInput: bad", ex)
    elif state is State.ABORTED:
        store.abort(PID, ex)
    assert store.get(PID).state is state


def test_claim_absent_creates_a_claimed_record(store: SqliteStateStore, clock) -> None:
    out = store.claim(PID, "e1")
    assert (out.applied, out.previous, out.state) == (True, None, State.CLAIMED)
    rec = store.get(PID)
    assert rec is not None
    assert (rec.collections, rec.workflow, rec.itemids) == ("sentinel-2", "cog", "item-1")
    assert rec.executions[0].id == "e1" and rec.executions[0].status == "PENDING"
    assert rec.lease_until is not None and rec.lease_until > rec.updated


@pytest.mark.parametrize(
    ("state", "replace", "starts"),
    [
        (State.FAILED, False, True),
        (State.ABORTED, False, True),
        (State.COMPLETED, False, False),
        (State.COMPLETED, True, True),
        (State.INVALID, False, False),
        (State.INVALID, True, True),
        (State.PROCESSING, False, False),
        (State.PROCESSING, True, False),
    ],
)
def test_claim_matrix(store: SqliteStateStore, state: State, replace: bool, starts: bool) -> None:
    run_to(store, state)
    out = store.claim_and_start(PID, "e2", replace=replace)
    assert out.applied is starts
    assert out.previous is state
    assert store.get(PID).state is (State.PROCESSING if starts else state)
    if not starts:
        assert out.reason


def test_claimed_blocks_other_claims_until_the_lease_ends(store, clock) -> None:
    assert store.claim(PID, "e1").applied
    for replace in (False, True):
        out = store.claim(PID, "e2", replace=replace)
        assert not out.applied and "CLAIMED" in (out.reason or "")
    clock.advance(59)
    assert not store.claim(PID, "e2").applied
    clock.advance(1)
    out = store.claim(PID, "e2")
    assert out.applied and out.previous is State.CLAIMED
    rec = store.get(PID)
    assert [(e.id, e.status) for e in rec.executions] == [
        ("e1", "LEASE_EXPIRED"),
        ("e2", "PENDING"),
    ]
    # the first claimer comes back too late: its start is refused
    assert not store.start(PID, "e1").applied
    assert store.start(PID, "e2").applied


def test_start_needs_the_claiming_execution(store) -> None:
    assert not store.start(PID, "e1").applied  # absent
    store.claim(PID, "e1")
    assert not store.start(PID, "other").applied
    out = store.start(PID, "e1")
    assert out.applied and out.state is State.PROCESSING
    rec = store.get(PID)
    assert rec.lease_until is None
    assert rec.executions[-1].status == "RUNNING" and rec.executions[-1].start is not None
    assert not store.start(PID, "e1").applied  # already PROCESSING


def test_finish_with_execution_records_status_and_outputs(store) -> None:
    store.claim_and_start(PID, "e1")
    out = store.complete(PID, "e1", ["s3://b/x.json"])
    assert out.applied and out.state is State.COMPLETED
    rec = store.get(PID)
    assert rec.outputs == ("s3://b/x.json",)
    assert rec.executions[-1].status == "SUCCEEDED" and rec.executions[-1].end is not None


def test_late_answer_from_an_old_execution_is_refused(store) -> None:
    store.claim_and_start(PID, "e1")
    store.fail(PID, "Boom: x", "e1")
    store.claim_and_start(PID, "e2")
    out = store.complete(PID, "e1")
    assert not out.applied and "stale" in (out.reason or "")
    assert store.get(PID).state is State.PROCESSING


def test_finish_after_finish_with_same_execution_is_refused(store) -> None:
    store.claim_and_start(PID, "e1")
    assert store.complete(PID, "e1").applied
    assert not store.fail(PID, "X: y", "e1").applied
    assert store.get(PID).state is State.COMPLETED


def test_failed_start_from_claimed(store) -> None:
    store.claim(PID, "e1")
    out = store.fail(PID, "StateMachineDoesNotExist: no workflow nope", "e1")
    assert out.applied and out.previous is State.CLAIMED
    rec = store.get(PID)
    assert rec.last_error.startswith("StateMachineDoesNotExist")
    assert rec.executions[-1].status == "FAILED"


def test_forced_finish_without_execution(store) -> None:
    out = store.invalidate(PID, "PayloadError: process.workflow is required")
    assert out.applied and out.previous is None and out.state is State.INVALID
    store.claim_and_start(PID, "e1", replace=True)
    # busy records are never overwritten without their execution id
    assert not store.invalidate(PID, "PayloadError: x").applied
    assert not store.abort(PID).applied
    assert store.abort(PID, "e1").applied
    assert store.fail(PID, "Operator: gave up").applied  # not busy any more


def test_last_error_is_kept_until_replaced(store) -> None:
    store.claim_and_start(PID, "e1")
    store.fail(PID, "A: first", "e1")
    store.claim_and_start(PID, "e2")
    store.complete(PID, "e2")
    assert store.get(PID).last_error == "A: first"  # as Cirrus: never cleared


def test_release_expired_turns_dead_claims_into_failed(store, clock) -> None:
    other = "sentinel-2/workflow-cog/item-2"
    store.claim(PID, "e1")
    store.claim(other, "e2", lease_seconds=3600)
    assert store.release_expired() == []
    clock.advance(61)
    released = store.release_expired()
    assert [o.payload_id for o in released] == [PID]
    rec = store.get(PID)
    assert rec.state is State.FAILED and rec.last_error.startswith("LeaseExpired: execution e1")
    assert store.get(other).state is State.CLAIMED
    assert store.claim_and_start(PID, "e3").applied


def test_delete_logs_and_forgets(store) -> None:
    store.claim_and_start(PID, "e1")
    assert store.delete(PID).applied
    assert store.get(PID) is None
    assert not store.delete(PID).applied
    assert store.events(PID)[-1].to_state is None


def test_events_follow_every_applied_transition(store) -> None:
    store.claim(PID, "e1")
    store.start(PID, "e1")
    store.start(PID, "e1")  # refused: no event
    store.complete(PID, "e1")
    events = store.events(PID)
    assert [(e.from_state, e.to_state, e.execution_id) for e in events] == [
        (None, State.CLAIMED, "e1"),
        (State.CLAIMED, State.PROCESSING, "e1"),
        (State.PROCESSING, State.COMPLETED, "e1"),
    ]
    assert [e.seq for e in events] == sorted(e.seq for e in events)


def test_one_batch_runs_in_order_for_the_same_id(store) -> None:
    outcomes = store.apply(
        [
            Transition.claim(PID, "e1"),
            Transition.claim(PID, "e2"),
            Transition.start(PID, "e1"),
            Transition.complete(PID, "e1", ["u"]),
        ]
    )
    assert [o.applied for o in outcomes] == [True, False, True, True]
    assert store.get(PID).state is State.COMPLETED
    assert len(store.events(PID)) == 3


def test_malformed_transitions_are_refused_before_anything_is_written(store) -> None:
    with pytest.raises(StateStoreError, match="workflow-"):
        store.apply([Transition.claim(PID, "e1"), Transition.claim("no-workflow-part", "e2")])
    with pytest.raises(StateStoreError, match="execution id"):
        store.apply([Transition(Action.CLAIM, PID)])
    assert store.get(PID) is None


def test_record_to_dict_is_the_api_shape(store) -> None:
    store.claim_and_start(PID, "e1")
    d = store.get(PID).to_dict()
    assert d["payload_id"] == PID and d["items"] == "item-1" and d["state"] == "PROCESSING"
    assert d["executions"][0]["id"] == "e1"
    assert set(d) >= {"created", "updated", "outputs", "last_error", "collections", "workflow"}


def test_ids_without_items_and_with_slashes(store) -> None:
    ids = ["c1/c2/workflow-w/a/b", "none/workflow-w2"]
    for i in ids:
        store.claim_and_start(i, "e")
    a = store.get(ids[0])
    assert (a.collections, a.workflow, a.itemids) == ("c1/c2", "w", "a/b")
    b = store.get(ids[1])
    assert (b.collections, b.workflow, b.itemids) == ("none", "w2", "")
    assert store.get_states([*ids, "x/workflow-y/z"]) == dict.fromkeys(ids, State.PROCESSING)


def test_sqlite_store_is_a_state_store(store: SqliteStateStore) -> None:
    from cirrostratus.state import StateStore

    assert isinstance(store, StateStore)


def test_delete_and_recreate_in_one_batch(store: SqliteStateStore, clock) -> None:
    store.claim_and_start(PID, "e1")
    clock.advance(10)
    outcomes = store.apply([Transition.delete(PID), Transition.claim(PID, "e2")])
    assert [o.applied for o in outcomes] == [True, True]
    rec = store.get(PID)
    assert rec.state is State.CLAIMED and rec.created == rec.updated
    assert [e.id for e in rec.executions] == ["e2"]
