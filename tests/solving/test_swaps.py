"""Swaps and refills (`planner.solving.start_hint`), and later ranks answered by their
start on large models (`planner.solving.ranking`, formulation choice 18).

A swap leaves an option out and fills the room with others; a refill adds to a plan
what still fits. Both only ever give plans that meet every SPEC §3 rule (checked by
the independent verification) and never reach less than what they started from. A
later rank answered by its start is still a plan unlike every earlier one, with a
bound that holds (checked against brute force)."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from model.test_model_bruteforce import enumerate_plans
from scenario_builders import random_scenario, tiny_scenario
from solving.test_start_hint import _plan_of

import planner.solving.ranking as ranking
from planner.checks.verify import check_plan
from planner.model.matrix_model import build_matrix_model
from planner.solving.start_hint import hinted_start, improved_by_swaps
from planner.solving.start_plan import greedy_start

TOL = 1e-6


def _later() -> float:
    return time.monotonic() + 60.0


def test_a_swap_replaces_an_option_that_blocks_two_better_ones() -> None:
    """Tiny scenario, budget 20: {O3} (cost 15, reach 4 + 2·4 = 12) leaves room for
    nothing; without O3 both O1 and O2 fit (5 + 2·8 = 21), the best plan."""
    sc = tiny_scenario(budget=20.0)
    mm = build_matrix_model(sc)
    start = hinted_start(mm, (), ["O3"])
    assert start is not None and _plan_of(sc, start) == (frozenset({"O3"}), 12.0)
    refilled = hinted_start(mm, (), ["O3"], refill=True)
    assert refilled is not None and _plan_of(sc, refilled)[1] == 12.0  # nothing fits
    swapped = improved_by_swaps(mm, (), start, deadline=_later())
    assert _plan_of(sc, swapped) == (frozenset({"O1", "O2"}), 21.0)


def test_a_refill_adds_what_fits_beside_the_repaired_plan() -> None:
    """Budget 30 and the hint {O1, O3} (cost 25): nothing to repair; O2 (cost 10) no longer
    fits, so the refill has nothing to add; with budget 35 it adds O2."""
    sc = tiny_scenario(budget=35.0)
    mm = build_matrix_model(sc)
    plain = hinted_start(mm, (), ["O1", "O3"])
    filled = hinted_start(mm, (), ["O1", "O3"], refill=True)
    assert plain is not None and filled is not None
    assert _plan_of(sc, plain)[0] == {"O1", "O3"}
    assert _plan_of(sc, filled)[0] == {"O1", "O2", "O3"}


@pytest.mark.parametrize("seed", range(20))
def test_refills_and_swaps_give_verified_plans_never_worse_never_above_the_best(
    seed: int,
) -> None:
    sc = random_scenario(4100 + seed, n_options=9, n_offers=seed % 3, plans=1)
    mm = build_matrix_model(sc)
    best = max((reach for _, reach, _ in enumerate_plans(sc)), default=0.0)
    hint = [o.option_id for o in sc.options][seed % 3 :: 2]
    plain = hinted_start(mm, (), hint)
    filled = hinted_start(mm, (), hint, refill=True)
    if plain is not None:
        assert filled is not None
        options, reach = _plan_of(sc, plain)
        more, more_reach = _plan_of(sc, filled)
        assert options <= more and more_reach >= reach - TOL
    for start in (plain, greedy_start(mm)):
        if start is None:
            continue
        _, reach = _plan_of(sc, start)
        _, swapped = _plan_of(sc, improved_by_swaps(mm, (), start, deadline=_later()))
        assert reach - TOL <= swapped <= best + TOL * max(1.0, best)


def test_swaps_stop_at_the_deadline_with_the_plan_they_hold() -> None:
    sc = tiny_scenario(budget=20.0)
    mm = build_matrix_model(sc)
    start = hinted_start(mm, (), ["O3"])
    assert start is not None
    held = improved_by_swaps(mm, (), start, deadline=time.monotonic() - 1.0)
    assert held is start


@pytest.mark.parametrize("seed", range(8))
def test_later_ranks_answered_by_their_start_are_plans_unlike_the_earlier_ones(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every later rank answered by its start (as on large models whose share ends before
    a root LP): K plans whenever K exist, each verified, each leaving out at least
    `min_plan_difference` of every earlier plan's options, its bound at least the best
    reach brute force finds among the plans so allowed, no tie-break claimed."""
    monkeypatch.setattr(ranking, "RINS_MIN_NONZEROS", 0)  # every model counts as large
    monkeypatch.setattr(ranking, "ROOT_LPS_PER_SEARCH", float("inf"))  # no share suffices
    d = 1 + seed % 2
    sc = random_scenario(4200 + seed, n_options=9, plans=4, min_plan_difference=d)
    sc = replace(sc, settings=replace(sc.settings, time_limit_s=30.0))
    candidates = [(opts, reach) for opts, reach, _ in enumerate_plans(sc) if reach > TOL]
    planset = ranking.rank_plans(sc, threads=1)
    kept: list[frozenset[str]] = []
    for plan in planset.plans:
        assert check_plan(sc, plan) == []
        allowed = [reach for opts, reach in candidates if all(len(p - opts) >= d for p in kept)]
        assert allowed, "a plan was returned where none exists"
        assert plan.weighted_reach <= max(allowed) + TOL * max(1.0, max(allowed))
        assert plan.bound >= max(allowed) - TOL * max(1.0, max(allowed))
        if plan.rank > 1:
            assert not plan.proven_optimal and plan.spend_gap is None
        kept.append(frozenset(plan.options))
    if len(planset.plans) < 4:  # fewer only when no further plan exists
        assert not [opts for opts, _ in candidates if all(len(p - opts) >= d for p in kept)], (
            planset.message
        )
