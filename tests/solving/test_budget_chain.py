"""Plan 1 at many budgets on one model and one HiGHS instance (`planner.solving.budget_chain`).

Every point must be the plan a cold solve at its budget gives (same weighted reach and
net spend within SPEC's tolerance, same proof), verified for its own budget; a chain
that jumps between budgets must answer as a fresh one; a chain cut short by time says
so and claims no proof it does not have.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import replace

import numpy as np
import pytest
from scenario_builders import random_scenario, tiny_scenario
from solving.test_magnitudes import _untied, _weights

from planner.checks.verify import check_plan
from planner.plan import RunStatus
from planner.scenario.data import Scenario
from planner.solving.budget_chain import BudgetChain, ChainPoint
from planner.solving.ranking import rank_plans

TOL = 1e-6


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= TOL * max(1.0, abs(a), abs(b))


def _cold(sc: Scenario, budget: float) -> ChainPoint:
    """What a cold solve of one plan at `budget` gives, as a chain point."""
    planset = rank_plans(sc.with_settings(budget=budget, plans=1), threads=1)
    return ChainPoint(budget, planset.status, planset.plans[0] if planset.plans else None)


def _assert_same(point: ChainPoint, cold: ChainPoint, sc: Scenario) -> None:
    assert point.status == cold.status, (point.budget, point.status, cold.status)
    if cold.plan is None:
        assert point.plan is None
        return
    assert point.plan is not None
    assert _close(point.plan.weighted_reach, cold.plan.weighted_reach), point.budget
    assert _close(point.plan.net_spend, cold.plan.net_spend), point.budget
    assert len(point.plan.options) == len(cold.plan.options), point.budget
    assert point.plan.proven_optimal == cold.plan.proven_optimal
    # Verified independently, for the point's own budget.
    assert check_plan(sc.with_settings(budget=point.budget), point.plan) == []
    assert point.plan.net_spend <= point.budget + TOL * max(1.0, point.budget)


@pytest.mark.parametrize(
    ("seed", "n_options", "n_offers"),
    [(59, 12, 0), (38, 11, 0), (37, 10, 1), (57, 10, 2), (16, 12, 2), (34, 12, 3)],
)
def test_every_point_of_a_walk_is_the_cold_solve_at_its_budget(
    seed: int, n_options: int, n_offers: int
) -> None:
    sc = random_scenario(seed, n_options=n_options, n_offers=n_offers, plans=1)
    top = sum(o.cost for o in sc.options)
    chain = BudgetChain(sc)
    walk = chain.walk(top)
    assert walk.ended == "end"
    assert len(walk.points) >= 2
    for point in walk.points:
        _assert_same(point, _cold(sc, point.budget), sc)
    # One model for the whole walk: only the budget row moved.
    assert chain.rebuilt == 1
    # Down the chain: reach and spend fall, each point strictly below the last.
    plans = [p.plan for p in walk.points if p.plan is not None]
    for upper, lower in itertools.pairwise(plans):
        assert lower.net_spend < upper.net_spend
        assert lower.weighted_reach < upper.weighted_reach


def test_jumping_between_budgets_answers_as_a_fresh_chain() -> None:
    """A worker serves several slices: its chain goes up and down; each answer is the one a
    chain that never solved anything before gives, plan included."""
    sc = random_scenario(57, n_options=10, n_offers=3, plans=1)
    top = sum(o.cost for o in sc.options)
    budgets = [top, 0.3 * top, 0.8 * top, 0.1 * top, 0.55 * top, top]
    used = BudgetChain(sc)
    indexes = []
    for budget in budgets:
        again = used.solve_at(budget)
        indexes.append(used.index)
        fresh = BudgetChain(sc).solve_at(budget)
        assert again == fresh
        # HiGHS holds exactly the bounds the chain's model says (columns held at 0 where
        # the budget rules them out, freed again when it rises).
        assert used.solver is not None
        held = np.asarray(used.solver.highs.getLp().col_upper_)
        assert np.array_equal(held, used.solver.model.col_upper)
    assert used.rebuilt == 1
    # And one index of the scenario checked every budget's plan.
    assert indexes[0] is not None and all(index is indexes[0] for index in indexes)


def test_a_start_changes_no_proven_point() -> None:
    sc = random_scenario(24, n_options=10, n_offers=1, plans=1)
    top = sum(o.cost for o in sc.options)
    chain = BudgetChain(sc)
    plain = chain.solve_at(0.5 * top)
    every = tuple(o.option_id for o in sc.options)
    started = chain.solve_at(0.5 * top, start=every)
    assert plain.plan is not None and started.plan is not None
    assert _close(plain.plan.weighted_reach, started.plan.weighted_reach)
    assert _close(plain.plan.net_spend, started.plan.net_spend)


def test_a_model_out_of_scale_is_solved_cold_with_the_same_answer() -> None:
    """Weights of 1e-9 are rescaled by conditioning: such points are not chained (the
    ranking may narrow such a model mid-run), and still equal the cold solve."""
    sc = random_scenario(11, n_options=9, n_offers=2, plans=1)
    tiny = replace(sc, markets=tuple(replace(m, weight=m.weight * 1e-9) for m in sc.markets))
    top = sum(o.cost for o in sc.options)
    chain = BudgetChain(tiny)
    for budget in (top, 0.4 * top):
        _assert_same(chain.solve_at(budget), _cold(tiny, budget), tiny)
    assert chain.rebuilt == 0


def test_a_known_lower_reach_that_is_not_beaten_repeats_that_point() -> None:
    sc = random_scenario(59, n_options=12, n_offers=0, plans=1)
    top = sum(o.cost for o in sc.options)
    chain = BudgetChain(sc)
    upper, lower = (p.plan for p in chain.walk(top).points[:2])
    assert upper is not None and lower is not None
    # Between the two points' spends nothing reaches more than the lower point: that
    # point again, proven, without a plan of its own.
    between = 0.5 * (lower.net_spend + upper.net_spend)
    again = chain.solve_at(between, reach_known=lower.weighted_reach)
    assert again.repeats and again.plan is None and again.proven
    assert again.status == RunStatus.OPTIMAL
    assert _close(_cold(sc, between).plan.weighted_reach, lower.weighted_reach)  # type: ignore[union-attr]
    # Where more is reachable the known reach changes nothing.
    high = chain.solve_at(upper.net_spend, reach_known=lower.weighted_reach)
    assert not high.repeats
    _assert_same(high, _cold(sc, upper.net_spend), sc)


def test_infeasible_and_reach_zero_points_have_no_plan() -> None:
    sc = tiny_scenario(budget=40.0)
    chain = BudgetChain(sc)
    nothing = chain.solve_at(5.0)  # below every cost: reach 0, which SPEC §4 calls none
    assert nothing.status == RunStatus.INFEASIBLE and nothing.plan is None and nothing.proven
    assert _cold(sc, 5.0).status == RunStatus.INFEASIBLE


def test_a_walk_cut_short_by_time_says_so_and_claims_no_proof() -> None:
    sc = random_scenario(40, n_options=10, n_offers=2, plans=1)
    top = sum(o.cost for o in sc.options)
    chain = BudgetChain(sc)
    over = chain.walk(top, deadline=time.monotonic() - 1.0)
    assert over.ended == "time" and over.points == ()
    # A point given almost no time: no solve runs, so nothing is proven; a plan made of
    # the start, if any, is feasible and verified but not called optimal.
    every = tuple(o.option_id for o in sc.options)
    rushed = chain.solve_at(top, start=every, time_limit=1e-3)
    assert rushed.status in (RunStatus.NO_SOLUTION, RunStatus.FEASIBLE)
    assert not rushed.proven
    if rushed.plan is not None:
        assert not rushed.plan.proven_optimal
        assert check_plan(sc.with_settings(budget=top), rushed.plan) == []
    # The same chain still answers in full afterwards.
    _assert_same(chain.solve_at(top), _cold(sc, top), sc)


def test_presolve_misleading_the_tie_break_is_caught() -> None:
    """HiGHS 1.16 with presolve, given a start, reports the presolved optimum but returns the
    start's columns (O3 and O5 cost nothing and add nothing, yet stay in): the chain sees
    that the reported objective is not the columns' own and solves the stage again
    without presolve, so SPEC §3's fewest options holds."""
    sc = _weights(_untied(2144), 10.0)
    chain = BudgetChain(sc)
    point = chain.solve_at(sc.settings.budget)
    assert point.plan is not None and point.plan.options == ("O0", "O6")
    _assert_same(point, _cold(sc, sc.settings.budget), sc)
