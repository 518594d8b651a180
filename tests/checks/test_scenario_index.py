"""planner.checks.scenario_index: one index checks many plans as a fresh check each would."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from scenario_builders import random_scenario, tiny_scenario

from planner.checks.scenario_index import ScenarioIndex, is_eligible, regions_by_option
from planner.checks.verify import check_plan, evaluate_plan, make_plan
from planner.checks.violations import plan_violations, reported_mismatches
from planner.plan import CoFinancing, Plan
from planner.scenario.data import Scenario

ROOT = Path(__file__).resolve().parents[2]


def _random_plan(sc: Scenario, rng: random.Random, rank: int) -> Plan:
    """Any decisions at all, valid or not: some options, offers and amounts."""
    options = [o.option_id for o in sc.options if rng.random() < 0.5]
    offers = [c.offer_id for c in sc.offers if rng.random() < 0.6]
    cofinancing = [
        CoFinancing(c, o, round(rng.uniform(0.0, 8.0), 3))
        for c in offers
        for o in options
        if rng.random() < 0.3
    ]
    return make_plan(
        sc, rank, options, offers, cofinancing, bound=1e9, proven_optimal=False, gap=None
    )


@pytest.mark.parametrize("seed", range(12))
def test_one_index_for_many_plans_finds_what_a_fresh_check_of_each_finds(seed: int) -> None:
    sc = random_scenario(seed, n_options=12, n_offers=3)
    rng = random.Random(seed)
    index = ScenarioIndex(sc)
    plans = [_random_plan(sc, rng, k) for k in range(1, 16)]
    broken = 0
    for plan in plans:
        alone = check_plan(sc, plan)
        assert check_plan(sc, plan, index=index) == alone
        broken += bool(alone)
        held = evaluate_plan(sc, plan.options, plan.offers, plan.cofinancing, index=index)
        assert held == evaluate_plan(sc, plan.options, plan.offers, plan.cofinancing)
    assert broken  # the random plans include broken ones, so the messages were compared too


@pytest.mark.parametrize("seed", range(20))
def test_eligible_options_are_the_pairs_is_eligible_accepts(seed: int) -> None:
    sc = random_scenario(seed, n_options=14, n_offers=4)
    index = ScenarioIndex(sc)
    regions = regions_by_option(sc)
    for offer in sc.offers:
        expected = {o.option_id for o in sc.options if is_eligible(sc, offer, o, regions)}
        assert index.eligible(offer.offer_id) == expected


def test_an_index_of_another_scenario_is_refused() -> None:
    sc = tiny_scenario()
    other = replace(sc, options=sc.options[:-1])
    plan = make_plan(sc, 1, ["O1"], [], [], bound=100.0, proven_optimal=False, gap=None)
    with pytest.raises(ValueError, match="another scenario"):
        check_plan(sc, plan, index=ScenarioIndex(other))


_FIGURES = """
import json, random, sys
sys.path.insert(0, {tests!r})
from dataclasses import replace
from scenario_builders import random_scenario
from planner.checks.verify import evaluate_plan
sc = random_scenario(7, n_options=40, n_offers=0)
rng = random.Random(3)
sc = replace(sc, options=tuple(replace(o, cost=rng.uniform(0.1, 9.9)) for o in sc.options))
chosen = [o.option_id for o in sc.options][::2]
m = evaluate_plan(sc, chosen, [], [])
print(json.dumps([m.gross_spend.hex(), m.net_spend.hex(), (m.average_trust or 0.0).hex(),
                  (m.foreign_share or 0.0).hex()]))
"""


def test_figures_are_the_same_bits_whatever_the_process_hash_seed() -> None:
    # Sums over a plan's options follow the scenario's order, not a set's, whose order
    # changes with the hash seed of each process (a worker's differs from the parent's).
    code = _FIGURES.format(tests=str(ROOT / "tests"))
    seen = set()
    for seed in ("1", "2", "3", "4"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        seen.add(tuple(json.loads(out.stdout)))
    assert len(seen) == 1, seen


def test_an_index_serves_the_variants_that_share_its_rows() -> None:
    sc = random_scenario(4, n_options=10, n_offers=2)
    index = ScenarioIndex(sc)
    cheaper = sc.with_settings(budget=sc.settings.budget / 2)
    assert index.serves(cheaper)  # a budget chain's next point: the same rows
    plan = _random_plan(cheaper, random.Random(1), 1)
    assert check_plan(cheaper, plan, index=index) == check_plan(cheaper, plan)
    fewer = replace(sc, options=sc.options[:-1])
    abroad = sc.with_settings(home_country=sc.settings.home_country + " abroad")
    assert not index.serves(fewer) and not index.serves(abroad)
    with pytest.raises(ValueError, match="another scenario"):
        check_plan(abroad, plan, index=index)


@pytest.mark.parametrize("seed", range(8))
def test_violations_on_one_index_are_those_of_a_fresh_check(seed: int) -> None:
    sc = random_scenario(seed, n_options=12, n_offers=3)
    rng = random.Random(seed + 100)
    index = ScenarioIndex(sc)
    for k in range(1, 10):
        plan = _random_plan(sc, rng, k)
        decisions = (plan.options, plan.offers, plan.cofinancing)
        alone = plan_violations(sc, *decisions)
        assert plan_violations(sc, *decisions, index=index) == alone
        reported = {"weighted_reach": plan.weighted_reach + k, "net_spend": plan.net_spend}
        assert reported_mismatches(sc, *decisions, reported, index=index) == (
            reported_mismatches(sc, *decisions, reported)
        )
