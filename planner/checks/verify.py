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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter

import numpy as np

from planner.checks.scenario_arrays import ordered_sum
from planner.checks.scenario_index import (
    ScenarioIndex,
    index_for,
    is_eligible,
    regions_by_option,
)
from planner.checks.scenario_index import canon as _canon
from planner.plan import CoFinancing, MarketReach, Plan
from planner.scenario.data import Scenario, Settings

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
    return _evaluate(ix, ix.arrays.chosen(set(options)), set(offers), cofinancing)


def _evaluate(
    ix: ScenarioIndex, chosen: np.ndarray, taken: set[str], cofinancing: Iterable[CoFinancing]
) -> PlanMetrics:
    """`evaluate_plan` of the options in the mask `chosen`."""
    scenario, arrays = ix.scenario, ix.arrays
    raw = arrays.reach_by_market(chosen).tolist()
    missing_layers = arrays.missing_layers(chosen)
    markets = []
    weighted = 0.0
    for i, m in enumerate(scenario.markets):
        missing = missing_layers.get(i, ())
        reach = 0.0 if missing else min(m.addressable, raw[i])
        weighted += m.weight * reach
        markets.append(MarketReach(m.market_id, reach, missing))

    cost = arrays.cost[chosen]
    gross = ordered_sum(cost)
    cofinanced = float(sum(map(attrgetter("amount"), cofinancing)))
    fees = float(sum(ix.offer_of[c].fee for c in sorted(taken)))
    if gross > 0:
        # Cost-0 options add 0 to both sums.
        average_trust: float | None = arrays.trust_spend(chosen) / gross
        foreign_share: float | None = ordered_sum(arrays.cost[chosen & arrays.foreign]) / gross
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
    cofinancing = tuple(sorted(cofinancing, key=attrgetter("offer_id", "option_id")))
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
    unknown = [o for o in plan.options if o not in ix.option_of] + [
        c for c in plan.offers if c not in ix.offer_of
    ]
    if unknown:
        return [f"unknown ids in plan: {', '.join(unknown)}"]
    check = _Check(ix, scenario.settings, plan)
    check.trust_floor_and_decisions()
    check.cofinancing()
    metrics = _evaluate(ix, check.chosen, check.taken, plan.cofinancing)
    check.budget(metrics)
    check.resources()
    check.trust_and_shares(metrics.gross_spend)
    check.requires_and_excludes()
    check.reported_figures(metrics)
    return check.problems


class _Pairs:
    """A plan's co-financing pairs as arrays, in the plan's order.

    `counted`: the pair's offer is taken and its option chosen, so its amount counts
    towards the totals (an unknown id is neither); `cost`, `share` and `eligible` are
    the option's cost, the offer's share and SPEC §2 eligibility, for counted pairs.
    """

    def __init__(
        self, ix: ScenarioIndex, pairs: Sequence[CoFinancing], chosen: np.ndarray, taken: set[str]
    ) -> None:
        a, n = ix.arrays, len(pairs)
        self.pairs = pairs
        self.offers = sorted(ix.offer_of)
        code = {c: j for j, c in enumerate(self.offers)}
        offer_ids = list(map(attrgetter("offer_id"), pairs))
        option_ids = list(map(attrgetter("option_id"), pairs))
        self.offer = np.fromiter((code.get(c, -1) for c in offer_ids), np.int64, n)
        self.option = np.fromiter((a.position.get(o, -1) for o in option_ids), np.int64, n)
        self.amount = np.fromiter(map(attrgetter("amount"), pairs), np.float64, n)
        self.repeated = _repeated(list(zip(offer_ids, option_ids, strict=True)))
        is_taken = np.zeros(len(self.offers) + 1, np.bool_)  # the last: an unknown offer (-1)
        is_taken[[code[c] for c in taken]] = True
        self.counted = is_taken[self.offer] & np.append(chosen, False)[self.option]
        self.cost = np.where(self.counted, a.cost[self.option], 0.0)
        self.share = np.zeros(n, np.float64)
        self.eligible = np.zeros(n, np.bool_)
        for j in np.unique(self.offer[self.counted]).tolist():
            at = self.counted & (self.offer == j)
            self.share[at] = ix.offer_of[self.offers[j]].share
            self.eligible[at] = ix.eligible_mask(self.offers[j])[self.option[at]]


def _repeated(keys: list[tuple[str, str]]) -> np.ndarray:
    """Where a key was listed before, element-wise."""
    out = np.zeros(len(keys), np.bool_)
    if len(set(keys)) < len(keys):
        seen: set[tuple[str, str]] = set()
        for k, key in enumerate(keys):
            out[k] = key in seen
            seen.add(key)
    return out


