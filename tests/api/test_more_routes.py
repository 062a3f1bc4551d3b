"""Beyond Cirrus: payload sub-views, submit, rerun, events, metrics, the dashboard files,
and the security rules (token, body limit, path tricks)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from .conftest import AUTH, make_payload

CRASH = "test-collection/workflow-crash/c1"
FLAKY = "test-collection/workflow-flaky/f1"


def test_executions_carry_each_state_with_timings(client: Any) -> None:
    flaky = client.get(f"/{FLAKY}/executions").json()
    assert len(flaky) == 1 and flaky[0]["status"] == "SUCCEEDED"
    (state,) = flaky[0]["states"]
    assert state["state"] == "flaky" and state["type"] == "Task"
    assert state["error"] == "FlakyError"  # the retried attempt shows
    crash = client.get(f"/{CRASH}/executions").json()
    assert [s["state"] for s in crash[0]["states"]] == ["crash", "failure"]


def test_history_spans_follow_the_event_log_and_carry_the_traceback(client: Any) -> None:
    body = client.get(f"/{CRASH}/history").json()
    assert body["payload_id"] == CRASH and body["state"] == "FAILED"
    assert [s["state"] for s in body["spans"]] == ["CLAIMED", "PROCESSING", "FAILED"]
    closed = body["spans"][:-1]
    assert all(s["end"] is not None and s["seconds"] >= 0 for s in closed)
    assert body["spans"][-1]["end"] is None
    assert body["spans"][-1]["error"] == "RuntimeError: the task broke"
    assert body["traceback"].startswith("Traceback (most recent call last):")
    assert 'raise RuntimeError("the task broke")' in body["traceback"]


def test_logs_stream_json_lines(client: Any) -> None:
    response = client.get(f"/{CRASH}/logs")
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert any("RuntimeError: the task broke" in line["message"] for line in lines)
    assert {line["function"] for line in lines} == {"crash"}


def test_input_and_output(client: Any) -> None:
    stored = client.get("/test-collection/workflow-mirror/m1/input").json()
    assert stored["features"][0]["id"] == "m1"
    output = client.get("/test-collection/workflow-mirror/m1/output").json()
    assert output["features"][0]["properties"]["mirrored"] == "provider"
    missing = client.get(f"/{CRASH}/output")
    assert missing.status_code == 404 and "not completed" in missing.json()["error"]
    assert client.get("/test-collection/workflow-crash/zz/history").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/test-collection/workflow-crash/..%2F..%2Fetc",
        "/test-collection/workflow-crash/%2E%2E/input",
        "/a/workflow-b/x%5Cy",
        "/test-collection/workflow-crash/c1%00",
        "/item/test-collection/workflow-crash/%2E/c1",
    ],
)
def test_path_tricks_are_refused(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 400
    assert "not allowed in a payload id" in response.json()["error"]


def test_write_routes_need_the_token(writable: Any) -> None:
    client, _, _ = writable
    body = orjson.dumps(make_payload("mirror", "new"))
    assert client.post("/payloads", content=body).status_code == 401
    wrong = client.post("/payloads", content=body, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    assert client.post("/rerun", json={"state": "FAILED"}).status_code == 401


def test_submit_queues_payloads_and_returns_their_ids(writable: Any) -> None:
    client, backend, _ = writable
    payloads = [make_payload("mirror", "n1"), make_payload("mirror", "n2")]
    response = client.post("/payloads", content=orjson.dumps(payloads), headers=AUTH)
    assert response.status_code == 202
    ids = ["test-collection/workflow-mirror/n1", "test-collection/workflow-mirror/n2"]
    assert response.json()["payload_ids"] == ids
    assert set(backend.intake.waiting(ids)) == set(ids)
    one = client.post("/payloads", content=orjson.dumps(make_payload("mirror", "n3")), headers=AUTH)
    assert one.json()["payload_ids"] == ["test-collection/workflow-mirror/n3"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{not json", "not JSON"),
        (b"[]", "no payload"),
        (orjson.dumps({"url": "file:///etc/passwd"}), "does not fetch payloads by URL"),
        (orjson.dumps({"type": "FeatureCollection", "features": []}), "process"),
    ],
)
def test_submit_refuses_bad_bodies_whole(writable: Any, body: bytes, says: str) -> None:
    client, backend, _ = writable
    before = backend.intake.counts().visible
    response = client.post("/payloads", content=body, headers=AUTH)
    assert response.status_code == 400
    assert says in response.json()["error"]
    assert backend.intake.counts().visible == before


def test_bodies_over_the_limit_get_413(writable: Any) -> None:
    client, _, _ = writable
    big = b"[" + b" " * (70 * 1024) + b"]"
    assert client.post("/payloads", content=big, headers=AUTH).status_code == 413

    def chunks() -> Any:  # no Content-Length: counted as it arrives
        for _ in range(70):
            yield b" " * 1024

    assert client.post("/payloads", content=chunks(), headers=AUTH).status_code == 413


def test_rerun_queues_failed_payloads_with_replace(writable: Any) -> None:
    client, backend, _ = writable
    dry = client.post("/rerun", json={"state": "FAILED", "dry_run": True}, headers=AUTH).json()
    assert dry["would_queue"] == [CRASH] and backend.intake.counts().visible == 0
    done = client.post("/rerun", json={"payload_ids": [CRASH]}, headers=AUTH)
    assert done.status_code == 202 and done.json()["queued"] == [CRASH]
    (message,) = backend.intake.receive(1)
    assert message.json()["process"]["replace"] is True
    assert client.post("/rerun", json={}, headers=AUTH).status_code == 400
    missing = client.post("/rerun", json={"payload_ids": ["a/workflow-b/c"]}, headers=AUTH)
    assert missing.status_code == 404


def test_events_stream_transitions_as_server_sent_events(client: Any) -> None:
    text = client.get("/events?after=0&limit=3").text
    blocks = [b for b in text.split("\n\n") if b.startswith("id:")]
    assert len(blocks) == 3
    seqs = [int(re.search(r"^id: (\d+)$", b, re.M).group(1)) for b in blocks]  # type: ignore[union-attr]
    assert seqs == sorted(seqs) and seqs[0] >= 1
    data = json.loads(blocks[0].split("data: ", 1)[1])
    assert set(data) == {"seq", "time", "payload_id", "from", "to", "execution_id", "error"}
    assert "event: transition" in blocks[0]
    one = client.get(f"/events?after=0&limit=3&payload_id={CRASH}").text
    assert all(CRASH in line for line in one.splitlines() if line.startswith("data:"))


def test_metrics_in_prometheus_text(client: Any) -> None:
    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'cirro_payloads{state="COMPLETED"} 3' in text
    assert 'cirro_payloads{state="FAILED"} 1' in text
    assert "# TYPE cirro_task_duration_seconds summary" in text
    assert re.search(r'cirro_task_duration_seconds_count\{task="mirror"\} 2', text)
    assert 'cirro_intake_messages{status="visible"} 0' in text
    assert re.search(r'cirro_transitions_per_second\{state="COMPLETED"\} [0-9.e-]+', text)
    for line in text.splitlines():  # every sample line is `name{labels} number`
        if not line.startswith("#"):
            float(line.rsplit(" ", 1)[1])


def test_overview_counts_each_workflow(client: Any) -> None:
    body = client.get("/overview").json()
    by_workflow = {w["workflow"]: w["counts"] for w in body["workflows"]}
    assert by_workflow["mirror"]["COMPLETED"] == 2 and by_workflow["crash"]["FAILED"] == 1
    assert body["queued"] == 0


def test_dashboard_is_served_and_needs_no_network(client: Any) -> None:
    page = client.get("/ui/")
    assert page.status_code == 200 and '<script src="app.js">' in page.text
    static = Path(__file__).parents[2] / "src" / "cirrostratus" / "api" / "static"
    for name in ("index.html", "app.js", "style.css"):
        assert client.get(f"/ui/{name}").status_code == 200
        text = (static / name).read_text()
        assert not re.search(r"(src|href)=[\"']?(https?:)?//", text), name  # no CDN
        assert "@import" not in text


def test_openapi_documents_every_route(client: Any) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    for path in ("/", "/stats", "/payloads", "/rerun", "/events", "/metrics"):
        assert path in paths
    assert "/{collections}/workflow-{workflow}/items" in paths
    assert "/{collections}/workflow-{workflow}/{itemids}/history" in paths
    for path, methods in paths.items():
        for op in methods.values():
            assert op.get("description") or op.get("summary"), path
