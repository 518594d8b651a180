"""What can be known about a scenario before any solve, said in the planner's words.

These checks are cheap and exact consequences of the data: options that can
never be chosen, markets that can never be reached, contradictions among
`must`, `never`, rules and limits that make every plan impossible, and a
scenario where nothing can reach a weighted market (no markets, every weight 0,
no reach, every reaching option screened out, a required layer nobody can
supply), which SPEC §4 also makes infeasible. A solver would only say
"infeasible"; here the user learns which decisions collide and why nothing is
reached (SPEC §3-§4: infeasibility, exit 3, not bad input).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace

from planner.checks.screening import Screened, ScreenedOffer, screen_offers, screen_options
from planner.scenario.data import Layer, Scenario, eligible, option_regions

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
    unreachable: Unreachable | None = None
    """Why no plan can reach a weighted market, when that is known before solving."""


@dataclass(frozen=True, slots=True)
class TrustFloor:
    """A trust floor lowered: `min_partner_trust` (layer None) or a layer's `min_trust`."""

    layer: str | None
    current: float
    suggested: float

    @property
    def name(self) -> str:
        """The floor in the user's words."""
        return "min_partner_trust" if self.layer is None else f"the {self.layer} layer's min_trust"


@dataclass(frozen=True, slots=True)
class Unreachable:
    """No plan can reach a market of positive weight, known from the data alone.

    SPEC §4 makes such a scenario infeasible ("nothing affordable reaches any
    weighted market"). `planner validate` says so as a conflict and the
    diagnosis of `planner solve` says it in the same words, so both commands
    name the same cause and the same way out.
    """

    cause: str
    """Why, e.g. "all 61 options are screened out: 61 by min_partner_trust 100 (...)"."""
    remedy: str
    """The smallest change that lets an option reach a weighted market, in words."""
    floors: tuple[TrustFloor, ...] = ()
    """The trust floors `remedy` lowers (together); empty when no trust floor helps."""

    @property
    def conflict(self) -> str:
        """The finding as one pre-solve conflict."""
        return f"{self.cause}; {self.remedy}"


def _within(value: float, limit: float) -> bool:
    return value <= limit + TOLERANCE * max(1.0, abs(limit))


def check_before_solve(scenario: Scenario) -> Precheck:
    """All pre-solve findings for one scenario (its settings already resolved)."""
    s = scenario
    screened = screen_options(s)
    warnings: list[str] = list(s.warnings)
    decided = _decide(s, screened)
    forced, excluded = decided.forced, decided.excluded
    conflicts = list(decided.conflicts)
    forced_ids = sorted(forced)

    regions = option_regions(s)  # once: 0.1-0.3 s at 50,000 options
    conflicts.extend(_budget_conflicts(s, forced_ids, excluded, regions))
    conflicts.extend(_resource_conflicts(s, forced_ids))
    # With decisions in contradiction, "cannot be chosen" is itself contradictory:
    # the contradiction is the finding, not what follows from it.
    unreachable = None if decided.conflicts else _unreachable(s, decided)
    if unreachable is not None:
        conflicts.append(unreachable.conflict)
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
        unreachable=unreachable,
    )


def contradictions(scenario: Scenario) -> list[str]:
    """Contradictions among `must`, `never`, trust floors and rules, each stated once.

    The pre-solve check and the diagnosis of a solve both say these, in the
    same words, so `planner validate` and `planner solve` name the same cause.
    """
    return _decide(scenario, screen_options(scenario)).conflicts


@dataclass(frozen=True, slots=True)
class _Decided:
    """What decisions and rules settle before solving."""

    forced: dict[str, str]
    """Options every plan contains, with why (`must`, or required by one that is)."""
    excluded: dict[str, str]
    """Options no plan contains, with why (screened, or by rules)."""
    conflicts: list[str]
    """Options both forced and excluded, each contradiction stated once."""


def _decide(s: Scenario, screened: list[Screened]) -> _Decided:
    """Propagate `must` along `requires` and exclusions along rules, to a fixpoint.

    Each rule-made exclusion keeps its origin, so that a contradiction seen from
    both of its sides (two forced options that exclude each other; a forced
    option that requires another forced one that cannot be chosen) is stated
    once, by the option where it starts, not once per option it reaches.
    """
    excluded = {x.option_id: x.reason for x in screened}
    origin: dict[str, tuple[str, str]] = {}
    """How rules excluded an option: ("excludes", forced option) or ("requires", option)."""
    requires: defaultdict[str, list[str]] = defaultdict(list)
    excludes: defaultdict[str, list[str]] = defaultdict(list)
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
            if other not in excluded:
                excluded[other] = f"excluded by {oid}, which every plan contains"
                origin[other] = ("excludes", oid)
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
                origin[rule.option_id] = ("requires", rule.other_option_id)
                changed = True

    conflicts: list[str] = []
    for oid in sorted(forced.keys() & excluded.keys()):
        kind, other = origin.get(oid, ("", ""))
        if kind == "excludes" or (kind == "requires" and other in forced):
            continue  # said by the pair below, or by `other`, which is forced and excluded
        conflicts.append(
            f"option {oid} must be in every plan ({forced[oid]}) but cannot be chosen: "
            f"{excluded[oid]}"
        )
    pairs: set[frozenset[str]] = set()
    for rule in s.rules:
        a, b = rule.option_id, rule.other_option_id
        pair = frozenset((a, b))
        if rule.rule == "excludes" and a in forced and b in forced and pair not in pairs:
            pairs.add(pair)
            conflicts.append(
                f"options {a} ({forced[a]}) and {b} ({forced[b]}) must both be in every "
                f"plan, but {a} excludes {b}"
            )
    return _Decided(forced, excluded, conflicts)


