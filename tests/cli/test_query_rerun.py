"""`cirro query` pages, `rerun` tells the truth before it runs, `payload logs` separates
executions, long ids are shortened for people and kept whole in --json (issue 9, items 3,
15 and 16)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

Cirro = Any  # the `cirro` fixture of conftest.py: run_cirro(project, *args)

CRASH = "test-collection/workflow-crash/q2"
MIRROR = "test-collection/workflow-mirror/q1"


def test_query_pages_with_nextkey_and_prints_the_next_command(ran: Path, cirro: Cirro) -> None:
    first = cirro(ran, "query", "--limit", "1")
    assert first.returncode == 0, first.stderr
    assert "1 payload shown; more match" in first.stdout
    command = first.stdout.strip().splitlines()[-1].strip()
    words = shlex.split(command)
    assert words[:2] == ["cirro", "--project"] and "--nextkey" in words
    second = cirro(Path(words[2]), *words[3:])  # the printed command, as typed
    assert second.returncode == 0, second.stderr
    assert "more match" not in second.stdout
    listed = first.stdout + second.stdout
    assert CRASH in listed and MIRROR in listed

    page = json.loads(cirro(ran, "query", "--limit", "1", "--json").stdout)
    assert page["nextkey"] and len(page["items"]) == 1
    rest = json.loads(cirro(ran, "query", "--json", "--nextkey", page["nextkey"]).stdout)
    assert rest["nextkey"] is None
    ids = {r["payload_id"] for r in page["items"] + rest["items"]}
    assert ids == {CRASH, MIRROR}


def test_query_filters_carry_into_the_next_command(ran: Path, cirro: Cirro) -> None:
    first = cirro(ran, "query", "-c", "test-collection", "--since", "1w", "--limit", "1")
    words = shlex.split(first.stdout.strip().splitlines()[-1])
    assert "--collections" in words and "test-collection" in words
    assert words[words.index("--since") + 1] == "1w"


def test_rerun_dry_run_says_what_would_be_skipped(project: Path, cirro: Cirro) -> None:
    from cirrostratus.engine.process import input_key
    from cirrostratus.storage import open_store
    from cirrostratus.storage.locations import Locations

    payloads = open_store(Locations.for_project(project).payload_url)
    url = payloads.url(input_key(CRASH))
    Path(url.removeprefix("file://")).unlink()

    dry = cirro(project, "rerun", "--workflow", "crash", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would be skipped: its stored input is missing" in dry.stdout
    assert "0 payloads would run again; 1 would be skipped" in dry.stdout
    as_json = json.loads(cirro(project, "rerun", "-w", "crash", "--dry-run", "--json").stdout)
    assert as_json["would_run"] == [] and as_json["would_skip"][0]["payload_id"] == CRASH

    none = cirro(project, "rerun", "--workflow", "crash")
    assert none.returncode == 1 and "none of the matching payloads (1) can run again" in none.stderr

    both = json.loads(
        cirro(project, "rerun", "-c", "test-collection", "--dry-run", "--json").stdout
    )
    assert [r["payload_id"] for r in both["would_run"]] == [MIRROR]
    real = cirro(project, "rerun", "-c", "test-collection", "--json", "--concurrency", "2")
    assert real.returncode == 1  # one could not run again
    report = json.loads(real.stdout)
    assert [r["payload_id"] for r in report["payloads"]] == [MIRROR]  # what the dry run said
    assert report["skipped_unreadable"][0]["payload_id"] == CRASH


def test_payload_logs_has_a_header_per_execution_newest_last(project: Path, cirro: Cirro) -> None:
    assert cirro(project, "rerun", "--workflow", "mirror", "--json").returncode == 0
    state = json.loads(cirro(project, "payload", "state", MIRROR, "--json").stdout)
    ids = [e["id"] for e in sorted(state["executions"], key=lambda e: e["start"])]
    assert len(ids) == 2
    logs = cirro(project, "payload", "logs", MIRROR).stdout.splitlines()
    headers = [line for line in logs if line.startswith("== execution")]
    assert [h.split()[5] for h in headers] == ids
    assert headers[0].startswith("== execution 1 of 2") and headers[1].startswith(
        "== execution 2 of 2"
    )
    second = logs.index(headers[1])
    assert any("mirrored 1 items" in line for line in logs[1:second])
    assert any("mirrored 1 items" in line for line in logs[second:])


def test_long_ids_are_short_for_people_and_whole_in_json(
    project: Path, cirro: Cirro, make_payload: Any
) -> None:
    items = [f"scene-{i:04d}-with-a-long-descriptive-name" for i in range(40)]
    (project / "many.json").write_text(json.dumps(make_payload("mirror", *items)))
    ran = cirro(project, "run", "--quiet", str(project / "many.json"))
    assert ran.returncode == 0, ran.stderr
    full = "test-collection/workflow-mirror/" + "/".join(sorted(items))
    assert full not in ran.stdout  # the run summary's table
    assert any("40 items" in row and "COMPLETED" in row for row in ran.stdout.splitlines())

    table = cirro(project, "query", "--workflow", "mirror").stdout
    assert full not in table
    (line,) = [row for row in table.splitlines() if "40 items" in row]
    assert "test-collection/workflow-mirror/scene-0000" in line and "…" in line

    found = json.loads(cirro(project, "query", "--workflow", "mirror", "--json").stdout)
    assert full in {r["payload_id"] for r in found["items"]}

    state = cirro(project, "payload", "state", full).stdout
    assert full not in state and "40 items" in state.splitlines()[0]
    # the short id, copied from the table, stands for the whole one
    shown = next(cell.strip() for cell in line.split("│") if "…" in cell)
    again = cirro(project, "payload", "state", shown, "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["payload_id"] == full
    got = cirro(project, "payload", "get", shown)
    assert json.loads(got.stdout)["process"]["workflow"] == "mirror"
    unknown = shown.replace("#", "#0")[:-2] + "]"
    assert cirro(project, "payload", "state", unknown).returncode != 0
    assert (
        json.loads(cirro(project, "payload", "state", full, "--json").stdout)["payload_id"] == full
    )


def test_piped_tables_never_break_a_row(project: Path, cirro: Cirro) -> None:
    out = cirro(project, "query").stdout
    rows = [line for line in out.splitlines() if "test-collection/" in line]
    assert len(rows) == 2  # one line per record, ids whole
    assert any(CRASH in r and "RuntimeError: the task broke" in r for r in rows)
