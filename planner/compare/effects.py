"""The effect of each difference alone (SPEC §7 `effects`): re-solves on the engine.

For a difference d between runs A and B, the effect is

    best reach(A with d alone applied) − best reach(A)

as an interval `{"low", "high"}` that always holds the true value (SPEC §6), exact
when both are proven. An infeasible scenario's best reach is 0 (no plan).

- best reach(A) is A's plan 1 from plans.json: [weighted reach, bound].
- best reach(A with d) starts as the widest interval valid without a solve: low is
  the weighted reach of A's plan 1 when it still keeps every limit of the variant
  (checked independently, `planner.checks.violations`), else 0; high is the
  variant's ceiling Σ weight·addressable. A solve of plan 1 on one thread (one
  engine task per difference, in parallel, within the time limit) narrows it; its
  plan is checked independently too. A task that does not finish keeps the
  interval it had.
- A difference that cannot change which plans are possible or what they reach
  (a label, `plans`, `time_limit_s`, a name) has effect exactly 0, without a solve.

At most `MAX_EFFECTS` differences are re-solved: numbers changed by the most first
(|b − a|), then the others (text, rows added or removed) in the order listed.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import planner.api as api
from planner.checks.verify import evaluate_plan
from planner.checks.violations import plan_violations
from planner.compare.diff import Difference, apply_difference, dangling
from planner.engine import BatchStatus, PoolOptions, Task, run_tasks
from planner.engine.task import NOT_RUN
from planner.errors import InputError
from planner.plan import CoFinancing
from planner.reports.plans_json import clean_number
from planner.scenario.data import Scenario

MAX_EFFECTS = 20

#: Settings and columns that only label things or steer the search, never what is possible.
NO_EFFECT_SETTINGS = frozenset(
    {
        "currency",
        "reach_unit",
        "plans",
        "min_plan_difference",
        "time_limit_s",
        "mip_gap",
        "explain_time_s",
    }
)
NO_EFFECT_COLUMNS = frozenset(
    {("Markets", "name"), ("Partners", "name"), ("Options", "name"), ("CoFinancing", "financier")}
)


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    def record(self) -> dict[str, float | None]:
        return {"low": clean_number(self.low), "high": clean_number(self.high)}


@dataclass(frozen=True)
class PlanOne:
    """What plans.json says of a run's plan 1, enough to bound and re-check it."""

    options: tuple[str, ...]
    offers: tuple[str, ...]
    cofinancing: tuple[CoFinancing, ...]
    best: Interval


def ceiling(scenario: Scenario) -> float:
    """Σ weight·addressable: no plan reaches more (SPEC §5 `max_weighted_reach`)."""
    return math.fsum(m.weight * m.addressable for m in scenario.markets)


def chosen_for_effects(differences: Sequence[Difference]) -> list[Difference]:
    """The differences whose effect is estimated (see the module's docstring)."""
    numeric = [d for d in differences if d.size() is not None]
    numeric.sort(key=lambda d: -(d.size() or 0.0))
    other = [d for d in differences if d.size() is None]
    return [*numeric, *other][:MAX_EFFECTS]


def solve_variant(variant: Scenario, seconds: float) -> dict[str, Any]:
    """The engine task of one difference: plan 1 of `variant` within `seconds`, on one
    thread, its plan re-checked independently of the solver.

    Module-level, so it pickles to any worker with its (picklable) scenario.
    """
    limit = None if math.isinf(seconds) else max(seconds, 1e-3)
    result = api.solve(variant, plans=1, time_limit=limit, threads=1)
    status = str(result.status)
    if not result.plans:
        return {"status": status, "weighted_reach": None, "bound": None, "options": []}
    plan = result.plans[0]
    broken = plan_violations(variant, plan.options, plan.offers, plan.cofinancing)
    if broken:
        raise RuntimeError(f"the solve's plan breaks {broken[0].message}")
    return {
        "status": status,
        "weighted_reach": plan.weighted_reach,
        "bound": plan.bound,
        # Proven within a gap above 0 is not the best: the bound holds it.
        "proven_optimal": plan.proven_optimal and variant.settings.mip_gap == 0,
        "options": sorted(plan.options),
    }