def _unreachable(s: Scenario, decided: _Decided) -> Unreachable | None:
    """Why no option that can be chosen reaches a market of positive weight, or None.

    Exact and one-sided: a market counts only with a weight above 0, a Coverage
    row of positive reach from an option that can be chosen, and every required
    layer supplied there by an option that can be chosen (SPEC §3 rules 1-2).
    When no market can count, every plan has weighted reach 0; when one can, a
    plan may still fail for budget or other limits, which only a solve can tell.
    """
    if not s.markets:
        return Unreachable(
            "the scenario has no markets (the Markets sheet has no rows), so no plan reaches one",
            "add markets to the Markets sheet",
        )
    weighted = {m.market_id for m in s.markets if m.weight > 0}
    if not weighted:
        return Unreachable(
            f"every market has weight 0 ({len(s.markets)} market(s)), so no plan has "
            "positive weighted reach",
            "give a market a positive weight",
        )
    if _some_market_counts(s, decided.excluded):
        return None
    reaching = sorted(
        {row.option_id for row in s.coverage if row.reach > 0 and row.market_id in weighted}
    )
    if not reaching:
        where = (
            "the Coverage sheet has no rows"
            if not s.coverage
            else "no Coverage row has positive reach in a market of positive weight"
        )
        return Unreachable(
            f"{where}, so no option reaches a weighted market",
            "add Coverage rows with positive reach in a market of positive weight",
        )
    floors = _trust_floors_that_help(s)
    if floors:
        value = floors[0].suggested
        names = [f.name for f in floors]
        which = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
        remedy = f"lowering {which} to {value:g} lets options reach weighted markets"
    else:
        remedy = ""
    choosable = [o for o in reaching if o not in decided.excluded]
    if not choosable:
        everything = len(decided.excluded) == len(s.options)
        group = [o.option_id for o in s.options] if everything else reaching
        screened = {x.option_id for x in screen_options(s)}
        how = "screened out or excluded by rules" if set(group) - screened else "screened out"
        which = "" if everything else " with positive reach in a market of positive weight"
        subject = (
            f"the only option{which} is"
            if len(group) == 1
            else f"all {len(group)} options{which} are"
        )
        cause = f"{subject} {how}: {_why_excluded(s, group, decided.excluded)}"
        remedy = remedy or (
            "lowering trust floors does not change that: change the decisions or rules that "
            "exclude them"
        )
        return Unreachable(cause, remedy, floors)
    cause = (
        "every market of positive weight that an option that can be chosen reaches lacks a "
        "required layer that no option that can be chosen supplies there: "
        f"{_missing_layers(s, choosable, decided.excluded)}"
    )
    remedy = remedy or (
        "add Coverage rows of those layers in those markets, or let an option that "
        "supplies them there be chosen"
    )
    return Unreachable(cause, remedy, floors)


def _some_market_counts(s: Scenario, excluded: dict[str, str]) -> bool:
    """Whether some market of positive weight can have positive reach in some plan.

    Its reach needs a Coverage row of positive reach and each of its required
    layers supplied there, all by options that can be chosen.
    """
    markets = {m.market_id: m for m in s.markets if m.weight > 0}
    free = {m for m, market in markets.items() if not market.required_layers}
    if any(  # the common case, decided by the first few rows
        row.reach > 0 and row.market_id in free and row.option_id not in excluded
        for row in s.coverage
    ):
        return True
    reached = {
        row.market_id
        for row in s.coverage
        if row.reach > 0 and row.market_id in markets and row.option_id not in excluded
    }
    layer_of = {o.option_id: o.layer for o in s.options}
    supplied = {
        (row.market_id, layer_of[row.option_id])
        for row in s.coverage
        if row.market_id in reached and row.option_id not in excluded
    }
    return any(all((m, layer) in supplied for layer in markets[m].required_layers) for m in reached)


