"""Every limit a plan breaks, each named with by how much: for `planner verify`.

`planner.checks.verify.check_plan` guards the solver's answers (an internal
error when anything fails); this lists, for people, what is wrong with a plan
someone may have edited by hand: each broken limit of SPEC §3 with its excess and
the two sides compared ("budget exceeded by 12.5 (net spend 132.5, budget 120)"),
and each reported figure that does not equal the one recomputed from the
scenario. Like `verify`, it shares no code with the model or the solver: it reads
the scenario and the plan's decisions (options, offers, co-financing amounts),
and recomputes everything else with `verify.evaluate_plan`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from planner.checks.scenario_index import ScenarioIndex, index_for
from planner.checks.verify import SUM_ROUNDING, _canon, _tol, evaluate_plan
from planner.plan import CoFinancing
from planner.scenario.data import Scenario


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken limit or one reported figure that is not the recomputed one."""

    limit: str
    """The constraint's name as in SPEC §3 and the model (`budget`, `offer_cap[C1]`), or
    `reported` for a figure."""
    message: str
    """What is wrong, in words, with the numbers compared."""
    excess: float | None = None
    """By how much the limit is broken (None when it is not a quantity: a rule, a decision)."""

    def __str__(self) -> str:
        return self.message


def _g(value: float) -> str:
    return f"{value:.9g}"


