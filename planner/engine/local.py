"""Tasks on worker processes of this machine (`concurrent.futures.ProcessPoolExecutor`).

Why these choices:
- Workers come from a forkserver (spawn where there is none), never a plain fork: the
  parent may have solver threads running, and a fork copies their locks mid-use.
- A worker process that dies (os._exit, a segfault in the solver, the kernel's OOM kill)
  breaks the whole executor and every task in flight with it, without saying which one
  died; this backend reports each of them as `Report(ticket, None)` and starts a new
  executor, and the pool re-runs them one at a time, which names the culprit.
- Ctrl-C must stop solves promptly: workers ignore SIGINT (the parent decides), and an
  abort terminates them rather than waiting for running solves to end.
- The standard library's executor, with two workarounds: every worker is started with
  its executor (`_start_all`), and before Python 3.14 terminating running calls needs
  its private process map (`_terminate`). loky (joblib's executor) does both out of the
  box, but would be one more dependency for two small functions.
"""

from __future__ import annotations

import concurrent.futures
import functools
import multiprocessing
import os
import queue
import signal
import sys
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from planner.engine.backend import Report, drain
from planner.engine.errors import EngineError
from planner.engine.task import Finished, Task, one_line, run_in_worker

#: How long to wait for processes to end when closing (terminate, then kill).
STOP_WAIT_S = 5.0
#: How long worker processes may take to start.
START_WAIT_S = 60.0


