"""The crash-injection points: off unless CIRRO_CRASH_AT names them, then a real SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from cirrostratus.engine import faults

SCRIPT = """
from cirrostratus.engine import faults
for i in range(5):
    faults.point("elsewhere")
    faults.point("here")
    print(i, flush=True)
"""


def run(spec: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != faults.ENV}
    if spec is not None:
        env[faults.ENV] = spec
    return subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60
    )


def test_points_do_nothing_when_the_variable_is_unset() -> None:
    done = run(None)
    assert done.returncode == 0 and done.stdout.split() == ["0", "1", "2", "3", "4"]


def test_the_named_point_kills_the_process_on_its_first_hit() -> None:
    done = run("here")
    assert done.returncode == -signal.SIGKILL
    assert done.stdout == ""


def test_the_named_point_kills_the_process_on_its_nth_hit() -> None:
    done = run("here:3")
    assert done.returncode == -signal.SIGKILL
    assert done.stdout.split() == ["0", "1"]


def test_another_name_never_fires() -> None:
    assert run("nowhere").returncode == 0


@pytest.mark.parametrize(
    ("spec", "parsed"), [("a", ("a", 1)), ("a:4", ("a", 4)), ("a:x", ("a", 1)), ("", None)]
)
def test_spec_parsing(spec: str, parsed: tuple[str, int] | None) -> None:
    assert faults._parse(spec) == parsed


def test_every_point_in_use_is_placed_in_the_engine() -> None:
    from pathlib import Path

    engine = Path(faults.__file__).parent
    source = "".join(p.read_text() for p in engine.glob("*.py") if p.name != "faults.py")
    for name in faults.POINTS:
        assert f'faults.point("{name}")' in source, name