def plan_violations(
    scenario: Scenario,
    options: Iterable[str],
    offers: Iterable[str],
    cofinancing: Iterable[CoFinancing],
    *,
    index: ScenarioIndex | None = None,
) -> list[Violation]:
    """Every SPEC §3 limit the plan (its decisions) breaks in `scenario`; empty when valid.

    Each quantity holds within 1e-6 × max(1, |value|) (SPEC §3), as in `check_plan`.
    Ids not in the scenario are reported and nothing else is checked (there is
    nothing to check them against). Callers checking many plans of one scenario pass
    its `index`, built once.
    """
    s = scenario.settings
    ix = index_for(scenario, index)
    chosen_list, taken_list, paid = list(options), list(offers), list(cofinancing)
    option_of, offer_of, partner_of = ix.option_of, ix.offer_of, ix.partner_of
    layer_of = ix.layer_of
    out: list[Violation] = []

    unknown = [f"option {o}" for o in chosen_list if o not in option_of] + [
        f"offer {c}" for c in taken_list if c not in offer_of
    ]
    unknown += [
        f"co-financing {cf.offer_id}/{cf.option_id}"
        for cf in paid
        if cf.offer_id not in offer_of or cf.option_id not in option_of
    ]
    if unknown:
        return [Violation("ids", f"not in the scenario: {', '.join(unknown)}")]
    chosen, taken = set(chosen_list), set(taken_list)
    ordered = ix.in_order(chosen)  # sums in the scenario's order, the same in every process

    def over(limit: str, what: str, lhs: float, rhs: float, sides: str, *terms: float) -> None:
        excess = lhs - rhs
        rounding = SUM_ROUNDING * sum(abs(t) for t in terms)
        if not math.isfinite(excess) or excess > _tol(lhs, rhs) + rounding:
            out.append(Violation(limit, f"{what} by {_g(excess)} ({sides})", excess))

    # Rule 9 and decisions.
    for o in scenario.options:
        trust = partner_of[o.partner_id].trust
        layer = layer_of.get(_canon(o.layer))
        floor = max(s.min_partner_trust, layer.min_trust if layer else 0.0)
        if o.option_id in chosen and trust < floor:
            out.append(
                Violation(
                    "trust_floor",
                    f"option {o.option_id}: partner trust below the floor by "
                    f"{_g(floor - trust)} (trust {_g(trust)}, floor {_g(floor)})",
                    floor - trust,
                )
            )
        if o.decision == "must" and o.option_id not in chosen:
            out.append(Violation("decisions", f"option {o.option_id} is a must but left out"))
        if o.decision == "never" and o.option_id in chosen:
            out.append(Violation("decisions", f"option {o.option_id} is never but chosen"))
    for c in scenario.offers:
        if c.decision == "must" and c.offer_id not in taken:
            out.append(Violation("decisions", f"offer {c.offer_id} is a must but not taken"))
        if c.decision == "never" and c.offer_id in taken:
            out.append(Violation("decisions", f"offer {c.offer_id} is never but taken"))

    # Rules 3-6: co-financing.
    per_offer: dict[str, float] = {}
    per_option: dict[str, float] = {}
    seen: set[tuple[str, str]] = set()
    for cf in paid:
        pair = f"{cf.offer_id} for {cf.option_id}"
        if (cf.offer_id, cf.option_id) in seen:
            out.append(Violation("cofinancing", f"co-financing {pair} is listed twice"))
        seen.add((cf.offer_id, cf.option_id))
        if cf.offer_id not in taken:
            out.append(Violation("offer_cap", f"co-financing {pair}: offer not taken"))
            continue
        if cf.option_id not in chosen:
            out.append(Violation("cofinance_option", f"co-financing {pair}: option not chosen"))
            continue
        offer, option = offer_of[cf.offer_id], option_of[cf.option_id]
        if cf.option_id not in ix.eligible(cf.offer_id):
            out.append(
                Violation("eligibility", f"co-financing {pair}: option not eligible for offer")
            )
        if cf.amount < -_tol(cf.amount):
            out.append(
                Violation("cofinancing", f"co-financing {pair} is negative ({_g(cf.amount)})")
            )
        most = offer.share * option.cost
        over(
            f"cofinance_option[{cf.offer_id},{cf.option_id}]",
            f"co-financing {pair} exceeds the offer's share of its cost",
            cf.amount,
            most,
            f"amount {_g(cf.amount)}, share × cost {_g(most)}",
        )
        per_offer[cf.offer_id] = per_offer.get(cf.offer_id, 0.0) + cf.amount
        per_option[cf.option_id] = per_option.get(cf.option_id, 0.0) + cf.amount
    for offer_id, total in sorted(per_offer.items()):
        cap = offer_of[offer_id].cap
        over(
            f"offer_cap[{offer_id}]",
            f"offer {offer_id}: cap exceeded",
            total,
            cap,
            f"co-financing {_g(total)}, cap {_g(cap)}",
        )
    for option_id, total in sorted(per_option.items()):
        most = s.max_cofinance_share * option_of[option_id].cost
        over(
            f"cofinance_share[{option_id}]",
            f"option {option_id}: co-financing exceeds max_cofinance_share of its cost",
            total,
            most,
            f"co-financing {_g(total)}, at most {_g(most)}",
        )
    for offer_id in sorted(taken):
        offer = offer_of[offer_id]
        eligible = ix.eligible(offer_id)
        spend = sum(option_of[o].cost for o in ordered if o in eligible)
        over(
            f"matching_spend[{offer_id}]",
            f"offer {offer_id}: eligible spend short of min_eligible_spend",
            offer.min_eligible_spend,
            spend,
            f"eligible spend {_g(spend)}, min_eligible_spend {_g(offer.min_eligible_spend)}",
        )

    # Rule 7: budget, with fees.
    m = evaluate_plan(scenario, chosen, taken, paid, index=ix)
    over(
        "budget",
        "budget exceeded",
        m.net_spend,
        s.budget,
        f"net spend {_g(m.net_spend)}, budget {_g(s.budget)}",
        m.gross_spend,
        m.cofinanced,
        m.fees,
    )

    # Rule 8: resources.
    used: dict[str, float] = {}
    usage = scenario.usage
    for at in ix.rows_of(ix.usage_rows, ordered):
        _, resource, amount = usage[at]
        used[resource] = used.get(resource, 0.0) + amount
    for r in scenario.resources:
        amount = used.get(r.resource, 0.0)
        over(
            f"resources[{r.resource}]",
            f"resource {r.resource} exceeded",
            amount,
            r.capacity,
            f"used {_g(amount)}, capacity {_g(r.capacity)}",
        )

    # Rules 10-12 on gross spend, reported as shares of it.
    gross = m.gross_spend

    def foreign(o: str) -> bool:
        return ix.foreign_of[o]

    def share_over(limit: str, what: str, part: float, whole: float, most: float) -> None:
        if whole <= 0:
            return
        share = part / whole
        if part - most * whole > _tol(part, most * whole):
            out.append(
                Violation(
                    limit,
                    f"{what} exceeded by {_g(share - most)} (share {_g(share)}, at most "
                    f"{_g(most)})",
                    share - most,
                )
            )

    if s.min_average_trust is not None and gross > 0:
        trust_spend = sum(
            partner_of[option_of[o].partner_id].trust * option_of[o].cost for o in ordered
        )
        average = trust_spend / gross
        if s.min_average_trust * gross - trust_spend > _tol(s.min_average_trust * gross):
            out.append(
                Violation(
                    "average_trust",
                    f"average trust below min_average_trust by "
                    f"{_g(s.min_average_trust - average)} (average {_g(average)}, floor "
                    f"{_g(s.min_average_trust)})",
                    s.min_average_trust - average,
                )
            )
    share_over(
        "foreign_share",
        "foreign share of gross spend",
        sum(option_of[o].cost for o in ordered if foreign(o)),
        gross,
        s.max_foreign_share,
    )
    by_layer: dict[str, list[str]] = {}
    for oid in ordered:
        by_layer.setdefault(_canon(option_of[oid].layer), []).append(oid)
    for layer in scenario.layers:
        in_layer = by_layer.get(_canon(layer.layer), [])
        share_over(
            f"layer_foreign_share[{layer.layer}]",
            f"layer {layer.layer}: foreign share",
            sum(option_of[o].cost for o in in_layer if foreign(o)),
            sum(option_of[o].cost for o in in_layer),
            layer.max_foreign_share,
        )
    by_country: dict[str, tuple[str, float]] = {}
    for oid in ordered:
        if foreign(oid):
            country = partner_of[option_of[oid].partner_id].country
            name, spend = by_country.get(_canon(country), (country, 0.0))
            by_country[_canon(country)] = (name, spend + option_of[oid].cost)
    for key, (name, spend) in sorted(by_country.items()):
        share_over(
            f"country_share[{key}]",
            f"country {name}: share of gross spend",
            spend,
            gross,
            s.max_country_share,
        )

    # Rule 13: requires / excludes.
    for rule in scenario.rules:
        a, b = rule.option_id, rule.other_option_id
        if rule.rule == "requires" and a in chosen and b not in chosen:
            out.append(Violation("requires", f"rule: {a} requires {b}, which is left out"))
        if rule.rule == "excludes" and a in chosen and b in chosen:
            out.append(Violation("excludes", f"rule: {a} excludes {b}, and both are chosen"))
    return out


