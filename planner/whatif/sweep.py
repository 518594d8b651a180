"""`planner sweep`: one scenario solved at every point of a grid of settings (SPEC §8).

The steps, each a plain call:
1. read the `--vary` options into a grid (`planner.whatif.grid`);
2. validate every point's variant before any solve, so bad input costs nothing
   and every problem shows at once (each once, however many points share it);
3. one engine task per point, solving plan 1 of its variant on one thread;
   the engine runs them on local processes or a Dask cluster, shares the
   command's time limit among them and journals each outcome in `out`, so an
   interrupted sweep resumes with only the points it has not finished;
4. the sweep.json document, points in grid order (`planner.reports.sweep_files`
   writes it and sweep.xlsx).

A point's record is a function of its variant alone (the solve keeps no state,
SPEC §9), so it is the same whichever worker computes it, and the same as
`planner.solve(variant, plans=1)` called on its own.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import planner.api as api
from planner.engine import BatchStatus, PoolOptions, Task, run_tasks
from planner.engine.task import NOT_RUN
from planner.errors import InputError, Problem
from planner.reports.plans_json import clean_number
from planner.scenario.changes import changed_settings
from planner.scenario.schema import SETTING_BY_KEY, canonical_header
from planner.whatif.grid import (
    VARY,
    Point,
    Value,
    grid_points,
    parse_varies,
    read_varies,
    value_text,
)

if TYPE_CHECKING:
    from planner.scenario.data import Scenario
    from planner.workbook.variants import Workbook

SCHEMA = "partnership-sweep/1"

#: The journal's name in the output folder (hidden: it is the engine's record, not a result).
JOURNAL = ".sweep-journal.jsonl"

#: Statuses of a point that ran to an answer (plan 1, or proof there is none).
SOLVED = ("optimal", "feasible", "infeasible", "no_solution")


def run_sweep(
    workbook: Workbook,
    *,
    scenario: str | None,
    sets: Sequence[tuple[str, str]],
    varies: Sequence[tuple[str, str]],
    time_limit: float | None,
    out: Path,
    pool: PoolOptions,
    progress: Callable[[BatchStatus], None] | None,
) -> dict[str, Any]:
    """Solve `scenario` (with `sets` applied) at every point of the `varies` grid.

    `varies` are `--vary` options split at the first `=`: (NAME, VALUES).
    `time_limit` is for the whole sweep (default: the scenario's `time_limit_s`).
    Raises `InputError` with every problem before any solve; `EngineError` when
    the engine cannot run (an unreachable scheduler, a journal of another sweep on
    resume). Returns the sweep.json document.
    """
    begun = time.time()
    base, grid, variants = validate_points(workbook, scenario, sets, varies)
    limit = base.settings.time_limit_s if time_limit is None else time_limit
    tasks = [
        Task(
            key=point.label,
            label=point.label,
            run=functools.partial(solve_point, variant, settings_of(point)),
            imports=api.SOLVE_IMPORTS,
        )
        for point, variant in zip(grid, variants, strict=True)
    ]
    out.mkdir(parents=True, exist_ok=True)
    order = longest_first(variants)
    dispatched = run_tasks(
        [tasks[i] for i in order],
        workers=pool.workers,
        scheduler=pool.scheduler,
        resume=pool.resume,
        deadline=begun + limit,
        journal=out / JOURNAL,
        fingerprint=fingerprint(workbook.sha256, scenario, sets, varies),
        progress=progress,
    )
    by_key = {outcome.key: outcome for outcome in dispatched}
    outcomes = [by_key[task.key] for task in tasks]
    points = []
    for point, outcome in zip(grid, outcomes, strict=True):
        if outcome.value is not None:
            points.append(outcome.value)
        else:
            status = "not_run" if outcome.error == NOT_RUN else "failed"
            points.append(unsolved_record(settings_of(point), status, outcome.error or ""))
    return {
        "schema": SCHEMA,
        "scenario": base.name,
        "varied": [vary.name for vary in parse_varies([f"{n}={v}" for n, v in varies])],
        "complete": all(p["status"] in SOLVED for p in points),
        "fixed": dict(sets),
        "workbook": str(workbook.path),
        "sha256": workbook.sha256,
        "points": points,
    }


def longest_first(variants: Sequence[Scenario]) -> list[int]:
    """The order in which to hand the points to the workers: the slowest expected first,
    ties in grid order.

    Why: a sweep ends when its last point does. In grid order the points of large
    budgets, the slowest to prove (S: 1.2–1.75 s against 0.35–0.4 s), come last, and
    one worker ends alone on them while the other idles (8 points on 2 workers: 1.51×
    the speed of one, where the points' own times allow ~1.8×). Dispatched longest
    first, the short ones fill the gaps at the end. A point's expected effort is the
    number of options its plan can hold — its budget over the typical option's cost,
    at most every option — so a sweep of anything else than the budget keeps grid
    order. The order changes no point's answer (each is solved on its own), only when
    it starts and, under a time limit, its share of the time.
    """
    effort = [_options_affordable(variant) for variant in variants]
    return sorted(range(len(variants)), key=lambda i: (-effort[i], i))


def _options_affordable(variant: Scenario) -> float:
    """About how many options a plan of `variant` can hold: its budget over the median
    option's own cost, at most every option."""
    costs = sorted(option.cost for option in variant.options if option.cost > 0)
    if not costs:
        return float(len(variant.options))
    median = costs[len(costs) // 2]
    return min(float(len(variant.options)), max(0.0, variant.settings.budget) / median)


def validate_points(
    workbook: Workbook,
    scenario: str | None,
    sets: Sequence[tuple[str, str]],
    varies: Sequence[tuple[str, str]],
) -> tuple[Scenario, list[Point], list[Scenario]]:
    """The scenario with `sets` applied, the grid's points and each one's validated
    variant; or InputError with every problem of the options, the scenario and the
    values, each problem once.

    Each value is first checked alone (as many loads as values, not points), so a
    bad value in a large grid is found at once; then every point's variant is
    loaded, which is what its task will solve.
    """
    parsed, problems = read_varies([f"{name}={values}" for name, values in varies])
    base: Scenario | None = None
    try:
        base = workbook.load(scenario, list(sets), origin="--set")
        fixed = list(sets)
    except InputError as exc:
        problems += exc.problems
        fixed = []  # a bad --set is reported as one; the values are checked without them
    if len(parsed) > 1 or problems:
        for vary in parsed:
            for value in vary.values:
                problems += _problems(workbook, scenario, [*fixed, (vary.name, value_text(value))])
    if problems:
        raise InputError(_once(problems))
    grid = list(grid_points(parsed))
    variants = []
    with_cells: dict[tuple[tuple[str, str], ...], Scenario] = {}
    for point in grid:
        try:
            variants.append(_variant(workbook, scenario, fixed, point, with_cells))
        except InputError as exc:
            problems += exc.problems
    if problems or base is None:
        raise InputError(_once(problems))
    return base, grid, variants


def _variant(
    workbook: Workbook,
    scenario: str | None,
    fixed: list[tuple[str, str]],
    point: Point,
    with_cells: dict[tuple[tuple[str, str], ...], Scenario],
) -> Scenario:
    """The point's variant: `workbook.load(scenario, fixed + the point)`, the cells it
    changes validated once for every point that shares them (`with_cells`).

    Why: a changed cell validates the whole workbook again (2 ms for the example, far
    more for large ones), and in a grid of cells x settings most points share their
    cells; plain settings never interact with cells, so they are applied to the
    validated variant after, by the rule `--set` uses.
    """
    pairs = point.overrides()
    cells = tuple(pair for pair in pairs if not _is_setting(pair[0]))
    if not cells:
        return workbook.load(scenario, [*fixed, *pairs], origin=VARY)
    if cells not in with_cells:
        with_cells[cells] = workbook.load(scenario, [*fixed, *cells], origin=VARY)
    variant = with_cells[cells]
    settings = variant.settings
    for name, value in pairs:  # one at a time, later pairs winning, as Workbook.load does
        if _is_setting(name):
            settings = changed_settings(settings, {name: value}, origin=VARY)
    return dataclasses.replace(variant, settings=settings)


def _is_setting(name: str) -> bool:
    return canonical_header(name) in SETTING_BY_KEY


def _problems(
    workbook: Workbook, scenario: str | None, settings: list[tuple[str, str]]
) -> list[Problem]:
    try:
        workbook.load(scenario, settings, origin=VARY)
    except InputError as exc:
        return exc.problems
    return []


def _once(problems: Iterable[Problem]) -> list[Problem]:
    """Each problem once: points sharing a bad value all report it."""
    return list(dict.fromkeys(problems))


def settings_of(point: Point) -> dict[str, Value]:
    """The point's varied values by name, as sweep.json shows them."""
    return dict(point.settings)


def fingerprint(
    sha256: str,
    scenario: str | None,
    sets: Sequence[tuple[str, str]],
    varies: Sequence[tuple[str, str]],
) -> str:
    """What makes a journal this sweep's: the workbook's content, the scenario, the fixed
    settings and the grid (a resumed point must be the point asked for)."""
    key = json.dumps(
        {"sha256": sha256, "scenario": scenario, "sets": list(sets), "varies": list(varies)},
        sort_keys=True,
    )
    return "sweep:" + hashlib.sha256(key.encode()).hexdigest()


def solve_point(variant: Scenario, settings: dict[str, Value], seconds: float) -> dict[str, Any]:
    """The engine task of one point: plan 1 of `variant` within `seconds`, on one thread.

    Module-level, so it pickles to any worker with its (picklable) scenario.
    """
    limit = None if math.isinf(seconds) else max(seconds, 1e-3)
    result = api.solve(variant, plans=1, time_limit=limit, threads=1)
    return point_record(settings, result)


def point_record(settings: dict[str, Value], result: api.Result) -> dict[str, Any]:
    """A point of sweep.json from its solve: plan 1's figures, reach 0 and no options
    when infeasible, unknown (null) figures when no plan was found in time."""
    status = str(result.status)
    if result.plans:
        plan = result.plans[0]
        return {
            "settings": settings,
            "status": status,
            "weighted_reach": clean_number(plan.weighted_reach),
            "net_spend": clean_number(plan.net_spend),
            "options": sorted(plan.options),
            "offers": sorted(plan.offers),
            "proven_optimal": plan.proven_optimal,
        }
    infeasible = status == "infeasible"
    return {
        "settings": settings,
        "status": status,
        "weighted_reach": 0.0 if infeasible else None,
        "net_spend": 0.0 if infeasible else None,
        "options": [],
        "offers": [],
        "proven_optimal": infeasible,  # infeasibility is proven, an empty time limit is not
    }


def unsolved_record(settings: dict[str, Value], status: str, error: str) -> dict[str, Any]:
    """A point that failed or was never run: no figures, and why."""
    return {
        "settings": settings,
        "status": status,
        "weighted_reach": None,
        "net_spend": None,
        "options": [],
        "offers": [],
        "proven_optimal": False,
        "error": error,
    }
