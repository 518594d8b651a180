"""Many solves at once: tasks on local worker processes or an existing Dask cluster.

The engine knows nothing of sweeps or frontiers (`planner.whatif` builds the tasks): it
runs `Task`s, each a picklable function of the seconds it may take, under one time
limit for the whole command, journals every `Outcome` so an interrupted command resumes,
and reports a `BatchStatus` for a progress display. Results are the same whatever runs
them: one local process, many, or a cluster.

    from planner.engine import Pool, Task, run_tasks
    outcomes = run_tasks(tasks, workers=4, deadline=time.time() + 600)
"""

from planner.engine.errors import EngineError
from planner.engine.pool import Pool, PoolOptions, run_tasks
from planner.engine.task import NOT_RUN, WORKER_DIED, BatchStatus, Outcome, Task

__all__ = [
    "NOT_RUN",
    "WORKER_DIED",
    "BatchStatus",
    "EngineError",
    "Outcome",
    "Pool",
    "PoolOptions",
    "Task",
    "run_tasks",
]