def default_workers() -> int:
    """The cores this process may use (its CPU affinity), the default worker count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # no affinity on this platform
        return max(1, os.cpu_count() or 1)


def _start_method() -> str:
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def task_modules(task: Task) -> list[str]:
    """What a worker imports to run `task`: its declared `imports`, and the module of
    `task.run` (a function or a `functools.partial` of one) when it is this package's
    (another's, a test's say, may not import cleanly outside its own process)."""
    run: Any = task.run
    while isinstance(run, functools.partial):
        run = run.func
    module = getattr(run, "__module__", None)
    named = [module] if isinstance(module, str) else []
    ours = [m for m in named if m.partition(".")[0] == __name__.partition(".")[0]]
    return list(dict.fromkeys([*ours, *task.imports]))


def _preload(context: Any, task: Task) -> None:
    """Have the forkserver import what `task` needs before it forks the first worker.

    The forkserver is one per process and starts with the first pool; it reads the list
    then, so a later pool's workers come with the modules the first pool's tasks named
    (for more, they import the rest on their first task, as without a forkserver). A
    module the forkserver cannot import is skipped there, and the worker fails on it
    as it would have anyway.
    """
    if context.get_start_method() == "forkserver":
        context.set_forkserver_preload(task_modules(task))


#: In a worker: the barrier all workers of its executor meet at once started.
_started: Any = None


def _init_worker(parent_path: list[str], started: Any) -> None:
    """Each worker: leave Ctrl-C to the parent, and import what the parent can (the
    forkserver may have started before the parent's `sys.path` grew)."""
    global _started
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for entry in parent_path:
        if entry not in sys.path:
            sys.path.append(entry)
    _started = started


def _meet() -> int:
    """Wait until every worker of the executor runs this (see `LocalWorkers._start_all`)."""
    _started.wait(START_WAIT_S)
    return os.getpid()


@dataclass
class _Dispatch:
    future: Future[Finished]
    generation: int
    began: float


class LocalWorkers:
    """`workers` worker processes, all started on first use and again after one died."""

    def __init__(self, workers: int) -> None:
        self.slots = workers
        self.ahead = 0  # a process takes its next task as fast as the pool hands it
        self._context = multiprocessing.get_context(_start_method())
        self._executor: ProcessPoolExecutor | None = None
        self._generation = 0
        self._inflight: dict[int, _Dispatch] = {}
        self._arrived: queue.SimpleQueue[tuple[int, Future[Finished]]] = queue.SimpleQueue()

    def start(self, ticket: int, task: Task, seconds: float) -> None:
        for _ in range(2):
            executor = self._executor or self._new_executor(task)
            try:
                future = executor.submit(run_in_worker, task.run, seconds)
                break
            except BrokenProcessPool:  # broke since the last collect: its tasks come back
                _terminate(executor)  # as died; this one goes to a new executor
                self._executor = None
        dispatch = _Dispatch(future, self._generation, time.monotonic())
        self._inflight[ticket] = dispatch
        future.add_done_callback(lambda done: self._arrived.put((ticket, done)))

    def running(self) -> int:
        return len(self._inflight)

    def collect(self, timeout: float) -> list[Report]:
        arrived = drain(self._arrived, timeout)
        if not arrived:
            return []
        reports = []
        broken: set[int] = set()
        for ticket, future in arrived:
            dispatch = self._inflight.get(ticket)
            if dispatch is None or dispatch.future is not future:
                continue  # already reported with its broken executor
            del self._inflight[ticket]
            report = self._report(ticket, dispatch)
            if report.finished is None:
                broken.add(dispatch.generation)
            reports.append(report)
        for generation in broken:
            reports.extend(self._drop_generation(generation))
        return reports

    def close(self, *, abort: bool) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return
        if abort or self._inflight:
            _terminate(executor)
        else:
            executor.shutdown(wait=True)
        self._inflight.clear()

    def _new_executor(self, task: Task) -> ProcessPoolExecutor:
        self._generation += 1
        _preload(self._context, task)
        started = self._context.Barrier(self.slots)
        self._executor = ProcessPoolExecutor(
            max_workers=self.slots,
            mp_context=self._context,
            initializer=_init_worker,
            initargs=(list(sys.path), started),
        )
        self._start_all(self._executor)
        return self._executor

    def _start_all(self, executor: ProcessPoolExecutor) -> None:
        """Start every worker now, not one by one as tasks arrive.

        The executor watches its workers for a sudden death through a list it only
        renews when it wakes for a result; a worker started after the executor's
        last wake-up could die unnoticed until another task ends (for ever, if none
        is left). So `slots` calls that can only end together (a barrier) start them
        all, and their results wake the executor with every worker known.
        """
        calls = [executor.submit(_meet) for _ in range(self.slots)]
        concurrent.futures.wait(calls, timeout=START_WAIT_S + STOP_WAIT_S)
        try:
            pids = {call.result(timeout=0) for call in calls}
        except Exception as exc:
            _terminate(executor)
            raise EngineError(
                f"The {self.slots} local worker processes did not start ({one_line(exc)}):"
                " check the memory free and the limit on processes (ulimit -u)."
            ) from exc
        if len(pids) != self.slots:  # cannot happen: the barrier holds each call
            _terminate(executor)
            raise EngineError(f"Only {len(pids)} of {self.slots} local worker processes started.")

    def _report(self, ticket: int, dispatch: _Dispatch) -> Report:
        error = dispatch.future.exception()
        if isinstance(error, BrokenProcessPool):
            return Report(ticket, None)
        if error is not None:  # e.g. the task could not be pickled
            return Report(ticket, (None, one_line(error), time.monotonic() - dispatch.began))
        return Report(ticket, dispatch.future.result())

    def _drop_generation(self, generation: int) -> list[Report]:
        """A worker of executor `generation` died: its other tasks in flight fail with it
        (the executor fails them all at once); collect them and retire the executor."""
        lost = {t: d for t, d in self._inflight.items() if d.generation == generation}
        concurrent.futures.wait([d.future for d in lost.values()], timeout=STOP_WAIT_S)
        reports = []
        for ticket, dispatch in lost.items():
            del self._inflight[ticket]
            if dispatch.future.done():
                reports.append(self._report(ticket, dispatch))
            else:  # the executor never said: treat as lost with the rest
                reports.append(Report(ticket, None))
        if self._executor is not None and self._generation == generation:
            _terminate(self._executor)
            self._executor = None
        return reports


def _terminate(executor: ProcessPoolExecutor) -> None:
    """Stop `executor` now: cancel what waits, terminate its processes (bounded waits).

    `ProcessPoolExecutor` has no public way to stop running calls before Python 3.14
    (`terminate_workers`); before it, the private `_processes` map (unchanged since 3.8)
    is the only handle on them.
    """
    processes = list((getattr(executor, "_processes", None) or {}).values())
    stop = getattr(executor, "terminate_workers", None)
    if callable(stop):
        stop()
    else:
        for process in processes:
            if process.is_alive():
                process.terminate()
    executor.shutdown(wait=False, cancel_futures=True)
    ends = time.monotonic() + STOP_WAIT_S
    for process in processes:
        process.join(max(0.0, ends - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join(1.0)
