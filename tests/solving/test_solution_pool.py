"""Later ranks start from the plans earlier reach stages passed through (the solution
pool): the best that still meets every row, chosen the same whatever order they came in."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scenario_builders import random_scenario

import planner.solving.ranking as ranking
from planner.model.common import canonical_order
from planner.model.matrix_model import build_matrix_model
from planner.solving.model_rows import feasible
from planner.solving.ranking import rank_plans
from planner.solving.reach_flight import ReachFlight
from planner.solving.solver import MatrixSolver
from planner.solving.stages import _still_feasible


def _rank_one(seed: int):
    sc = canonical_order(random_scenario(seed, n_options=24, n_markets=8, n_offers=3))
    mm = build_matrix_model(sc)
    solver = MatrixSolver(mm, deadline=time.monotonic() + 30, presolve="off")
    solver.use_objective("weighted_reach")
    first = solver.solve()
    return mm, solver, first


def test_a_solve_keeps_the_solutions_it_passed_through_each_meeting_every_row() -> None:
    mm, solver, first = _rank_one(7100)
    found = solver.last_solutions()
    assert found, "HiGHS reported no improving solution"
    for values in found:
        assert feasible(mm, solver.extra_rows(), values, tol=1e-6)
    reach = mm.objectives["weighted_reach"]
    assert max(float(reach @ v) for v in found) == pytest.approx(first.incumbent, rel=1e-9)
    solver.use_objective("weighted_reach")
    solver.solve()
    assert all(v is not w for v in solver.last_solutions() for w in found)  # per solve


def test_the_start_is_the_best_plan_still_feasible_in_any_order() -> None:
    mm, solver, first = _rank_one(7101)
    pool = list(solver.last_solutions())
    best = _still_feasible(mm, solver.extra_rows(), pool)
    assert len(best) == 1
    assert float(mm.objectives["weighted_reach"] @ best[0]) == pytest.approx(first.incumbent)
    # Cut the best plan off, as the next rank does: the start is another, feasible one.
    index = np.flatnonzero(np.round(best[0][mm.x_start : mm.y_start]) > 0.5)
    solver.add_no_good_cut(index.tolist(), len(index) - 1)
    after = _still_feasible(mm, solver.extra_rows(), pool)
    for values in after:
        assert feasible(mm, solver.extra_rows(), values)
        assert not np.array_equal(values, best[0])
    backwards = _still_feasible(mm, solver.extra_rows(), pool[::-1])
    assert [v.tolist() for v in after] == [v.tolist() for v in backwards]


def test_rank_2_starts_from_the_pool_when_rank_1_passed_through_a_good_plan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each rank after the first is handed the solutions of earlier reach stages (its
    flight's start is made from them, `ranking._Ranking._fly`); ranks with and without that
    start end with the same proven plans."""
    handed: list[int] = []
    real = ranking.reach_stage
    made = ReachFlight.__init__

    def recorded(pm, solver, **options):
        handed.append(len(options.get("pool", ())))
        return real(pm, solver, **options)

    def flown(self, model, **options):
        handed.append(len(options["pool"]))
        made(self, model, **options)

    monkeypatch.setattr(ranking, "reach_stage", recorded)
    monkeypatch.setattr(ReachFlight, "__init__", flown)
    sc = random_scenario(7102, n_options=24, n_markets=8, n_offers=3, plans=4)
    pooled = rank_plans(sc, threads=1)
    assert handed[0] == 0 and len(handed) >= 4 and all(n > 1 for n in handed[1:])

    monkeypatch.setattr(ranking._Ranking, "_gather_solutions", lambda self, *args: None)
    plain = rank_plans(sc, threads=1)
    assert all(p.proven_optimal for p in pooled.plans + plain.plans)
    key = [(round(p.weighted_reach, 6), round(p.net_spend, 6), len(p.options)) for p in plain.plans]
    assert [
        (round(p.weighted_reach, 6), round(p.net_spend, 6), len(p.options)) for p in pooled.plans
    ] == key
