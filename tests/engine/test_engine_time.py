"""One time limit for the whole batch: each task's share is decided when it is
dispatched; tasks still queued at the deadline are not run."""

from __future__ import annotations

import functools
import math
import time

import pytest
import tasks_for_tests as tt

from planner.engine import NOT_RUN, Task, run_tasks
from planner.engine.timeshare import MIN_SHARE_S, time_share


def test_a_share_is_the_time_left_over_the_rounds_still_to_run() -> None:
    assert time_share(None, 5.0, 10, 2) == math.inf
    assert time_share(100.0, 0.0, 10, 2) == pytest.approx(20.0)  # 5 rounds of 2
    assert time_share(100.0, 0.0, 9, 2) == pytest.approx(20.0)  # the last round half full
    assert time_share(100.0, 40.0, 1, 2) == pytest.approx(60.0)  # the last task: all left
    assert time_share(100.0, 99.5, 3, 1) == MIN_SHARE_S  # never less than the floor
    assert time_share(100.0, 100.0, 1, 1) is None  # the deadline has passed
    assert time_share(100.0, 120.0, 1, 1) is None


def test_each_task_gets_its_share_at_dispatch_and_quick_ones_leave_time_to_the_rest() -> None:
    deadline = time.time() + 20
    tasks = [Task(f"g{x}", f"g{x}", functools.partial(tt.given, x=x)) for x in range(4)]
    given = [o.value["seconds"] for o in run_tasks(tasks, workers=2, deadline=deadline) if o.value]
    assert given[0] == pytest.approx(10, abs=0.5)  # 4 tasks, 2 at once: 2 rounds of 10 s
    assert given[1] == pytest.approx(10, abs=0.5)
    assert given[3] == pytest.approx(20, abs=1.5)  # the first ones took nothing
    assert all(share <= 20 for share in given)


def test_tasks_still_queued_at_the_deadline_are_not_run() -> None:
    began = time.time()
    tasks = [Task(f"u{x}", f"u{x}", functools.partial(tt.use_share, x=x)) for x in range(4)]
    outcomes = run_tasks(tasks, workers=1, deadline=began + 1.5)
    ran = [o for o in outcomes if o.error is None]
    skipped = [o for o in outcomes if o.error is not None]
    assert 1 <= len(ran) <= 2 and skipped
    assert outcomes[: len(ran)] == ran  # in order: the first run, the rest never start
    assert all(o.value and o.value["seconds"] >= MIN_SHARE_S for o in ran)
    assert {(o.error, o.value, o.seconds) for o in skipped} == {(NOT_RUN, None, 0.0)}
    assert time.time() - began < 1.5 + 2 * MIN_SHARE_S + 2


def test_without_a_deadline_a_task_may_take_as_long_as_it_needs() -> None:
    (outcome,) = run_tasks([Task("g", "g", functools.partial(tt.given, x=1))], workers=1)
    assert outcome.value is not None
    assert outcome.value["seconds"] == math.inf