def _over(lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Where lhs <= rhs fails beyond SPEC's tolerance (or is not a number), element-wise."""
    with np.errstate(invalid="ignore", over="ignore"):
        excess = lhs - rhs
        tol = REL_TOL * np.maximum(1.0, np.maximum(np.abs(lhs), np.abs(rhs)))
        return ~np.isfinite(excess) | (excess > tol)


class _Check:
    """One plan's check: each SPEC §3 rule a step, its broken constraints as sentences."""

    def __init__(self, ix: ScenarioIndex, settings: Settings, plan: Plan) -> None:
        self.ix, self.plan = ix, plan
        self.settings = settings  # the scenario's own: the index may serve other settings
        self.arrays = ix.arrays
        self.chosen = self.arrays.chosen(set(plan.options))
        self.taken = set(plan.offers)
        self.problems: list[str] = []

    def le(self, what: str, lhs: float, rhs: float, *terms: float) -> None:
        # SPEC's tolerance on the sides, plus the rounding of the `terms` a side was
        # summed from: a net spend of 30 = (1e14 + 30) − 1e14 carries 1e14's rounding.
        excess = lhs - rhs
        rounding = SUM_ROUNDING * sum(abs(t) for t in terms)
        if not math.isfinite(excess) or excess > _tol(lhs, rhs) + rounding:
            self.problems.append(f"{what}: {lhs:.9g} exceeds {rhs:.9g}")

    def trust_floor_and_decisions(self) -> None:
        """Rule 9 and decisions, option by option in the scenario's order."""
        a, chosen = self.arrays, self.chosen
        floor = np.maximum(self.settings.min_partner_trust, a.layer_min_trust)
        low = chosen & (a.trust < floor)
        left_out, forced_in = a.must & ~chosen, a.never & chosen
        options = self.ix.scenario.options
        for i in np.flatnonzero(low | left_out | forced_in).tolist():
            oid = options[i].option_id
            if low[i]:
                self.problems.append(
                    f"trust_floor: {oid} partner trust {a.trust[i]:g} < {floor[i]:g}"
                )
            if left_out[i]:
                self.problems.append(f"decisions: must option {oid} left out")
            if forced_in[i]:
                self.problems.append(f"decisions: never option {oid} chosen")
        for c in self.ix.scenario.offers:
            if c.decision == "must" and c.offer_id not in self.taken:
                self.problems.append(f"decisions: must offer {c.offer_id} not taken")
            if c.decision == "never" and c.offer_id in self.taken:
                self.problems.append(f"decisions: never offer {c.offer_id} taken")

    def cofinancing(self) -> None:
        """Rules 3-6: each pair, each offer's and each option's total, matching spend."""
        pairs = _Pairs(self.ix, self.plan.cofinancing, self.chosen, self.taken)
        self._each_pair(pairs)
        self._totals(pairs)
        self._matching_spend()

    def _each_pair(self, p: _Pairs) -> None:
        """Listed once, its offer taken, its option chosen and eligible, its amount within
        the offer's share of the option's cost (rule 3); in the plan's order."""
        most = p.share * p.cost
        negative = p.amount < -REL_TOL * np.maximum(1.0, np.abs(p.amount))
        over = _over(p.amount, most)
        wrong = p.repeated | ~p.counted | (p.counted & (~p.eligible | negative | over))
        for k in np.flatnonzero(wrong).tolist():
            cf = p.pairs[k]
            pair = (cf.offer_id, cf.option_id)
            if p.repeated[k]:
                self.problems.append(f"co-financing pair {pair} listed twice")
            if cf.offer_id not in self.taken:
                self.problems.append(
                    f"offer_cap: {cf.offer_id} pays {cf.option_id} but is not taken"
                )
                continue
            if not p.counted[k]:
                self.problems.append(
                    f"cofinance_option: {cf.offer_id} pays unchosen {cf.option_id}"
                )
                continue
            if not p.eligible[k]:
                self.problems.append(
                    f"eligibility: {cf.option_id} is not eligible for {cf.offer_id}"
                )
            if negative[k]:
                self.problems.append(f"co-financing amount {cf.amount} for {pair} is negative")
            self.le(f"cofinance_option[{cf.offer_id},{cf.option_id}]", cf.amount, float(most[k]))

    def _totals(self, p: _Pairs) -> None:
        """Each offer's amounts within its cap (rule 4), each option's within
        max_cofinance_share of its cost (rule 5), summed in the plan's order."""
        ix, a = self.ix, self.arrays
        n_offers = len(p.offers)
        per_offer = np.bincount(
            np.where(p.counted, p.offer, n_offers), weights=p.amount, minlength=n_offers + 1
        )
        for j in np.unique(p.offer[p.counted]).tolist():
            self.le(f"offer_cap[{p.offers[j]}]", float(per_offer[j]), ix.offer_of[p.offers[j]].cap)
        per_option = np.bincount(
            np.where(p.counted, p.option, a.n_options), weights=p.amount, minlength=a.n_options + 1
        )
        paid = np.unique(p.option[p.counted])
        limit = self.settings.max_cofinance_share * a.cost[paid]
        broken = _over(per_option[paid], limit)
        options = ix.scenario.options
        for option_id, total, most in sorted(
            (options[i].option_id, float(per_option[i]), float(r))
            for i, r in zip(paid[broken].tolist(), limit[broken].tolist(), strict=True)
        ):
            self.le(f"cofinance_share[{option_id}]", total, most)

    def _matching_spend(self) -> None:
        """Rule 6: each taken offer's eligible spend at least its min_eligible_spend."""
        for offer_id in sorted(self.taken):
            mask = self.chosen & self.ix.eligible_mask(offer_id)
            self.le(
                f"matching_spend[{offer_id}]",
                self.ix.offer_of[offer_id].min_eligible_spend,
                ordered_sum(self.arrays.cost[mask]),
            )

    def budget(self, metrics: PlanMetrics) -> None:
        """Rule 7: net spend, fees included, within the budget."""
        self.le(
            "budget",
            metrics.net_spend,
            self.settings.budget,
            metrics.gross_spend,
            metrics.cofinanced,
            metrics.fees,
        )

    def resources(self) -> None:
        """Rule 8: each resource's use within its capacity."""
        used = self.arrays.used_by_resource(self.chosen)
        code = {name: i for i, name in enumerate(self.arrays.resource_names)}
        for res in self.ix.scenario.resources:
            self.le(f"resources[{res.resource}]", float(used[code[res.resource]]), res.capacity)

    def trust_and_shares(self, gross: float) -> None:
        """Rules 10-12 on gross spend; cost-0 options weigh nothing."""
        s, a, chosen = self.settings, self.arrays, self.chosen
        cost = np.where(chosen, a.cost, 0.0)
        if s.min_average_trust is not None and gross > 0:
            self.le("average_trust", s.min_average_trust * gross, a.trust_spend(chosen))
        foreign = chosen & a.foreign
        self.le("foreign_share", ordered_sum(a.cost[foreign]), s.max_foreign_share * gross)
        n_layers = len(a.layer_names)
        layer_spend = np.bincount(a.layer_code, weights=cost, minlength=n_layers)
        layer_foreign = np.bincount(
            a.layer_code, weights=np.where(foreign, a.cost, 0.0), minlength=n_layers
        )
        for layer in self.ix.scenario.layers:
            j = a.layer_position.get(_canon(layer.layer))
            spend = 0.0 if j is None else float(layer_spend[j])
            foreign_spend = 0.0 if j is None else float(layer_foreign[j])
            self.le(
                f"layer_foreign_share[{layer.layer}]",
                foreign_spend,
                layer.max_foreign_share * spend,
            )
        by_country = np.bincount(
            a.country_code[foreign], weights=a.cost[foreign], minlength=len(a.country_names)
        )
        for j in np.unique(a.country_code[foreign]).tolist():
            self.le(
                f"country_share[{a.country_names[j]}]",
                float(by_country[j]),
                s.max_country_share * gross,
            )

    def requires_and_excludes(self) -> None:
        """Rule 13."""
        chosen = set(self.plan.options)
        for rule in self.ix.scenario.rules:
            a, b = rule.option_id, rule.other_option_id
            if rule.rule == "requires" and a in chosen and b not in chosen:
                self.problems.append(f"requires: {a} chosen without {b}")
            if rule.rule == "excludes" and a in chosen and b in chosen:
                self.problems.append(f"excludes: {a} and {b} both chosen")

    def reported_figures(self, metrics: PlanMetrics) -> None:
        """The plan's reported figures must be the recomputed ones."""
        plan = self.plan
        for name in ("weighted_reach", "net_spend", "gross_spend", "cofinanced", "fees"):
            reported, actual = getattr(plan, name), getattr(metrics, name)
            if abs(reported - actual) > _tol(actual):
                self.problems.append(
                    f"reported {name} {reported:.9g} differs from recomputed {actual:.9g}"
                )
        if plan.bound < metrics.weighted_reach - _tol(metrics.weighted_reach):
            self.problems.append(f"bound {plan.bound:.9g} is below the plan's own weighted reach")
