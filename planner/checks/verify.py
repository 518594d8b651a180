"""Independent evaluation and checking of a plan against SPEC §2-§3.

This module deliberately shares no code with `planner.model.pyomo_model`: it re-reads
the scenario data and SPEC's words (including co-financing eligibility, which
it re-derives instead of calling `planner.scenario.data.eligible`), so a mistake in
the model and a mistake here would have to coincide to go unnoticed. HiGHS has
returned wrong MIP answers before (SOLVER-NOTES), so every plan passes through
`check_plan` before anyone sees it, and every number a report shows comes from
`evaluate_plan`, never from the solver.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from planner.checks.scenario_index import (
    ScenarioIndex,
    index_for,
    is_eligible,
    regions_by_option,
)
from planner.checks.scenario_index import canon as _canon
from planner.plan import CoFinancing, MarketReach, Plan
from planner.scenario.data import Scenario

__all__ = [
    "REL_TOL",
    "SUM_ROUNDING",
    "PlanMetrics",
    "PlanVerificationError",
    "ScenarioIndex",
    "check_plan",
    "evaluate_plan",
    "is_eligible",
    "make_plan",
    "regions_by_option",
]

#: SPEC §3: values within REL_TOL × max(1, |value|) of each other count as equal.
REL_TOL = 1e-6


#: Rounding allowed for, relative to the terms a figure is summed from (far above a
#: double's 1.1e-16 per addition, far below SPEC's tolerance): a difference of large
#: terms, such as net spend, is only as exact as they are.
SUM_ROUNDING = 1e-12


class PlanVerificationError(RuntimeError):
    """A plan produced by the solver broke a SPEC §3 constraint: an internal error."""


def _tol(*values: float) -> float:
    return REL_TOL * max(1.0, *(abs(v) for v in values))


@dataclass(frozen=True, slots=True)
class PlanMetrics:
    """Everything SPEC §5 reports about one plan, recomputed from scenario data."""

    weighted_reach: float
    net_spend: float
    gross_spend: float
    cofinanced: float
    fees: float
    average_trust: float | None
    foreign_share: float | None
    markets: tuple[MarketReach, ...]


def evaluate_plan(
    scenario: Scenario,
    options: Iterable[str],
    offers: Iterable[str],
    cofinancing: Iterable[CoFinancing],
    *,
    index: ScenarioIndex | None = None,
) -> PlanMetrics:
    """Recompute a plan's reach, spend and trust figures from the scenario alone.

    Market reach is min(addressable, Σ reach·x) when every required layer is
    supplied there (some chosen option of that layer has a Coverage row in the
    market), else 0. Average trust and foreign share weigh options by cost, so
    cost-0 options carry no weight; both are None when gross spend is 0. Callers
    that evaluate many plans of one scenario pass its `index`, built once.
    """
    ix = index_for(scenario, index)
    chosen = ix.in_order(set(options))
    taken = sorted(set(offers))
    option_of, partner_of = ix.option_of, ix.partner_of

    raw: dict[str, float] = {m.market_id: 0.0 for m in scenario.markets}
    supplied: dict[str, set[str]] = {m.market_id: set() for m in scenario.markets}
    coverage = scenario.coverage
    for r in ix.rows_of(ix.coverage_rows, chosen):
        option_id, market_id, reach = coverage[r]
        raw[market_id] += reach
        supplied[market_id].add(_canon(option_of[option_id].layer))
    markets = []
    weighted = 0.0
    for m in scenario.markets:
        wanted = m.required_layers
        missing = (
            tuple(sorted(la for la in wanted if _canon(la) not in supplied[m.market_id]))
            if wanted
            else ()
        )
        reach = 0.0 if missing else min(m.addressable, raw[m.market_id])
        weighted += m.weight * reach
        markets.append(MarketReach(m.market_id, reach, missing))

    gross = float(sum(option_of[o].cost for o in chosen))
    cofinanced = float(sum(cf.amount for cf in cofinancing))
    fees = float(sum(ix.offer_of[c].fee for c in taken))
    spend_weighted = [o for o in chosen if option_of[o].cost > 0]
    if gross > 0:
        trust_sum = sum(
            partner_of[option_of[o].partner_id].trust * option_of[o].cost for o in spend_weighted
        )
        foreign = sum(option_of[o].cost for o in spend_weighted if ix.foreign_of[o])
        average_trust: float | None = trust_sum / gross
        foreign_share: float | None = foreign / gross
    else:
        average_trust = foreign_share = None
    return PlanMetrics(
        weighted_reach=weighted,
        net_spend=gross - cofinanced + fees,
        gross_spend=gross,
        cofinanced=cofinanced,
        fees=fees,
        average_trust=average_trust,
        foreign_share=foreign_share,
        markets=tuple(markets),
    )


def make_plan(
    scenario: Scenario,
    rank: int,
    options: Iterable[str],
    offers: Iterable[str],
    cofinancing: Iterable[CoFinancing],
    *,
    bound: float,
    proven_optimal: bool,
    gap: float | None,
    index: ScenarioIndex | None = None,
) -> Plan:
    """A `Plan` whose every figure is recomputed here (ids sorted in code-point order)."""
    options = tuple(sorted(set(options)))
    offers = tuple(sorted(set(offers)))
    cofinancing = tuple(sorted(cofinancing, key=lambda cf: (cf.offer_id, cf.option_id)))
    metrics = evaluate_plan(scenario, options, offers, cofinancing, index=index)
    return Plan(
        rank=rank,
        options=options,
        offers=offers,
        cofinancing=cofinancing,
        weighted_reach=metrics.weighted_reach,
        net_spend=metrics.net_spend,
        gross_spend=metrics.gross_spend,
        cofinanced=metrics.cofinanced,
        fees=metrics.fees,
        average_trust=metrics.average_trust,
        foreign_share=metrics.foreign_share,
        markets=metrics.markets,
        bound=max(bound, metrics.weighted_reach),
        proven_optimal=proven_optimal,
        gap=gap,
    )


def check_plan(scenario: Scenario, plan: Plan, *, index: ScenarioIndex | None = None) -> list[str]:
    """Every SPEC §3 constraint the plan breaks, as sentences; empty when it is valid.

    Also checks that the plan's reported figures equal those recomputed here.
    Each constraint holds within 1e-6 × max(1, |value|) (SPEC §3). Callers that
    check many plans of one scenario pass its `index`, built once.
    """
    ix = index_for(scenario, index)
    s = scenario.settings
    problems: list[str] = []
    option_of, offer_of, partner_of = ix.option_of, ix.offer_of, ix.partner_of

    unknown = [o for o in plan.options if o not in option_of] + [
        c for c in plan.offers if c not in offer_of
    ]
    if unknown:
        return [f"unknown ids in plan: {', '.join(unknown)}"]
    chosen = set(plan.options)
    taken = set(plan.offers)
    ordered = ix.in_order(chosen)

    def le(what: str, lhs: float, rhs: float, *terms: float) -> None:
        # SPEC's tolerance on the sides, plus the rounding of the `terms` a side was
        # summed from: a net spend of 30 = (1e14 + 30) − 1e14 carries 1e14's rounding.
        excess = lhs - rhs
        rounding = SUM_ROUNDING * sum(abs(t) for t in terms)
        if not math.isfinite(excess) or excess > _tol(lhs, rhs) + rounding:
            problems.append(f"{what}: {lhs:.9g} exceeds {rhs:.9g}")

    # Rule 9 and decisions, option by option in the scenario's order (only chosen and
    # decided options can break them).
    for oid in ix.in_order(chosen | ix.decided):
        option = option_of[oid]
        if oid in chosen:
            trust = partner_of[option.partner_id].trust
            layer = ix.layer_of.get(_canon(option.layer))
            floor = max(s.min_partner_trust, layer.min_trust if layer else 0.0)
            if trust < floor:
                problems.append(f"trust_floor: {oid} partner trust {trust:g} < {floor:g}")
        if option.decision == "must" and oid not in chosen:
            problems.append(f"decisions: must option {oid} left out")
        if option.decision == "never" and oid in chosen:
            problems.append(f"decisions: never option {oid} chosen")
    for c in scenario.offers:
        if c.decision == "must" and c.offer_id not in taken:
            problems.append(f"decisions: must offer {c.offer_id} not taken")
        if c.decision == "never" and c.offer_id in taken:
            problems.append(f"decisions: never offer {c.offer_id} taken")

    # Rules 3-6: co-financing.
    per_offer: dict[str, float] = {}
    per_option: dict[str, float] = {}
    seen: set[tuple[str, str]] = set()
    for cf in plan.cofinancing:
        key = (cf.offer_id, cf.option_id)
        if key in seen:
            problems.append(f"co-financing pair {key} listed twice")
        seen.add(key)
        if cf.offer_id not in taken:
            problems.append(f"offer_cap: {cf.offer_id} pays {cf.option_id} but is not taken")
            continue
        if cf.option_id not in chosen:
            problems.append(f"cofinance_option: {cf.offer_id} pays unchosen {cf.option_id}")
            continue
        offer, option = offer_of[cf.offer_id], option_of[cf.option_id]
        if cf.option_id not in ix.eligible(cf.offer_id):
            problems.append(f"eligibility: {cf.option_id} is not eligible for {cf.offer_id}")
        if cf.amount < -_tol(cf.amount):
            problems.append(f"co-financing amount {cf.amount} for {key} is negative")
        le(f"cofinance_option[{cf.offer_id},{cf.option_id}]", cf.amount, offer.share * option.cost)
        per_offer[cf.offer_id] = per_offer.get(cf.offer_id, 0.0) + cf.amount
        per_option[cf.option_id] = per_option.get(cf.option_id, 0.0) + cf.amount
    for offer_id, total in sorted(per_offer.items()):
        le(f"offer_cap[{offer_id}]", total, offer_of[offer_id].cap)
    for option_id, total in sorted(per_option.items()):
        le(
            f"cofinance_share[{option_id}]",
            total,
            s.max_cofinance_share * option_of[option_id].cost,
        )
    for offer_id in sorted(taken):
        eligible = ix.eligible(offer_id)
        eligible_spend = sum(option_of[o].cost for o in ordered if o in eligible)
        le(f"matching_spend[{offer_id}]", offer_of[offer_id].min_eligible_spend, eligible_spend)

    # Rule 7: budget, with fees.
    metrics = evaluate_plan(scenario, plan.options, plan.offers, plan.cofinancing, index=ix)
    le("budget", metrics.net_spend, s.budget, metrics.gross_spend, metrics.cofinanced, metrics.fees)

    # Rule 8: resources.
    used: dict[str, float] = {}
    usage = scenario.usage
    for r in ix.rows_of(ix.usage_rows, ordered):
        _, resource, amount = usage[r]
        used[resource] = used.get(resource, 0.0) + amount
    for res in scenario.resources:
        le(f"resources[{res.resource}]", used.get(res.resource, 0.0), res.capacity)

    # Rules 10-12 on gross spend; cost-0 options weigh nothing.
    gross = metrics.gross_spend
    if s.min_average_trust is not None and gross > 0:
        trust_spend = sum(
            partner_of[option_of[o].partner_id].trust * option_of[o].cost for o in ordered
        )
        le("average_trust", s.min_average_trust * gross, trust_spend)

    foreign = [o for o in ordered if ix.foreign_of[o]]
    le("foreign_share", sum(option_of[o].cost for o in foreign), s.max_foreign_share * gross)
    by_layer: dict[str, list[str]] = {}
    for oid in ordered:
        by_layer.setdefault(_canon(option_of[oid].layer), []).append(oid)
    for layer in scenario.layers:
        in_layer = by_layer.get(_canon(layer.layer), [])
        le(
            f"layer_foreign_share[{layer.layer}]",
            sum(option_of[o].cost for o in in_layer if ix.foreign_of[o]),
            layer.max_foreign_share * sum(option_of[o].cost for o in in_layer),
        )
    by_country: dict[str, float] = {}
    for oid in foreign:
        country = _canon(partner_of[option_of[oid].partner_id].country)
        by_country[country] = by_country.get(country, 0.0) + option_of[oid].cost
    for country, spend in sorted(by_country.items()):
        le(f"country_share[{country}]", spend, s.max_country_share * gross)

    # Rule 13: requires / excludes.
    for rule in scenario.rules:
        a, b = rule.option_id, rule.other_option_id
        if rule.rule == "requires" and a in chosen and b not in chosen:
            problems.append(f"requires: {a} chosen without {b}")
        if rule.rule == "excludes" and a in chosen and b in chosen:
            problems.append(f"excludes: {a} and {b} both chosen")

    # Reported figures must be the recomputed ones.
    for name in ("weighted_reach", "net_spend", "gross_spend", "cofinanced", "fees"):
        reported, actual = getattr(plan, name), getattr(metrics, name)
        if abs(reported - actual) > _tol(actual):
            problems.append(f"reported {name} {reported:.9g} differs from recomputed {actual:.9g}")
    if plan.bound < metrics.weighted_reach - _tol(metrics.weighted_reach):
        problems.append(f"bound {plan.bound:.9g} is below the plan's own weighted reach")
    return problems
