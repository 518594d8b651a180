"""The weakest plan of a run cut short gives way to a better neighbour of the best plan
(`_Ranking._replace_weakest`, `planner.solving.plan_order.with_replacement`).

The plans are set as ranks cut short leave them (unproven, each with a valid bound),
then the replacement runs as after the last rank. Checked against every plan of small
scenarios: each plan kept or made passes the independent check, each leaves out
enough of every plan listed before it, and each bound holds for the best plan left
after the plans listed before it.
"""

from __future__ import annotations

import random
import time
from dataclasses import replace

import numpy as np
import pytest
from model.test_model_bruteforce import enumerate_plans
from scenario_builders import random_scenario
from solving.test_plan_order import _plan
from solving.test_start_hint import _drop_scenario

from planner.checks.verify import check_plan
from planner.model.matrix_model import MatrixModel
from planner.plan import Plan
from planner.scenario.data import Scenario
from planner.solving.plan_order import in_spec_order, with_replacement
from planner.solving.ranking import _order_of_values, _Ranking
from planner.solving.start_hint import hinted_start

TOL = 1e-6


def _runner(sc: Scenario, plans: int) -> _Ranking:
    """A ranking of `plans` plans with its model built, as after its ranks."""
    sc = replace(sc, settings=replace(sc.settings, plans=plans, time_limit_s=30.0))
    runner = _Ranking(sc, progress=None, clock=time.monotonic, started=None, after=0.0, cores=1)
    runner._build("highs")
    return runner


def _found(runner: _Ranking, options: frozenset[str], bound: float) -> Plan | None:
    """The plan of `options` as a rank cut short keeps it (unproven, with `bound`; its
    order and vector recorded, as `_Ranking._keep` records them); None when the options
    do not complete into that plan."""
    mm = runner.pm
    assert isinstance(mm, MatrixModel)
    values = hinted_start(mm, (), options)
    if values is None:
        return None
    rank = len(runner.plans) + 1
    order = _order_of_values(
        mm, rank, values, deadline=time.monotonic() + 30.0, earlier_bound=bound
    )
    assert runner.maker is not None
    runner.maker.submit(order)
    ((plan, _most),) = runner.maker.take_all()
    if set(plan.options) != options:
        return None
    runner.orders.append(order)
    runner.plans.append(plan)
    runner.solutions[rank] = values
    return plan


def test_the_plan_found_first_gives_way_to_a_neighbour_of_a_better_plan() -> None:
    """Budget 30; {C, D} (reach 12) was found first, cut short; {A, B, C} (17) after it.
    {A, B, C} less B is {A, C} (15), which leaves out an option of both: it takes the
    place of {C, D}. Both plans then carry {C, D}'s bound (17, over every plan): {A, B,
    C}, moved to the front, loses nothing it had proven, as it was never proven."""
    runner = _runner(_drop_scenario(), plans=2)
    assert _found(runner, frozenset({"C", "D"}), bound=17.0) is not None
    assert _found(runner, frozenset({"A", "B", "C"}), bound=17.0) is not None
    runner._replace_weakest()
    listed = in_spec_order(runner.plans, 1)
    assert [set(p.options) for p in listed] == [{"A", "B", "C"}, {"A", "C"}]
    assert [p.weighted_reach for p in listed] == pytest.approx([17.0, 15.0])
    assert [p.bound for p in listed] == pytest.approx([17.0, 17.0])
    assert [p.rank for p in listed] == [1, 2]
    assert not any(p.proven_optimal for p in listed)
    assert all(check_plan(runner.scenario, p) == [] for p in listed)


def test_nothing_is_replaced_when_no_neighbour_reaches_more() -> None:
    """{A, B, C} (17) then {A, C} (15): every single drop of {A, B, C} that leaves out
    an option of both reaches less than 15, so the plans stay as found."""
    runner = _runner(_drop_scenario(), plans=2)
    assert _found(runner, frozenset({"A", "B", "C"}), bound=17.0) is not None
    assert _found(runner, frozenset({"A", "C"}), bound=17.0) is not None
    before = list(runner.plans)
    runner._replace_weakest()
    assert runner.plans == before


