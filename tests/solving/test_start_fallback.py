"""A solve cut short answers at least as well as the start it was given: HiGHS may set a
start aside and stop (at a rank's share of the time) on a worse plan of its own."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scenario_builders import random_scenario

from planner.model.common import canonical_order
from planner.model.matrix_model import build_matrix_model
from planner.solving.model_rows import feasible
from planner.solving.result import Termination
from planner.solving.solver import MatrixSolver


def _solver():
    sc = canonical_order(random_scenario(7300, n_options=16, n_markets=6, n_offers=2))
    mm = build_matrix_model(sc)
    solver = MatrixSolver(mm, deadline=time.monotonic() + 30)
    solver.use_objective("weighted_reach")
    return mm, solver


def test_a_better_start_outweighs_a_worse_plan_of_highs_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mm, solver = _solver()
    best = solver.solve()
    assert best.termination == Termination.OPTIMAL and best.incumbent is not None
    start = best.columns()

    empty = np.zeros(mm.n_cols)
    assert feasible(mm, solver.extra_rows(), empty)

    def stopped_on_nothing(presolve: str, started: float):
        """HiGHS stopped at once, holding the empty plan (weighted reach 0)."""
        return solver._result(Termination.TIME_LIMIT, 0.0, best.incumbent, 0.01, empty, "cut")

    monkeypatch.setattr(solver, "_run_once", stopped_on_nothing)
    solver.use_objective("weighted_reach")
    solver.set_start(start)
    answer = solver.solve()
    assert answer.termination == Termination.TIME_LIMIT
    assert answer.incumbent == pytest.approx(best.incumbent)
    assert np.allclose(answer.columns(), start)


def test_a_plan_of_highs_own_at_least_as_good_stands(monkeypatch: pytest.MonkeyPatch) -> None:
    mm, solver = _solver()
    best = solver.solve()
    assert best.incumbent is not None
    found = best.columns()

    def stopped_on_the_best(presolve: str, started: float):
        return solver._result(Termination.TIME_LIMIT, best.incumbent, None, 0.01, found, "cut")

    monkeypatch.setattr(solver, "_run_once", stopped_on_the_best)
    solver.use_objective("weighted_reach")
    solver.set_start(np.zeros(mm.n_cols))
    answer = solver.solve()
    assert answer.incumbent == pytest.approx(best.incumbent)
    assert answer.message == "cut"
