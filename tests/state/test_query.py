"""Queries, counts and stats over the state store."""

from __future__ import annotations

import pytest

from cirrostratus.state import SqliteStateStore, State, StateStoreError, parse_since


def fill(store: SqliteStateStore, clock) -> None:
    """Six records, one minute apart, in two collections/workflows and several states."""
    plan = [
        ("s2/workflow-cog/a", State.COMPLETED, None),
        ("s2/workflow-cog/b", State.FAILED, "ValueError: bad band"),
        ("s2/workflow-cog/c", State.FAILED, "TimedOutError: too slow"),
        ("s2/workflow-cog/d", State.INVALID, "InvalidInput: no assets"),
        ("l8/workflow-cog/e", State.PROCESSING, None),
        ("s2/workflow-publish/f", State.COMPLETED, None),
    ]
    for payload_id, state, error in plan:
        clock.advance(60)
        store.claim_and_start(payload_id, "e")
        if state is State.COMPLETED:
            store.complete(payload_id, "e")
        elif state is State.FAILED:
            store.fail(payload_id, error, "e")
        elif state is State.INVALID:
            store.invalidate(payload_id, error, "e")


def ids(page) -> list[str]:
    return [r.payload_id for r in page.items]


def test_filters(store, clock) -> None:
    fill(store, clock)
    assert ids(store.query(collections="s2", workflow="cog", ascending=True)) == [
        "s2/workflow-cog/a",
        "s2/workflow-cog/b",
        "s2/workflow-cog/c",
        "s2/workflow-cog/d",
    ]
    assert ids(store.query(state="FAILED")) == ["s2/workflow-cog/c", "s2/workflow-cog/b"]
    assert ids(store.query(error_prefix="TimedOut")) == ["s2/workflow-cog/c"]
    assert ids(store.query(error_prefix="timedout")) == []  # case-sensitive, as begins_with
    assert ids(store.query(workflow="publish")) == ["s2/workflow-publish/f"]


def test_since_uses_updated_or_the_state_change(store, clock) -> None:
    fill(store, clock)
    clock.advance(60)
    assert ids(store.query(since="1m")) == ["s2/workflow-publish/f"]
    assert len(store.query(since="1h").items) == 6
    # b failed 5 minutes before "now"; touching it again (fail → fail) keeps its state_changed
    store.fail("s2/workflow-cog/b", "ValueError: again")
    assert "s2/workflow-cog/b" in ids(store.query(since="1m"))
    assert ids(store.query(state="FAILED", since="1m")) == []
    assert set(ids(store.query(state="FAILED", since="5m"))) == {
        "s2/workflow-cog/b",
        "s2/workflow-cog/c",
    }


def test_sort_by_state_change(store, clock) -> None:
    fill(store, clock)
    clock.advance(60)
    store.fail("s2/workflow-cog/b", "X: y")  # updated now, state unchanged
    by_updated = ids(store.query(sort="updated", limit=1))
    by_change = ids(store.query(sort="state_changed", limit=1))
    assert by_updated == ["s2/workflow-cog/b"]
    assert by_change == ["s2/workflow-publish/f"]


def test_pages_cover_everything_once_in_both_directions(store, clock) -> None:
    for i in range(25):
        if i % 3 == 0:
            clock.advance(1)  # some share a timestamp: the payload id breaks the tie
        store.claim_and_start(f"c/workflow-w/{i:03d}", "e")
    for ascending in (True, False):
        seen: list[str] = []
        nextkey = None
        while True:
            page = store.query(limit=4, ascending=ascending, nextkey=nextkey)
            seen += ids(page)
            nextkey = page.nextkey
            if nextkey is None:
                break
        expected = sorted(seen, key=lambda p: (store.get(p).updated, p), reverse=not ascending)
        assert seen == expected and len(set(seen)) == 25


def test_last_page_has_no_nextkey(store, clock) -> None:
    fill(store, clock)
    page = store.query(limit=6)
    assert len(page.items) == 6 and page.nextkey is None
    assert list(store.iter_query(limit=2)) == page.items


def test_bad_arguments_name_the_fix(store) -> None:
    with pytest.raises(StateStoreError, match="use one of"):
        store.query(state="DONE")
    with pytest.raises(StateStoreError, match="10m, 8h, 2d, 1w"):
        store.query(since="3y")
    with pytest.raises(StateStoreError, match="sort"):
        store.query(sort="created")
    with pytest.raises(StateStoreError, match="nextkey"):
        store.query(nextkey="garbage!")
    store.claim_and_start("c/workflow-w/1", "e")
    store.claim_and_start("c/workflow-w/2", "e")
    key = store.query(limit=1).nextkey
    with pytest.raises(StateStoreError, match="sort order"):
        store.query(limit=1, nextkey=key, ascending=True)


