"""The questions an explanation of plan 1 asks (SPEC §6), and what is known of each answer
before any re-solve.

Every question is "the best weighted reach B of a changed scenario" (`Question.variant`):
without an option, with an option, with a limit loosened, without an offer. Its answer is
kept as an interval `[lo, hi]` of B; each explanation is then an affine function of B
(R − B, or B − R). Known without a solve (models/formulation.md, "Explanations"):

- every returned plan is a feasible plan of the scenario: one that leaves out option o (or
  offer c) is a lower bound on B without it, one that contains o is one on B with it;
- plan 1 less o, with o's co-financing dropped (and offers whose matching spend then
  fails), is feasible when the independent check (`planner.checks.verify`) says so;
  plan 1 plus o likewise;
- plan 1 meets every loosened limit, so B ≥ R there;
- a scenario restricted by a decision has B ≤ plan 1's bound (the best reach overall).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from planner.checks.scenario_index import index_for
from planner.checks.verify import ScenarioIndex, check_plan, make_plan
from planner.plan import CoFinancing, Plan
from planner.scenario.data import Coverage, Market, Scenario, canonical_name

Kind = Literal["marginal", "replacement", "limit", "offer"]

#: The market a "with option o" question adds so that every plan containing o reaches
#: something: the solve then tells "no plan contains o" (infeasible) apart from "the
#: best plan containing o reaches nothing" (reach exactly `PROBE_REACH` more than the
#: question's answer). Its id and region sort first and match no offer's regions.
PROBE_MARKET = "\x00explain-probe"
PROBE_REACH = 1.0


@dataclass
class Question:
    """One changed scenario whose best weighted reach B some explanation needs."""

    kind: Kind
    subject: str  # the option, the offer or the limit's name
    variant: Scenario
    start: tuple[str, ...]  # plan 1's options as the change allows: the solve's warm start
    lo: float  # B ≥ lo (−inf: nothing known)
    hi: float  # B ≤ hi
    shift: float = 0.0  # the variant's reach exceeds the question's by this much (probe)
    feasible: bool | None = None  # replacement only: a plan containing the option exists?
    exact: bool = False
    attempts: int = 0
    note: str = ""  # why it is unfinished, when it is
    best: tuple[str, ...] = field(default=())  # options of the best plan found for it
    restricts: bool = True
    """Every plan of the variant meets the scenario's own limits and decisions (false for
    a limit loosened, or an offer the scenario takes by decision left out): only then
    does a plan found for it narrow the other questions."""

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.subject}"

    def narrow(self, lo: float | None = None, hi: float | None = None) -> None:
        """Keep the tighter of the known and the new bounds (each valid on its own)."""
        if lo is not None:
            self.lo = max(self.lo, lo)
        if hi is not None:
            self.hi = min(self.hi, hi)
        if self.hi < self.lo:  # only through rounding of equal values: they agree
            self.hi = self.lo
        if self.lo == self.hi:
            self.exact = True


@dataclass(frozen=True)
class Limit:
    """One limit of SPEC §6 `limits` as measured on plan 1."""

    name: str
    value: float
    used: float | None
    slack: float | None
    step: float
    loosened: Scenario | None  # None when the step is 0 (nothing to loosen)


def tolerance(value: float) -> float:
    """SPEC §3: values within 1e-6 × max(1, |value|) of each other are equal."""
    return 1e-6 * max(1.0, abs(value))


def feasible_reach(
    scenario: Scenario,
    options: Iterable[str],
    offers: Iterable[str],
    cofinancing: Iterable[CoFinancing],
    *,
    index: ScenarioIndex | None = None,
) -> float | None:
    """The weighted reach of the plan made of `options`, when the independent check finds
    it feasible with `offers` (less those whose matching spend it no longer meets) and the
    co-financing rows of those options and offers; else None."""
    ix = index_for(scenario, index)  # callers asking of many plans pass one
    chosen = set(options)
    rows = [cf for cf in cofinancing if cf.option_id in chosen]
    taken = set(offers)
    for attempt in range(2):
        plan = make_plan(
            scenario,
            1,
            chosen,
            taken,
            [cf for cf in rows if cf.offer_id in taken],
            bound=math.inf,
            proven_optimal=False,
            gap=None,
            index=ix,
        )
        if not check_plan(scenario, plan, index=ix):
            return plan.weighted_reach
        if attempt == 0:
            taken = _offers_still_matched(ix, chosen, taken)
    return None


def _offers_still_matched(ix: ScenarioIndex, chosen: set[str], taken: set[str]) -> set[str]:
    option_of = ix.option_of
    kept = set()
    for offer in ix.scenario.offers:
        if offer.offer_id not in taken:
            continue
        eligible = ix.eligible(offer.offer_id)
        spend = sum(option_of[o].cost for o in ix.in_order(chosen) if o in eligible)
        if spend >= offer.min_eligible_spend - tolerance(offer.min_eligible_spend):
            kept.add(offer.offer_id)
    return kept


def exclusive_reach(scenario: Scenario, plan: Plan) -> dict[str, float]:
    """R − W(plan without o) for each option o of the plan: the reach only o provides,
    nothing re-optimised (closed form; reach does not depend on offers).

    Computed market by market from the plan's own Coverage rows, in one pass: without
    o, a market where o has a row loses o's reach (down to min(addressable, the rest)),
    or all of it when o is the plan's only option there of a layer the market
    requires. Evaluating the plan less each option in turn cost a pass over the
    plan's rows per option: minutes for the thousands of options of a large plan.
    """
    index = ScenarioIndex(scenario)
    chosen = index.in_order(set(plan.options))
    option_of = index.option_of
    market_of = {m.market_id: m for m in scenario.markets}
    rows = [scenario.coverage[r] for r in index.rows_of(index.coverage_rows, chosen)]
    raw: dict[str, float] = {}
    suppliers: dict[tuple[str, str], int] = {}
    for option_id, market_id, reach in rows:
        raw[market_id] = raw.get(market_id, 0.0) + reach
        key = (market_id, canonical_name(option_of[option_id].layer))
        suppliers[key] = suppliers.get(key, 0) + 1
    reach_now = {m.market_id: m.reach for m in plan.markets}
    out = dict.fromkeys(chosen, 0.0)
    for option_id, market_id, reach in rows:
        now = reach_now.get(market_id, 0.0)
        if now == 0.0:
            continue  # not served (or reaching nothing): nothing to lose there
        market = market_of[market_id]
        layer = canonical_name(option_of[option_id].layer)
        alone = suppliers[(market_id, layer)] == 1 and layer in {
            canonical_name(la) for la in market.required_layers
        }
        after = 0.0 if alone else min(market.addressable, raw[market_id] - reach)
        out[option_id] += market.weight * (now - after)
    return out


def with_probe(scenario: Scenario, option: str) -> Scenario:
    """`scenario` with `option` forced in and the probe market only it reaches."""
    forced = scenario.with_decisions(must=[option])
    probe = Market(PROBE_MARKET, "explanation probe", PROBE_MARKET, 1.0, PROBE_REACH)
    return dataclasses.replace(
        forced,
        markets=(probe, *forced.markets),
        coverage=(Coverage(option, PROBE_MARKET, PROBE_REACH), *forced.coverage),
    )


def limits_of(scenario: Scenario, plan: Plan, step_share: float) -> list[Limit]:
    """Every limit SPEC §6 lists, measured on `plan`, with its loosened scenario.

    Loosening raises a limit (budget, resource capacity, share cap) or lowers a floor
    (`min_average_trust`) by `step`: `step_share` × its value; a share cap of 0 is raised
    by `step_share` itself (10 points), a cap never beyond 1 and a floor never below 0.
    """
    s = scenario.settings
    option_of = {o.option_id: o for o in scenario.options}
    partner_of = scenario.partner_of()
    chosen = [option_of[o] for o in plan.options]
    gross = plan.gross_spend
    out: list[Limit] = []

    def add(
        name: str,
        value: float,
        used: float | None,
        slack: float | None,
        step: float,
        change: Callable[[], Scenario],
    ) -> None:
        loosened = change() if step > 0 else None
        out.append(Limit(name, value, used, slack, step, loosened))

    budget_step = step_share * s.budget
    add(
        "budget",
        s.budget,
        plan.net_spend,
        s.budget - plan.net_spend,
        budget_step,
        lambda: scenario.with_settings(budget=s.budget + budget_step),
    )
    for resource in scenario.resources:
        amount = sum(
            row.amount
            for row in scenario.usage
            if row.resource == resource.resource and row.option_id in plan.options
        )
        step = step_share * resource.capacity

        def loosen_resource(name: str = resource.resource, step: float = step) -> Scenario:
            return dataclasses.replace(
                scenario,
                resources=tuple(
                    dataclasses.replace(r, capacity=r.capacity + step) if r.resource == name else r
                    for r in scenario.resources
                ),
            )

        add(
            f"resource[{resource.resource}]",
            resource.capacity,
            amount,
            resource.capacity - amount,
            step,
            loosen_resource,
        )
    if s.min_average_trust is not None:
        floor = s.min_average_trust
        step = min(step_share * floor, floor)
        trust = plan.average_trust
        add(
            "min_average_trust",
            floor,
            trust,
            None if trust is None else trust - floor,
            step,
            lambda: scenario.with_settings(min_average_trust=floor - step),
        )

    def cap_step(cap: float) -> float:
        return min(step_share * cap if cap > 0 else step_share, 1.0 - cap)

    cap = s.max_foreign_share
    used = plan.foreign_share
    add(
        "max_foreign_share",
        cap,
        used,
        None if used is None else cap - used,
        cap_step(cap),
        lambda: scenario.with_settings(max_foreign_share=min(1.0, cap + cap_step(cap))),
    )
    for layer in scenario.layers:
        if layer.max_foreign_share >= 1.0:
            continue
        mine = [o for o in chosen if canonical_name(o.layer) == canonical_name(layer.layer)]
        spend = sum(o.cost for o in mine)
        foreign = sum(o.cost for o in mine if scenario.is_foreign(partner_of[o.partner_id]))
        share = foreign / spend if spend > 0 else None
        lcap = layer.max_foreign_share

        def loosen_layer(name: str = layer.layer, lcap: float = lcap) -> Scenario:
            return dataclasses.replace(
                scenario,
                layers=tuple(
                    dataclasses.replace(la, max_foreign_share=min(1.0, lcap + cap_step(lcap)))
                    if la.layer == name
                    else la
                    for la in scenario.layers
                ),
            )

        add(
            f"max_foreign_share[{layer.layer}]",
            lcap,
            share,
            None if share is None else lcap - share,
            cap_step(lcap),
            loosen_layer,
        )
    if s.max_country_share < 1.0:
        ccap = s.max_country_share
        by_country: dict[str, float] = {}
        for o in chosen:
            partner = partner_of[o.partner_id]
            if scenario.is_foreign(partner):
                key = canonical_name(partner.country)
                by_country[key] = by_country.get(key, 0.0) + o.cost
        top = max(by_country.values(), default=0.0) / gross if gross > 0 else None
        add(
            "max_country_share",
            ccap,
            top,
            None if top is None else ccap - top,
            cap_step(ccap),
            lambda: scenario.with_settings(max_country_share=min(1.0, ccap + cap_step(ccap))),
        )
    return out


def known_plans(plans: Sequence[Plan]) -> list[tuple[frozenset[str], frozenset[str], float]]:
    """(options, offers, weighted reach) of plans known to meet every limit of the scenario."""
    return [(frozenset(p.options), frozenset(p.offers), p.weighted_reach) for p in plans]
