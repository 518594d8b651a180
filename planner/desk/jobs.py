"""What a desk run computes: the engine task of a solve run, and the sweep and frontier
of a finished run, each ending in the files of its run folder.

Why a solve run is one engine task that returns its files (base64), as
`planner.whatif.scenario_batch.solve_scenario` does: the task may run on a Dask
worker whose disk the service does not see, and a task's value must be JSON. The
task solves, explains plan 1 and writes the run folder's files with `Result.write` in
a temporary folder of its worker; the dispatcher then writes them into the run folder
whole (`write_run_folder`), so nothing half-written is ever served.

A local task also writes its progress (stage, elapsed, time limit, rank, reach,
bound) as JSON to a file the dispatcher's runner thread polls: the task runs in
another process, and a file replaced atomically needs no channel back.

Sweeps and frontiers run `planner.whatif` in the dispatcher's runner thread (they
are batches of engine tasks themselves) and give writers for their folder's files.
"""

from __future__ import annotations

import contextlib
import json
import math
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import planner.api as api
from planner.engine import BatchStatus, EngineError, PoolOptions
from planner.errors import InputError, Problem
from planner.explain import explain_plan
from planner.reports.frontier_files import write_frontier_xlsx
from planner.reports.svg_charts import format_number, horizontal_bars
from planner.reports.sweep_files import show_value, write_sweep_xlsx
from planner.reports.whole_files import FileWriter, json_writer
from planner.whatif.frontier import run_frontier
from planner.whatif.grid import FORM, VARY, split_varies
from planner.whatif.sweep import run_sweep
from planner.workbook.variants import open_workbook

if TYPE_CHECKING:
    from planner.plan import ProgressEvent
    from planner.scenario.data import Scenario

#: What the Run sheet of plans.xlsx and report.html say made the files.
COMMAND = "planner serve"
#: Where a run's workbook settings come from, in messages about them.
ORIGIN = "settings"
#: The uploaded workbook in each run folder.
WORKBOOK = "workbook.xlsx"
#: The run status of each plans.json status (SPEC §5 → SPEC §10).
RUN_STATUS = {
    "optimal": "done",
    "feasible": "done",
    "infeasible": "infeasible",
    "no_solution": "no_solution",
}
#: The files each kind of run writes into its folder (what may be served).
FILES = {
    "solve": ("plans.json", "plans.xlsx", "report.html", "scenario.json", "diagnosis.txt"),
    "sweep": ("sweep.json", "sweep.xlsx", "chart.svg"),
    "frontier": ("frontier.json", "frontier.xlsx", "chart.svg"),
}


def load_run_scenario(
    workbook: Path, scenario: str | None, settings: Mapping[str, Any]
) -> Scenario:
    """The validated scenario of a run's workbook (its own copy in the run folder), as
    at submission; `InputError` with every problem when it no longer validates."""
    return open_workbook(workbook).load(scenario, dict(settings), origin=ORIGIN)


def run_status(plans_status: str) -> str:
    """The run's status from plans.json's `status`."""
    return RUN_STATUS[plans_status]


# --- the solve task (runs in an engine worker) -------------------------------------------


class ProgressFile:
    """Progress of a task as a JSON file, replaced whole on every change (readers never
    see half of it); does nothing without a path (a Dask worker's disk is not ours)."""

    def __init__(self, path: str | None, **fields: Any) -> None:
        self._path = Path(path) if path else None
        self._fields: dict[str, Any] = dict(fields)
        self._began = time.monotonic()

    def stage(self, stage: str, time_limit_s: float | None, **fields: Any) -> None:
        """A new stage begins: its clock starts at 0."""
        self._began = time.monotonic()
        self._fields = {"stage": stage, "time_limit_s": _finite(time_limit_s), **fields}
        self.write()

    def write(self, **fields: Any) -> None:
        if self._path is None:
            return
        self._fields.update(fields)
        self._fields["elapsed_s"] = round(time.monotonic() - self._began, 3)
        self._fields["written_at"] = time.time()
        temporary = self._path.with_name(self._path.name + ".tmp")
        try:
            temporary.write_text(json.dumps(self._fields), encoding="utf-8")
            os.replace(temporary, self._path)
        except OSError:  # progress is a courtesy: never fail a run for it
            pass