#: Figures of a plans.json plan that `reported_mismatches` compares with recomputed ones.
FIGURES: tuple[str, ...] = (
    "weighted_reach",
    "net_spend",
    "gross_spend",
    "cofinanced",
    "fees",
    "average_trust",
    "foreign_share",
)


def reported_mismatches(
    scenario: Scenario,
    options: Sequence[str],
    offers: Sequence[str],
    cofinancing: Sequence[CoFinancing],
    reported: Mapping[str, object],
    *,
    index: ScenarioIndex | None = None,
) -> list[Violation]:
    """Each figure in `reported` (a plans.json plan) that differs from the one recomputed
    from the plan's decisions: `FIGURES`, each market's reach, and a bound below the
    plan's own weighted reach. Figures absent from `reported` are not compared."""
    ix = index_for(scenario, index)
    if any(o not in ix.option_of for o in options):
        return []  # `plan_violations` names the unknown ids; nothing to recompute
    m = evaluate_plan(scenario, options, offers, cofinancing, index=ix)
    out: list[Violation] = []

    def compare(name: str, value: object, actual: float | None) -> None:
        if value is None and actual is None:
            return
        if not isinstance(value, int | float) or isinstance(value, bool) or actual is None:
            shown = "null" if value is None else repr(value)
            wanted = "null" if actual is None else _g(actual)
            out.append(Violation("reported", f"reported {name} {shown}, recomputed {wanted}"))
            return
        if abs(value - actual) > _tol(actual):
            out.append(
                Violation(
                    "reported",
                    f"reported {name} {_g(value)} differs from recomputed {_g(actual)} "
                    f"by {_g(value - actual)}",
                    value - actual,
                )
            )

    for name in FIGURES:
        if name in reported:
            compare(name, reported[name], getattr(m, name))
    markets = reported.get("markets")
    if isinstance(markets, list):
        actual_of = {r.market_id: r.reach for r in m.markets}
        for row in markets:
            if isinstance(row, dict) and row.get("market") in actual_of:
                market = str(row["market"])
                compare(f"reach of market {market}", row.get("reach"), actual_of[market])
    bound = reported.get("bound")
    if isinstance(bound, int | float) and bound < m.weighted_reach - _tol(m.weighted_reach):
        out.append(
            Violation(
                "reported",
                f"reported bound {_g(bound)} is below the plan's weighted reach "
                f"{_g(m.weighted_reach)}",
            )
        )
    return out
