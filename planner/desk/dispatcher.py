"""The desk's dispatcher: runs queued in submit order, at most `workers` at once, each
through the engine, cancellable, and recovered after a restart.

Why this shape:
- `config.workers` runner threads take run ids from one queue; each run executes as
  one engine task on a pool of its own (`Pool(workers=1)`, or on `config.scheduler`),
  so at most `workers` runs compute at once and cancelling one terminates only its
  worker process. Sweeps and frontiers are batches of engine tasks themselves: they
  run in the runner thread with a pool of one process, the same bound.
- Every status change is a conditional update of the store (`update_if`), so a
  cancel racing a runner, or two cancels, can never both win.
- The runner thread is the only one that touches a running run's pool: a cancel or a
  stop sets a flag that the pool's progress callback (called about twice a second,
  in the runner thread) turns into an exception; the pool then closes with abort
  (its processes terminated) and the runner records the run as cancelled or
  interrupted.
- Files appear whole or not at all (`write_whole`), and the status changes to done
  only once they are in place: nothing half-written is ever served.
- The store is the truth across restarts: `start` marks runs still `running` as
  `interrupted` (their service died) and queues the `queued` ones again, reloading
  each scenario from the workbook.xlsx in its folder.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import shutil
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planner.api import SOLVE_IMPORTS
from planner.desk import jobs
from planner.desk.config import DeskConfig
from planner.desk.store import INTERRUPTED, RunRecord, RunStore, now, queued_progress
from planner.engine import BatchStatus, EngineError, Pool, PoolOptions, Task
from planner.engine.task import one_line
from planner.errors import InputError
from planner.reports.whole_files import write_whole
from planner.whatif.frontier import check_arguments
from planner.whatif.scenario_batch import write_run_folder
from planner.whatif.sweep import validate_points
from planner.workbook.variants import open_workbook

if TYPE_CHECKING:
    from planner.scenario.data import Scenario

log = logging.getLogger("planner.desk")

#: Statuses a run can be re-run from.
RERUNNABLE = ("interrupted", "failed", "cancelled")
#: Statuses of a solve run that sweeps and frontiers can start from.
PARENTS = ("done", "infeasible", "no_solution")
#: Seconds `cancel` waits for a running run's worker to stop.
CANCEL_WAIT_S = 15.0
#: Seconds `stop` waits for each runner thread.
STOP_WAIT_S = 30.0
#: Progress is written to the store at most this often (seconds).
PROGRESS_EVERY_S = 0.5
#: Scratch space of running runs (progress files, engine journals), inside the data folder.
WORK = "work"


class RunStateError(Exception):
    """The run cannot do what was asked in its present status (re-run a finished run,
    sweep from one that did not finish); the message says why (HTTP 409)."""


class _Stopped(Exception):
    """Raised in the runner thread to abort a run: `reason` is its new status."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class _Active:
    """A run a runner thread has taken: how to stop it and when it has ended."""

    reason: str | None = None  # "cancelled" or "interrupted" once asked to stop
    ended: threading.Event = field(default_factory=threading.Event)


