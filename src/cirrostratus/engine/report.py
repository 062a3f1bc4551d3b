"""What `cirro run` reports: one record per payload, and how the run ends (exit codes).

`RunTracker` builds the report from what the process and update rules say happened. A run
reports exactly its own payloads — the ones it submitted (`expect`) and the ones they chain
to — even when the engine drains other payloads meanwhile (left queued by an interrupted
run, or sent by `cirro submit`): those are only counted, in `RunReport.others`. "skipped"
means this run did not execute the payload (it was already COMPLETED or INVALID).

Everything is kept incrementally, so settling a payload costs the same at the 50,000th
payload as at the first; a record holds ids, state and error, never the payload itself.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from cirrostratus.engine.process import ProcessResult
from cirrostratus.engine.update import Finished, UpdateResult
from cirrostratus.state import StateStore

TERMINAL = ("COMPLETED", "FAILED", "INVALID", "ABORTED")
Progress = Callable[[int, int, dict[str, int]], None]
PROGRESS_EVERY_S = 0.1  # progress callbacks at most this often (and once at the end)


@dataclass(slots=True)
class RunRecord:
    """One payload's outcome in a run (chained payloads get records of their own)."""

    payload_id: str
    workflow: str
    state: str = "QUEUED"
    duration_s: float | None = None
    error: str | None = None
    parent: str | None = None
    skipped: bool = False

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if data["duration_s"] is not None:
            data["duration_s"] = round(data["duration_s"], 4)
        return data


@dataclass
class RunReport:
    """All records of a run, in the order their payloads were first seen.

    `others`: terminal states of payloads this engine ran meanwhile that were not the run's
    own. `left_queued`: messages still waiting in the intake when the run ended.
    """

    records: dict[str, RunRecord] = field(default_factory=dict)
    wall_s: float = 0.0
    others: Counter[str] = field(default_factory=Counter)
    left_queued: int = 0
    _counts: Counter[str] = field(default_factory=Counter, repr=False)

    def counts(self) -> Counter[str]:
        """Records per state (kept up to date as states change)."""
        return +self._counts

    @property
    def ok(self) -> bool:
        counts = self.counts()
        return bool(self.records) and counts.get("COMPLETED", 0) == len(self.records)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def skipped_terminal(self) -> int:
        """Payloads skipped because they were already COMPLETED or INVALID (`--replace`
        runs them again)."""
        return sum(
            1 for r in self.records.values() if r.skipped and r.state in ("COMPLETED", "INVALID")
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "counts": dict(sorted(self.counts().items())),
            "wall_s": round(self.wall_s, 3),
            "payloads": [r.to_json() for r in self.records.values()],
            "others": dict(sorted(self.others.items())),
            "left_queued": self.left_queued,
        }


