"""Explanations of plan 1 (SPEC §6) against exhaustive enumeration.

On small random scenarios every explanation must be exact (low == high) and equal the
value computed from every feasible option set (`enumerate_plans`, a third plain
implementation of SPEC §3); with a very short time on a larger scenario every interval
must still hold the enumerated value.
"""

from __future__ import annotations

import dataclasses
import math

import pytest
from model.test_model_bruteforce import enumerate_plans
from scenario_builders import random_scenario, with_decisions_forced

import planner
from planner.engine import PoolOptions
from planner.explain import explain_plan
from planner.scenario.data import Scenario

TOL = 1e-6


def _best(sc: Scenario, keep=lambda options: True) -> float | None:
    """The best weighted reach of the feasible option sets `keep` accepts (None: none)."""
    reaches = [reach for options, reach, _net in enumerate_plans(sc) if keep(options)]
    return max(reaches) if reaches else None


def _loosened(sc: Scenario, limit: str, step: float) -> Scenario:
    """`limit` loosened by `step`, built here from the limit's name alone."""
    s = sc.settings
    if limit == "budget":
        return dataclasses.replace(sc, settings=dataclasses.replace(s, budget=s.budget + step))
    if limit == "min_average_trust":
        floor = (s.min_average_trust or 0.0) - step
        return dataclasses.replace(sc, settings=dataclasses.replace(s, min_average_trust=floor))
    if limit == "max_foreign_share":
        cap = s.max_foreign_share + step
        return dataclasses.replace(sc, settings=dataclasses.replace(s, max_foreign_share=cap))
    if limit == "max_country_share":
        cap = s.max_country_share + step
        return dataclasses.replace(sc, settings=dataclasses.replace(s, max_country_share=cap))
    name = limit[limit.index("[") + 1 : -1]
    if limit.startswith("resource["):
        resources = tuple(
            dataclasses.replace(r, capacity=r.capacity + step) if r.resource == name else r
            for r in sc.resources
        )
        return dataclasses.replace(sc, resources=resources)
    assert limit.startswith("max_foreign_share[")
    layers = tuple(
        dataclasses.replace(la, max_foreign_share=la.max_foreign_share + step)
        if la.layer == name
        else la
        for la in sc.layers
    )
    return dataclasses.replace(sc, layers=layers)


def expected_explanations(sc: Scenario, plan_options: tuple[str, ...], offers, limits) -> dict:
    """Every explanation by enumeration: marginal value, exclusive reach aside (closed form,
    checked by hand elsewhere), replacement cost (None: no plan contains it), limit gains
    and offer values, for the limits (name, step) and offers given."""
    everything = enumerate_plans(sc)
    reach = max(r for _o, r, _n in everything)
    must = {o.option_id for o in sc.options if o.decision == "must"}
    screened_or_never = {s.option_id for s in planner.check(sc).screened} | {
        o.option_id for o in sc.options if o.decision == "never"
    }

    def best(keep) -> float | None:
        found = [r for options, r, _n in everything if keep(options)]
        return max(found) if found else None

    marginal = {
        o: reach - (best(lambda s, o=o: o not in s) or 0.0) for o in plan_options if o not in must
    }
    replacement = {}
    for option in sc.options:
        o = option.option_id
        if o in plan_options or o in screened_or_never:
            continue
        with_o = best(lambda s, o=o: o in s)
        replacement[o] = None if with_o is None else reach - with_o
    gains = {name: (_best(_loosened(sc, name, step)) or 0.0) - reach for name, step in limits}
    values = {c: reach - (_best(sc.with_decisions(never=[c])) or 0.0) for c in offers}
    return {
        "reach": reach,
        "marginal": marginal,
        "replacement": replacement,
        "gains": gains,
        "offers": values,
    }


def _holds(interval: dict, value: float, exact: bool) -> None:
    tol = TOL * max(1.0, abs(value))
    assert interval["low"] - tol <= value <= interval["high"] + tol, (interval, value)
    if exact:
        assert interval["low"] == interval["high"], interval


