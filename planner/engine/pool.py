"""The pool: many tasks on local worker processes or a Dask cluster, with one time limit
for all, a journal to resume from, and progress for a display.

One loop in the caller's thread does everything (dispatch, collect, journal, progress),
so callbacks never run on another thread and Ctrl-C lands where it can stop the work.
At most `slots` tasks run at once, each dispatched with its time share
(`timeshare.time_share`) computed at that moment. A backend may take `ahead` more, to
wait where they run (a cluster's scheduler); such a task's share is computed for the
moment it starts at the latest, when the task in flight before it reaches its share's
end, so the command's deadline holds as it does without them.

A worker process dying takes every task in flight on its executor with it, without
saying which task killed it. Those tasks are re-run one at a time, alone: the one that
kills its worker again fails ("the worker process running it died"), the others come
back as if nothing had happened.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from planner.engine.backend import Backend, Report
from planner.engine.cluster import DaskWorkers
from planner.engine.errors import EngineError
from planner.engine.journal import Journal
from planner.engine.local import LocalWorkers, default_workers
from planner.engine.task import NOT_RUN, WORKER_DIED, BatchStatus, Outcome, Task, one_line
from planner.engine.timeshare import time_share

#: Progress is reported on every change and at least this often (seconds) while waiting.
TICK_S = 0.5


@dataclass(frozen=True)
class PoolOptions:
    """What `--workers`, `--scheduler` and `--resume` give: how a command's tasks run."""

    workers: int | None = None
    scheduler: str | None = None
    resume: bool = False


@dataclass
class _Entry:
    """A submitted task on its way through the pool."""

    ticket: int
    task: Task
    deaths: int = 0  # how often a worker died while it was in flight
    dispatched: float = 0.0  # time.monotonic() of its last dispatch
    ends_by: float = 0.0  # time.time() by which it ends at the latest (its share's end)