def test_a_plan_found_before_a_proven_one_is_never_replaced() -> None:
    """{B, D} (5, cut short), then {A, B, C} (17, proven among plans unlike {B, D}), then
    {A, C} (15, cut short). {B, C} (11: {A, B, C} less A, nothing more fits beside the
    cuts) would beat {B, D}, but replacing {B, D} would cost {A, B, C} its proof (found
    with {B, D}'s cut); {A, C} may go, and nothing such reaches more than 15. Nothing
    changes."""
    runner = _runner(_drop_scenario(), plans=3)
    assert _found(runner, frozenset({"B", "D"}), bound=17.0) is not None
    assert _found(runner, frozenset({"A", "B", "C"}), bound=17.0) is not None
    runner.plans[1] = replace(runner.plans[1], proven_optimal=True, gap=0.0)
    assert _found(runner, frozenset({"A", "C"}), bound=17.0) is not None
    before = list(runner.plans)
    runner._replace_weakest()
    assert runner.plans == before


def test_a_replacement_keeps_proofs_of_plans_found_before_and_drops_later_ones() -> None:
    """With the second of three plans replaced, the first keeps its figures; the third,
    chosen with the removed plan's cut, takes its bound and loses its proof."""
    plans = [
        _plan(1, {"A", "B"}, 20.0, 20.0, proven=True),
        _plan(2, {"A", "C"}, 12.0, 19.0),
        _plan(3, {"B", "C"}, 15.0, 15.0, proven=True),
    ]
    made = _plan(9, {"A", "D"}, 16.0, 30.0)
    kept = with_replacement(plans, 1, made)
    assert [p.options for p in kept] == [("A", "B"), ("B", "C"), ("A", "D")]
    assert [p.rank for p in kept] == [1, 2, 3]
    assert kept[0] == plans[0]
    assert kept[1].bound == 19.0 and not kept[1].proven_optimal and kept[1].spend_gap is None
    assert kept[1].gap == pytest.approx(4.0 / 19.0)
    assert kept[2].bound == 19.0 and kept[2].gap == pytest.approx(3.0 / 19.0)


@pytest.mark.parametrize("seed", range(24))
def test_plans_after_replacements_keep_the_difference_and_their_bounds_hold(seed: int) -> None:
    """Random small scenarios; plans found in an order a search cut short could give
    (each leaving out enough of those before it, the first a mediocre one), each with
    the true best reach left after the plans before it as its bound. After the
    replacements: every plan passes the independent check, the weakest reach never
    falls, and listed best first each plan leaves out enough of the plans before it and
    its bound is at least the best reach left after them (brute force)."""
    rng = random.Random(seed)
    d = 1 + seed % 2
    sc = random_scenario(
        6200 + seed, n_options=7, n_offers=1, plans=4, min_plan_difference=d, trust_limits=False
    )
    every = [(set(options), reach) for options, reach, _spend in enumerate_plans(sc)]

    def unlike(options: set[str], earlier: list[set[str]]) -> bool:
        return all(len(e - options) >= d for e in earlier)

    def best_left(earlier: list[set[str]]) -> float:
        return max((r for o, r in every if unlike(o, earlier)), default=0.0)

    runner = _runner(sc, plans=3)
    positive = sorted((r, sorted(o)) for o, r in every if r > TOL)
    if len(positive) < 3:
        pytest.skip("too few plans of positive reach")
    first = set(positive[len(positive) // 3][1])  # a mediocre plan found first
    chosen = [first]
    for _k in range(2):
        left = [(o, r) for o, r in every if unlike(o, chosen) and r > TOL]
        if not left:
            break
        chosen.append(max(left, key=lambda item: (item[1], sorted(item[0])))[0])
    for k, options in enumerate(chosen):
        bound = best_left(chosen[:k]) * (1 + rng.choice((0.0, 0.01)))
        if runner.plans:
            bound = min(bound, runner.plans[-1].bound)
        if _found(runner, frozenset(options), bound=max(bound, TOL)) is None:
            pytest.skip("a plan's options did not complete into that plan")
    weakest_before = min(p.weighted_reach for p in runner.plans)
    count = len(runner.plans)
    runner._replace_weakest()
    assert len(runner.plans) == count
    assert min(p.weighted_reach for p in runner.plans) >= weakest_before - TOL
    listed = in_spec_order(runner.plans, d)
    for k, plan in enumerate(listed):
        earlier = [set(p.options) for p in listed[:k]]
        assert check_plan(runner.scenario, plan) == []
        assert unlike(set(plan.options), earlier)
        assert plan.bound >= best_left(earlier) - TOL
        assert plan.bound >= plan.weighted_reach - TOL
        assert not plan.proven_optimal
    mm = runner.pm
    assert isinstance(mm, MatrixModel)
    for plan in runner.plans:  # each plan's vector is recorded under its rank as found
        chosen = np.flatnonzero(runner.solutions[plan.rank][: mm.y_start] > 0.5)
        assert {mm.option_ids[j] for j in chosen} == set(plan.options)
