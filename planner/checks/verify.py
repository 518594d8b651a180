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

import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass

from planner.plan import CoFinancing, MarketReach, Plan
from planner.scenario.data import Offer, Option, Scenario

#: SPEC §3: values within REL_TOL × max(1, |value|) of each other count as equal.
REL_TOL = 1e-6


#: Rounding allowed for, relative to the terms a figure is summed from (far above a
#: double's 1.1e-16 per addition, far below SPEC's tolerance): a difference of large
#: terms, such as net spend, is only as exact as they are.
SUM_ROUNDING = 1e-12


class PlanVerificationError(RuntimeError):
    """A plan produced by the solver broke a SPEC §3 constraint: an internal error."""


@functools.lru_cache(maxsize=65536)
def _canon(text: str) -> str:
    # Cached: a 50,000-option plan canonicalises the same few names 500,000 times.
    return " ".join(text.split()).casefold()


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


def regions_by_option(scenario: Scenario) -> dict[str, set[str]]:
    region_of = {m.market_id: _canon(m.region) for m in scenario.markets}
    out: dict[str, set[str]] = {}
    for row in scenario.coverage:
        out.setdefault(row.option_id, set()).add(region_of[row.market_id])
    return out


def is_eligible(
    scenario: Scenario,
    offer: Offer,
    option: Option,
    regions: dict[str, set[str]] | None = None,
) -> bool:
    """SPEC §2 eligibility, re-derived from the text.

    Kind in `kinds` (a blank kind only when `kinds` is `*`), layer in `layers`,
    and unless `regions` is `*`, some market of the option's Coverage rows lies
    in one of `regions`. `regions` (option id -> canonical regions of its
    markets) may be passed in by callers that check many pairs.
    """
    if offer.kinds is not None:
        if option.kind is None:
            return False
        if _canon(option.kind) not in {_canon(k) for k in offer.kinds}:
            return False
    if offer.layers is not None and _canon(option.layer) not in {_canon(x) for x in offer.layers}:
        return False
    if offer.regions is None:
        return True
    wanted = {_canon(r) for r in offer.regions}
    if regions is None:
        regions = regions_by_option(scenario)
    return not wanted.isdisjoint(regions.get(option.option_id, ()))


def evaluate_plan(
    scenario: Scenario,
    options: Iterable[str],
    offers: Iterable[str],
    cofinancing: Iterable[CoFinancing],
) -> PlanMetrics:
    """Recompute a plan's reach, spend and trust figures from the scenario alone.

    Market reach is min(addressable, Σ reach·x) when every required layer is
    supplied there (some chosen option of that layer has a Coverage row in the
    market), else 0. Average trust and foreign share weigh options by cost, so
    cost-0 options carry no weight; both are None when gross spend is 0.
    """
    chosen = set(options)
    taken = set(offers)
    option_of = {o.option_id: o for o in scenario.options}
    offer_of = {c.offer_id: c for c in scenario.offers}
    partner_of = {p.partner_id: p for p in scenario.partners}
    home = _canon(scenario.settings.home_country)

    raw: dict[str, float] = {m.market_id: 0.0 for m in scenario.markets}
    supplied: dict[str, set[str]] = {m.market_id: set() for m in scenario.markets}
    for row in scenario.coverage:
        if row.option_id in chosen:
            raw[row.market_id] += row.reach
            supplied[row.market_id].add(_canon(option_of[row.option_id].layer))
    markets = []
    weighted = 0.0
    for m in scenario.markets:
        missing = tuple(
            sorted(
                layer for layer in m.required_layers if _canon(layer) not in supplied[m.market_id]
            )
        )
        reach = 0.0 if missing else min(m.addressable, raw[m.market_id])
        weighted += m.weight * reach
        markets.append(MarketReach(m.market_id, reach, missing))

    gross = float(sum(option_of[o].cost for o in chosen))
    cofinanced = float(sum(cf.amount for cf in cofinancing))
    fees = float(sum(offer_of[c].fee for c in taken))
    spend_weighted = [o for o in chosen if option_of[o].cost > 0]
    if gross > 0:
        trust_sum = sum(
            partner_of[option_of[o].partner_id].trust * option_of[o].cost for o in spend_weighted
        )
        foreign = sum(
            option_of[o].cost
            for o in spend_weighted
            if _canon(partner_of[option_of[o].partner_id].country) != home
        )
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
) -> Plan:
    """A `Plan` whose every figure is recomputed here (ids sorted in code-point order)."""
    options = tuple(sorted(set(options)))
    offers = tuple(sorted(set(offers)))
    cofinancing = tuple(sorted(cofinancing, key=lambda cf: (cf.offer_id, cf.option_id)))
    metrics = evaluate_plan(scenario, options, offers, cofinancing)
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


