"""One integral objective for the whole SPEC order when the data allow it (formulation
choice 16): the same plans as the staged solves, and never used where it would not be exact."""

from __future__ import annotations

from dataclasses import replace

import pytest
from scenario_builders import random_scenario

import planner.solving.stages as stages
from planner.checks.verify import check_plan
from planner.model.common import canonical_order
from planner.model.matrix_model import build_matrix_model
from planner.scenario.data import Scenario
from planner.solving.ranking import rank_plans
from planner.solving.result import tolerance


def integral_scenario(seed: int, **kwargs: object) -> Scenario:
    """A random scenario with integer weights, reach, costs, fees and caps; shares of 1/2
    on even costs, so every co-financing capacity is an integer too."""
    sc = random_scenario(seed, **kwargs)  # type: ignore[arg-type]
    return replace(
        sc,
        markets=tuple(
            replace(
                m, weight=float(round(2 * m.weight) + 1), addressable=float(round(m.addressable))
            )
            for m in sc.markets
        ),
        coverage=tuple(row._replace(reach=float(round(row.reach))) for row in sc.coverage),
        options=tuple(replace(o, cost=float(2 * round(o.cost / 2))) for o in sc.options),
        offers=tuple(
            replace(c, share=0.5, cap=float(round(c.cap)), fee=float(round(c.fee)))
            for c in sc.offers
        ),
        settings=replace(
            sc.settings, max_cofinance_share=0.5, budget=float(round(sc.settings.budget))
        ),
    )


def _weights(sc: Scenario, mip_gap: float = 0.0):
    return stages.lexicographic_weights(build_matrix_model(canonical_order(sc)), mip_gap)


def test_integral_data_get_weights_and_other_data_do_not() -> None:
    sc = integral_scenario(7000, n_options=20, n_markets=6, n_offers=3)
    weights = _weights(sc)
    assert weights is not None
    assert weights.spend == weights.options_ceiling + 1
    assert weights.reach == weights.spend * (weights.net_spend_ceiling + 1)
    assert _weights(sc, mip_gap=0.01) is None  # a gap on F is not a gap on each stage
    market = replace(sc.markets[0], weight=sc.markets[0].weight + 0.5)
    assert _weights(replace(sc, markets=(market, *sc.markets[1:]))) is None
    offer = replace(sc.offers[0], share=0.3)  # 0.3 · an even cost: not an integer
    assert _weights(replace(sc, offers=(offer, *sc.offers[1:]))) is None
    huge = tuple(replace(m, addressable=m.addressable * 10**6) for m in sc.markets)
    assert _weights(replace(sc, markets=huge)) is None  # integers 1 apart would tie


@pytest.mark.parametrize("d", [1, 2])
def test_one_objective_gives_the_staged_plans(d: int, monkeypatch: pytest.MonkeyPatch) -> None:
    used = 0
    for seed in range(6):
        sc = integral_scenario(
            7100 + seed, n_options=24, n_markets=8, n_offers=3, plans=4, min_plan_difference=d
        )
        used += _weights(sc) is not None
        monkeypatch.setattr(stages, "INTEGRAL_LEXICOGRAPHIC", False)
        staged = rank_plans(sc)
        monkeypatch.setattr(stages, "INTEGRAL_LEXICOGRAPHIC", True)
        one = rank_plans(sc)
        assert one.status == staged.status
        assert len(one.plans) == len(staged.plans)
        for a, b in zip(one.plans, staged.plans, strict=True):
            assert a.weighted_reach == pytest.approx(
                b.weighted_reach, abs=tolerance(b.weighted_reach)
            )
            assert a.net_spend == pytest.approx(b.net_spend, abs=tolerance(b.net_spend))
            assert len(a.options) == len(b.options)
            assert a.proven_optimal and b.proven_optimal
            assert a.bound == pytest.approx(a.weighted_reach)
            assert check_plan(sc, a) == []
    assert used == 6
