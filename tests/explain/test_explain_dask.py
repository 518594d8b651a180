"""Explanations through a real Dask cluster (a scheduler and two worker processes on
127.0.0.1) equal those of local worker processes: every answer is a function of its
changed scenario alone (SPEC §9), and exact answers do not depend on who computed them."""

from __future__ import annotations

from typing import Any

from scenario_builders import random_scenario

import planner
from planner.engine import PoolOptions
from planner.explain import explain_plan

#: Keys that say how long and by how many solves, not what was found (which solve answers
#: a question first depends on the order tasks finish in).
HOW = ("time_s", "solves", "message")


def _answer(explain: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in explain.items() if key not in HOW}


def test_explanations_on_dask_equal_local_ones(dask_scheduler: str) -> None:
    sc = random_scenario(313, n_options=8, n_offers=2, plans=2)
    result = planner.solve(sc, threads=1)
    local = explain_plan(result, time_s=60, pool=PoolOptions(workers=2))
    remote = explain_plan(result, time_s=60, pool=PoolOptions(scheduler=dask_scheduler))
    assert local["complete"] and remote["complete"]
    assert _answer(remote) == _answer(local)
