"""Seeded SPEC-like scenarios of any size, for benchmarks.

Proportions follow what strategy teams and partner databases produce: a few
partners per layer and country, each option reaching a handful of markets,
some markets needing a complete stack, co-financing offers by region and
kind, one staff resource, a few rules.
"""

from __future__ import annotations

import random

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

LAYERS = ("compute", "cloud", "model", "application", "skills")
KINDS = ("joint development", "coordinated deployment", "capacity building")
REGIONS = (
    "South Asia",
    "East Africa",
    "Southern Africa",
    "West Africa",
    "Southeast Asia",
    "Latin America",
)
COUNTRIES = ("Home", "India", "Kenya", "South Africa", "France", "Brazil", "Indonesia", "Nigeria")

#: Bump whenever `random_scenario` changes what it generates for a given seed:
#: benchmark workbooks are cached under bench/cache/ keyed by size, seed and this.
GENERATOR_VERSION = 1

#: Benchmark sizes (issue: performance suite): name -> (options, markets).
SIZES = {
    "S": (200, 50),
    "M": (2_000, 300),
    "L": (10_000, 1_000),
    "XL": (50_000, 3_000),
}


def random_scenario(
    n_options: int, n_markets: int, seed: int = 0, coverage_per_option: int = 4
) -> Scenario:
    """A feasible, non-trivial scenario with `n_options` options over `n_markets` markets."""
    rng = random.Random(seed)
    markets = tuple(
        Market(
            market_id=f"M{m}",
            name=f"Market {m}",
            region=REGIONS[m % len(REGIONS)],
            weight=round(rng.choice((1.0, 1.0, 1.5, 2.0)), 2),
            addressable=round(rng.uniform(5, 50), 2),
            required_layers=("cloud",) if rng.random() < 0.2 else (),
        )
        for m in range(n_markets)
    )
    n_partners = max(5, n_options // 8)
    partners = tuple(
        Partner(f"P{p}", f"Partner {p}", COUNTRIES[p % len(COUNTRIES)], float(rng.randint(40, 98)))
        for p in range(n_partners)
    )
    options = []
    coverage = []
    usage = []
    for o in range(n_options):
        layer = LAYERS[o % len(LAYERS)]
        cost = round(rng.uniform(1, 30), 2)
        options.append(
            Option(
                f"O{o}", f"P{rng.randrange(n_partners)}", f"Option {o}", layer, KINDS[o % 3], cost
            )
        )
        for m in rng.sample(range(n_markets), min(n_markets, coverage_per_option)):
            reach = round(rng.uniform(0, 6), 3) if rng.random() < 0.9 else 0.0
            coverage.append(Coverage(f"O{o}", f"M{m}", reach))
        usage.append(Usage(f"O{o}", "staff", float(rng.randint(1, 4))))
    total_cost = sum(o.cost for o in options)
    offers = tuple(
        Offer(
            offer_id=f"C{c}",
            financier=f"Programme {c}",
            share=rng.choice((0.3, 0.5, 0.7)),
            cap=round(total_cost * 0.02, 2),
            fee=round(rng.uniform(0, 3), 2),
            min_eligible_spend=round(total_cost * 0.01, 2) if c % 2 else 0.0,
            regions=(REGIONS[c % len(REGIONS)].casefold(),),
            kinds=(KINDS[c % 3],),
            layers=None,
        )
        for c in range(max(2, min(12, n_options // 200)))
    )
    rules = tuple(
        Rule("requires" if r % 2 else "excludes", f"O{2 * r}", f"O{2 * r + 1}")
        for r in range(max(1, n_options // 100))
    )
    return Scenario(
        name="base",
        settings=Settings(
            budget=round(total_cost * 0.1, 2),
            home_country="Home",
            min_partner_trust=45.0,
            min_average_trust=65.0,
            max_foreign_share=0.7,
            max_country_share=0.4,
        ),
        markets=markets,
        partners=partners,
        options=tuple(options),
        coverage=tuple(coverage),
        layers=tuple(Layer(name, 60.0 if name == "compute" else 0.0) for name in LAYERS),
        offers=offers,
        resources=(Resource("staff", float(n_options // 2)),),
        usage=tuple(usage),
        rules=rules,
    )
