"""A fresh, marked copy of the reliability project per test, and the figures in the summary."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import Project, kill_marked, make_project


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    made = make_project(tmp_path)
    try:
        yield made
    finally:
        kill_marked(made.mark)  # whatever a failed scenario left running


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line of figures per reliability scenario (recorded with `record_property`)."""
    lines = []
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "call":
                continue
            for key, value in getattr(report, "user_properties", ()):
                if key == "reliability" and isinstance(value, dict):
                    counts = ", ".join(
                        f"{k} {value[k]}"
                        for k in ("lost", "doubly_terminal", "stuck", "missing_outputs", "orphans")
                    )
                    lines.append(
                        f"{value['scenario']}: {value['payloads']} payloads, "
                        f"{value['rounds']} kill(s), {value.get('resumed', 0)} resumed: {counts}"
                    )
    if lines:
        terminalreporter.write_sep("-", "reliability figures")
        for line in sorted(lines):
            terminalreporter.write_line(line)
