"""Segments of a plan: where its reach comes from and where its money goes.

`plan_segments(scenario, plan)` is the `segments` dict of each plan in plans.json:

- `by_region`: per region (of the markets), the weighted reach of that region's
  markets (Σ weight · reach) and the gross cost of the plan's options operating
  there (a Coverage row in one of its markets). An option operating in two regions
  counts in both, so region spends need not add up to the gross spend.
- `by_layer`: per stack layer of the plan's options, the weighted reach those options
  contribute, their gross cost, split into domestic and foreign partners' spend.
- `by_origin`: the same for domestic and for foreign partners (both always listed).
- `leverage`: co-financing drawn per unit of own spend, cofinanced / (gross spend −
  cofinanced); None when own spend is 0.
- `offers`: per offer taken, its cap, the amount drawn and the share of the cap used
  (None for a cap of 0).

The weighted reach a group of options *contributes* is Σ over markets of weight ·
min(addressable, Σ reach of those options there), counted only in markets where the
plan supplies every required layer (elsewhere the plan reaches nothing). Options of
different groups reaching the same market overlap, so group reaches need not add up
to the plan's weighted reach; layer and origin spends do add up to the gross spend.

Pure: scenario data and the plan's decisions in, plain JSON-ready data out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from planner.plan import Plan
from planner.reports.plans_json import clean_number
from planner.scenario.data import Coverage, Scenario, canonical_name

ORIGINS = ("domestic", "foreign")


def plans_segments(scenario: Scenario, plans: Sequence[Plan]) -> list[dict[str, Any]]:
    """The segments of each plan, the Coverage rows grouped by option once for all (a
    50,000-option scenario's 200,000 rows are then read once, not once per plan)."""
    if not plans:
        return []
    by_option: dict[str, list[Coverage]] = defaultdict(list)
    for row in scenario.coverage:
        by_option[row.option_id].append(row)
    return [plan_segments(scenario, p, by_option) for p in plans]


def plan_segments(
    scenario: Scenario, plan: Plan, coverage_by_option: Mapping[str, list[Coverage]] | None = None
) -> dict[str, Any]:
    """The plan's segments (see the module): JSON-ready, numbers cleaned of float noise.
    `coverage_by_option` (Coverage rows by option id) saves a pass over every row."""
    n = clean_number
    chosen = set(plan.options)
    option_of = {o.option_id: o for o in scenario.options if o.option_id in chosen}
    partner_of = scenario.partner_of()
    origin_of = {
        oid: ("foreign" if scenario.is_foreign(partner_of[o.partner_id]) else "domestic")
        for oid, o in option_of.items()
    }
    market_of = {m.market_id: m for m in scenario.markets}
    plan_reach = {m.market_id: m for m in plan.markets}
    served = {mid for mid, m in plan_reach.items() if not m.missing_layers}

    # Regions keep the first spelling met (markets are in id order); compared canonically.
    region_name: dict[str, str] = {}
    for m in scenario.markets:
        region_name.setdefault(canonical_name(m.region), m.region)
    region_key = {m.market_id: canonical_name(m.region) for m in scenario.markets}
    region_reach: dict[str, float] = defaultdict(float)
    for mid, got in plan_reach.items():
        market = market_of.get(mid)
        if market is not None:
            region_reach[region_key[mid]] += market.weight * got.reach

    # One pass over coverage: raw reach per (group, market), regions per option.
    raw_layer: dict[tuple[str, str], float] = defaultdict(float)
    raw_origin: dict[tuple[str, str], float] = defaultdict(float)
    regions_of: dict[str, set[str]] = defaultdict(set)
    if coverage_by_option is None:
        rows: Iterable[Coverage] = (r for r in scenario.coverage if r.option_id in option_of)
    else:
        rows = (r for oid in option_of for r in coverage_by_option.get(oid, ()))
    for row in rows:
        option = option_of[row.option_id]
        regions_of[row.option_id].add(region_key[row.market_id])
        if row.market_id in served and row.reach:
            raw_layer[option.layer, row.market_id] += row.reach
            raw_origin[origin_of[row.option_id], row.market_id] += row.reach

    def contributed(raw: dict[tuple[str, str], float]) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for (group, mid), reach in raw.items():
            market = market_of[mid]
            out[group] += market.weight * min(market.addressable, reach)
        return out

    layer_reach = contributed(raw_layer)
    origin_reach = contributed(raw_origin)

    region_spend: dict[str, float] = defaultdict(float)
    layer_spend: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(ORIGINS, 0.0))
    origin_spend = dict.fromkeys(ORIGINS, 0.0)
    for oid, option in option_of.items():
        for region in regions_of.get(oid, ()):
            region_spend[region] += option.cost
        layer_spend[option.layer][origin_of[oid]] += option.cost
        origin_spend[origin_of[oid]] += option.cost

    drawn: dict[str, float] = defaultdict(float)
    for line in plan.cofinancing:
        drawn[line.offer_id] += line.amount
    offer_of = {c.offer_id: c for c in scenario.offers}
    own = plan.gross_spend - plan.cofinanced
    return {
        "by_region": [
            {
                "region": region_name[key],
                "weighted_reach": n(region_reach.get(key, 0.0)),
                "spend": n(region_spend.get(key, 0.0)),
            }
            for key in sorted(region_name, key=lambda k: region_name[k])
        ],
        "by_layer": [
            {
                "layer": layer,
                "weighted_reach": n(layer_reach.get(layer, 0.0)),
                "spend": n(split["domestic"] + split["foreign"]),
                "domestic_spend": n(split["domestic"]),
                "foreign_spend": n(split["foreign"]),
            }
            for layer, split in sorted(layer_spend.items())
        ],
        "by_origin": [
            {
                "origin": origin,
                "weighted_reach": n(origin_reach.get(origin, 0.0)),
                "spend": n(origin_spend[origin]),
            }
            for origin in ORIGINS
        ],
        "leverage": n(plan.cofinanced / own) if own > 1e-9 else None,
        "offers": [
            {
                "offer": oid,
                "cap": n(offer_of[oid].cap),
                "used": n(drawn.get(oid, 0.0)),
                "share_used": n(drawn.get(oid, 0.0) / offer_of[oid].cap)
                if offer_of[oid].cap > 0
                else None,
            }
            for oid in sorted(plan.offers)
            if oid in offer_of
        ],
    }
