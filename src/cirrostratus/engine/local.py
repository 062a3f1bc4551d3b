"""The embedded engine: one project's local deployment, run once (`cirro run`) or served.

    engine = LocalEngine.open(project_dir)
    report = asyncio.run(engine.run(payload_dicts))      # to a terminal state, chains too
    asyncio.run(engine.serve(stop_event))                 # drain the intake until stopped

Everything durable is in `.cirro/` (state.db, intake.db, payloads/, data/, logs/): the engine
holds only what is in flight, so a crash loses nothing. `drain` is the one loop both modes
share: receive a batch from the intake → process rules → executions on this event loop →
update rules in batches → chained payloads back to the intake.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from cirrostratus.engine.executor import (
    RETRY_FIRST_S,
    RETRY_MAX_S,
    STATE_PATIENCE_S,
    LocalRunner,
)
from cirrostratus.engine.history import HistoryStore
from cirrostratus.engine.lock import EngineLock
from cirrostratus.engine.notify import JsonLinesNotifier, Notifier
from cirrostratus.engine.outbox import deliver
from cirrostratus.engine.outbox import pending as outbox_pending
from cirrostratus.engine.process import ProcessResult, derive_id, process, process_retry_delay
from cirrostratus.engine.recovery import recover
from cirrostratus.engine.report import Progress, RunReport, RunTracker
from cirrostratus.engine.workflows import WorkflowRegistry
from cirrostratus.intake import SqliteIntakeQueue
from cirrostratus.payload import DEFAULT_THRESHOLD, to_transport_bytes
from cirrostratus.project import Project, find_project
from cirrostratus.sqlitedb import is_damaged
from cirrostratus.state import SqliteStateStore
from cirrostratus.storage import open_store
from cirrostratus.storage.locations import Locations

logger = logging.getLogger(__name__)
Service = Callable[["LocalEngine", asyncio.Event], Awaitable[None]]
RECEIVE_BATCH = 200
OUTBOX_RETRY_S = 1.0  # an idle `serve` looks at the outbox this often
SUBMIT_BATCH = 500  # payloads per intake transaction when submitting


def default_concurrency() -> int:
    """Executions in flight: cheap coroutines, mostly waiting on workers, so many at once
    (more per batch means fewer, larger state transactions)."""
    return 64 * (os.cpu_count() or 1)


class LocalEngine:
    """A project's local deployment: state, intake, stores, task runtimes, workflows."""

    def __init__(
        self,
        project: Project,
        locations: Locations,
        *,
        concurrency: int | None = None,
        notifier: Notifier | None = None,
        keep_history: bool = True,
        threshold: int = DEFAULT_THRESHOLD,
    ) -> None:
        self.project = project
        self.locations = locations.ensure()
        self.concurrency = concurrency or default_concurrency()
        self.threshold = threshold
        self.store = SqliteStateStore(locations.state_db)
        self.intake = SqliteIntakeQueue(locations.intake_db)
        self.payloads = open_store(locations.payload_url)
        self.data = open_store(locations.data_url)
        self.notifier = notifier or JsonLinesNotifier(locations.notifications_dir)
        self.workflows = WorkflowRegistry(project)
        # task parameters are checked at intake only when some task declares a schema
        self.check_parameters = (
            project.validate_payload
            if any(t.parameters_schema for t in project.tasks.values())
            else None
        )
        self.history = HistoryStore(locations.root / "history.db") if keep_history else None
        self.lock = EngineLock(locations.root / "engine.lock")
        self.live_session: _Session | None = None  # while running (engine/status.py)

    @classmethod
    def open(cls, project_dir: str | os.PathLike[str] | None = None, **kwargs: Any) -> LocalEngine:
        """The engine of the project at `project_dir` (default: found from the cwd)."""
        root = find_project(explicit=project_dir) if project_dir else find_project(Path.cwd())
        project = Project.load(root)
        return cls(project, Locations.for_project(root), **kwargs)

    def close(self) -> None:
        self.store.close()
        self.intake.close()
        if self.history is not None:
            self.history.close()
        close_notifier = getattr(self.notifier, "close", None)
        if close_notifier is not None:
            close_notifier()

    # --- submitting ----------------------------------------------------------------------

    def submit(
        self,
        payloads: Iterable[dict[str, Any]],
        *,
        replace: bool = False,
        tracker: RunTracker | None = None,
    ) -> list[str]:
        """Send payloads to the intake queue (large ones as `{"url"}`); return message ids.

        Payloads are read from the iterable and sent SUBMIT_BATCH at a time, so a run of many
        files never holds them all. Each message is labelled with its payload id (QUEUED in
        `cirro payload state`). With `tracker`, each payload is announced to it as the run's
        own, and a payload already announced (the same one twice) is not sent again.
        """
        ids: list[str] = []
        bodies: list[bytes] = []
        labels: list[str | None] = []
        for payload in payloads:
            pid = derive_id(payload)
            if tracker is not None:
                if pid is None:
                    tracker.expect_unnamed()
                elif not tracker.expect(pid):
                    continue
            if replace:
                payload = with_replace(payload)
            key = f"intake/{uuid.uuid4()}.json"
            bodies.append(to_transport_bytes(payload, self.payloads, key, self.threshold))
            labels.append(pid)
            if len(bodies) >= SUBMIT_BATCH:
                ids += self.intake.send_batch(bodies, payload_ids=labels)
                bodies, labels = [], []
        if bodies:
            ids += self.intake.send_batch(bodies, payload_ids=labels)
        return ids

    # --- running -------------------------------------------------------------------------

    async def run(
        self,
        payloads: Iterable[dict[str, Any]],
        *,
        replace: bool = False,
        progress: Progress | None = None,
    ) -> RunReport:
        """Run payloads (and the payloads they chain to) to a terminal state.

        The report covers exactly these payloads and their chained children. Payloads
        already waiting in the intake (an interrupted run's, `cirro submit`'s) run too when
        the intake hands them out first, but are only counted (`report.others`). Once every
        own payload has ended, nothing more is received; what is running then finishes.
        """
        began = time.monotonic()
        stop = asyncio.Event()
        tracker = RunTracker(progress, on_idle=stop.set)
        with self.lock.hold():
            self.submit(payloads, replace=replace, tracker=tracker)
            await self._run_tracked(tracker, stop)
        tracker.report.wall_s = time.monotonic() - began
        return tracker.report

    async def take_over(self, tracker: RunTracker, refresh: Callable[[], None]) -> RunReport:
        """Run to the end the payloads `tracker` expects, already queued by a hand-over whose
        engine has stopped. Raises EngineBusy when another engine holds the project again.
        `refresh` updates the tracker from the state database once the lock is held."""
        stop = asyncio.Event()
        tracker.on_idle = stop.set
        with self.lock.hold():
            refresh()
            await self._run_tracked(tracker, stop)
        return tracker.report

    async def drain_queued(self, progress: Progress | None = None) -> RunReport:
        """Run whatever waits in the intake (and what it chains to) until the intake is
        empty, reporting all of it as this run's own."""
        began = time.monotonic()
        tracker = RunTracker(progress, adopt_all=True)
        with self.lock.hold():
            async with _Session(self, tracker) as session:
                await session.drain(until_idle=True)
        tracker.report.wall_s = time.monotonic() - began
        return tracker.report

    async def _run_tracked(self, tracker: RunTracker, stop: asyncio.Event) -> None:
        tracker.tick()  # nothing of its own to wait for: `stop` is set already
        async with _Session(self, tracker) as session:
            await session.drain(until_idle=True, stop=stop)
        tracker.report.left_queued = self.intake.waiting_count()

    async def serve(
        self,
        stop: asyncio.Event,
        *,
        ready: Callable[[], None] | None = None,
        services: Sequence[Service] = (),
    ) -> RunReport:
        """Drain the intake until `stop` is set; in-flight executions then finish.

        `services` run beside the drain loop on the same event loop until `stop` is set —
        the place an HTTP API plugs in (it reads state and submits through this engine).
        """
        began = time.monotonic()
        tracker = RunTracker(None, adopt_all=True, keep_records=False)  # counts only
        with self.lock.hold():
            async with _Session(self, tracker) as session:
                running = [asyncio.ensure_future(service(self, stop)) for service in services]
                if ready is not None:
                    ready()
                try:
                    await session.drain(until_idle=False, stop=stop)
                finally:
                    for task in running:
                        task.cancel()
                    await asyncio.gather(*running, return_exceptions=True)
        tracker.report.wall_s = time.monotonic() - began
        return tracker.report


