"""api/timeline.py: a payload's spans and last traceback, from events and log records alone."""

from __future__ import annotations

from cirrostratus.api.timeline import last_traceback, spans
from cirrostratus.state import Event, State


def _event(seq: int, time: str, to: State | None, came: State | None = None) -> Event:
    return Event(seq, time, "c/workflow-w/i", came, to, execution_id="e1")


def test_each_span_ends_where_the_next_begins_and_the_last_stays_open() -> None:
    events = [
        _event(1, "2026-01-01T00:00:00+00:00", State.PROCESSING),
        _event(2, "2026-01-01T00:00:02.500000+00:00", State.FAILED, State.PROCESSING),
    ]
    first, last = spans(events)
    assert (first["state"], first["from"], first["end"], first["seconds"]) == (
        "PROCESSING",
        None,
        "2026-01-01T00:00:02.500000+00:00",
        2.5,
    )
    assert (last["state"], last["from"], last["end"], last["seconds"]) == (
        "FAILED",
        "PROCESSING",
        None,
        None,
    )


def test_the_last_traceback_of_stderr_in_time_order() -> None:
    records = [
        {"time": "3", "stream": "stderr", "message": "ValueError: second\n"},
        {"time": "1", "stream": "stderr", "message": "Traceback (most recent call last):\n"},
        {"time": "2", "stream": "stdout", "message": "Traceback (most recent call last):"},
        {"time": "2", "stream": "stderr", "message": "Traceback (most recent call last):"},
        {"time": "2.5", "stream": "stderr", "message": '  File "task.py", line 3'},
    ]
    assert last_traceback(records) == (
        'Traceback (most recent call last):\n  File "task.py", line 3\nValueError: second'
    )


def test_no_traceback_without_one_on_stderr() -> None:
    only_out = [{"time": "1", "stream": "stdout", "message": "Traceback (most recent call last)"}]
    assert last_traceback(only_out) is None
    assert last_traceback([]) is None