def check_against_enumeration(sc: Scenario, explain: dict, plan, *, exact: bool) -> None:
    limits = [(row["limit"], row["step"]) for row in explain["limits"]]
    want = expected_explanations(sc, plan.options, plan.offers, limits)
    assert math.isclose(plan.weighted_reach, want["reach"], rel_tol=TOL, abs_tol=TOL)
    assert set(explain["marginal_value"]) == set(want["marginal"])
    for o, value in want["marginal"].items():
        _holds(explain["marginal_value"][o], value, exact)
    assert set(explain["replacement_cost"]) == set(want["replacement"])
    for o, value in want["replacement"].items():
        got = explain["replacement_cost"][o]
        if value is None:
            assert got is None or got.get("maybe_null"), (o, got)
        else:
            assert got is not None, o
            _holds(got, value, exact)
            if exact:
                assert "maybe_null" not in got
    for row in explain["limits"]:
        _holds(row["gain"], want["gains"][row["limit"]], exact)
    assert set(explain["offers"]) == set(plan.offers)
    for c, value in want["offers"].items():
        _holds(explain["offers"][c], value, exact)
    for o, interval in explain["exclusive_reach"].items():
        assert interval["low"] == interval["high"], (o, interval)
    if exact:
        assert explain["complete"], explain["message"]


@pytest.mark.parametrize("seed", range(310, 324))
def test_explanations_equal_enumeration(seed: int) -> None:
    sc = random_scenario(seed, n_options=6 + seed % 5, n_offers=2, plans=2)
    result = planner.solve(sc, threads=1)
    assert result.plans, "every seed here has a plan"
    explain = explain_plan(result, time_s=60, pool=PoolOptions(workers=2))
    check_against_enumeration(sc, explain, result.plans[0], exact=True)


@pytest.mark.parametrize("seed", [400, 402, 404, 406, 408])
def test_explanations_with_decisions_equal_enumeration(seed: int) -> None:
    """Options forced in (no marginal value) and out (no replacement cost), an offer forced."""
    sc = with_decisions_forced(random_scenario(seed, n_options=9, n_offers=2, plans=1))
    result = planner.solve(sc, threads=1)
    assert result.plans, "every seed here has a plan"
    explain = explain_plan(result, time_s=60, pool=PoolOptions(workers=2))
    assert sc.options[0].option_id not in explain["marginal_value"]
    assert sc.options[1].option_id not in explain["replacement_cost"]
    check_against_enumeration(sc, explain, result.plans[0], exact=True)


@pytest.mark.parametrize("seed", [314, 315, 316, 319])
def test_limit_gains_with_a_large_step_equal_enumeration(seed: int) -> None:
    """Half of each limit's value: the budget and resources gain too."""
    sc = random_scenario(seed, n_options=6 + seed % 5, n_offers=2, plans=1)
    result = planner.solve(sc, threads=1)
    explain = explain_plan(result, time_s=60, step_share=0.5, pool=PoolOptions(workers=2))
    assert explain["step_share"] == 0.5
    check_against_enumeration(sc, explain, result.plans[0], exact=True)
    assert any(row["gain"]["low"] > 0 for row in explain["limits"])


@pytest.mark.parametrize(("seed", "seconds"), [(7, 0.01), (14, 0.01), (15, 0.3), (7, 1.0)])
def test_short_time_keeps_intervals_that_hold_the_enumerated_value(
    seed: int, seconds: float
) -> None:
    """Cut short, explanations are intervals (the message says which), never guesses."""
    sc = random_scenario(seed, n_options=12, n_offers=2, plans=3)
    result = planner.solve(sc, threads=1)
    assert result.plans
    explain = explain_plan(result, time_s=seconds, pool=PoolOptions(workers=1))
    check_against_enumeration(sc, explain, result.plans[0], exact=False)
    if not explain["complete"]:
        assert "keep their widest valid interval" in explain["message"]


@pytest.mark.parametrize("seed", [310, 314, 318, 321, 400])
def test_bounds_without_a_solve_hold_the_enumerated_value(seed: int) -> None:
    """With no time for re-solves, every interval comes from plans known to meet every limit
    and plan 1's bound alone, and still holds the true value."""
    sc = random_scenario(seed, n_options=6 + seed % 5, n_offers=2, plans=3)
    result = planner.solve(sc, threads=1)
    assert result.plans
    explain = explain_plan(result, time_s=0, step_share=0.5)
    assert explain["solves"] == 0
    check_against_enumeration(sc, explain, result.plans[0], exact=False)
