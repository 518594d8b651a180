"""Scenarios built in code for tests: tiny hand-made ones and seeded random ones.

Random scenarios exercise every SPEC §3 rule at once (offers with caps, fees and
matching spend, resources, rules, trust limits, required layers) while staying
small enough for brute-force enumeration.
"""

from __future__ import annotations

import random
from dataclasses import replace

from planner.model.common import canonical_order
from planner.scenario.data import (
    Coverage,
    Layer,
    Market,
    Offer,
    Option,
    Partner,
    Resource,
    Rule,
    Scenario,
    Settings,
    Usage,
)

LAYERS = ("cloud", "compute", "model", "skills")
KINDS = ("capacity building", "joint development")


def sorted_scenario(scenario: Scenario) -> Scenario:
    """Sort every collection by its key, as the workbook reader does (the model's own order)."""
    return canonical_order(scenario)


def shuffled_scenario(scenario: Scenario, seed: int) -> Scenario:
    """The same scenario with every tuple in a random order (tests order-independence)."""
    rng = random.Random(seed)

    def mix(items: tuple) -> tuple:
        out = list(items)
        rng.shuffle(out)
        return tuple(out)

    return replace(
        scenario,
        markets=mix(scenario.markets),
        partners=mix(scenario.partners),
        options=mix(scenario.options),
        coverage=mix(scenario.coverage),
        layers=mix(scenario.layers),
        offers=mix(scenario.offers),
        resources=mix(scenario.resources),
        usage=mix(scenario.usage),
        rules=mix(scenario.rules),
    )


