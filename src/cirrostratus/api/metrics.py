"""`/metrics` in Prometheus' text exposition format (0.0.4), from the project's stores.

Payloads by state come from the state store's counts, transitions per second from the event
log's last minute, task durations from the last 1,000 execution histories, queue depth from
the intake. `cirro_executions_running` is the serving engine's in-flight count when the API
runs inside `cirro serve`, else the PROCESSING records.
"""

from __future__ import annotations

from typing import Any

from cirrostratus.state import STATES

RATE_WINDOW_S = 60.0


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_metrics(backend: Any) -> str:
    lines: list[str] = []

    def family(name: str, kind: str, help_text: str) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")

    counts = backend.total_counts()
    family("cirro_payloads", "gauge", "Payload records by state.")
    for state in STATES:
        lines.append(f'cirro_payloads{{state="{state}"}} {int(counts.get(str(state), 0))}')

    recent = backend.transitions_since(RATE_WINDOW_S)
    family(
        "cirro_transitions_per_second",
        "gauge",
        f"Transitions into each state per second over the last {RATE_WINDOW_S:.0f} s.",
    )
    for state in STATES:
        rate = recent.get(str(state), 0) / RATE_WINDOW_S
        lines.append(f'cirro_transitions_per_second{{state="{state}"}} {rate:.6g}')

    durations = backend.task_durations()
    family(
        "cirro_task_duration_seconds",
        "summary",
        "Seconds per Task state over the last 1,000 executions.",
    )
    for task, (n, total, _) in sorted(durations.items()):
        label = _label(task)
        lines.append(f'cirro_task_duration_seconds_sum{{task="{label}"}} {total:.6g}')
        lines.append(f'cirro_task_duration_seconds_count{{task="{label}"}} {n}')
    family("cirro_task_duration_seconds_max", "gauge", "Longest Task state run seen (s).")
    for task, (_, _, most) in sorted(durations.items()):
        lines.append(f'cirro_task_duration_seconds_max{{task="{_label(task)}"}} {most:.6g}')

    queue = backend.intake.counts()
    family("cirro_intake_messages", "gauge", "Intake queue messages by status.")
    for status in ("visible", "in_flight", "delayed", "dead"):
        lines.append(f'cirro_intake_messages{{status="{status}"}} {int(getattr(queue, status))}')

    running = backend.inflight() if backend.inflight else int(counts.get("PROCESSING", 0))
    family("cirro_executions_running", "gauge", "Executions in flight (workers busy).")
    lines.append(f"cirro_executions_running {int(running)}")
    return "\n".join(lines) + "\n"