def read_progress(path: Path) -> dict[str, Any] | None:
    """The progress a task last wrote, or None when there is none (yet)."""
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def solve_job(
    scenario: Scenario,
    plans: int | None,
    time_limit: float | None,
    progress_path: str | None,
    seconds: float,
) -> dict[str, Any]:
    """The engine task of a solve run: solve `scenario` as `planner solve` does (on one
    thread, `plans` and `time_limit` overriding its settings), explain plan 1 within its
    `explain_time_s`, and return the run folder's files (base64), its plans.json status
    and timings. Explanations that cannot run (an engine error) are left out: the plans
    still stand, as on the command line."""
    limit = scenario.settings.time_limit_s if time_limit is None else time_limit
    if not math.isinf(seconds):
        limit = min(limit, max(seconds, 1e-3))
    asked = scenario.settings.plans if plans is None else plans
    progress = ProgressFile(progress_path)
    progress.stage("solving", limit, plans_asked=asked, plans_kept=0)

    def heard(event: ProgressEvent) -> None:
        progress.write(
            rank=event.rank,
            plans_asked=event.plans_asked,
            plans_kept=event.plans_kept,
            weighted_reach=event.weighted_reach,
            bound=event.bound,
        )

    began = time.monotonic()
    try:
        result = api.solve(scenario, plans=plans, time_limit=limit, threads=1, progress=heard)
    except InputError as exc:  # the run's plans or time limit: say which, on one line
        raise ValueError("; ".join(str(p) for p in exc.problems)) from None
    timings = {"solve": round(time.monotonic() - began, 3)}
    explain = None
    if result.plans:
        explain_s = result.scenario.settings.explain_time_s
        progress.stage("explaining", explain_s, plans_kept=len(result.plans))
        began = time.monotonic()
        explain = _explain(result, progress)
        timings["explain"] = round(time.monotonic() - began, 3)
    progress.stage("writing", None, plans_kept=len(result.plans))
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="planner-desk-") as tmp:
        written = result.write(tmp, COMMAND, explain=explain)
        files = {path.name: _base64(path) for path in written}
    timings["write"] = round(time.monotonic() - began, 3)
    return {"files": files, "status": str(result.status), "timings": timings}


def _explain(result: api.Result, progress: ProgressFile) -> dict[str, Any] | None:
    """Plan 1's explanations, their re-solves on one more process of this machine (or,
    on a Dask worker, on the same cluster); None when the engine cannot run them."""

    def heard(status: BatchStatus) -> None:
        progress.write(done=status.done, total=status.done + status.running + status.queued)

    try:
        with _children_stop_with_this_process():
            return explain_plan(result, pool=_explain_pool(), progress=heard)
    except EngineError:
        return None


def _explain_pool() -> PoolOptions:
    """Where the re-solves run: a Dask worker's processes may not have children, so
    there they go to its own scheduler; elsewhere to one local process."""
    if "distributed" in sys.modules:
        from distributed import get_worker

        with contextlib.suppress(ValueError):
            return PoolOptions(workers=1, scheduler=get_worker().scheduler.address)
    return PoolOptions(workers=1)


