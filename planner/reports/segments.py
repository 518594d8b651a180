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

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from planner.plan import Plan
from planner.reports.plans_json import clean_number
from planner.scenario.data import Scenario, canonical_name

ORIGINS = ("domestic", "foreign")


class SegmentTables:
    """A scenario's Coverage rows and categories as arrays, built once for all its plans.

    Why arrays: a 50,000-option plan has ~40,000 Coverage rows, and summing them per
    (layer, market) and per (origin, market) in Python took 0.15 s a plan. Each sum
    still adds its rows in the scenario's order (options in order, each option's rows
    in order), as the plain loop did.
    """

    def __init__(self, scenario: Scenario) -> None:
        options, markets = scenario.options, scenario.markets
        self.position = {o.option_id: i for i, o in enumerate(options)}
        partner_of = scenario.partner_of()
        self.cost = np.array([o.cost for o in options], dtype=float)
        self.layers = sorted({o.layer for o in options})
        layer_code = {layer: i for i, layer in enumerate(self.layers)}
        self.layer = np.array([layer_code[o.layer] for o in options], dtype=np.int64)
        self.origin = np.array(
            [int(scenario.is_foreign(partner_of[o.partner_id])) for o in options], dtype=np.int64
        )
        self.market_position = {m.market_id: i for i, m in enumerate(markets)}
        self.weight = np.array([m.weight for m in markets], dtype=float)
        self.addressable = np.array([m.addressable for m in markets], dtype=float)
        # Regions keep the first spelling met (markets are in id order); compared canonically.
        self.region_name: dict[str, str] = {}
        for m in markets:
            self.region_name.setdefault(canonical_name(m.region), m.region)
        self.regions = sorted(self.region_name, key=lambda k: self.region_name[k])
        region_code = {key: i for i, key in enumerate(self.regions)}
        self.region_key = {m.market_id: canonical_name(m.region) for m in markets}
        self.region = np.array([region_code[self.region_key[m.market_id]] for m in markets])
        self.region = self.region.astype(np.int64)
        market_at = self.market_position
        coverage = scenario.coverage
        row_option = np.array([self.position[r.option_id] for r in coverage], dtype=np.int64)
        row_market = np.array([market_at[r.market_id] for r in coverage], dtype=np.int64)
        row_reach = np.array([r.reach for r in coverage], dtype=float)
        # Rows by option, each option's in the scenario's order (a stable sort).
        order = np.argsort(row_option, kind="stable")
        self.row_option, self.row_market = row_option[order], row_market[order]
        self.row_reach = row_reach[order]


def plans_segments(scenario: Scenario, plans: Sequence[Plan]) -> list[dict[str, Any]]:
    """The segments of each plan, the scenario's tables built once for all."""
    if not plans:
        return []
    tables = SegmentTables(scenario)
    return [plan_segments(scenario, p, tables) for p in plans]


def plan_segments(
    scenario: Scenario, plan: Plan, tables: SegmentTables | None = None
) -> dict[str, Any]:
    """The plan's segments (see the module): JSON-ready, numbers cleaned of float noise.
    `tables` (the scenario's, `SegmentTables`) may be shared by the plans of a run."""
    t = SegmentTables(scenario) if tables is None else tables
    n = clean_number
    chosen = np.zeros(len(t.cost), dtype=bool)
    chosen[[t.position[o] for o in plan.options if o in t.position]] = True
    picked = np.flatnonzero(chosen)  # the plan's options, in the scenario's order

    region_reach: dict[str, float] = defaultdict(float)
    served = np.zeros(len(t.weight), dtype=bool)
    for got in plan.markets:
        at = t.market_position.get(got.market_id)
        if at is not None:
            region_reach[t.region_key[got.market_id]] += float(t.weight[at]) * got.reach
            served[at] = not got.missing_layers

    rows = chosen[t.row_option]
    option, market, reach = t.row_option[rows], t.row_market[rows], t.row_reach[rows]

    # An option's cost counts once in each region it operates in.
    n_regions = len(t.regions)
    pairs = np.unique(option * n_regions + t.region[market])
    region_spend = np.bincount(
        pairs % n_regions, weights=t.cost[pairs // n_regions], minlength=n_regions
    )

    counted = served[market] & (reach != 0)
    layer_reach = _contributed(t, t.layer[option[counted]], market[counted], reach[counted])
    origin_reach = _contributed(t, t.origin[option[counted]], market[counted], reach[counted])

    split = np.bincount(
        t.layer[picked] * 2 + t.origin[picked],
        weights=t.cost[picked],
        minlength=2 * len(t.layers),
    ).reshape(-1, 2)
    present = np.bincount(t.layer[picked], minlength=len(t.layers)) > 0
    origin_spend = np.bincount(t.origin[picked], weights=t.cost[picked], minlength=2)

    drawn: dict[str, float] = defaultdict(float)
    for line in plan.cofinancing:
        drawn[line.offer_id] += line.amount
    offer_of = {c.offer_id: c for c in scenario.offers}
    own = plan.gross_spend - plan.cofinanced
    return {
        "by_region": [
            {
                "region": t.region_name[key],
                "weighted_reach": n(region_reach.get(key, 0.0)),
                "spend": n(float(region_spend[i])),
            }
            for i, key in enumerate(t.regions)
        ],
        "by_layer": [
            {
                "layer": layer,
                "weighted_reach": n(layer_reach.get(i, 0.0)),
                "spend": n(float(split[i, 0] + split[i, 1])),
                "domestic_spend": n(float(split[i, 0])),
                "foreign_spend": n(float(split[i, 1])),
            }
            for i, layer in enumerate(t.layers)
            if present[i]
        ],
        "by_origin": [
            {
                "origin": origin,
                "weighted_reach": n(origin_reach.get(i, 0.0)),
                "spend": n(float(origin_spend[i])),
            }
            for i, origin in enumerate(ORIGINS)
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


def _contributed(
    t: SegmentTables, group: np.ndarray, market: np.ndarray, reach: np.ndarray
) -> dict[int, float]:
    """Per group: Σ over the markets its rows reach of weight · min(addressable, Σ reach)."""
    if not len(group):
        return {}
    n_markets = len(t.weight)
    key = group * n_markets + market
    raw = np.bincount(key, weights=reach)
    cells = np.unique(key)
    at = cells % n_markets
    terms = t.weight[at] * np.minimum(t.addressable[at], raw[cells])
    out: dict[int, float] = {}
    for g in np.unique(cells // n_markets):
        out[int(g)] = math.fsum(terms[cells // n_markets == g])
    return out
