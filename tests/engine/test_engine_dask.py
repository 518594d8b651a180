"""Tasks on a real Dask cluster (tests/dask_cluster.py: a scheduler and two workers, each
its own process): the same outcomes as local workers; failures per task; an unreachable
scheduler is a clear error within 10 s."""

from __future__ import annotations

import functools
import socket
import time
from typing import Any

import pytest
import tasks_for_tests as tt
from dask_cluster import wait_for_workers

from planner.engine import WORKER_DIED, BatchStatus, EngineError, Outcome, Pool, Task, run_tasks


def mixed_tasks() -> list[Task]:
    tasks = [Task(f"sq{x}", f"x={x}", functools.partial(tt.square, x=x)) for x in range(8)]
    tasks.insert(3, Task("bad", "budget=5", functools.partial(tt.fail, message="no plan")))
    tasks.append(Task("list", "list", tt.not_a_dict))
    return tasks


def comparable(outcomes: list[Outcome]) -> list[tuple[object, ...]]:
    return [(o.key, o.label, o.value, o.error, o.resumed) for o in outcomes]


def test_a_cluster_gives_the_outcomes_of_local_workers(dask_scheduler: str) -> None:
    statuses: list[BatchStatus] = []
    remote = run_tasks(mixed_tasks(), scheduler=dask_scheduler, progress=statuses.append)
    local = run_tasks(mixed_tasks(), workers=2)
    assert comparable(remote) == comparable(local)
    assert remote[3].error == "RuntimeError: no plan second line"
    assert remote[-1].error == "TypeError: a task returns a dict, not list"
    assert max(s.running for s in statuses) <= 2  # the cluster's two threads
    last = statuses[-1]
    assert (last.done, last.failed, last.running, last.queued) == (10, 2, 0, 0)


def test_a_task_killing_its_dask_worker_fails_alone(dask_scheduler: str, tmp_path) -> None:
    die = Task("die", "die", functools.partial(tt.die, how="exit", marks=str(tmp_path)))
    tasks = [*mixed_tasks()[:3], die]
    outcomes = run_tasks(tasks, scheduler=dask_scheduler)
    assert outcomes[-1].error == WORKER_DIED
    assert [o.value for o in outcomes[:3]] == [tt.square(0, x) for x in range(3)]


def test_dask_keys_name_the_task_and_differ_between_commands(dask_scheduler: str) -> None:
    task = Task("sq2", "x=2", functools.partial(tt.square, x=2))
    with Pool(scheduler=dask_scheduler) as one, Pool(scheduler=dask_scheduler) as other:
        one.submit(task)
        other.submit(task)
        assert [o.value for o in one.outcomes()] == [o.value for o in other.outcomes()]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_scheduler_is_a_clear_error_within_10_s() -> None:
    address = f"tcp://127.0.0.1:{free_port()}"  # nobody listens: refused at once
    began = time.monotonic()
    with pytest.raises(EngineError, match="Cannot reach the Dask scheduler at") as caught:
        Pool(scheduler=address)
    assert time.monotonic() - began < 10
    assert f"{address} (connection refused): check that it is running" in str(caught.value)


