"""`planner solve --all-scenarios`: the base and every scenario of the Scenarios sheet,
each solved as `planner solve --scenario NAME` would, in parallel (SPEC §8).

Each scenario keeps its own settings, plans and time limit (the command line's
`--set`, `--plans` and `--time-limit` apply to each); one engine task per
scenario, solving on one thread.

Who writes the run folders: the task computes them, the command writes them.
A task solves, writes its run's files (plans.json, plans.xlsx, diagnosis.txt
when infeasible) with `Result.write` into a temporary folder of the worker, and
returns their bytes (base64). The command then
writes each folder `out/<stem>-<scenario>`, whole or not at all, as outcomes
arrive. Why not let the worker write into `out`: on a Dask cluster the workers
run on other machines, whose file systems the user does not see. Why not send
the `Result` and write in the command: the journal that lets `--resume` skip
finished scenarios holds JSON, so what a task returns must be JSON, and the
files it returns are exactly what `planner solve --scenario NAME` would write.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import math
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import planner.api as api
from planner.engine import BatchStatus, Pool, PoolOptions, Task
from planner.engine.task import NOT_RUN
from planner.errors import InputError, Problem
from planner.reports.scenarios_table import BASE, ScenarioRun
from planner.reports.whole_files import bytes_writer, write_whole

if TYPE_CHECKING:
    from planner.scenario.data import Scenario
    from planner.workbook.variants import Workbook

#: The journal's name in the output folder.
JOURNAL = ".scenarios-journal.jsonl"

#: A run folder's files, as `planner solve` writes them.
RUN_FILES = ("plans.json", "plans.xlsx", "diagnosis.txt")


def load_all(workbook: Workbook, sets: Sequence[tuple[str, str]]) -> list[tuple[str, Scenario]]:
    """(name, validated scenario) for base and every scenario of the Scenarios sheet, in
    that order; or InputError with every problem of all of them, each once."""
    problems: list[Problem] = []
    loaded: list[tuple[str, Scenario]] = []
    for name in (BASE, *workbook.scenario_names):
        try:
            scenario = workbook.load(None if name == BASE else name, list(sets), origin="--set")
            loaded.append((name, scenario))
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise InputError(list(dict.fromkeys(problems)))
    return loaded


def run_all_scenarios(
    workbook: Workbook,
    *,
    sets: Sequence[tuple[str, str]],
    out: Path,
    pool: PoolOptions,
    progress: Callable[[BatchStatus], None] | None,
    command: str = "",
) -> list[ScenarioRun]:
    """Solve every scenario, write each run folder into `out` as it finishes, and return
    the runs in scenario order (base first) for the summary.

    `sets` hold the command line's `--set`, `--plans` and `--time-limit` as settings.
    Raises `InputError` before any solve, `EngineError` when the engine cannot run.
    """
    scenarios = load_all(workbook, sets)
    folders = {name: out / run_folder_name(workbook.path.stem, name) for name, _ in scenarios}
    tasks = [
        Task(
            key=name,
            label=f"scenario {name}",
            run=functools.partial(solve_scenario, variant, command),
            imports=api.SOLVE_IMPORTS,
        )
        for name, variant in scenarios
    ]
    out.mkdir(parents=True, exist_ok=True)
    runs: dict[str, ScenarioRun] = {}
    with Pool(
        workers=pool.workers,
        scheduler=pool.scheduler,
        resume=pool.resume,
        journal=out / JOURNAL,
        fingerprint=fingerprint(workbook.sha256, [n for n, _ in scenarios], sets),
        progress=progress,
    ) as batch:
        for task in tasks:
            batch.submit(task)
        for outcome in batch.outcomes():
            folder = folders[outcome.key]
            if outcome.value is None:
                status = "not_run" if outcome.error == NOT_RUN else "failed"
                runs[outcome.key] = ScenarioRun(outcome.key, "", None, status, outcome.error)
                continue
            files = outcome.value["files"]
            write_run_folder(folder, files)
            document = json.loads(base64.b64decode(files["plans.json"]))
            runs[outcome.key] = ScenarioRun(outcome.key, str(folder), document, document["status"])
    return [runs[name] for name, _ in scenarios]


def run_folder_name(stem: str, scenario: str) -> str:
    """`<stem>-<scenario>`, as `planner solve --scenario NAME` names its default folder;
    a path separator in a scenario's name must not make a folder elsewhere."""
    safe = "".join("_" if c in "/\\\0" else c for c in scenario)
    return f"{stem}-{safe}"


def fingerprint(sha256: str, names: Sequence[str], sets: Sequence[tuple[str, str]]) -> str:
    """What makes a journal this batch's: the workbook's content, its scenarios and the
    settings the command line applies to each."""
    key = json.dumps({"sha256": sha256, "scenarios": list(names), "sets": list(sets)})
    return "scenarios:" + hashlib.sha256(key.encode()).hexdigest()


def solve_scenario(variant: Scenario, command: str, seconds: float) -> dict[str, Any]:
    """The engine task of one scenario: solve it as `planner solve` does, within its own
    time limit (and `seconds`, when the engine sets a deadline), on one thread; return
    the run folder's files (plans.json among them), base64-encoded."""
    limit = variant.settings.time_limit_s
    if not math.isinf(seconds):
        limit = min(limit, max(seconds, 1e-3))
    result = api.solve(variant, time_limit=limit, threads=1)
    with tempfile.TemporaryDirectory(prefix="planner-run-") as tmp:
        written = result.write(tmp, command)
        files = {path.name: base64.b64encode(path.read_bytes()).decode("ascii") for path in written}
    return {"files": files}


def write_run_folder(folder: Path, files: dict[str, str]) -> list[Path]:
    """Write a run folder from a task's files, whole or not at all; a diagnosis.txt of an
    earlier run goes when this run has none."""
    writers = {name: bytes_writer(base64.b64decode(data)) for name, data in files.items()}
    return write_whole(folder, writers, stale=RUN_FILES)