def check_plan(scenario: Scenario, plan: Plan) -> list[str]:
    """Every SPEC §3 constraint the plan breaks, as sentences; empty when it is valid.

    Also checks that the plan's reported figures equal those recomputed here.
    Each constraint holds within 1e-6 × max(1, |value|) (SPEC §3).
    """
    s = scenario.settings
    problems: list[str] = []
    option_of = {o.option_id: o for o in scenario.options}
    offer_of = {c.offer_id: c for c in scenario.offers}
    partner_of = {p.partner_id: p for p in scenario.partners}
    layer_of = {_canon(la.layer): la for la in scenario.layers}
    home = _canon(s.home_country)

    unknown = [o for o in plan.options if o not in option_of] + [
        c for c in plan.offers if c not in offer_of
    ]
    if unknown:
        return [f"unknown ids in plan: {', '.join(unknown)}"]
    chosen = set(plan.options)
    taken = set(plan.offers)
    regions = regions_by_option(scenario)

    def le(what: str, lhs: float, rhs: float, *terms: float) -> None:
        # SPEC's tolerance on the sides, plus the rounding of the `terms` a side was
        # summed from: a net spend of 30 = (1e14 + 30) − 1e14 carries 1e14's rounding.
        excess = lhs - rhs
        rounding = SUM_ROUNDING * sum(abs(t) for t in terms)
        if not math.isfinite(excess) or excess > _tol(lhs, rhs) + rounding:
            problems.append(f"{what}: {lhs:.9g} exceeds {rhs:.9g}")

    # Rule 9 and decisions.
    for o in scenario.options:
        trust = partner_of[o.partner_id].trust
        layer = layer_of.get(_canon(o.layer))
        floor = max(s.min_partner_trust, layer.min_trust if layer else 0.0)
        if o.option_id in chosen and trust < floor:
            problems.append(f"trust_floor: {o.option_id} partner trust {trust:g} < {floor:g}")
        if o.decision == "must" and o.option_id not in chosen:
            problems.append(f"decisions: must option {o.option_id} left out")
        if o.decision == "never" and o.option_id in chosen:
            problems.append(f"decisions: never option {o.option_id} chosen")
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
        if not is_eligible(scenario, offer, option, regions):
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
        offer = offer_of[offer_id]
        eligible_spend = sum(
            option_of[o].cost for o in chosen if is_eligible(scenario, offer, option_of[o], regions)
        )
        le(f"matching_spend[{offer_id}]", offer.min_eligible_spend, eligible_spend)

    # Rule 7: budget, with fees.
    metrics = evaluate_plan(scenario, plan.options, plan.offers, plan.cofinancing)
    le("budget", metrics.net_spend, s.budget, metrics.gross_spend, metrics.cofinanced, metrics.fees)

    # Rule 8: resources.
    used: dict[str, float] = {}
    for row in scenario.usage:
        if row.option_id in chosen:
            used[row.resource] = used.get(row.resource, 0.0) + row.amount
    for r in scenario.resources:
        le(f"resources[{r.resource}]", used.get(r.resource, 0.0), r.capacity)

    # Rules 10-12 on gross spend; cost-0 options weigh nothing.
    gross = metrics.gross_spend
    if s.min_average_trust is not None and gross > 0:
        trust_spend = sum(
            partner_of[option_of[o].partner_id].trust * option_of[o].cost for o in chosen
        )
        le("average_trust", s.min_average_trust * gross, trust_spend)

    def foreign(o: str) -> bool:
        return _canon(partner_of[option_of[o].partner_id].country) != home

    le(
        "foreign_share",
        sum(option_of[o].cost for o in chosen if foreign(o)),
        s.max_foreign_share * gross,
    )
    for layer in scenario.layers:
        in_layer = [o for o in chosen if _canon(option_of[o].layer) == _canon(layer.layer)]
        le(
            f"layer_foreign_share[{layer.layer}]",
            sum(option_of[o].cost for o in in_layer if foreign(o)),
            layer.max_foreign_share * sum(option_of[o].cost for o in in_layer),
        )
    by_country: dict[str, float] = {}
    for oid in chosen:
        if foreign(oid):
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