def test_parse_since() -> None:
    assert parse_since("10m").total_seconds() == 600
    assert parse_since("8h").total_seconds() == 8 * 3600
    assert parse_since("2d").days == 2
    assert parse_since("1w").days == 7


def test_counts(store, clock) -> None:
    fill(store, clock)
    assert store.counts() == {
        "CLAIMED": 0,
        "PROCESSING": 1,
        "COMPLETED": 2,
        "FAILED": 2,
        "INVALID": 1,
        "ABORTED": 0,
    }
    assert store.counts(collections="s2", workflow="cog", limit=1) == {
        "CLAIMED": 0,
        "PROCESSING": 0,
        "COMPLETED": 1,
        "FAILED": "1+",
        "INVALID": 1,
        "ABORTED": 0,
    }
    assert store.counts(error_prefix="InvalidInput")["INVALID"] == 1
    clock.advance(60)
    assert sum(v for v in store.counts(since="1m").values() if isinstance(v, int)) == 1


def test_stats_shape_and_counts(store, clock) -> None:
    fill(store, clock)
    clock.advance(days=1)
    store.claim_and_start("s2/workflow-cog/a", "again", replace=True)
    store.claim_and_start("s2/workflow-cog/b", "again")
    stats = store.stats()["state_transitions"]
    daily, hourly, rolling = stats["daily"], stats["hourly"], stats["hourly_rolling"]
    assert len(daily) == 60 and len(hourly) == 36 and len(rolling) == 2
    assert daily[-1]["period"] == "2026-11-26" and daily[-1]["interval"] == "day"
    assert hourly[-1]["period"] == "2026-11-26T12:00:00Z" and hourly[-1]["interval"] == "hour"
    assert [s["state"] for s in daily[-1]["states"]] == [s.value for s in State]
    today = {s["state"]: (s["count"], s["unique_count"]) for s in daily[-1]["states"]}
    assert today["PROCESSING"] == (2, 2)
    yesterday = {s["state"]: (s["count"], s["unique_count"]) for s in daily[-2]["states"]}
    assert yesterday["PROCESSING"] == (6, 6)
    assert yesterday["FAILED"] == (2, 2)
    assert rolling[1]["period"] == "2026-11-26T11:06:00Z"  # the hour up to now (12:06)
    assert rolling[0]["period"] == "2026-11-26T10:06:00Z"
    last_hour = {s["state"]: s["count"] for s in rolling[1]["states"]}
    assert last_hour["PROCESSING"] == 2 and sum(last_hour.values()) == 2
    assert all(s["count"] == 0 for s in rolling[0]["states"])
    clock.advance(3600 + 1)  # an hour on, the transitions moved to the earlier window
    rolled = store.stats()["state_transitions"]["hourly_rolling"]
    assert {s["state"]: s["count"] for s in rolled[0]["states"]}["PROCESSING"] == 2


def test_a_long_id_keeps_the_nextkey_short(store, clock) -> None:
    """A payload of 10,000 items has an id of hundreds of KB; its nextkey stays small enough
    for one shell argument, and paging past it still lists everything once, in order."""
    long_ids = [
        f"c/workflow-w/{tag}/" + "/".join(f"item-{i:05d}" for i in range(10_000)) for tag in "ab"
    ]
    plain = ["c/workflow-w/x", "c/workflow-w/y"]
    for payload_id in [*long_ids, *plain]:
        store.claim_and_start(payload_id, "e")  # one timestamp: ids break every tie
    for ascending in (True, False):
        seen: list[str] = []
        nextkey = None
        while True:
            page = store.query(limit=1, ascending=ascending, nextkey=nextkey)
            seen += ids(page)
            nextkey = page.nextkey
            if nextkey is None:
                break
            assert len(nextkey) < 1_000
        assert seen == sorted([*long_ids, *plain], reverse=not ascending)


def test_a_nextkey_after_a_deleted_long_id_says_to_start_again(store, clock) -> None:
    long_id = "c/workflow-w/" + "/".join(f"item-{i:05d}" for i in range(1_000))
    for payload_id in (long_id, "c/workflow-w/a"):
        clock.advance(1)
        store.claim_and_start(payload_id, "e")
    page = store.query(limit=1, ascending=True)
    assert ids(page) == [long_id]
    store.delete(long_id)
    with pytest.raises(StateStoreError, match="start the listing again"):
        store.query(limit=1, ascending=True, nextkey=page.nextkey)