def random_scenario(
    seed: int,
    *,
    n_options: int = 8,
    n_markets: int = 4,
    n_offers: int = 2,
    plans: int = 5,
    min_plan_difference: int = 1,
    trust_limits: bool = True,
    with_rules: bool = True,
    with_resources: bool = True,
    with_layers: bool = True,
) -> Scenario:
    """A seeded random scenario touching every rule of SPEC §3."""
    rng = random.Random(seed)
    countries = ["Home", "Canada", "Sweden", "Kenya"]
    partners = tuple(
        Partner(f"P{i}", f"Partner {i}", rng.choice(countries), float(rng.randint(40, 100)))
        for i in range(max(2, n_options // 2))
    )
    regions = ["East Africa", "Southern Africa", "South Asia"]
    markets = []
    for i in range(n_markets):
        required: tuple[str, ...] = ()
        if rng.random() < 0.3:
            required = tuple(sorted(rng.sample(LAYERS[:3], rng.choice([1, 1, 2]))))
        markets.append(
            Market(
                f"M{i}",
                f"Market {i}",
                rng.choice(regions),
                float(rng.choice([0, 1, 1, 2, 3, 5])),
                float(rng.randint(5, 20)),
                required,
            )
        )
    options = []
    for i in range(n_options):
        cost = float(rng.choice([0, 5, 10, 15, 20, 25, 30]))
        options.append(
            Option(
                f"O{i}",
                rng.choice(partners).partner_id,
                f"Option {i}",
                rng.choice(LAYERS),
                rng.choice([*KINDS, None]),
                cost,
            )
        )
    coverage = []
    for o in options:
        for mk in rng.sample(markets, rng.randint(1, min(3, n_markets))):
            coverage.append(Coverage(o.option_id, mk.market_id, float(rng.choice([0, 2, 4, 6, 9]))))
    total = sum(o.cost for o in options)
    layers: tuple[Layer, ...] = ()
    if with_layers:
        layers = tuple(
            Layer(
                name,
                float(rng.choice([0, 0, 50])) if trust_limits else 0.0,
                rng.choice([1.0, 1.0, 0.6]) if trust_limits else 1.0,
            )
            for name in LAYERS
        )
    offers = []
    for j in range(n_offers):
        offers.append(
            Offer(
                f"C{j}",
                f"Fund {j}",
                rng.choice([0.3, 0.5, 0.9]),
                float(rng.choice([5, 10, 20])),
                float(rng.choice([0, 0, 1, 3])),
                float(rng.choice([0, 0, 10, 30])),
                rng.choice([None, (rng.choice(regions).casefold(),)]),
                rng.choice([None, (KINDS[0],)]),
                rng.choice([None, None, tuple(sorted(rng.sample(LAYERS, 2)))]),
            )
        )
    resources: tuple[Resource, ...] = ()
    usage: list[Usage] = []
    if with_resources:
        resources = (Resource("staff", float(rng.randint(3, 8))),)
        usage = [
            Usage(o.option_id, "staff", float(rng.randint(1, 3)))
            for o in options
            if rng.random() < 0.7
        ]
    rules: list[Rule] = []
    if with_rules and n_options >= 4:
        a, b, c, d = rng.sample([o.option_id for o in options], 4)
        rules = [Rule("requires", a, b), Rule("excludes", c, d)]
    settings = Settings(
        budget=float(round(total * rng.uniform(0.35, 0.7))),
        home_country="Home",
        min_partner_trust=float(rng.choice([0, 45])) if trust_limits else 0.0,
        min_average_trust=float(rng.choice([60, 70]))
        if trust_limits and rng.random() < 0.5
        else None,
        max_foreign_share=rng.choice([1.0, 0.7]) if trust_limits else 1.0,
        max_country_share=rng.choice([1.0, 0.5]) if trust_limits else 1.0,
        max_cofinance_share=rng.choice([0.8, 0.5]),
        plans=plans,
        min_plan_difference=min_plan_difference,
        time_limit_s=30.0,
    )
    return sorted_scenario(
        Scenario(
            name=f"random-{seed}",
            settings=settings,
            markets=tuple(markets),
            partners=partners,
            options=tuple(options),
            coverage=tuple(coverage),
            layers=layers,
            offers=tuple(offers),
            resources=resources,
            usage=tuple(usage),
            rules=tuple(rules),
        )
    )


def tiny_scenario(budget: float = 20.0, **settings: object) -> Scenario:
    """Three options, two markets, hand-checkable.

    O1 (cost 10) reaches M1 by 5; O2 (cost 10) reaches M2 by 8; O3 (cost 15)
    reaches both by 4. Weights 1 and 2, addressable 10 each. With budget 20
    the best plan is {O1, O2}: 5 + 2·8 = 21.
    """
    return sorted_scenario(
        Scenario(
            name="tiny",
            settings=Settings(budget=budget, home_country="Home", **settings),  # type: ignore[arg-type]
            markets=(
                Market("M1", "M1", "East Africa", 1.0, 10.0),
                Market("M2", "M2", "East Africa", 2.0, 10.0),
            ),
            partners=(Partner("P1", "P1", "Home", 80.0), Partner("P2", "P2", "Canada", 60.0)),
            options=(
                Option("O1", "P1", "O1", "cloud", None, 10.0),
                Option("O2", "P2", "O2", "cloud", None, 10.0),
                Option("O3", "P1", "O3", "model", None, 15.0),
            ),
            coverage=(
                Coverage("O1", "M1", 5.0),
                Coverage("O2", "M2", 8.0),
                Coverage("O3", "M1", 4.0),
                Coverage("O3", "M2", 4.0),
            ),
        )
    )


def with_decisions_forced(sc: Scenario) -> Scenario:
    """`sc` with decisions a user would make: its first option forced in, its second
    forced out, its first offer forced in (no minimum eligible spend), and half as much
    budget again so the forced choices still leave room for a plan."""
    options = list(sc.options)
    options[0] = replace(options[0], decision="must")
    options[1] = replace(options[1], decision="never")
    offers = list(sc.offers)
    offers[0] = replace(offers[0], decision="must", min_eligible_spend=0.0)
    settings = replace(sc.settings, budget=sc.settings.budget * 1.5)
    return replace(sc, options=tuple(options), offers=tuple(offers), settings=settings)