@contextlib.contextmanager
def _children_stop_with_this_process() -> Iterator[None]:
    """While the explanations' worker processes live, SIGTERM (a cancelled run) stops
    them with this process, then ends it at once: otherwise they would solve on,
    orphaned, until their time share ends. Only in a process's main thread (a local
    engine worker); a signal handler cannot be set elsewhere."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        for child in multiprocessing.active_children():
            child.terminate()
        os._exit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _base64(path: Path) -> str:
    import base64

    return base64.b64encode(path.read_bytes()).decode("ascii")


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


# --- sweeps and frontiers (run in the dispatcher's runner thread) --------------------------


def split_vary(vary: Sequence[str]) -> tuple[list[tuple[str, str]], list[Problem]]:
    """`NAME=VALUES` texts (as `planner sweep --vary` takes them) as pairs, and a problem
    for each without `=` or a name, or one when there is none at all."""
    pairs, problems = split_varies(list(vary))
    if not vary:
        problems.append(Problem(VARY, None, None, None, f"at least one {FORM}", found=False))
    return pairs, problems


def sweep_files(
    workbook: Path,
    *,
    scenario: str | None,
    settings: Mapping[str, Any],
    vary: Sequence[str],
    time_limit: float | None,
    pool: PoolOptions,
    progress: Callable[[BatchStatus], None] | None,
    scratch: Path,
) -> dict[str, FileWriter]:
    """Run the sweep of a run's workbook and give the writers of sweep.json, sweep.xlsx
    and chart.svg (the engine's journal goes to `scratch`)."""
    pairs, problems = split_vary(vary)
    if problems:
        raise InputError(problems)
    document = run_sweep(
        open_workbook(workbook),
        scenario=scenario,
        sets=sets_of(settings),
        varies=pairs,
        time_limit=time_limit,
        out=scratch,
        pool=pool,
        progress=progress,
    )
    document["workbook"] = WORKBOOK  # the run folder's copy, not a path of this machine
    return {
        "sweep.json": json_writer(document),
        "sweep.xlsx": lambda path: write_sweep_xlsx(path, document),
        "chart.svg": _text_writer(sweep_chart(document)),
    }


def frontier_files(
    workbook: Path,
    *,
    scenario: str | None,
    settings: Mapping[str, Any],
    max_budget: float | None,
    points: int | None,
    time_limit: float | None,
    pool: PoolOptions,
    progress: Callable[[BatchStatus], None] | None,
    scratch: Path,
) -> dict[str, FileWriter]:
    """Run the reach–budget frontier of a run's workbook and give the writers of
    frontier.json, frontier.xlsx and chart.svg."""
    document = run_frontier(
        open_workbook(workbook),
        scenario=scenario,
        sets=sets_of(settings),
        max_budget=max_budget,
        points=points,
        time_limit=time_limit,
        out=scratch,
        pool=pool,
        progress=progress,
    )
    document["workbook"] = WORKBOOK
    return {
        "frontier.json": json_writer(document),
        "frontier.xlsx": lambda path: write_frontier_xlsx(path, document),
        "chart.svg": _text_writer(frontier_chart(document)),
    }


def sweep_chart(document: Mapping[str, Any]) -> str:
    """chart.svg of a sweep: plan 1's weighted reach at each point, its net spend and
    status beside it (points without a plan show 0 and their status)."""
    varied = list(document["varied"])
    rows, notes = [], []
    for point in document["points"]:
        label = ", ".join(f"{name}={show_value(point['settings'].get(name))}" for name in varied)
        reach = point.get("weighted_reach")
        rows.append((label, float(reach) if reach is not None else 0.0))
        spend = point.get("net_spend")
        spent = f"net spend {format_number(spend)}" if spend is not None else "no plan"
        notes.append(f"{spent} ({point['status']})")
    chart = horizontal_bars(
        rows, title=f"Weighted reach of plan 1, sweep of {document['scenario']}", notes=notes
    )
    return str(chart) + "\n"


def frontier_chart(document: Mapping[str, Any]) -> str:
    """chart.svg of a frontier: the weighted reach of each frontier point, labelled with
    the net spend that buys it, in ascending net spend."""
    rows, notes = [], []
    for point in document["points"]:
        rows.append((f"net spend {format_number(point['net_spend'])}", point["weighted_reach"]))
        notes.append("" if point.get("proven_optimal", True) else "not proven")
    chart = horizontal_bars(
        rows,
        title=f"Reach–budget frontier of {document['scenario']}",
        unit="weighted reach",
        notes=notes,
    )
    return str(chart) + "\n"


def sets_of(settings: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A run's setting overrides as the `sets` of `planner.whatif` (values kept as they
    are: `Workbook.load` judges each as `--set` would)."""
    return [(str(name), value) for name, value in settings.items()]


def _text_writer(text: str) -> FileWriter:
    def write(path: Path) -> None:
        path.write_text(text, encoding="utf-8")

    return write
