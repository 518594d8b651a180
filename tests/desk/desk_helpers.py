"""Helpers for the desk's tests: small workbooks with known answers, runs submitted as
the web app submits them, waits with a bound, and engine tasks that stand in for a
solve (slow, or failing) so that cancelling and failing can be tested on purpose.

The stand-in tasks are module-level functions, so a worker process unpickles them by
name: worker processes get the test process's `sys.path`, which holds this folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from workbooks import Tables, cloned, minimal_tables, write_workbook

import planner.api as api
from planner.desk.jobs import WORKBOOK, ProgressFile
from planner.desk.jobs import solve_job as real_solve_job
from planner.desk.store import RunRecord, RunStore

if TYPE_CHECKING:
    from planner.desk.dispatcher import Dispatcher
    from planner.scenario.data import Scenario

T = TypeVar("T")

#: The ranked plans of `small_tables()` (budget 100): (weighted reach, options), best first.
#: O1 (cost 30) reaches M1 (weight 2, needs a cloud layer, which O1 is) by 5; O2 (cost
#: 40, a model) reaches M1 by 3 and M2 (weight 1) by 4. Both: 2·(5+3) + 4 = 20; O1
#: alone: 2·5 = 10; O2 alone: M1 lacks its cloud layer, so only M2: 4.
SMALL_PLANS = [(20.0, ("O1", "O2")), (10.0, ("O1",)), (4.0, ("O2",))]
#: The reach–budget frontier of `small_tables()` up to 100: (net spend, weighted reach).
SMALL_FRONTIER = [(30.0, 10.0), (70.0, 20.0)]
#: Settings that keep a small run quick: explanations within 2 s, solves within 10 s.
QUICK = {"explain_time_s": 2, "time_limit_s": 10}


def small_tables(**settings: object) -> Tables:
    """`minimal_tables()` (see `SMALL_PLANS`) with `settings` set in its Settings sheet."""
    tables = cloned(minimal_tables())
    rows = tables["Settings"]
    for name, value in settings.items():
        for row in rows[1:]:
            if row[0] == name:
                row[1] = value
                break
        else:
            rows.append([name, value])
    return tables


def infeasible_tables() -> Tables:
    """`small_tables()` where O2 is a must but costs more than the budget allows."""
    tables = small_tables(budget=35, **QUICK)
    for row in tables["Options"][1:]:
        if row[0] == "O2":
            row[6] = "must"
    return tables


def write_small_workbook(path: Path, **settings: object) -> Path:
    """A small valid workbook at `path` (see `SMALL_PLANS`); `settings` change its
    Settings sheet."""
    return write_workbook(path, small_tables(**settings))


def add_run(
    store: RunStore,
    workbook: Path,
    *,
    label: str = "small",
    scenario: str | None = None,
    settings: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
) -> RunRecord:
    """Add a queued solve run as the web app does: the record, then the workbook's bytes
    as workbook.xlsx in its folder."""
    record = store.add(
        kind="solve",
        label=label,
        workbook_name=workbook.name,
        workbook_sha256=hashlib.sha256(workbook.read_bytes()).hexdigest(),
        scenario=scenario,
        settings=dict(settings or {}),
        params=dict(params or {}),
    )
    folder = store.folder(record.id)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(workbook, folder / WORKBOOK)
    return record


def submit(
    dispatcher: Dispatcher,
    workbook: Path,
    *,
    label: str = "small",
    settings: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
) -> RunRecord:
    """Validate `workbook` as an upload is validated, add its run and queue it."""
    scenario = api.load(workbook, settings=dict(settings or {}), origin="settings")
    record = add_run(dispatcher.store, workbook, label=label, settings=settings, params=params)
    dispatcher.submit(record.id, scenario)
    return record


def wait_for(check: Callable[[], T | None], timeout: float, what: str) -> T:
    """The first true value of `check()`, polled every 20 ms for at most `timeout` s."""
    ends = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > ends:
            raise AssertionError(f"waited {timeout:g} s for {what}")
        time.sleep(0.02)


def wait_status(
    store: RunStore, run_id: str, statuses: tuple[str, ...], timeout: float
) -> RunRecord:
    """The run's record once its status is one of `statuses`."""

    def check() -> RunRecord | None:
        record = store.get(run_id)
        return record if record is not None and record.status in statuses else None

    return wait_for(check, timeout, f"run {run_id} to be {' or '.join(statuses)}")


def plan_figures(plans: list[dict[str, Any]]) -> list[tuple[float, tuple[str, ...]]]:
    """(weighted reach, options) of each plan of a plans.json document."""
    return [(float(p["weighted_reach"]), tuple(sorted(p["options"]))) for p in plans]


def result_figures(result: api.Result) -> list[tuple[float, tuple[str, ...]]]:
    """(weighted reach, options) of each plan of a `planner.solve` result."""
    return [(float(p.weighted_reach), tuple(sorted(p.options))) for p in result.plans]


# --- engine tasks standing in for `planner.desk.jobs.solve_job` ----------------------------


def slow_solve_job(
    scenario: Scenario,
    plans: int | None,
    time_limit: float | None,
    progress_path: str | None,
    seconds: float,
) -> dict[str, Any]:
    """Wait `time_limit` seconds first, writing progress (stage `waiting`, its pid) as a
    solve does, then solve for real: a run that stays running as long as a test needs."""
    wait = float(time_limit or 0.0)
    progress = ProgressFile(progress_path)
    progress.stage("waiting", wait, pid=os.getpid())
    ends = time.monotonic() + wait
    while time.monotonic() < ends:
        time.sleep(0.05)
        progress.write()
    return real_solve_job(scenario, plans, None, progress_path, seconds)


def failing_solve_job(
    scenario: Scenario,
    plans: int | None,
    time_limit: float | None,
    progress_path: str | None,
    seconds: float,
) -> dict[str, Any]:
    """A task that raises with a message on two lines."""
    raise ValueError("the task broke\n   on two lines")
