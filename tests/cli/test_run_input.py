"""`cirro run`'s payload source streams: a payload is decoded when the intake takes it, not
all of them before the engine starts, and 100,000 JSON lines (from a file or stdin) never sit
in memory; a bad line part-way is a usage error naming the file and line."""

from __future__ import annotations

import io
import json
import re
import sys
import tracemalloc
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from cirrostratus.cli import run as run_cli
from cirrostratus.cli.errors import CliError
from cirrostratus.cli.run import PayloadSource, Progress, run_engine

from .conftest import Cirro, payload


def write_lines(path: Path, count: int, prefix: str = "p") -> Path:
    with path.open("w") as fh:
        for i in range(count):
            fh.write(json.dumps(payload("mirror", f"{prefix}{i}")) + "\n")
    return path


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of every piece of input decoded, in order."""
    seen: list[str] = []
    real = run_cli._load

    def counting(source: str | bytes, name: str | None = None) -> list[dict[str, Any]]:
        seen.append(str(name))
        return real(source, name)

    monkeypatch.setattr(run_cli, "_load", counting)
    return seen


def test_check_decodes_the_first_payload_only(tmp_path: Path, decodes: list[str]) -> None:
    path = write_lines(tmp_path / "p.jsonl", 1000)
    source = PayloadSource((str(path),))
    source.check()
    assert decodes == [f"{path} line 1"]
    taken = iter(source)
    firsts = [next(taken)["features"][0]["id"] for _ in range(3)]
    assert firsts == ["p0", "p1", "p2"]
    assert len(decodes) == 3  # line 1 once (by check), then one line per payload taken


def test_payloads_reach_the_engine_as_they_are_read(tmp_path: Path, decodes: list[str]) -> None:
    """The engine is handed each payload before the next line is decoded."""
    path = write_lines(tmp_path / "p.jsonl", 50)
    seen_at: list[int] = []

    class Engine:
        async def run(self, items: Iterable[dict[str, Any]], **kwargs: Any) -> str:
            for _ in items:
                seen_at.append(len(decodes))
            return "report"

        def close(self) -> None:
            pass

    source = PayloadSource((str(path),))
    source.check()
    assert run_engine(Engine(), source, False, Progress(enabled=False)) == "report"
    assert seen_at == list(range(1, 51))


def test_memory_stays_flat_over_100000_lines_of_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """stdin, which cannot be read twice, is streamed too (a file is: see the test above)."""
    path = write_lines(tmp_path / "many.jsonl", 100_000)
    size = path.stat().st_size
    with path.open("rb") as raw:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(raw))
        source = PayloadSource(("-",))
        tracemalloc.start()
        try:
            source.check()
            count = sum(1 for _ in source)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert count == 100_000
    assert peak < size / 20, (peak, size)  # a few payloads at a time, not the input


def test_inputs_keep_their_order_across_globs_lists_and_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    write_lines(folder / "a.jsonl", 2, "a")
    (folder / "b.json").write_text(json.dumps([payload("mirror", "b0"), payload("mirror", "b1")]))
    (folder / "c.json").write_text(json.dumps(payload("mirror", "c0")))
    stdin = io.TextIOWrapper(io.BytesIO(json.dumps(payload("mirror", "s0")).encode()))
    monkeypatch.setattr(sys, "stdin", stdin)
    source = PayloadSource((str(folder / "*.json*"), "-"))
    source.check()
    ids = [p["features"][0]["id"] for p in source]
    assert ids == ["a0", "a1", "b0", "b1", "c0", "s0"]


def test_an_empty_input_is_refused_before_the_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    with pytest.raises(CliError) as refused:
        PayloadSource(("-",)).check()
    assert refused.value.exit_code == 2 and "<stdin>" in str(refused.value)


def test_a_bad_line_part_way_names_the_file_and_line(
    fresh: Path, cirro: Cirro, tmp_path: Path
) -> None:
    """What the intake holds when the bad line is reached is said, and is what is queued."""
    path = write_lines(tmp_path / "big.jsonl", 1203)
    lines = path.read_text().splitlines()
    lines[1201] = "{not json"
    path.write_text("\n".join(lines) + "\n")
    done = cirro(fresh, "run", "--quiet", str(path))
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    error = done.stderr.strip()
    assert error.startswith(f"Error: {path} line 1202: the input is not valid JSON")
    assert "\n" not in error and "Traceback" not in error
    said = re.search(r"(\d+) payloads queued before it wait in the intake", error)
    assert said is not None, error
    counts = cirro(fresh, "query", "--counts")
    assert f"QUEUED={said.group(1)} " in counts.stdout, counts.stdout
