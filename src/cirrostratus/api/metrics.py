"""`/metrics` in Prometheus' text exposition format (0.0.4), from the project's stores.

Payloads by state come from the state store's counts, transitions per second from the event
log's last minute, task durations from the last 1,000 execution histories, queue depth from
the intake. While a `cirro serve` drains the project, its status file (engine/status.py, a
second old at most) gives the executions in flight, the Lambda workers busy and alive, and
the Batch jobs running; without one, `cirro_executions_running` counts PROCESSING records.
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

    status = backend.engine_status()
    family("cirro_engine_serving", "gauge", "1 while a `cirro serve` drains this project.")
    lines.append(f"cirro_engine_serving {1 if status else 0}")
    if backend.inflight:
        running = backend.inflight()
    elif status:
        running = status.get("executions_running", 0)
    else:  # no engine here to ask: the records that say they run
        running = counts.get("PROCESSING", 0)
    family(
        "cirro_executions_running",
        "gauge",
        "Executions in flight in the serving engine (without one: PROCESSING records).",
    )
    lines.append(f"cirro_executions_running {int(running)}")
    if status:
        for name, key, text in (
            ("cirro_lambda_workers_busy", "lambda_workers_busy", "Lambda workers running a task."),
            ("cirro_lambda_workers", "lambda_workers", "Lambda worker processes alive (warm)."),
            ("cirro_batch_jobs_running", "batch_jobs_running", "Batch job containers running."),
        ):
            family(name, "gauge", text)
            lines.append(f"{name} {int(status.get(key, 0))}")
    return "\n".join(lines) + "\n"
