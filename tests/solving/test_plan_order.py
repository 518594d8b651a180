"""Ranked plans listed best first when a later search found a better plan
(`planner.solving.plan_order`).

Plans are made without a solve: the listing reads only options, reach, bounds and
proofs. The brute-force test checks the claims a listing makes against every plan of
small random scenarios: each plan leaves out enough of every plan before it, and each
bound holds for the best plan left after the plans before it.
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from model.test_model_bruteforce import enumerate_plans
from scenario_builders import random_scenario, tiny_scenario

from planner.checks.verify import make_plan
from planner.plan import Plan
from planner.solving.plan_order import in_spec_order

TOL = 1e-6


def _plan(rank: int, options: set[str], reach: float, bound: float, proven: bool = False) -> Plan:
    base = make_plan(tiny_scenario(), rank, (), (), (), bound=0.0, proven_optimal=False, gap=None)
    return replace(
        base,
        options=tuple(sorted(options)),
        weighted_reach=reach,
        bound=bound,
        proven_optimal=proven,
        gap=0.0 if proven else (bound - reach) / bound,
        spend_gap=0.0 if proven else None,
    )


def test_plans_found_in_order_are_returned_as_they_are() -> None:
    plans = [_plan(1, {"A", "B"}, 10.0, 12.0), _plan(2, {"A", "C"}, 9.0, 11.0)]
    assert in_spec_order(plans, 1) == plans


def test_a_better_plan_found_later_is_listed_first_and_loses_its_proof() -> None:
    """Plan 2 (proven best among plans unlike plan 1) reaches more than plan 1 (cut short):
    listed first, it was chosen among fewer plans than it now stands for, so it is no
    longer proven; its bound is plan 1's (over every plan), and plan 1, listed second,
    keeps its own figures but the bound of its new rank, the least valid one."""
    one = _plan(1, {"A", "B"}, 90.0, 100.0)
    two = _plan(2, {"A", "C"}, 95.0, 95.0, proven=True)
    listed = in_spec_order([one, two], 1)
    assert [p.options for p in listed] == [two.options, one.options]
    assert [p.rank for p in listed] == [1, 2]
    first, second = listed
    assert not first.proven_optimal and first.spend_gap is None
    assert first.bound == 100.0 and first.gap == pytest.approx(0.05)
    assert second.bound == 100.0 and second.gap == pytest.approx(0.10)


def test_a_plan_no_plan_passes_keeps_its_proof() -> None:
    """Plan 3, proven best among plans unlike plans 1 and 2, is listed third still, after
    the same plans: its proof, bound and spend gap stand. (No plan found later can pass a
    proven plan: every such plan was among those it was proven best of.) Plan 2, listed
    first, and plan 1, second, each follow no plan of a rank whose bound they could take
    but plan 1's."""
    plans = [
        _plan(1, {"A", "B"}, 80.0, 110.0),
        _plan(2, {"A", "C"}, 95.0, 105.0),
        _plan(3, {"B", "C"}, 70.0, 70.0, proven=True),
    ]
    listed = in_spec_order(plans, 1)
    assert [p.options for p in listed] == [("A", "C"), ("A", "B"), ("B", "C")]
    third = listed[2]
    assert third.proven_optimal and third.bound == 70.0 and third.gap == 0.0
    assert third.spend_gap == 0.0
    assert [p.bound for p in listed[:2]] == [110.0, 110.0]
    assert listed[1].gap == pytest.approx(30.0 / 110.0)


def test_ties_keep_the_order_found() -> None:
    plans = [_plan(1, {"A"}, 10.0, 12.0), _plan(2, {"B"}, 10.0 + 1e-7, 12.0)]
    assert [p.options for p in in_spec_order(plans, 1)] == [("A",), ("B",)]


def test_a_plan_never_passes_one_that_would_not_leave_out_enough_of_it() -> None:
    """With min_plan_difference 2, plan 2 {C} leaves out A and B of plan 1; listed first,
    plan 1 would leave out nothing of {C}'s one option less than 2: it stays second."""
    plans = [_plan(1, {"A", "B"}, 10.0, 20.0), _plan(2, {"C"}, 15.0, 20.0)]
    assert [p.options for p in in_spec_order(plans, 2)] == [("A", "B"), ("C",)]
    assert [p.options for p in in_spec_order(plans, 1)] == [("C",), ("A", "B")]


@pytest.mark.parametrize("seed", range(40))
def test_every_listing_keeps_the_difference_and_its_bounds_hold(seed: int) -> None:
    """Random plans of a small scenario, found in a random order that keeps SPEC §4's
    difference (as a search cut short finds them), each with the true best reach left
    after the plans found before it as its bound, some with slack: listed best first,
    each plan still leaves out enough of every plan before it, no plan could pass the one
    before it, and each bound is at least the best reach left after the plans before it
    (brute force)."""
    rng = random.Random(seed)
    d = 1 + seed % 2
    sc = random_scenario(5100 + seed, n_options=7, n_offers=1, plans=5)
    every = [(set(options), reach) for options, reach, _spend in enumerate_plans(sc)]

    def unlike(options: set[str], earlier: list[set[str]]) -> bool:
        return all(len(e - options) >= d for e in earlier)

    def best_left(earlier: list[set[str]]) -> float:
        return max((r for o, r in every if unlike(o, earlier)), default=0.0)

    found: list[Plan] = []
    for k in range(1, 6):
        earlier = [set(p.options) for p in found]
        left = [(o, r) for o, r in every if unlike(o, earlier) and r > 0]
        if not left:
            break
        options, reach = rng.choice(left)
        bound = best_left(earlier) * (1 + rng.choice((0.0, 0.01)))
        if found:
            bound = min(bound, found[-1].bound)
        found.append(_plan(k, options, reach, max(bound, reach), proven=bound == reach))
    listed = in_spec_order(found, d)
    assert sorted(p.options for p in listed) == sorted(p.options for p in found)
    assert [p.rank for p in listed] == list(range(1, len(listed) + 1))
    for k, plan in enumerate(listed):
        earlier = [set(p.options) for p in listed[:k]]
        assert unlike(set(plan.options), earlier)
        assert plan.bound >= best_left(earlier) - TOL
        assert plan.bound >= plan.weighted_reach
        if plan.proven_optimal:
            assert plan.weighted_reach >= best_left(earlier) - TOL
        if k:
            before = listed[k - 1]
            passes = plan.weighted_reach > before.weighted_reach + TOL * max(
                1.0, before.weighted_reach
            )
            assert not passes or len(set(plan.options) - set(before.options)) < d
