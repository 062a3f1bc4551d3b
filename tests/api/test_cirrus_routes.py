"""Cirrus's routes and response shapes, field by field (reference/cirrus.md §4.4)."""

from __future__ import annotations

from typing import Any

import pytest

from cirrostratus.state import STATES

STATE_NAMES = [str(s) for s in STATES]
CRASH = "test-collection/workflow-crash/c1"


def test_root_links_every_workflow_then_stac(client: Any) -> None:
    body = client.get("/").json()
    assert body["id"] == "enginetest-state-api"
    assert body["description"] == "enginetest State API"
    links = body["links"]
    assert links[0] == {
        "title": "home",
        "rel": "self",
        "type": "application/json",
        "href": "http://testserver/",
    }
    children = [(link["title"], link["href"]) for link in links if link["rel"] == "child"]
    assert children == [
        (f"test-collection - {wf}", f"http://testserver/test-collection/workflow-{wf}")
        for wf in ("crash", "flaky", "mirror")
    ]
    assert links[-1]["rel"] == "stac" and links[-1]["href"].endswith("/catalog.json")
    assert all(set(link) == {"title", "rel", "type", "href"} for link in links)


def test_stats_bins_and_zero_filled_states(client: Any) -> None:
    transitions = client.get("/stats").json()["state_transitions"]
    assert len(transitions["daily"]) == 60
    assert len(transitions["hourly"]) == 36
    assert len(transitions["hourly_rolling"]) == 2
    for name, interval in (("daily", "day"), ("hourly", "hour"), ("hourly_rolling", "hour")):
        for b in transitions[name]:
            assert set(b) == {"period", "interval", "states"}
            assert b["interval"] == interval
            assert [s["state"] for s in b["states"]] == STATE_NAMES
            assert all(set(s) == {"state", "unique_count", "count"} for s in b["states"])
    assert len(transitions["daily"][0]["period"]) == 10  # YYYY-MM-DD
    assert transitions["hourly"][0]["period"].endswith(":00:00Z")
    today = transitions["daily"][-1]["states"]
    failed = next(s for s in today if s["state"] == "FAILED")
    assert failed == {"state": "FAILED", "unique_count": 1, "count": 1}


def test_summary_counts_every_state_and_n_plus(client: Any) -> None:
    body = client.get("/test-collection/workflow-mirror").json()
    assert body == {
        "collections": "test-collection",
        "workflow": "mirror",
        "counts": {s: (2 if s == "COMPLETED" else 0) for s in STATE_NAMES},
    }
    limited = client.get("/test-collection/workflow-mirror?limit=1").json()
    assert limited["counts"]["COMPLETED"] == "1+"
    assert client.get("/test-collection/workflow-mirror?since=1h").json() == body
    assert client.get("/test-collection/workflow-mirror?since=forever").status_code == 400


def current_fields(item: dict[str, Any]) -> None:
    assert set(item) == {
        "payload_id",
        "collections",
        "workflow",
        "items",
        "state",
        "created",
        "updated",
        "state_changed",
        "executions",
        "outputs",
        "last_error",
        "catid",
        "catalog",
    }
    assert item["catid"] == item["payload_id"]
    assert item["catalog"].endswith("/input.json")


def test_items_page_current_view_and_nextkey(client: Any) -> None:
    first = client.get("/test-collection/workflow-mirror/items?limit=1").json()
    assert set(first) == {"items", "nextkey"}
    assert len(first["items"]) == 1 and first["nextkey"]
    current_fields(first["items"][0])
    second = client.get(
        f"/test-collection/workflow-mirror/items?limit=1&nextkey={first['nextkey']}"
    ).json()
    assert second["nextkey"] is None
    ids = {first["items"][0]["items"], second["items"][0]["items"]}
    assert ids == {"m1", "m2"}
    ascending = client.get("/test-collection/workflow-mirror/items?sort_ascending=1").json()
    newest_first = client.get("/test-collection/workflow-mirror/items").json()
    assert [i["items"] for i in ascending["items"]] == [i["items"] for i in newest_first["items"]][
        ::-1
    ]


def test_items_filters_state_and_error_prefix(client: Any) -> None:
    failed = client.get("/test-collection/workflow-crash/items?state=FAILED").json()["items"]
    assert [i["payload_id"] for i in failed] == [CRASH]
    assert failed[0]["last_error"] == "RuntimeError: the task broke"
    none = client.get("/test-collection/workflow-crash/items?state=COMPLETED").json()
    assert none == {"items": [], "nextkey": None}
    by_error = client.get("/test-collection/workflow-crash/items?error_prefix=Runtime").json()
    assert len(by_error["items"]) == 1
    assert client.get("/test-collection/workflow-crash/items?state=NOPE").status_code == 400
    assert client.get("/test-collection/workflow-crash/items?sort_index=x").status_code == 400


def test_payload_current_view(client: Any) -> None:
    item = client.get(f"/{CRASH}").json()
    current_fields(item)
    assert item["state"] == "FAILED"
    assert item["collections"] == "test-collection" and item["workflow"] == "crash"
    assert item["items"] == "c1"
    assert [e["status"] for e in item["executions"]] == ["FAILED"]


@pytest.mark.parametrize("prefix", ["item", "collections"])
def test_legacy_view(client: Any, prefix: str) -> None:
    item = client.get(f"/{prefix}/{CRASH}").json()
    assert set(item) == {
        "id",
        "catid",
        "input_collections",
        "current_state",
        "state",
        "created_at",
        "updated_at",
        "input_catalog",
        "execution",
        "items",
        "error_message",
    }
    assert item["id"] == item["catid"] == CRASH
    assert item["input_collections"] == "test-collection"
    assert item["current_state"] == f"FAILED_{item['updated_at']}"
    assert item["error_message"] == "RuntimeError: the task broke"
    assert item["execution"]["status"] == "FAILED"
    assert item["items"] == []
    listed = client.get(f"/{prefix}/test-collection/workflow-crash/items").json()["items"]
    assert listed[0]["current_state"].startswith("FAILED_")
    summary = client.get(f"/{prefix}/test-collection/workflow-crash").json()
    assert summary["counts"]["FAILED"] == 1


def test_missing_payload_is_404_and_unknown_path_400(client: Any) -> None:
    missing = client.get("/test-collection/workflow-crash/nothing")
    assert missing.status_code == 404
    assert "nothing" in missing.json()["error"]
    unknown = client.get("/no-such-thing")
    assert unknown.status_code == 400
    assert unknown.json() == "/no-such-thing not found"


def test_cors_as_cirrus_sets_it(client: Any) -> None:
    for path in ("/", f"/{CRASH}", "/test-collection/workflow-crash/nothing", "/nope"):
        headers = client.get(path).headers
        assert headers["access-control-allow-origin"] == "*"
        assert headers["access-control-allow-credentials"] == "true"
    preflight = client.options("/payloads", headers={"Origin": "http://example.test"})
    assert preflight.status_code == 204
    assert "authorization" in preflight.headers["access-control-allow-headers"]
