"""The model in numbers HiGHS can take (`planner.model.conditioning`).

Ordinary scenarios must reach HiGHS exactly as built (the same arrays); a value
out of scale (a cap of 1e20 for "no cap", a cost of 1e14, a usage of 1e16, a
market weighing 1e20 or reaching 1e15) must reach it as the same problem in
numbers near 1, and the ranked plans must be those brute force finds in the
scenario's own units (`tests/model/test_model_bruteforce.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest
from model.test_model_bruteforce import assert_matches_bruteforce
from scenario_builders import random_scenario

from planner.model.conditioning import (
    COLUMN_HIGH,
    HIGH,
    LARGEST,
    condition,
    out_of_scale,
    reach_limits,
)
from planner.model.matrix_model import build_matrix_model
from planner.scenario.data import Scenario

#: HiGHS's own limits: it refuses matrix entries of 1e15 and more, drops those of 1e-9
#: and less, and treats bounds and costs of 1e20 and more as infinite.
HIGHS_LARGE, HIGHS_SMALL, HIGHS_INFINITE = 1e15, 1e-9, 1e20


def _first(items: tuple, **changes: object) -> tuple:
    return (replace(items[0], **changes), *items[1:])


def _no_cap(sc: Scenario) -> Scenario:
    return replace(sc, offers=_first(sc.offers, cap=1e20))


def _costly_option(sc: Scenario) -> Scenario:
    return replace(sc, options=_first(sc.options, cost=1e14))


def _heavy_usage(sc: Scenario) -> Scenario:
    return replace(sc, usage=(sc.usage[0]._replace(amount=1e16), *sc.usage[1:]))


def _heavy_market(sc: Scenario) -> Scenario:
    return replace(sc, markets=_first(sc.markets, weight=1e20))


def _huge_market(sc: Scenario) -> Scenario:
    market = sc.markets[0].market_id
    coverage = tuple(
        row._replace(reach=1e15) if row.market_id == market and row.reach > 0 else row
        for row in sc.coverage
    )
    return replace(sc, markets=_first(sc.markets, addressable=1e15), coverage=coverage)


def _no_budget(sc: Scenario) -> Scenario:
    return replace(sc, settings=replace(sc.settings, budget=1e20))


EXTREMES: dict[str, Callable[[Scenario], Scenario]] = {
    "cap 1e20": _no_cap,
    "cost 1e14": _costly_option,
    "usage 1e16": _heavy_usage,
    "weight 1e20": _heavy_market,
    "reach and addressable 1e15": _huge_market,
    "budget 1e20": _no_budget,
}


def _assert_highs_can_take(mm) -> None:
    values = np.abs(mm.row_value)
    assert np.isfinite(values).all()
    assert values.max() < HIGHS_LARGE and values.min() > HIGHS_SMALL
    for side in (mm.col_lower, mm.col_upper, mm.row_lower, mm.row_upper):
        finite = side[np.isfinite(side)]
        assert (np.abs(finite) < HIGHS_INFINITE).all()
    for cost in mm.objectives.values():
        assert (np.abs(cost) < HIGHS_INFINITE).all()


@pytest.mark.parametrize("seed", range(8))
def test_scenarios_in_scale_reach_highs_unchanged(seed: int) -> None:
    mm = build_matrix_model(random_scenario(seed, n_options=20, n_offers=3))
    assert not out_of_scale(mm)
    cm = condition(mm)
    assert cm.row_value is mm.row_value and cm.col_upper is mm.col_upper
    assert cm.row_lower is mm.row_lower and cm.objectives is mm.objectives
    assert cm.scaling is not None
    assert set(cm.scaling.objectives.values()) == {1.0}
    assert (cm.scaling.columns == 1).all() and (cm.scaling.rows == 1).all()
    assert condition(mm, units=False) is mm


@pytest.mark.parametrize("extreme", list(EXTREMES))
@pytest.mark.parametrize("seed", range(4))
def test_out_of_scale_values_reach_highs_in_scale(extreme: str, seed: int) -> None:
    sc = EXTREMES[extreme](random_scenario(seed, n_options=10, n_offers=2))
    mm = build_matrix_model(sc)
    cm = condition(mm)
    _assert_highs_can_take(cm)
    assert np.abs(cm.row_value).max() <= LARGEST
    continuous = cm.integrality == 0
    assert (cm.col_upper[continuous] <= 2 * COLUMN_HIGH).all()
    # The same problem: rows, bounds and objectives relate to the scenario's by the
    # recorded powers of two (rows and columns that no reduction touched).
    assert cm.scaling is not None
    exponents = np.log2(np.concatenate([cm.scaling.columns, cm.scaling.rows]))
    assert (exponents == np.round(exponents)).all()


def test_a_cap_that_can_never_bind_becomes_what_its_offer_could_pay() -> None:
    sc = _no_cap(random_scenario(3, n_options=10, n_offers=2))
    mm = build_matrix_model(sc)
    cm = condition(mm)
    row = mm.block("offer_cap").start  # the first offer's cap row
    cols, values = cm.row(row)
    y = mm.y_start
    payable = float(mm.col_upper[cols[cols != y]].sum())
    assert cols[-1] == y and mm.row(row)[1][-1] == -1e20
    assert -values[-1] == pytest.approx(payable, rel=1e-6)
    assert -values[-1] >= payable  # never below what the offer could pay: no plan lost


def test_an_option_using_more_than_any_capacity_is_held_out() -> None:
    sc = _heavy_usage(random_scenario(5, n_options=10, n_offers=2))
    mm = build_matrix_model(sc)
    cm = condition(mm)
    heavy = mm.option_ids.index(sc.usage[0].option_id)
    assert mm.col_upper[heavy] == 1 and cm.col_upper[heavy] == 0
    assert not (cm.row_index == heavy).any()  # its 1e16 left the matrix


def test_a_must_option_no_budget_can_carry_stays_infeasible_by_its_bounds() -> None:
    sc = random_scenario(5, n_options=10, n_offers=2)
    sc = replace(sc, options=_first(sc.options, cost=1e308, decision="must"))
    cm = condition(build_matrix_model(sc))
    first = cm.option_ids.index(sc.options[0].option_id)
    assert (cm.col_lower[first], cm.col_upper[first]) == (1.0, 0.0)
    _assert_highs_can_take(cm)


def test_reach_limits_keep_every_plan_within_the_bound() -> None:
    """Each market's reach bound is the bound over its weight; a market whose least
    positive weighted reach exceeds the bound gets reach 0."""
    sc = _heavy_market(random_scenario(2, n_options=10, n_markets=4))
    mm = build_matrix_model(sc)
    limits = reach_limits(mm, 50.0)
    for i, market in enumerate(mm.scenario.markets):
        assert limits[i] <= mm.col_upper[mm.u_start + i]
        if market.weight > 0:
            assert limits[i] <= 50.0 * (1 + 1e-6) / market.weight
    heavy = mm.market_ids.index(sc.markets[0].market_id)
    assert limits[heavy] == 0.0


@pytest.mark.parametrize("extreme", list(EXTREMES))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ranked_plans_with_out_of_scale_values_match_brute_force(extreme: str, seed: int) -> None:
    sc = EXTREMES[extreme](random_scenario(seed, n_options=8, n_offers=2, plans=4))
    assert out_of_scale(build_matrix_model(sc))
    assert_matches_bruteforce(sc)


@pytest.mark.parametrize("factor", [1e7, 1e12])
@pytest.mark.parametrize("what", ["weights", "money", "reach"])
def test_scaled_units_match_brute_force(what: str, factor: float) -> None:
    """Every weight, every money value or every reach and addressable in larger units.

    (Not smaller ones: brute force applies SPEC's absolute floor of 1e-6, which at
    1e-7 of the units calls whole options' costs equal; tests/solving/test_magnitudes.py
    compares those with the plans found in ordinary units.)"""
    sc = random_scenario(11, n_options=8, n_offers=2, plans=4)
    if what == "weights":
        sc = replace(sc, markets=tuple(replace(m, weight=m.weight * factor) for m in sc.markets))
    elif what == "money":
        sc = replace(
            sc,
            settings=replace(sc.settings, budget=sc.settings.budget * factor),
            options=tuple(replace(o, cost=o.cost * factor) for o in sc.options),
            offers=tuple(
                replace(
                    c,
                    cap=c.cap * factor,
                    fee=c.fee * factor,
                    min_eligible_spend=c.min_eligible_spend * factor,
                )
                for c in sc.offers
            ),
        )
    else:
        sc = replace(
            sc,
            markets=tuple(replace(m, addressable=m.addressable * factor) for m in sc.markets),
            coverage=tuple(row._replace(reach=row.reach * factor) for row in sc.coverage),
        )
    assert_matches_bruteforce(sc)


def test_high_is_far_from_what_highs_refuses() -> None:
    assert HIGH * 1e3 < HIGHS_LARGE and LARGEST < HIGHS_LARGE