class Pool:
    """Runs submitted tasks and hands back their `Outcome`s as they finish.

    `workers`: tasks at once (local processes; default the cores this process may
    use; on a cluster default its threads). `scheduler`: a Dask scheduler address to
    run on instead, reached within 10 s or `EngineError`. `deadline`: the
    `time.time()` instant the command ends; tasks not started by then are outcomes
    with error "not run: the time limit ended first". `journal`: a file recording
    every outcome under `fingerprint`; with `resume` its successful outcomes come
    back at once (`resumed=True`). `progress`: called with a `BatchStatus` from the
    thread iterating `outcomes()`, on each change and about twice a second.

    Use it as a context manager: leaving it stops whatever still runs.
    """

    def __init__(
        self,
        *,
        workers: int | None = None,
        scheduler: str | None = None,
        deadline: float | None = None,
        journal: Path | None = None,
        fingerprint: str = "",
        resume: bool = False,
        progress: Callable[[BatchStatus], None] | None = None,
    ) -> None:
        if workers is not None and (
            isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
        ):
            raise EngineError(
                f"The number of workers must be a whole number of at least 1, not {workers!r}."
            )
        self._deadline = deadline
        self._progress = progress
        self._began = time.monotonic()
        self._keys: set[str] = set()
        self._tickets = 0
        self._queued: deque[_Entry] = deque()
        self._suspects: deque[_Entry] = deque()  # their worker died: re-run, one alone
        self._running: dict[int, _Entry] = {}
        self._ready: deque[Outcome] = deque()
        self._done = self._failed = self._resumed = self._computed = 0
        self._computed_s = 0.0
        self._shown: tuple[int, ...] | None = None
        self._shown_at = -float("inf")
        self._closed = False
        self._journal = Journal(journal, fingerprint, resume=resume) if journal else None
        try:
            self._backend: Backend = (
                DaskWorkers(scheduler, workers)
                if scheduler
                else LocalWorkers(workers or default_workers())
            )
        except BaseException:
            self.close()
            raise

    @property
    def slots(self) -> int:
        """How many tasks run at once."""
        return self._backend.slots

    def submit(self, task: Task) -> None:
        """Queue `task` (or, resuming, hand back its journaled outcome at once)."""
        if self._closed:
            raise ValueError("the pool is closed")
        if task.key in self._keys:
            raise ValueError(f"a task with the key {task.key!r} was already submitted")
        self._keys.add(task.key)
        journaled = self._journal.finished.get(task.key) if self._journal else None
        if journaled is not None:
            self._done += 1
            self._resumed += 1
            self._ready.append(journaled)
            return
        self._tickets += 1
        self._queued.append(_Entry(self._tickets, task))

    def outcomes(self) -> Iterator[Outcome]:
        """Each outcome as its task finishes (journaled ones first); tasks submitted
        during the iteration are included; it ends when none is pending.

        Any exception inside (Ctrl-C, one raised by `progress`) cancels the queued
        tasks and stops the running ones before it propagates; the journal keeps
        what finished, for `resume`.
        """
        if self._closed:
            raise ValueError("the pool is closed")
        try:
            while True:
                self._advance(wait=not self._ready)
                self._notify()
                if self._ready:
                    yield self._ready.popleft()
                elif not self._pending():
                    return
        except GeneratorExit:  # the caller stopped iterating: the work stays as it is
            raise
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Stop the workers (at once if tasks are still pending) and close the journal."""
        if self._closed:
            return
        self._closed = True
        try:
            backend = getattr(self, "_backend", None)
            if backend is not None:
                backend.close(abort=self._pending())
        finally:
            if self._journal is not None:
                self._journal.close()

    def __enter__(self) -> Pool:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def status(self) -> BatchStatus:
        """How the batch stands now."""
        running = min(len(self._running), self.slots)  # those sent ahead still wait
        queued = len(self._queued) + len(self._suspects) + len(self._running) - running
        left = running + queued
        eta: float | None = None
        if left == 0:
            eta = 0.0
        elif self._computed:
            eta = left * (self._computed_s / self._computed) / self.slots
            if self._deadline is not None:
                eta = min(eta, max(0.0, self._deadline - time.time()))
        return BatchStatus(
            done=self._done,
            running=running,
            failed=self._failed,
            queued=queued,
            resumed=self._resumed,
            elapsed_s=time.monotonic() - self._began,
            eta_s=eta,
        )

    def _pending(self) -> bool:
        return bool(self._queued or self._suspects or self._running)

    def _advance(self, *, wait: bool) -> None:
        """Expire, dispatch, and collect what came back (waiting up to a tick if `wait`)."""
        self._dispatch()
        if not self._running:
            return
        timeout = TICK_S if wait else 0.0
        if self._deadline is not None and (self._queued or self._suspects):
            timeout = min(timeout, max(0.0, self._deadline - time.time()))
        for report in self._backend.collect(timeout):
            self._arrive(report)
        self._dispatch()

    def _dispatch(self) -> None:
        """Fill the free slots with queued tasks, each with its time share; a task whose
        worker died runs alone, so a second death names it."""
        if self._deadline is not None and time.time() >= self._deadline:
            while self._suspects:
                self._finish(self._suspects.popleft(), None, WORKER_DIED, 0.0)
            while self._queued:
                self._finish(self._queued.popleft(), None, NOT_RUN, 0.0)
        if self._suspects:
            if not self._running:
                self._start(self._suspects.popleft(), time.time())
            return
        while self._queued and len(self._running) < self.slots:
            self._start(self._queued.popleft(), time.time())
        while self._queued and len(self._running) < self.slots + self._backend.ahead:
            starts = self._starts_by()
            if self._deadline is not None and starts >= self._deadline:
                return  # it may yet start earlier: it stays queued until a slot frees
            self._start(self._queued.popleft(), starts)

    def _starts_by(self) -> float:
        """When a task sent ahead now starts at the latest: once as many tasks in flight
        as are ahead of it beyond the slots have reached the end of their shares (tasks
        wait in the order they were sent)."""
        ends = sorted(entry.ends_by for entry in self._running.values())
        return max(time.time(), ends[len(self._running) - self.slots])

    def _start(self, entry: _Entry, starts: float) -> None:
        waiting = len(self._queued) + len(self._suspects) + 1
        seconds = time_share(self._deadline, starts, waiting, self.slots)
        if seconds is None:
            self._finish(entry, None, NOT_RUN, 0.0)
            return
        entry.dispatched = time.monotonic()
        entry.ends_by = starts + seconds
        self._running[entry.ticket] = entry
        try:
            self._backend.start(entry.ticket, entry.task, seconds)
        except EngineError:
            raise
        except Exception as exc:  # this task cannot be sent (not picklable, say): it fails
            del self._running[entry.ticket]
            self._finish(entry, None, one_line(exc), 0.0)

    def _arrive(self, report: Report) -> None:
        entry = self._running.pop(report.ticket)
        if report.finished is None:  # its worker died, maybe because of another task
            entry.deaths += 1
            if entry.deaths >= 2:
                self._finish(entry, None, WORKER_DIED, time.monotonic() - entry.dispatched)
            else:
                self._suspects.append(entry)
            return
        text, error, seconds = report.finished
        value = json.loads(text) if text is not None else None
        self._computed += 1
        self._computed_s += seconds
        self._finish(entry, value, error, seconds)

    def _finish(
        self, entry: _Entry, value: dict[str, object] | None, error: str | None, seconds: float
    ) -> None:
        outcome = Outcome(entry.task.key, entry.task.label, value, error, seconds, resumed=False)
        if self._journal is not None:
            self._journal.append(outcome)
        self._done += 1
        self._failed += error is not None
        self._ready.append(outcome)

    def _notify(self) -> None:
        """Call `progress` when the counts changed, or a tick has passed since."""
        if self._progress is None:
            return
        status = self.status()
        counts = (status.done, status.running, status.failed, status.queued, status.resumed)
        now = time.monotonic()
        if counts != self._shown or now - self._shown_at >= TICK_S:
            self._shown, self._shown_at = counts, now
            self._progress(status)


def run_tasks(
    tasks: Sequence[Task],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    deadline: float | None = None,
    journal: Path | None = None,
    fingerprint: str = "",
    resume: bool = False,
    progress: Callable[[BatchStatus], None] | None = None,
) -> list[Outcome]:
    """Every task's outcome, in the tasks' order (see `Pool` for the options)."""
    with Pool(
        workers=workers,
        scheduler=scheduler,
        deadline=deadline,
        journal=journal,
        fingerprint=fingerprint,
        resume=resume,
        progress=progress,
    ) as pool:
        for task in tasks:
            pool.submit(task)
        found = {outcome.key: outcome for outcome in pool.outcomes()}
    return [found[task.key] for task in tasks]
