"""Tasks on local worker processes: values exactly as returned, in the tasks' order;
a task raising or killing its worker fails alone, and no other task is lost."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tasks_for_tests as tt

from planner.engine import WORKER_DIED, EngineError, Outcome, Pool, Task, run_tasks
from planner.engine.local import default_workers


def squares(n: int, marks: Path | None = None) -> list[Task]:
    where = None if marks is None else str(marks)
    return [
        Task(f"sq{x}", f"x={x}", functools.partial(tt.square, x=x, marks=where)) for x in range(n)
    ]


def by_key(outcomes: list[Outcome]) -> dict[str, Outcome]:
    return {o.key: o for o in outcomes}


def test_values_come_back_exactly_and_in_the_tasks_order() -> None:
    tasks = squares(7)[::-1]
    outcomes = run_tasks(tasks, workers=2)
    assert [o.key for o in outcomes] == [t.key for t in tasks]
    for outcome, x in zip(outcomes, range(6, -1, -1), strict=True):
        assert outcome.value == {
            "x": x,
            "square": x * x,
            "half": x / 2,
            "tags": [f"t{x}", None, True],
        }
        assert (outcome.error, outcome.resumed, outcome.label) == (None, False, f"x={x}")
        assert 0 <= outcome.seconds < 5


def test_tasks_run_in_worker_processes_side_by_side(tmp_path: Path) -> None:
    slow = functools.partial(tt.sleep_pid, pause=0.5, marks=str(tmp_path), name="slow")
    tasks = [Task("slow", "slow", slow)]
    tasks += [Task(f"p{x}", f"p{x}", functools.partial(tt.pid, x=x)) for x in range(20)]
    outcomes = run_tasks(tasks, workers=2)
    pids = {o.value["pid"] for o in outcomes if o.value and "pid" in o.value}
    sleeper = int((tmp_path / "slow.pid").read_text())
    assert sleeper not in pids  # while one worker sleeps, the other takes the rest
    assert os.getpid() not in pids | {sleeper}


def test_a_task_raising_fails_alone_with_one_line() -> None:
    tasks = [*squares(3), Task("bad", "budget=5", functools.partial(tt.fail, message="no plan"))]
    tasks += [
        Task("list", "list", tt.not_a_dict),
        Task("object", "object", tt.not_json),
    ]
    found = by_key(run_tasks(tasks, workers=2))
    assert found["bad"].value is None
    assert found["bad"].error == "RuntimeError: no plan second line"
    assert found["list"].error == "TypeError: a task returns a dict, not list"
    assert found["object"].error is not None
    assert found["object"].error.startswith("TypeError: Object of type object is not JSON")
    assert all(found[f"sq{x}"].value == tt.square(0, x) for x in range(3))


def test_a_task_that_cannot_be_sent_to_a_worker_fails_alone() -> None:
    local = Task("lambda", "lambda", lambda seconds: {"x": 1})  # not picklable
    found = by_key(run_tasks([local, *squares(2)], workers=1))
    assert found["lambda"].value is None
    assert found["lambda"].error is not None
    assert "pickle" in found["lambda"].error
    assert [found[f"sq{x}"].value for x in range(2)] == [tt.square(0, x) for x in range(2)]


@pytest.mark.parametrize("how", ["exit", "kill", "segfault"])
def test_a_task_killing_its_worker_fails_and_loses_no_other(tmp_path: Path, how: str) -> None:
    die = Task("die", "die", functools.partial(tt.die, how=how, marks=str(tmp_path)))
    tasks = [*squares(4)[:2], die, *squares(6)[2:]]
    found = by_key(run_tasks(tasks, workers=2))
    assert (found["die"].value, found["die"].error) == (None, WORKER_DIED)
    assert tt.runs(str(tmp_path), "die") == 2  # re-run once, alone: it kills again
    assert all(found[f"sq{x}"].value == tt.square(0, x) for x in range(6))


def test_a_task_running_beside_a_dying_one_is_run_again_and_succeeds(tmp_path: Path) -> None:
    marks = str(tmp_path)
    tasks = [
        Task(
            "sleeper",
            "",
            functools.partial(tt.beside, marks=marks, name="sleeper", other="die", pause=0.5),
        ),
        Task("die", "", functools.partial(tt.die_beside, marks=marks, name="die", other="sleeper")),
    ]
    found = by_key(run_tasks(tasks, workers=2))
    assert found["sleeper"].value == {"name": "sleeper"}
    assert found["sleeper"].error is None
    assert tt.runs(marks, "sleeper") == 2  # lost with the dying worker, then run alone
    assert found["die"].error == WORKER_DIED
    assert tt.runs(marks, "die") == 2


def test_a_one_off_crash_is_run_again_and_succeeds(tmp_path: Path) -> None:
    once = Task("once", "once", functools.partial(tt.die_once, marks=str(tmp_path), name="once"))
    found = by_key(run_tasks([once, *squares(3)], workers=1))
    assert found["once"].value == {"name": "once"}
    assert tt.runs(str(tmp_path), "once") == 2
    assert all(found[f"sq{x}"].value == tt.square(0, x) for x in range(3))


def test_ctrl_c_stops_the_workers_at_once(tmp_path: Path) -> None:
    """KeyboardInterrupt in `outcomes()` (raised here by the progress callback, as Ctrl-C
    would be) cancels the queue and terminates running solves instead of waiting."""
    marks = str(tmp_path)
    slow = [
        Task(
            f"slow{i}", "slow", functools.partial(tt.sleep_pid, pause=60, marks=marks, name=f"s{i}")
        )
        for i in range(4)
    ]

    def interrupt_once_running(status: object) -> None:
        if len(list(tmp_path.glob("*.pid"))) == 2:
            raise KeyboardInterrupt

    began = time.monotonic()
    with pytest.raises(KeyboardInterrupt), Pool(workers=2, progress=interrupt_once_running) as pool:
        for task in slow:
            pool.submit(task)
        list(pool.outcomes())
    assert time.monotonic() - began < 15
    pids = [int(p.read_text()) for p in tmp_path.glob("*.pid")]
    assert len(pids) == 2  # the queued two never started
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_outcomes_include_tasks_submitted_while_iterating() -> None:
    seen = []
    with Pool(workers=2) as pool:
        pool.submit(squares(1)[0])
        for outcome in pool.outcomes():
            seen.append(outcome.key)
            x = len(seen)
            if x < 4:
                pool.submit(Task(f"sq{x}", f"x={x}", functools.partial(tt.square, x=x)))
    assert seen == ["sq0", "sq1", "sq2", "sq3"]


def test_keys_are_unique_and_workers_a_positive_count() -> None:
    with Pool(workers=1) as pool:
        pool.submit(squares(1)[0])
        with pytest.raises(ValueError, match="key 'sq0' was already submitted"):
            pool.submit(squares(1)[0])
    for bad in (0, -2, 1.5, True):
        with pytest.raises(EngineError, match="whole number of at least 1"):
            Pool(workers=bad)  # type: ignore[arg-type]
    with Pool() as pool:
        assert pool.slots == default_workers() == len(os.sched_getaffinity(0))


INTERRUPTED = """
import functools, sys
import tasks_for_tests as tt
from planner.engine import Pool, Task
marks, journal = sys.argv[1], sys.argv[2]
with Pool(workers=2, journal=__import__("pathlib").Path(journal), fingerprint="f") as pool:
    pool.submit(Task("quick", "", functools.partial(tt.square, x=3)))
    for i in range(3):
        slow = functools.partial(tt.sleep_pid, pause=60, marks=marks, name=f"s{i}")
        pool.submit(Task(f"slow{i}", "", slow))
    for outcome in pool.outcomes():
        print(outcome.key, flush=True)
"""


def test_ctrl_c_on_the_terminal_ends_the_command_and_its_workers_and_keeps_the_journal(
    tmp_path: Path,
) -> None:
    """SIGINT to the whole process group, as a terminal sends it on Ctrl-C."""
    journal = tmp_path / ".journal"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(tt.__file__).parent), *sys.path])}
    command = subprocess.Popen(
        [sys.executable, "-c", INTERRUPTED, str(tmp_path), str(journal)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        ends = time.monotonic() + 30
        while len(list(tmp_path.glob("*.pid"))) < 2 and time.monotonic() < ends:
            time.sleep(0.05)
        os.killpg(command.pid, signal.SIGINT)
        out, err = command.communicate(timeout=15)
    finally:
        if command.poll() is None:
            os.killpg(command.pid, signal.SIGKILL)
            command.wait()
    assert command.returncode != 0
    assert b"KeyboardInterrupt" in err
    assert "slow" not in out.decode()  # none finished
    assert [json.loads(line).get("key") for line in journal.read_text().splitlines()] == [
        None,
        "quick",
    ]
    pids = [int(p.read_text()) for p in tmp_path.glob("*.pid")]
    assert len(pids) == 2
    time.sleep(0.2)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