def test_a_port_where_something_else_listens_is_an_error_within_10_s() -> None:
    """Say the dashboard's port by mistake: it listens, but never answers as a scheduler."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        began = time.monotonic()
        with pytest.raises(EngineError, match="something listens there but says nothing"):
            Pool(scheduler=address)
        assert time.monotonic() - began < 10


def test_a_malformed_scheduler_address_is_named() -> None:
    with pytest.raises(EngineError, match=r"'127\.0\.0\.1' is not a Dask scheduler address"):
        Pool(scheduler="127.0.0.1")


class WorkersWith:
    """A client whose workers report these planner versions (or an exception)."""

    def __init__(self, **versions: object) -> None:
        self.versions = versions

    def run(self, function: object, *args: object, on_error: str) -> dict[str, object]:
        return {f"tcp://{name}:1": v for name, v in self.versions.items()}


def test_workers_without_this_planner_version_are_named() -> None:
    from importlib.metadata import version

    from planner.engine.cluster import _check_workers

    mine = version("partnership-planner")
    _check_workers(WorkersWith(a=mine, b=mine), "tcp://s:8786")  # type: ignore[arg-type]
    with pytest.raises(
        EngineError, match=r"worker tcp://b:1 of tcp://s:8786 has partnership-planner 0\.0\.9"
    ):
        _check_workers(WorkersWith(a=mine, b="0.0.9"), "tcp://s:8786")  # type: ignore[arg-type]
    with pytest.raises(EngineError, match="has no partnership-planner installed"):
        _check_workers(WorkersWith(a=ModuleNotFoundError("planner")), "tcp://s:8786")  # type: ignore[arg-type]


def test_tasks_submitted_while_iterating_run_on_the_cluster_too(dask_scheduler: str) -> None:
    """As the frontier does: each chain's next solve is submitted when the last one ends."""
    seen = []
    with Pool(scheduler=dask_scheduler) as pool:
        pool.submit(Task("sq0", "x=0", functools.partial(tt.square, x=0)))
        for outcome in pool.outcomes():
            seen.append(outcome.value)
            if len(seen) < 4:
                x = len(seen)
                pool.submit(Task(f"sq{x}", f"x={x}", functools.partial(tt.square, x=x)))
    assert seen == [tt.square(0, x) for x in range(4)]


def _tasks_on(address: str) -> int:
    """How many tasks the scheduler has to run now (on a worker or waiting for one; not
    a finished one whose release is still on its way)."""
    from distributed import Client

    def unfinished(dask_scheduler: Any) -> int:
        return sum(task.state != "memory" for task in dask_scheduler.tasks.values())

    with Client(address, timeout=10, set_as_default=False) as client:
        return int(client.run_on_scheduler(unfinished))


@pytest.mark.parametrize(("workers", "on_cluster"), [(None, 4), (2, 2)])
def test_a_task_waits_on_the_scheduler_behind_each_thread(
    dask_scheduler: str, workers: int | None, on_cluster: int
) -> None:
    """Two threads: four tasks on the cluster at once (each thread's next one waiting
    there, not a round trip away), shown as two running and two queued; with `workers`
    given, that many and no more."""
    slow = [
        Task(f"s{x}", f"s{x}", functools.partial(tt.sleep_then, pause=1.5, x=x)) for x in range(6)
    ]
    wait_for_workers(dask_scheduler, 2)  # a test before may have had one killed
    statuses: list[BatchStatus] = []
    held: list[int] = []

    def seen(status: BatchStatus) -> None:
        statuses.append(status)
        if not held:  # the first tick, before any task has ended
            held.append(_tasks_on(dask_scheduler))

    with Pool(scheduler=dask_scheduler, workers=workers, progress=seen) as pool:
        for task in slow:
            pool.submit(task)
        outcomes = list(pool.outcomes())
    assert sorted(o.key for o in outcomes) == [task.key for task in slow]
    assert held == [on_cluster]
    assert max(s.running for s in statuses) <= 2
    assert max(s.running + s.queued for s in statuses) == 6


def test_tasks_waiting_on_the_scheduler_keep_to_the_deadline(dask_scheduler: str) -> None:
    """A task sent ahead gets its share for the moment it starts at the latest (when the
    task before it reaches its share's end), not for now: four tasks that each use their
    whole share end by the deadline, as they do on two local workers."""
    wait_for_workers(dask_scheduler, 2)  # two threads: two rounds of two
    began = time.time()
    deadline = began + 6.0
    tasks = [Task(f"u{x}", f"u{x}", functools.partial(tt.use_share, x=x)) for x in range(4)]
    outcomes = run_tasks(tasks, scheduler=dask_scheduler, deadline=deadline)
    assert [o.error for o in outcomes] == [None] * 4
    shares = [o.value["seconds"] for o in outcomes if o.value]
    assert shares[:2] == pytest.approx([3.0, 3.0], abs=0.3)  # 4 tasks, 2 rounds of 3 s
    assert shares[2:] == pytest.approx([3.0, 3.0], abs=0.3)  # sent ahead, start in 3 s
    assert time.time() < deadline + 1.5
