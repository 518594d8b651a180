"""exclusive_reach in one pass equals its definition, R − W(plan without o), on plans of
random scenarios with required layers (where leaving an option out can unserve a
market) and on the ranked plans of a solve."""

from __future__ import annotations

import random

import pytest
from scenario_builders import random_scenario

from planner.checks.verify import evaluate_plan, make_plan
from planner.explain.questions import exclusive_reach
from planner.plan import Plan
from planner.scenario.data import Scenario
from planner.solving.ranking import rank_plans


def _by_definition(scenario: Scenario, plan: Plan) -> dict[str, float]:
    out = {}
    for o in plan.options:
        rest = [x for x in plan.options if x != o]
        out[o] = plan.weighted_reach - evaluate_plan(scenario, rest, (), ()).weighted_reach
    return out


def _agree(got: dict[str, float], want: dict[str, float]) -> None:
    assert got.keys() == want.keys()
    for o, value in want.items():
        assert got[o] == pytest.approx(value, rel=1e-9, abs=1e-9), o


@pytest.mark.parametrize("seed", range(40))
def test_any_plan_equals_the_definition(seed: int) -> None:
    sc = random_scenario(seed, n_options=12, n_markets=5, n_offers=0)
    rng = random.Random(seed)
    for _ in range(6):
        options = [o.option_id for o in sc.options if rng.random() < 0.5]
        plan = make_plan(sc, 1, options, (), (), bound=1e9, proven_optimal=False, gap=None)
        _agree(exclusive_reach(sc, plan), _by_definition(sc, plan))


def test_required_layers_are_exercised() -> None:
    # Some of the random plans above lose a whole market with one option: the case the
    # closed form must get right.
    lost_whole = 0
    for seed in range(40):
        sc = random_scenario(seed, n_options=12, n_markets=5, n_offers=0)
        options = [o.option_id for o in sc.options][::2]
        plan = make_plan(sc, 1, options, (), (), bound=1e9, proven_optimal=False, gap=None)
        served = {m.market_id for m in plan.markets if m.reach > 0}
        for o in options:
            rest = [x for x in options if x != o]
            after = evaluate_plan(sc, rest, (), ())
            lost_whole += any(m.market_id in served and m.missing_layers for m in after.markets)
    assert lost_whole > 0


@pytest.mark.parametrize("seed", range(6))
def test_ranked_plans_equal_the_definition(seed: int) -> None:
    sc = random_scenario(seed + 50, n_options=10, plans=3)
    result = rank_plans(sc)
    for plan in result.plans:
        _agree(exclusive_reach(sc, plan), _by_definition(sc, plan))
