"""`planner compare RUN_A RUN_B`: what changed between two runs and why (SPEC §7).

The steps, each a plain call:
1. read both run folders (`planner.compare.runs`): plans.json and scenario.json;
2. the settings and input rows that differ (`planner.compare.diff`);
3. plan 1 of each side by side, from the plans.json documents alone;
4. the effect of each difference alone, re-solved on the engine
   (`planner.compare.effects`);
5. the compare.json document (`planner.reports.compare_files` writes it, compare.xlsx
   and compare.html).

A run without scenario.json (made before runs kept it) is compared on its plans
alone: `settings`, `rows` and `effects` are null and `message` says why.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from planner.compare.diff import row_differences, setting_differences
from planner.compare.effects import Interval, PlanOne, estimate_effects
from planner.compare.runs import Run, number, plan_decisions
from planner.engine import BatchStatus, PoolOptions
from planner.reports.compare_files import SCHEMA
from planner.reports.plans_json import clean_number
from planner.scenario.data import Scenario

#: Plan figures compared side by side (SPEC §7).
FIGURES = ("weighted_reach", "net_spend", "cofinanced", "average_trust", "foreign_share")


def run_summary(run: Run) -> dict[str, Any]:
    """Which run a side is: its folder, scenario, status and workbook, and the units its
    figures are in (currency, reach unit) for the charts."""
    source = run.scenario.source if run.scenario is not None else None
    found = run.plans.get("run")
    recorded: dict[str, Any] = found if isinstance(found, dict) else {}
    settings = run.plans.get("settings")
    units: dict[str, Any] = settings if isinstance(settings, dict) else {}
    return {
        "folder": str(run.folder),
        "scenario": run.plans.get("scenario"),
        "status": run.plans.get("status"),
        "workbook": source.workbook if source else recorded.get("workbook"),
        "sha256": source.sha256 if source else recorded.get("sha256"),
        "currency": units.get("currency"),
        "reach_unit": units.get("reach_unit"),
    }


def _change(a: object, b: object) -> float | None:
    x, y = number(a), number(b)
    return None if x is None or y is None else clean_number(y - x)


def _plan_one(run: Run) -> dict[str, Any] | None:
    plans = run.plans["plans"]
    return plans[0] if plans and isinstance(plans[0], dict) else None


def _entries(value: object) -> list[dict[str, Any]]:
    """The objects of a list read from plans.json (a file edited by hand may hold anything)."""
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


def _ids(value: object) -> set[str]:
    """The ids of a list read from plans.json (anything else holds none)."""
    return {x for x in value if isinstance(x, str)} if isinstance(value, list) else set()


def _weighted(run: Run, reach: dict[Any, Any]) -> dict[Any, float | None]:
    """Each market's weighted reach (weight × reach) by the run's own weights; empty when
    the run has no scenario.json to read them from."""
    if run.scenario is None:
        return {}
    weight = {m.market_id: m.weight for m in run.scenario.markets}
    return {
        market: clean_number(weight[market] * value)
        for market, value in reach.items()
        if market in weight and number(value) is not None
    }


def _layer_spend(plan: dict[str, Any]) -> dict[Any, Any]:
    segments = plan.get("segments")
    layers = segments.get("by_layer") if isinstance(segments, dict) else None
    return {x.get("layer"): x.get("spend") for x in _entries(layers)}


def side_by_side(a: Run, b: Run) -> dict[str, Any]:
    """Plan 1 of each run: options and offers added and removed, the change in each figure,
    in each market's reach (and weighted reach, by each run's weights, when both runs
    keep their scenario) and in each stack layer's gross spend (b − a; null when a side
    has no value)."""
    pa, pb = _plan_one(a), _plan_one(b)
    empty: dict[str, Any] = {}
    one_a, one_b = pa or empty, pb or empty
    opts_a, opts_b = _ids(one_a.get("options")), _ids(one_b.get("options"))
    offers_a, offers_b = _ids(one_a.get("offers")), _ids(one_b.get("offers"))
    reach_a = {m.get("market"): m.get("reach") for m in _entries(one_a.get("markets"))}
    reach_b = {m.get("market"): m.get("reach") for m in _entries(one_b.get("markets"))}
    weighted_a, weighted_b = _weighted(a, reach_a), _weighted(b, reach_b)
    markets = [
        {
            "market": market,
            "a": reach_a.get(market),
            "b": reach_b.get(market),
            "change": _change(reach_a.get(market), reach_b.get(market)),
            "weighted_a": weighted_a.get(market),
            "weighted_b": weighted_b.get(market),
        }
        for market in sorted(reach_a.keys() | reach_b.keys(), key=str)
    ]
    spend_a, spend_b = _layer_spend(one_a), _layer_spend(one_b)
    layers = [
        {
            "layer": layer,
            "a": spend_a.get(layer),
            "b": spend_b.get(layer),
            "change": _change(spend_a.get(layer), spend_b.get(layer)),
        }
        for layer in sorted(spend_a.keys() | spend_b.keys(), key=str)
    ]
    return {
        "a": None if pa is None else {f: pa.get(f) for f in (*FIGURES, "options", "offers")},
        "b": None if pb is None else {f: pb.get(f) for f in (*FIGURES, "options", "offers")},
        "added": sorted(opts_b - opts_a),
        "removed": sorted(opts_a - opts_b),
        "offers_added": sorted(offers_b - offers_a),
        "offers_removed": sorted(offers_a - offers_b),
        "change": {f: _change(one_a.get(f), one_b.get(f)) for f in FIGURES},
        "markets": markets,
        "layers": layers,
    }


def _best_of(run: Run, scenario: Scenario) -> PlanOne | None:
    """A's plan 1 and the interval its run proved for best reach (None: no plan).

    Its reach is the best only when proven with `mip_gap` 0: a plan proven optimal
    within a gap may lie below the best by up to its bound.
    """
    plan = _plan_one(run)
    if plan is None:
        return None
    decided = plan_decisions(run.folder / "plans.json", 0, plan)
    reach = number(plan.get("weighted_reach")) or 0.0
    bound = number(plan.get("bound"))
    exact = plan.get("proven_optimal") is True and scenario.settings.mip_gap == 0
    high = reach if exact else max(reach, math.inf if bound is None else bound)
    return PlanOne(decided.options, decided.offers, decided.cofinancing, Interval(reach, high))


def compare_runs(
    a: Run,
    b: Run,
    *,
    time_limit: float | None,
    pool: PoolOptions,
    progress: Callable[[BatchStatus], None] | None = None,
) -> dict[str, Any]:
    """The compare.json document of runs `a` and `b` (SPEC §7).

    `time_limit` is for all the effects' solves together (default: A's
    `time_limit_s` setting).
    """
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "a": run_summary(a),
        "b": run_summary(b),
        "message": "",
        "settings": None,
        "rows": None,
        "plan": side_by_side(a, b),
        "effects": None,
        "effects_complete": False,
    }
    if a.scenario is None or b.scenario is None:
        missing = [r.why_no_scenario for r in (a, b) if r.scenario is None]
        document["message"] = (
            "Input differences and their effects are missing: "
            + "; ".join(missing)
            + ". Plans are compared alone."
        )
        return document
    settings = setting_differences(a.scenario, b.scenario)
    rows = row_differences(a.scenario, b.scenario)
    document["settings"] = [d.record() for d in settings]
    document["rows"] = [d.record() for d in rows]
    limit = a.scenario.settings.time_limit_s if time_limit is None else time_limit
    plan_a = _best_of(a, a.scenario)
    if plan_a is None and a.plans.get("status") == "infeasible":
        plan_a = PlanOne((), (), (), Interval(0.0, 0.0))
    effects, complete = estimate_effects(
        a.scenario,
        b.scenario,
        [*settings, *rows],
        plan_a,
        time_limit=limit,
        pool=pool,
        progress=progress,
    )
    document["effects"] = effects
    document["effects_complete"] = complete
    differing = len(settings) + len(rows)
    if differing > len(effects):
        document["message"] = (
            f"{differing} differences; the effects of {len(effects)} are estimated "
            "(numbers changed by the most first)."
        )
    return document
