"""What the engine runs and what comes back: tasks, their outcomes, the batch's status,
and the wrapper every task runs inside a worker.

Why the wrapper sends the value back as JSON text: the journal stores outcomes as JSON,
so an outcome read back on `--resume` must equal the one computed now; passing every
value through JSON once, in the worker, makes a fresh, a resumed and a remote outcome
the same plain dict, and a value that cannot be stored fails its own task instead of
the journal.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: The error of a task still queued when the command's time limit ended.
NOT_RUN = "not run: the time limit ended first"
#: The error of a task whose worker process died under it twice (or, on a Dask cluster,
#: on as many workers as the scheduler allows).
WORKER_DIED = "the worker process running it died"
#: Errors longer than this are cut: an outcome's error is one line for a table cell.
ERROR_CHARS = 400


@dataclass(frozen=True)
class Task:
    """One unit of work: a solve at one point of a sweep, one chain of a frontier.

    `run` is called in a worker process with the seconds it may take and returns a
    JSON-serialisable dict; it must be picklable (a module-level function or a
    `functools.partial` of one) and deterministic, so that any worker, local or
    remote, and any later run give the same value. Without a deadline it receives
    `math.inf`.
    """

    key: str  # unique within a command and stable across runs: the journal key
    label: str  # how messages name the point: "budget=120, Options[APP-02].cost=5"
    run: Callable[[float], dict[str, Any]]
    imports: tuple[str, ...] = ()
    """Modules `run` imports when it first runs (lazily, so that commands start quickly).
    Local workers get them, with `run`'s own module, from the process they are forked
    from, imported there once before the first worker starts, instead of by each worker
    on its first task (0.3 s of a solve's modules, per worker and per pool)."""


@dataclass(frozen=True)
class Outcome:
    """How one task ended: its value, or one line saying what went wrong."""

    key: str
    label: str
    value: dict[str, Any] | None  # None when it failed
    error: str | None  # one line: what went wrong (exception type and message)
    seconds: float  # the task's own run time (0 when it did not run)
    resumed: bool  # read back from the journal, not computed now

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class BatchStatus:
    """What a progress display needs, as plain values.

    `done` counts every finished task, `failed` and `resumed` included;
    `done + running + queued` is every task submitted so far. `eta_s` is None until
    a task has been computed (nothing to estimate from).
    """

    done: int
    running: int
    failed: int
    queued: int
    resumed: int
    elapsed_s: float
    eta_s: float | None


#: What `run_in_worker` sends back: the value as JSON text, or the error; and seconds.
Finished = tuple[str | None, str | None, float]


def run_in_worker(run: Callable[[float], dict[str, Any]], seconds: float) -> Finished:
    """Run one task where it is executed (a local worker, a Dask worker) and bring back
    its value as JSON text, or its exception as one line."""
    began = time.perf_counter()
    try:
        value = run(seconds)
        if not isinstance(value, dict):
            raise TypeError(f"a task returns a dict, not {type(value).__name__}")
        text = json.dumps(value)
    except Exception as exc:
        return None, one_line(exc), time.perf_counter() - began
    return text, None, time.perf_counter() - began


def one_line(exc: BaseException) -> str:
    """`Type: message` on one line, cut to `ERROR_CHARS`."""
    message = " ".join(str(exc).split())
    line = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return line if len(line) <= ERROR_CHARS else line[: ERROR_CHARS - 3] + "..."
