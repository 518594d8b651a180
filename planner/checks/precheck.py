"""What can be known about a scenario before any solve, said in the planner's words.

These checks are cheap and exact consequences of the data: options that can
never be chosen, markets that can never be reached, and contradictions among
`must`, `never`, rules and limits that make every plan impossible. A solver
would only say "infeasible"; here the user learns which decisions collide
(SPEC §3: such contradictions are infeasibility, exit 3, not bad input).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from planner.checks.screening import Screened, ScreenedOffer, screen_offers, screen_options
from planner.scenario.data import Scenario, eligible, option_regions

TOLERANCE = 1e-6


@dataclass(frozen=True, slots=True)
class Precheck:
    screened: tuple[Screened, ...]
    """Options left out before solving (trust floors, never), with the reason."""
    excluded: dict[str, str]
    """Every option that no plan can contain, with the reason (screened or by rules)."""
    forced: tuple[str, ...]
    """Options every plan must contain: `must` options and what they require."""
    warnings: tuple[str, ...]
    conflicts: tuple[str, ...]
    """Contradictions that make the scenario infeasible; empty when none is found."""
    screened_offers: tuple[ScreenedOffer, ...] = ()
    """Offers left out before solving (never), with the reason."""


def _within(value: float, limit: float) -> bool:
    return value <= limit + TOLERANCE * max(1.0, abs(limit))


def check_before_solve(scenario: Scenario) -> Precheck:
    """All pre-solve findings for one scenario (its settings already resolved)."""
    s = scenario
    screened = screen_options(s)
    conflicts: list[str] = []
    warnings: list[str] = list(s.warnings)

    excluded = {x.option_id: x.reason for x in screened}
    requires = defaultdict(list)
    excludes = defaultdict(list)
    for rule in s.rules:
        if rule.rule == "requires":
            requires[rule.option_id].append(rule.other_option_id)
        else:
            excludes[rule.option_id].append(rule.other_option_id)
            excludes[rule.other_option_id].append(rule.option_id)

    # Options that must be in: `must` ones and everything they require, transitively.
    forced: dict[str, str] = {}
    stack = [(o.option_id, "decision is must") for o in s.options if o.decision == "must"]
    while stack:
        oid, why = stack.pop()
        if oid in forced:
            continue
        forced[oid] = why
        stack.extend((b, f"required by {oid}") for b in requires[oid])

    # Options that can never be in: screened ones, those excluded by a forced one,
    # and those that require an option that can never be in (to a fixpoint).
    for oid in sorted(forced):
        for other in excludes[oid]:
            excluded.setdefault(other, f"excluded by {oid}, which every plan contains")
    changed = True
    while changed:
        changed = False
        for rule in s.rules:
            if (
                rule.rule == "requires"
                and rule.other_option_id in excluded
                and rule.option_id not in excluded
            ):
                excluded[rule.option_id] = (
                    f"requires {rule.other_option_id}, which cannot be chosen "
                    f"({excluded[rule.other_option_id]})"
                )
                changed = True

    for oid in sorted(forced.keys() & excluded.keys()):
        conflicts.append(
            f"option {oid} must be in every plan ({forced[oid]}) but cannot be chosen: "
            f"{excluded[oid]}"
        )
    forced_ids = sorted(forced)
    for i, a in enumerate(forced_ids):
        for b in forced_ids[i + 1 :]:
            if b in excludes[a]:
                conflicts.append(f"options {a} and {b} are both forced in but {a} excludes {b}")

    regions = option_regions(s)  # once: 0.1-0.3 s at 50,000 options
    conflicts.extend(_budget_conflicts(s, forced_ids, excluded, regions))
    conflicts.extend(_resource_conflicts(s, forced_ids))
    warnings.extend(_reach_warnings(s, excluded, regions))

    screened_ids = {x.option_id for x in screened}
    for oid, reason in sorted(excluded.items()):
        if oid not in screened_ids and oid not in forced:
            warnings.append(f"option {oid} can never be chosen: {reason}")
    return Precheck(
        screened=tuple(screened),
        excluded=dict(sorted(excluded.items())),
        forced=tuple(forced_ids),
        warnings=tuple(warnings),
        conflicts=tuple(dict.fromkeys(conflicts)),
        screened_offers=tuple(screen_offers(s)),
    )


def _budget_conflicts(
    s: Scenario, forced: list[str], excluded: dict[str, str], regions: dict[str, set[str]]
) -> list[str]:
    """Forced options whose cost, less the most co-financing they could draw, exceeds budget."""
    out: list[str] = []
    settings = s.settings
    options = {o.option_id: o for o in s.options}
    offers_in = [c for c in s.offers if c.decision != "never"]
    must_offers = [c for c in s.offers if c.decision == "must"]
    gross = sum(options[o].cost for o in forced)
    most_per_option = 0.0
    usable_caps = 0.0
    for oid in forced:
        option = options[oid]
        shares = [c for c in offers_in if eligible(c, option, regions[oid])]
        most_per_option += option.cost * min(
            settings.max_cofinance_share, sum(c.share for c in shares)
        )
    for c in offers_in:
        if any(eligible(c, options[o], regions[o]) for o in forced):
            usable_caps += c.cap
    most = min(most_per_option, usable_caps)
    fees = sum(c.fee for c in must_offers)
    least_net = gross - most + fees
    if forced and not _within(least_net, settings.budget):
        out.append(
            f"the options every plan must contain ({', '.join(forced)}) cost {gross:g} gross; "
            f"co-financing could cover at most {most:g} and must-offer fees add {fees:g}, "
            f"so net spend is at least {least_net:g}, above the budget of {settings.budget:g} "
            f"(raise budget to {least_net:g} or drop a must)"
        )
    elif not forced and not _within(fees, settings.budget):
        out.append(
            f"the fees of the must offers ({', '.join(c.offer_id for c in must_offers)}) "
            f"add up to {fees:g}, above the budget of {settings.budget:g}"
        )
    for c in must_offers:
        reachable = sum(
            o.cost
            for o in s.options
            if o.option_id not in excluded and eligible(c, o, regions[o.option_id])
        )
        if not _within(c.min_eligible_spend, reachable):
            out.append(
                f"offer {c.offer_id} is must but needs {c.min_eligible_spend:g} of spend on "
                f"eligible options, and all eligible options that can be chosen cost "
                f"{reachable:g} together"
            )
    return out


def _resource_conflicts(s: Scenario, forced: list[str]) -> list[str]:
    forced_set = set(forced)
    used: dict[str, float] = defaultdict(float)
    for u in s.usage:
        if u.option_id in forced_set:
            used[u.resource] += u.amount
    return [
        f"the options every plan must contain use {used[r.resource]:g} of resource "
        f"{r.resource}, above its capacity of {r.capacity:g}"
        for r in s.resources
        if not _within(used[r.resource], r.capacity)
    ]


def _reach_warnings(
    s: Scenario, excluded: dict[str, str], regions: dict[str, set[str]]
) -> list[str]:
    out: list[str] = []
    covered = {row.option_id for row in s.coverage}
    # (market, layer) pairs some available option supplies, only where a layer is required
    # (a fifth of the markets in large scenarios: 200,000 pairs built for nothing otherwise).
    layer_of = {o.option_id: o.layer for o in s.options}
    needy = {m.market_id for m in s.markets if m.required_layers}
    supplied = {
        (row.market_id, layer_of[row.option_id])
        for row in s.coverage
        if row.market_id in needy and row.option_id not in excluded
    }
    for m in s.markets:
        missing = [layer for layer in m.required_layers if (m.market_id, layer) not in supplied]
        if missing:
            out.append(
                f"market {m.market_id} ({m.name}) is unreachable: no option that can be chosen "
                f"supplies its required layer(s) {', '.join(missing)} there"
            )
    for o in s.options:
        if o.option_id not in covered:
            out.append(
                f"option {o.option_id} has no Coverage rows: it reaches no market and "
                "supplies no layer anywhere"
            )
    for c in s.offers:
        if not any(eligible(c, o, regions[o.option_id]) for o in s.options):
            out.append(f"offer {c.offer_id} ({c.financier}): no option is eligible for it")
    return out