def first_bounds(variant: Scenario, plan_a: PlanOne | None) -> Interval:
    """The widest interval valid for best reach(variant) without a solve."""
    low = 0.0
    if plan_a is not None and not dangling(variant):
        known = {o.option_id for o in variant.options}
        if all(o in known for o in plan_a.options) and not plan_violations(
            variant, plan_a.options, plan_a.offers, plan_a.cofinancing
        ):
            low = evaluate_plan(
                variant, plan_a.options, plan_a.offers, plan_a.cofinancing
            ).weighted_reach
    return Interval(low, max(low, ceiling(variant)))


def narrowed(start: Interval, value: dict[str, Any]) -> tuple[Interval, str]:
    """The interval after a solve's answer, and the status to show."""
    status = str(value["status"])
    if status == "infeasible":
        return Interval(0.0, 0.0), status
    reach, bound = value.get("weighted_reach"), value.get("bound")
    if reach is None or bound is None:
        return start, status
    if value.get("proven_optimal"):
        return Interval(reach, reach), status
    low = max(start.low, reach)
    return Interval(low, max(low, min(start.high, bound))), status


def estimate_effects(
    a: Scenario,
    b: Scenario,
    differences: Sequence[Difference],
    plan_a: PlanOne | None,
    *,
    time_limit: float,
    pool: PoolOptions,
    progress: Callable[[BatchStatus], None] | None = None,
) -> tuple[list[dict[str, Any]], bool]:
    """The effects of `differences` (at most `MAX_EFFECTS`), largest first, and whether
    every one was settled (solved to its end, or known without a solve)."""
    begun = time.time()
    best_a = plan_a.best if plan_a is not None else Interval(0.0, ceiling(a))
    entries: list[dict[str, Any]] = []
    tasks: list[Task] = []
    starts: dict[str, Interval] = {}
    for i, diff in enumerate(chosen_for_effects(differences)):
        entry: dict[str, Any] = {**diff.record(), "difference": diff.label()}
        entries.append(entry)
        no_effect = (diff.sheet is None and diff.column in NO_EFFECT_SETTINGS) or (
            diff.sheet is not None and (diff.sheet, diff.column) in NO_EFFECT_COLUMNS
        )
        if no_effect:
            entry.update(status="no_effect", best_reach=best_a.record())
            entry["effect"] = Interval(0.0, 0.0).record()
            continue
        try:
            variant = apply_difference(a, diff, b)
        except InputError as exc:
            entry.update(status="not_applicable", message=exc.report(3))
            entry["best_reach"] = entry["effect"] = None
            continue
        why = dangling(variant)
        if why is not None:
            entry.update(
                status="not_applicable", message=f"alone, it leaves a scenario where {why}"
            )
            entry["best_reach"] = entry["effect"] = None
            continue
        start = first_bounds(variant, plan_a)
        key = f"effect-{i}"
        starts[key] = start
        entry["task"] = key
        run = functools.partial(solve_variant, variant)
        tasks.append(Task(key, diff.label(), run, imports=api.SOLVE_IMPORTS))
    outcomes = {}
    if tasks:
        found = run_tasks(
            tasks,
            workers=pool.workers,
            scheduler=pool.scheduler,
            deadline=begun + time_limit,
            progress=progress,
        )
        outcomes = {o.key: o for o in found}
    complete = True
    for entry in entries:
        key = entry.pop("task", None)
        if key is None:
            continue
        outcome = outcomes[key]
        best = starts[key]
        if outcome.value is not None:
            best, status = narrowed(best, outcome.value)
        else:
            status = "not_run" if outcome.error == NOT_RUN else "failed"
            entry["message"] = outcome.error
        if best.low != best.high and status == "optimal":
            status = "feasible"
        effect = Interval(best.low - best_a.high, best.high - best_a.low)
        # Exact only when both ends are: A's best reach too (a plan proven within a gap
        # is not).
        complete = complete and effect.low == effect.high and status != "failed"
        entry["status"] = status
        entry["best_reach"] = best.record()
        entry["effect"] = effect.record()

    def largest(entry: dict[str, Any]) -> float:
        effect = entry.get("effect")
        if not effect:
            return -1.0
        return max(abs(effect["low"] or 0.0), abs(effect["high"] or 0.0))

    entries.sort(key=largest, reverse=True)  # stable: ties keep the order chosen
    return entries, complete
