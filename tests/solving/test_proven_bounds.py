"""A plan proven to SPEC's tolerance reports its own reach as its bound: HiGHS's dual
bound then exceeds the reach only by the solver's tolerance, by an amount that depends
on the search's path, so equal runs would otherwise write different bounds."""

from __future__ import annotations

import pytest
from scenario_builders import random_scenario

from planner.solving.ranking import rank_plans


@pytest.mark.parametrize("seed", range(8))
def test_proven_plans_report_their_reach_as_bound(seed: int) -> None:
    sc = random_scenario(seed + 700, n_options=14, n_markets=6, plans=3)
    result = rank_plans(sc)
    assert result.plans
    for plan in result.plans:
        assert plan.proven_optimal
        assert plan.bound == plan.weighted_reach and plan.gap == 0.0
