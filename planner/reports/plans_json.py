"""plans.json (SPEC §5): the ranked plans for programs.

The document holds every field SPEC §5 names, in its shape, plus a few
additions programs find useful (gap, fees, screened options and offers,
diagnosis, the settings used). Lists of ids are in code-point order, so `O10` sorts before
`O2`, and numbers are the ones recomputed from the scenario data.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from typing import Any

from planner.checks.screening import Screened, screen_offers
from planner.plan import Plan, PlanSet
from planner.scenario.data import Scenario

SCHEMA = "partnership-plans/1"


def clean_number(value: float | None, digits: int = 9) -> float | None:
    """Round away float noise (0.30000000000000004) and negative zeros for readers."""
    if value is None or not math.isfinite(value):
        return None
    rounded = round(value, digits)
    return 0.0 if rounded == 0 else rounded


def plan_document(plan: Plan) -> dict[str, Any]:
    n = clean_number
    return {
        "rank": plan.rank,
        "weighted_reach": n(plan.weighted_reach),
        "bound": n(plan.bound),
        "proven_optimal": plan.proven_optimal,
        "gap": n(plan.gap),
        "spend_gap": n(plan.spend_gap),
        "net_spend": n(plan.net_spend),
        "gross_spend": n(plan.gross_spend),
        "cofinanced": n(plan.cofinanced),
        "fees": n(plan.fees),
        "average_trust": n(plan.average_trust),
        "foreign_share": n(plan.foreign_share),
        "options": sorted(plan.options),
        "offers": sorted(plan.offers),
        "cofinancing": [
            {"offer": c.offer_id, "option": c.option_id, "amount": n(c.amount)}
            for c in sorted(plan.cofinancing, key=lambda c: (c.offer_id, c.option_id))
        ],
        "markets": [
            {"market": m.market_id, "reach": n(m.reach), "missing_layers": list(m.missing_layers)}
            for m in sorted(plan.markets, key=lambda m: m.market_id)
        ],
    }


def core_index(planset: PlanSet) -> dict[str, float]:
    """SPEC §6 `core_index`: for every option in any returned plan, the share of the returned
    plans containing it (1: a core option, in every plan), ids in code-point order."""
    return share_of_plans([p.options for p in planset.plans])


def share_of_plans(option_sets: Sequence[Iterable[str]]) -> dict[str, float]:
    """`core_index` of plans given by their options alone (a plans.json read back)."""
    counts: dict[str, int] = {}
    for options in option_sets:
        for o in set(options):
            counts[o] = counts.get(o, 0) + 1
    return {o: counts[o] / len(option_sets) for o in sorted(counts)}


def plans_document(
    scenario: Scenario,
    planset: PlanSet,
    screened: tuple[Screened, ...] = (),
    segments: Sequence[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The whole plans.json document as plain JSON-ready data.

    `screened` lists the options screened out (as `check_before_solve` found
    them); offers screened out (`never`) are screened here from the scenario,
    which alone decides them, so every caller's document lists them. Each plan
    carries its `segments` (`planner.reports.segments`; given, when the caller has them
    already for plans.xlsx).
    """
    # Here, not at the top: segments uses this module's `clean_number`.
    from planner.reports.segments import plans_segments

    settings = {
        k: (clean_number(v) if isinstance(v, float) else v)
        for k, v in asdict(scenario.settings).items()
    }
    return {
        "schema": SCHEMA,
        "scenario": planset.scenario,
        "status": str(planset.status),
        "max_weighted_reach": clean_number(planset.max_weighted_reach),
        "message": planset.message,
        "core_index": {o: clean_number(v) for o, v in core_index(planset).items()},
        "plans": [
            {**plan_document(p), "segments": segments}
            for p, segments in zip(
                planset.plans,
                plans_segments(scenario, planset.plans) if segments is None else segments,
                strict=True,
            )
        ],
        "diagnosis": planset.diagnosis,
        "screened": [{"option": s.option_id, "reason": s.reason} for s in screened],
        "screened_offers": [
            {"offer": c.offer_id, "reason": c.reason} for c in screen_offers(scenario)
        ],
        "settings": settings,
    }