def _why_excluded(s: Scenario, group: list[str], excluded: dict[str, str]) -> str:
    """How many of `group` `never`, each trust floor or the rules leave out, each option
    counted once: `never` first (no floor lowered brings it back), then the floors."""
    partners = s.partner_of()
    layers = s.layer_limits()
    floor = s.settings.min_partner_trust
    option_of = {o.option_id: o for o in s.options}
    counts: dict[str, list[float]] = {}
    ruled: list[str] = []
    for oid in group:
        option = option_of[oid]
        trust = partners[option.partner_id].trust
        layer_floor = layers[option.layer].min_trust
        if option.decision == "never":  # first: no floor lowered brings these back
            key = "decision never"
        elif trust < floor:
            key = f"min_partner_trust {floor:g}"
        elif trust < layer_floor:
            key = f"the {option.layer} layer's min_trust {layer_floor:g}"
        else:
            ruled.append(oid)
            continue
        counts.setdefault(key, []).append(trust)
    parts = []
    for key in sorted(counts, key=lambda k: (k == "decision never", k)):
        trusts = counts[key]
        best = (
            ""
            if key == "decision never"
            else (f" (the most trusted of their partners has trust {max(trusts):g})")
        )
        parts.append(f"{len(trusts)} by {key}{best}")
    if ruled:
        shown = ", ".join(ruled[:5]) + (f" and {len(ruled) - 5} more" if len(ruled) > 5 else "")
        parts.append(f"{len(ruled)} by rules ({shown})")
    return ", ".join(parts)


def _missing_layers(s: Scenario, choosable: list[str], excluded: dict[str, str]) -> str:
    """Per market an option that can be chosen reaches: the required layers nobody supplies."""
    markets = {m.market_id: m for m in s.markets if m.weight > 0}
    can = set(choosable)
    reached = sorted(
        {
            row.market_id
            for row in s.coverage
            if row.reach > 0 and row.market_id in markets and row.option_id in can
        }
    )
    layer_of = {o.option_id: o.layer for o in s.options}
    supplied = {
        (row.market_id, layer_of[row.option_id])
        for row in s.coverage
        if row.option_id not in excluded
    }
    parts = []
    for m in reached:
        missing = [layer for layer in markets[m].required_layers if (m, layer) not in supplied]
        parts.append(f"{', '.join(missing)} in {m} ({markets[m].name})")
    shown = "; ".join(parts[:5])
    return shown + (f"; and {len(parts) - 5} more market(s)" if len(parts) > 5 else "")


def _trust_floors_that_help(s: Scenario) -> tuple[TrustFloor, ...]:
    """The least lowering of trust floors that lets some market of positive weight count.

    Tried in turn: `min_partner_trust` alone, one layer's `min_trust` alone,
    then every floor together to a common value. The value is the highest
    partner trust that works, found by bisection (lower floors only ever let
    more options in). Empty when lowering every floor to 0 does not help.
    """
    trusts = sorted({p.trust for p in s.partners}, reverse=True)
    floor = s.settings.min_partner_trust
    limits = s.layer_limits()
    layered = [name for name, layer in limits.items() if layer.min_trust > 0]

    def lowered(scenario: Scenario, layer: str | None, value: float) -> Scenario:
        if layer is None:
            settings = replace(scenario.settings, min_partner_trust=min(floor, value))
            return replace(scenario, settings=settings)
        listed = {la.layer: la for la in scenario.layers}
        old = listed.get(layer, Layer(layer))
        listed[layer] = replace(old, min_trust=min(old.min_trust, value))
        return replace(scenario, layers=tuple(listed.values()))

    def counts(scenario: Scenario) -> bool:
        return _some_market_counts(scenario, _decide(scenario, screen_options(scenario)).excluded)

    def highest(current: float, change: list[str | None]) -> float | None:
        candidates = [t for t in trusts if t < current]

        def works(value: float) -> bool:
            changed = s
            for layer in change:
                changed = lowered(changed, layer, value)
            return counts(changed)

        if not candidates or not works(candidates[-1]):
            return None
        lo, hi = 0, len(candidates) - 1  # the answer lies in [lo, hi]; works(candidates[hi])
        while lo < hi:
            mid = (lo + hi) // 2
            if works(candidates[mid]):
                hi = mid
            else:
                lo = mid + 1
        return candidates[lo]

    tries: list[tuple[float, list[str | None]]] = []
    if floor > 0:
        tries.append((floor, [None]))
    tries.extend((limits[name].min_trust, [name]) for name in layered)
    if len(tries) > 1:
        together: list[str | None] = [None, *layered] if floor > 0 else list(layered)
        tries.append((max(t for t, _ in tries), together))
    for current, change in tries:
        value = highest(current, change)
        if value is not None:
            return tuple(
                TrustFloor(
                    layer,
                    floor if layer is None else limits[layer].min_trust,
                    value,
                )
                for layer in change
                if (floor if layer is None else limits[layer].min_trust) > value
            )
    return ()


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
