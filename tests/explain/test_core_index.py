"""core_index (SPEC §6): the share of returned plans containing each option."""

from __future__ import annotations

from scenario_builders import random_scenario, tiny_scenario

import planner
from planner.reports.plans_json import core_index


def test_core_index_counts_each_option_over_the_returned_plans() -> None:
    sc = random_scenario(313, n_options=9, n_offers=2, plans=4)
    result = planner.solve(sc, threads=1)
    plans = result.plans
    assert len(plans) >= 2
    index = core_index(result.planset)
    every = sorted({o for p in plans for o in p.options})
    assert list(index) == every  # every option of any plan, in code-point order
    for o in every:
        assert index[o] == sum(o in p.options for p in plans) / len(plans)
    assert result.to_dict()["core_index"] == index


def test_core_index_of_one_plan_is_one_for_each_of_its_options() -> None:
    result = planner.solve(tiny_scenario(), plans=1, threads=1)
    assert result.to_dict()["core_index"] == {"O1": 1.0, "O2": 1.0}


def test_core_index_is_empty_without_plans() -> None:
    result = planner.solve(tiny_scenario(budget=0.0), threads=1)
    assert not result.plans
    assert result.to_dict()["core_index"] == {}