class Dispatcher:
    """Runs the store's runs through the engine (see the module's docstring)."""

    def __init__(self, store: RunStore, config: DeskConfig) -> None:
        if isinstance(config.workers, bool) or not isinstance(config.workers, int):
            raise ValueError(f"workers must be a whole number, not {config.workers!r}")
        if config.workers < 1:
            raise ValueError(f"workers must be at least 1, not {config.workers}")
        self.store = store
        self.config = config
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._queue: deque[str] = deque()
        self._scenarios: dict[str, Scenario] = {}
        self._active: dict[str, _Active] = {}
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self._work = store.data / WORK

    # --- life cycle ------------------------------------------------------------------

    def start(self) -> None:
        """Recover and begin: runs left `running` by a service that died become
        `interrupted`, `queued` ones are queued again in submit order, and
        `config.workers` runner threads start taking them."""
        interrupted = self.store.mark_interrupted()
        if interrupted:
            log.warning("runs interrupted when the service stopped: %s", ", ".join(interrupted))
        shutil.rmtree(self._work, ignore_errors=True)  # scratch of runs that died with it
        with self._wake:
            if self._threads:
                raise RuntimeError("the dispatcher is already started")
            self._stopping = False
            for record in self.store.queued():
                if record.id not in self._queue:
                    self._queue.append(record.id)
            self._threads = [
                threading.Thread(target=self._runner, name=f"desk-runner-{n}", daemon=True)
                for n in range(self.config.workers)
            ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop: running runs are aborted (their processes terminated) and recorded as
        `interrupted`; queued runs stay queued for the next start."""
        with self._wake:
            self._stopping = True
            for active in self._active.values():
                active.reason = "interrupted"
            self._wake.notify_all()
            threads, self._threads = self._threads, []
        for thread in threads:
            thread.join(STOP_WAIT_S)
            if thread.is_alive():
                log.error("the runner thread %s did not stop in %g s", thread.name, STOP_WAIT_S)

    # --- requests --------------------------------------------------------------------

    def submit(self, run_id: str, scenario: Scenario) -> None:
        """Queue a run the store has just added (its workbook.xlsx already in its folder)
        with its validated scenario."""
        record = self._record(run_id)
        if record.status != "queued":
            raise RunStateError(f"Run {run_id} is {record.status}, not queued.")
        self._enqueue(run_id, scenario)

    def rerun(self, run_id: str) -> RunRecord:
        """Queue an interrupted, failed or cancelled run again under the same id, its
        workbook.xlsx validated again first (`InputError` with every problem if it no
        longer validates: nothing is queued then)."""
        record = self._record(run_id)
        if record.status not in RERUNNABLE:
            raise RunStateError(
                f"Run {run_id} is {record.status}: only an interrupted, failed or cancelled"
                " run can be re-run."
            )
        scenario = self._validated(record)
        queued = self.store.update_if(
            run_id,
            RERUNNABLE,
            status="queued",
            started=None,
            finished=None,
            error=None,
            progress=queued_progress(),
            timings={},
        )
        if queued is None:  # it changed meanwhile (another re-run won)
            raise RunStateError(f"Run {run_id} is {self._record(run_id).status} now.")
        self._enqueue(run_id, scenario)
        return queued

    def cancel(self, run_id: str) -> RunRecord:
        """Cancel a run: a queued one never runs; a running one has its worker process
        terminated (waits until it has, a few seconds at most) and becomes `cancelled`.
        A finished run is returned unchanged. On a Dask cluster a task already running
        cannot be stopped there: the run is cancelled, its task runs out on the cluster."""
        self._record(run_id)
        with self._wake:
            active = self._active.get(run_id)
            if active is not None:
                active.reason = active.reason or "cancelled"
            elif run_id in self._queue:
                self._queue.remove(run_id)
                self._scenarios.pop(run_id, None)
        if active is not None:
            active.ended.wait(CANCEL_WAIT_S)
        else:
            self.store.update_if(
                run_id,
                ("queued",),
                status="cancelled",
                finished=now(),
                progress={"stage": "cancelled", "elapsed_s": 0.0, "time_limit_s": None},
            )
        return self._record(run_id)

    def start_sweep(
        self,
        parent: str,
        vary: Sequence[str],
        *,
        time_limit: float | None = None,
        label: str | None = None,
    ) -> RunRecord:
        """Queue a sweep of a finished solve run's scenario: `vary` holds `NAME=VALUES`
        texts as `planner sweep --vary` takes them. Every problem (of the values, of the
        time limit) raises `InputError` at once, before anything is queued."""
        record = self._parent(parent)
        workbook = self.store.folder(parent) / jobs.WORKBOOK
        pairs, problems = jobs.split_vary(vary)
        problems += check_arguments(None, None, time_limit)
        base = None
        if pairs or not vary:
            try:
                base, _, _ = validate_points(
                    open_workbook(workbook), record.scenario, jobs.sets_of(record.settings), pairs
                )
            except InputError as exc:
                problems += exc.problems
        if problems or base is None:
            raise InputError(problems)
        params = {
            "vary": [f"{name}={values}" for name, values in pairs],
            "time_limit": base.settings.time_limit_s if time_limit is None else time_limit,
        }
        return self._add_child("sweep", record, params, label)

    def start_frontier(
        self,
        parent: str,
        max_budget: float | None = None,
        points: int | None = None,
        *,
        time_limit: float | None = None,
        label: str | None = None,
    ) -> RunRecord:
        """Queue the reach–budget frontier of a finished solve run's scenario up to
        `max_budget` (default its budget), at most `points` points; bad arguments raise
        `InputError` with every problem before anything is queued."""
        record = self._parent(parent)
        problems = check_arguments(max_budget, points, time_limit)
        try:
            base = jobs.load_run_scenario(
                self.store.folder(parent) / jobs.WORKBOOK, record.scenario, record.settings
            )
        except InputError as exc:
            raise InputError([*problems, *exc.problems]) from None
        if problems:
            raise InputError(problems)
        params = {
            "max_budget": base.settings.budget if max_budget is None else max_budget,
            "points": points,
            "time_limit": base.settings.time_limit_s if time_limit is None else time_limit,
        }
        return self._add_child("frontier", record, params, label)

    # --- helpers of the requests -----------------------------------------------------

    def _record(self, run_id: str) -> RunRecord:
        record = self.store.get(run_id)
        if record is None:
            raise KeyError(run_id)
        return record

    def _parent(self, parent: str) -> RunRecord:
        record = self._record(parent)
        if record.kind != "solve" or record.status not in PARENTS:
            raise RunStateError(
                f"Run {parent} is a {record.kind} run that is {record.status}: sweeps and"
                " frontiers start from a solve run that finished (done, infeasible or"
                " no_solution)."
            )
        return record

    def _add_child(
        self, kind: str, parent: RunRecord, params: dict[str, Any], label: str | None
    ) -> RunRecord:
        record = self.store.add(
            kind=kind,
            label=label if label is not None else f"{kind} of {parent.label}".strip(),
            workbook_name=parent.workbook_name,
            workbook_sha256=parent.workbook_sha256,
            scenario=parent.scenario,
            settings=parent.settings,
            params=params,
            parent=parent.id,
        )
        folder = self.store.folder(record.id)
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.store.folder(parent.id) / jobs.WORKBOOK, folder / jobs.WORKBOOK)
        self._enqueue(record.id, None)
        return record

    def _validated(self, record: RunRecord) -> Scenario:
        """The run's scenario from the workbook.xlsx of its folder, validated again."""
        workbook = self.store.folder(record.id) / jobs.WORKBOOK
        if not workbook.is_file():
            raise RunStateError(f"Run {record.id} has no workbook.xlsx any more.")
        return jobs.load_run_scenario(workbook, record.scenario, record.settings)

    def _enqueue(self, run_id: str, scenario: Scenario | None) -> None:
        with self._wake:
            if scenario is not None:
                self._scenarios[run_id] = scenario
            if run_id not in self._queue:
                self._queue.append(run_id)
            self._wake.notify()

    # --- the runner threads ----------------------------------------------------------

    def _runner(self) -> None:
        while True:
            with self._wake:
                while not self._queue and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
                run_id = self._queue.popleft()
                scenario = self._scenarios.pop(run_id, None)
                active = _Active()
                self._active[run_id] = active
            try:
                self._execute(run_id, scenario, active)
            except Exception:  # a bug here must not end the thread: log it, go on
                log.exception("run %s: unexpected error in the dispatcher", run_id)
            finally:
                with self._wake:
                    del self._active[run_id]
                active.ended.set()

    def _execute(self, run_id: str, scenario: Scenario | None, active: _Active) -> None:
        """Run one queued run to its end, whatever happens recording how it ended."""
        record = self.store.update_if(
            run_id,
            ("queued",),
            status="running",
            started=now(),
            progress={"stage": "starting", "elapsed_s": 0.0, "time_limit_s": None},
        )
        if record is None:  # cancelled while it waited
            return
        began = time.monotonic()
        work = self._work / run_id
        try:
            if active.reason:
                raise _Stopped(active.reason)
            work.mkdir(parents=True, exist_ok=True)
            watch = _Watch(self.store, run_id, active, began, record.params.get("time_limit"))
            if record.kind == "solve":
                status, timings = self._solve(record, scenario, work, watch)
            else:
                status, timings = self._batch(record, work, watch)
            final = dict(watch.last, stage=status, elapsed_s=round(time.monotonic() - began, 3))
            final.pop("written_at", None)
            self.store.update_if(
                run_id,
                ("running",),
                status=status,
                finished=now(),
                timings={**timings, "run": round(time.monotonic() - began, 3)},
                progress=final,
            )
        except _Stopped as stop:
            self._end(
                run_id, stop.reason, began, INTERRUPTED if stop.reason == "interrupted" else None
            )
        except InputError as exc:
            problems = exc.problems
            first = f": {problems[0]}" if problems else ""
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            self._end(run_id, "failed", began, f"the workbook no longer validates{first}{more}")
        except _Failed as exc:
            self._end(run_id, "failed", began, str(exc))
        except EngineError as exc:
            self._end(run_id, "failed", began, " ".join(str(exc).split()))
        except Exception as exc:
            log.exception("run %s failed", run_id)
            self._end(run_id, "failed", began, one_line(exc))
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _end(self, run_id: str, status: str, began: float, error: str | None) -> None:
        elapsed = round(time.monotonic() - began, 3)
        record = self.store.get(run_id)
        progress = dict(record.progress if record else {}, stage=status, elapsed_s=elapsed)
        progress.pop("written_at", None)
        self.store.update_if(
            run_id,
            ("running",),
            status=status,
            finished=now(),
            error=error,
            progress=progress,
            timings={"run": elapsed},
        )

    def _pool_options(self) -> PoolOptions:
        return PoolOptions(workers=1, scheduler=self.config.scheduler)

    def _solve(
        self, record: RunRecord, scenario: Scenario | None, work: Path, watch: _Watch
    ) -> tuple[str, dict[str, float]]:
        """A solve run: one engine task on a pool of its own; its files written whole."""
        if scenario is None:  # queued before a restart: validated again from its folder
            scenario = self._validated(record)
        params = record.params
        local = self.config.scheduler is None
        progress_file = work / "progress.json" if local else None
        watch.progress_file = progress_file
        watch.time_limit = params.get("time_limit") or scenario.settings.time_limit_s
        task = Task(
            key=record.id,
            label=f"run {record.id}",
            run=functools.partial(
                jobs.solve_job,
                scenario,
                params.get("plans"),
                params.get("time_limit"),
                str(progress_file) if progress_file else None,
            ),
            imports=SOLVE_IMPORTS,
        )
        options = self._pool_options()
        with Pool(workers=options.workers, scheduler=options.scheduler, progress=watch) as pool:
            pool.submit(task)
            outcomes = list(pool.outcomes())
        watch.check()
        outcome = outcomes[0]
        if outcome.value is None:
            raise _Failed(outcome.error or "the run failed")
        watch.show({"stage": "writing"})
        # Only the names a solve run writes: a file name from a worker never becomes a path.
        files = {n: d for n, d in outcome.value["files"].items() if n in jobs.FILES["solve"]}
        write_run_folder(self.store.folder(record.id), files)
        timings = {k: float(v) for k, v in outcome.value.get("timings", {}).items()}
        return jobs.run_status(outcome.value["status"]), timings

    def _batch(self, record: RunRecord, work: Path, watch: _Watch) -> tuple[str, dict[str, float]]:
        """A sweep or a frontier: run in this thread on a pool of one process; its
        files (document, xlsx, chart.svg) written whole."""
        folder = self.store.folder(record.id)
        workbook = folder / jobs.WORKBOOK
        params = record.params
        watch.stage = "sweeping" if record.kind == "sweep" else "frontier"
        common: dict[str, Any] = {
            "scenario": record.scenario,
            "settings": record.settings,
            "time_limit": params.get("time_limit"),
            "pool": self._pool_options(),
            "progress": watch,
            "scratch": work,
        }
        began = time.monotonic()
        if record.kind == "sweep":
            writers = jobs.sweep_files(workbook, vary=params["vary"], **common)
        else:
            writers = jobs.frontier_files(
                workbook, max_budget=params.get("max_budget"), points=params.get("points"), **common
            )
        watch.check()
        computed = time.monotonic() - began
        write_whole(folder, writers)
        return "done", {"compute": round(computed, 3)}


class _Failed(Exception):
    """The run's task failed: its one-line error, as the engine gave it."""

    def __init__(self, error: str) -> None:
        super().__init__(error)


class _Watch:
    """The progress callback of a run's pool (called in the runner thread about twice a
    second): stops the run when asked, and copies its progress into the store."""

    def __init__(
        self,
        store: RunStore,
        run_id: str,
        active: _Active,
        began: float,
        time_limit: float | None,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.active = active
        self.began = began
        self.time_limit = time_limit
        self.progress_file: Path | None = None
        self.stage = "solving"
        self.last: dict[str, Any] = {}
        self._shown_at = -float("inf")

    def __call__(self, status: BatchStatus) -> None:
        self.check()
        now_ = time.monotonic()
        if now_ - self._shown_at < PROGRESS_EVERY_S:
            return
        self._shown_at = now_
        found = jobs.read_progress(self.progress_file) if self.progress_file else None
        if found is not None:
            written = found.pop("written_at", None)
            if isinstance(written, int | float) and isinstance(found.get("elapsed_s"), int | float):
                found["elapsed_s"] = round(found["elapsed_s"] + max(0.0, time.time() - written), 3)
            self.show(found)
        else:
            self.show(
                {
                    "stage": self.stage,
                    "elapsed_s": round(now_ - self.began, 3),
                    "time_limit_s": self.time_limit,
                    "done": status.done,
                    "total": status.done + status.running + status.queued,
                }
            )

    def check(self) -> None:
        """Raise `_Stopped` when the run was asked to stop."""
        if self.active.reason:
            raise _Stopped(self.active.reason)

    def show(self, progress: dict[str, Any]) -> None:
        progress.setdefault("run_elapsed_s", round(time.monotonic() - self.began, 3))
        self.last = progress
        with contextlib.suppress(KeyError):
            self.store.update(self.run_id, progress=progress)