class RunTracker:
    """Builds the run report from what the process and update rules say.

    With `adopt_all` (serve, draining what is queued) every payload is the run's own;
    otherwise only those announced with `expect`/`expect_unnamed` and their chained children.
    With `keep_records=False` (serve) only counts are kept, so memory stays flat forever.
    `on_idle` is called whenever every own payload has reached a terminal state.
    """

    def __init__(
        self,
        progress: Progress | None = None,
        *,
        adopt_all: bool = False,
        keep_records: bool = True,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        self.report = RunReport()
        self.progress = progress
        self.adopt_all = adopt_all
        self.keep_records = keep_records
        self.on_idle = on_idle
        self._done = 0
        self._unnamed: deque[str] = deque()  # invalid payloads no id can be made for
        self._last_tick = 0.0

    # --- what the run submitted ------------------------------------------------------------

    def expect(self, pid: str, workflow: str = "", parent: str | None = None) -> bool:
        """Announce a payload of this run; False when it was announced already."""
        if pid in self.report.records:
            return False
        self._add(pid, workflow).parent = parent
        return True

    def expect_unnamed(self, *, awaited: bool = True) -> str:
        """Announce a payload no id can be made for; return its record's key. `awaited`: the
        intake will hand it back INVALID (the next unnamed rejection is taken to be it)."""
        key = f"(invalid payload #{len(self.report.records) + 1})"
        self._add(key, "")
        if awaited:
            self._unnamed.append(key)
        return key

    def mark(self, pid: str, state: str, error: str | None = None, skipped: bool = False) -> None:
        """Set what became of an own payload, found some other way (hand-over polling)."""
        rec = self.report.records[pid]
        self._set(rec, state)
        rec.error, rec.skipped = error, skipped

    def _add(self, pid: str, workflow: str = "") -> RunRecord:
        if not workflow and "/workflow-" in pid:
            workflow = pid.split("/workflow-", 1)[1].split("/", 1)[0]
        rec = self.report.records[pid] = RunRecord(pid, workflow)
        self.report._counts["QUEUED"] += 1
        return rec

    def _own(self, pid: str) -> RunRecord | None:
        rec = self.report.records.get(pid)
        if rec is None and self.adopt_all and self.keep_records:
            rec = self._add(pid)
        return rec

    def _set(self, rec: RunRecord, state: str) -> None:
        counts = self.report._counts
        counts[rec.state] -= 1
        counts[state] += 1
        self._done += (state in TERMINAL) - (rec.state in TERMINAL)
        rec.state = state

    def _other(self, state: str | None) -> None:
        if state is None:
            return
        if self.adopt_all:  # serve keeps no records: its report is the counts
            if state in TERMINAL:
                self.report._counts[state] += 1
            return
        if state in TERMINAL:
            self.report.others[state] += 1

    # --- what the engine says --------------------------------------------------------------

    def processed(self, result: ProcessResult, store: StateStore) -> None:
        for pid in result.started:
            rec = self._own(pid)
            if rec is not None:
                self._set(rec, "PROCESSING")
                rec.skipped, rec.error = False, None
        for pid in result.failed:
            rec = self._own(pid)
            if rec is None:
                self._other("FAILED")
                continue
            self._set(rec, "FAILED")
            rec.error = result.reasons.get(pid)
        # a skip only tells about a payload this run has not executed (still QUEUED here):
        # one it started from another message stays what its execution makes it
        skipped = [pid for pid in result.skipped if self._queued(pid)]
        if skipped:
            found_records = store.get_many(skipped)
            for pid in skipped:
                rec = self.report.records[pid]
                found = found_records.get(pid)
                self._set(rec, str(found.state) if found else "UNKNOWN")
                rec.skipped = True
                rec.error = found.last_error if found and rec.state != "COMPLETED" else None
        for rejected in result.invalid:
            rec = self._own(rejected.payload_id) if rejected.payload_id else None
            if rec is None and rejected.payload_id is None and self._unnamed:
                rec = self.report.records[self._unnamed.popleft()]
            if rec is None and self.adopt_all and self.keep_records:
                self.expect_unnamed()
                rec = self.report.records[self._unnamed.pop()]
            if rec is None:
                self._other("INVALID")
                continue
            self._set(rec, "INVALID")
            rec.error = rejected.error
        self.tick()

    def _queued(self, pid: str) -> bool:
        rec = self._own(pid)
        return rec is not None and rec.state == "QUEUED"

    def settled(self, finished: Finished, result: UpdateResult, took: float) -> None:
        rec = self._own(finished.payload_id)
        if rec is None:
            self._other(str(result.state) if result.applied and result.state else None)
            self.tick()
            return
        if result.applied and result.state is not None:
            self._set(rec, str(result.state))
            rec.error = result.error
        elif result.state is None and result.reason:
            rec.error = result.reason  # not recorded (e.g. `NotSettled: …`): say why
        rec.duration_s = took
        for child in result.next_payloads:
            self.expect(child, parent=finished.payload_id)
        self.tick()

    # --- progress ----------------------------------------------------------------------------

    def pending(self) -> int:
        """Own payloads not yet in a terminal state."""
        return len(self.report.records) - self._done

    def tick(self) -> None:
        """Tell the progress callback (at most every PROGRESS_EVERY_S, and when all are
        done), and `on_idle` when nothing of this run is left: constant time per call."""
        idle = self.pending() == 0
        if self.progress is not None:
            now = time.monotonic()
            if idle or now - self._last_tick >= PROGRESS_EVERY_S:
                self._last_tick = now
                counts = {k: v for k, v in self.report._counts.items() if v > 0}
                self.progress(self._done, len(self.report.records), counts)
        if idle and self.on_idle is not None:
            self.on_idle()
