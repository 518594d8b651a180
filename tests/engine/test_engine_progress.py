"""The batch's status for a progress display: consistent counts, from the caller's
thread, on each change and about twice a second while waiting."""

from __future__ import annotations

import functools
import threading
from pathlib import Path

import tasks_for_tests as tt

from planner.engine import BatchStatus, Task, run_tasks


def test_statuses_add_up_and_end_with_everything_done(tmp_path: Path) -> None:
    journal = tmp_path / ".journal"
    first = [Task(f"sq{x}", "", functools.partial(tt.square, x=x)) for x in range(3)]
    run_tasks(first, workers=1, journal=journal, fingerprint="f")

    tasks = [*first, *(Task(f"sq{x}", "", functools.partial(tt.square, x=x)) for x in range(3, 9))]
    tasks += [
        Task("bad", "", functools.partial(tt.fail, message="no")),
        Task("slow", "", functools.partial(tt.sleep_then, pause=1.6, x=0)),
    ]
    statuses: list[BatchStatus] = []
    threads: set[int] = set()

    def show(status: BatchStatus) -> None:
        statuses.append(status)
        threads.add(threading.get_ident())

    run_tasks(tasks, workers=2, journal=journal, fingerprint="f", resume=True, progress=show)
    assert threads == {threading.get_ident()}
    for status in statuses:
        assert status.done + status.running + status.queued == len(tasks)
        assert 0 <= status.running <= 2
        assert status.failed <= status.done and status.resumed <= status.done
    assert [s.done for s in statuses] == sorted(s.done for s in statuses)
    assert [s.elapsed_s for s in statuses] == sorted(s.elapsed_s for s in statuses)
    assert statuses[0].resumed == 3
    # No estimate before a task was computed here (the first status may come after the
    # quick tasks already finished, on a busy machine).
    assert all(s.eta_s is None for s in statuses if s.done - s.resumed == 0)
    last = statuses[-1]
    assert (last.done, last.running, last.queued, last.failed, last.resumed) == (11, 0, 0, 1, 3)
    assert last.eta_s == 0.0
    waiting = [s for s in statuses if s.running == 1 and s.queued == 0 and s.done == 10]
    assert len(waiting) >= 2  # the slow task: a status about every half second
    assert any(s.eta_s is not None and s.eta_s > 0 for s in waiting)