def with_replace(payload: dict[str, Any]) -> dict[str, Any]:
    """A copy of the payload whose current process block says `replace: true`."""
    process_ = payload.get("process")
    if isinstance(process_, list) and process_ and isinstance(process_[0], dict):
        return {**payload, "process": [{**process_[0], "replace": True}, *process_[1:]]}
    if isinstance(process_, dict):
        return {**payload, "process": {**process_, "replace": True}}
    return payload


class _Session:
    """The live parts of a run: worker pools, batch runner, invoker, in-flight executions."""

    def __init__(self, engine: LocalEngine, tracker: RunTracker) -> None:
        self.engine = engine
        self.tracker = tracker
        self.pool: Any = None
        self.batch: Any = None
        self.runner: LocalRunner | None = None

    async def __aenter__(self) -> _Session:
        from cirrostratus.runtime import BatchRunner, LambdaPool, make_invoker, project_specs

        e = self.engine
        runtimes = getattr(e, "task_runtimes", None)  # another executor (`--executor dask`)
        if runtimes is not None:
            self.pool, self.batch = await runtimes(e)
        else:
            self.pool = LambdaPool(
                project_specs(e.project, e.locations), logs_dir=e.locations.logs_dir
            )
            self.batch = BatchRunner(e.project, e.locations)
        invoker = make_invoker(e.project, self.pool, self.batch)
        self.runner = LocalRunner(
            e.workflows,
            invoker,
            store=e.store,
            payload_store=e.payloads,
            intake=e.intake,
            notifier=e.notifier,
            history=e.history,
            on_settled=self.tracker.settled,
        )
        recover(e.store, e.intake, e.payloads, e.notifier)
        e.live_session = self  # what engine/status.py reports while serving
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        if self.runner.inflight:
            await self.runner.cancel_all()
        await self.pool.close()
        close = getattr(self.batch, "close", None)
        if close is not None:
            await close()

    async def drain(self, *, until_idle: bool, stop: asyncio.Event | None = None) -> None:
        """Receive → process → execute, keeping at most `concurrency` executions in flight.

        Everything runs on this loop's thread: worker threads would only trade disk waits for
        GIL hand-offs (measured slower). A batch is received only when there is room for a
        good share of one, so state transactions stay large under load.
        """
        runner = self.runner
        assert runner is not None
        engine = self.engine
        runner.patience = STATE_PATIENCE_S if until_idle else None  # serve waits for space
        least = max(1, min(RECEIVE_BATCH, engine.concurrency // 8))
        trouble = _Trouble()
        next_delivery = 0.0
        while not (stop is not None and stop.is_set()):
            room = engine.concurrency - len(runner.inflight)
            if room >= least or (room > 0 and not runner.inflight):
                try:
                    result = self._receive_and_process(min(room, RECEIVE_BATCH))
                except Exception as exc:  # the intake or state database refused a write
                    if is_damaged(exc) or (until_idle and trouble.over(STATE_PATIENCE_S)):
                        raise
                    await _sleep_or_stop(trouble.failed(exc, "receiving payloads"), stop)
                    continue
                trouble.clear()
                if result is not None:
                    runner.spawn_pending()
                    self.tracker.processed(result, engine.store)
                    await asyncio.sleep(0)
                    continue
            if runner.fatal is not None:
                raise runner.fatal
            if runner.inflight:
                await runner.wait_settled()
                continue
            if until_idle and self._idle(trouble):
                break
            if not until_idle and time.monotonic() >= next_delivery:
                # idle serve: what the outbox kept (an intake that was full) goes out now
                next_delivery = time.monotonic() + OUTBOX_RETRY_S
                self._deliver_outbox()
            await _sleep_or_stop(0.05, stop)
        # a stop: nothing new is received; what is running finishes (serve's SIGTERM), and a
        # result the state store keeps refusing is left for the next engine to resume
        runner.stopping = not until_idle and stop is not None and stop.is_set()
        await runner.finish()
        self._deliver_outbox()

    def _idle(self, trouble: _Trouble) -> bool:
        """Nothing queued, nothing running, and nothing left in the outbox (what is there is
        delivered now; a `run` waits for it up to its patience)."""
        if not self._intake_empty():
            return False
        if not self._deliver_outbox():
            return True
        return trouble.over(STATE_PATIENCE_S)

    def _deliver_outbox(self) -> bool:
        """Deliver what the outbox holds; True while something is still waiting there."""
        e = self.engine
        try:
            deliver(e.store, e.intake, e.notifier)
            return outbox_pending(e.store)
        except Exception as exc:
            if is_damaged(exc):
                raise
            logger.warning("the outbox waits: %s: %s", type(exc).__name__, exc)
            return True

    def _receive_and_process(self, count: int) -> ProcessResult | None:
        engine, runner = self.engine, self.runner
        assert runner is not None
        messages = engine.intake.receive(count)
        if not messages:
            return None
        try:
            return process(
                messages,
                store=engine.store,
                payload_store=engine.payloads,
                runner=runner,
                intake=engine.intake,
                check=engine.check_parameters,
            )
        except BaseException:
            runner.drop_pending()
            # their messages come back a little later (a crash: after the lease)
            with contextlib.suppress(Exception):
                for m in messages:
                    engine.intake.release(m.receipt, delay=process_retry_delay(m.receive_count))
            raise

    def _intake_empty(self) -> bool:
        counts = self.engine.intake.counts()
        return counts.visible == 0 and counts.in_flight == 0 and counts.delayed == 0


class _Trouble:
    """Consecutive failures of the drain loop's own writes, for backoff and patience."""

    def __init__(self) -> None:
        self.since: float | None = None
        self.delay = RETRY_FIRST_S

    def failed(self, exc: Exception, doing: str) -> float:
        """Note a failure; return how long to wait before trying again."""
        if self.since is None:
            self.since = time.monotonic()
        logger.warning("%s failed (%s: %s); retrying", doing, type(exc).__name__, exc)
        delay, self.delay = self.delay, min(self.delay * 2, RETRY_MAX_S)
        return delay

    def over(self, patience: float) -> bool:
        if self.since is None:
            self.since = time.monotonic()
        return time.monotonic() - self.since >= patience

    def clear(self) -> None:
        self.since, self.delay = None, RETRY_FIRST_S


async def _sleep_or_stop(seconds: float, stop: asyncio.Event | None) -> None:
    if stop is None:
        await asyncio.sleep(seconds)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
