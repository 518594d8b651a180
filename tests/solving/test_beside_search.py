"""A reach stage solved by HiGHS beside its start search (`planner.solving.beside_search`).

On large models with two cores (and no CBC race), HiGHS's solve runs on a twin of the
stage's solver while the search runs; plans pass both ways. None of it may change what
a plan is: the ranks brute force allows, every plan verified from the scenario, the
stage's solver still usable when the twin had to be given up.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest
from model.test_model_bruteforce import assert_matches_bruteforce, enumerate_plans
from scenario_builders import random_scenario

import planner.solving.ranking as ranking
import planner.solving.solver as solver_module
from planner.checks.verify import check_plan
from planner.model.matrix_model import MatrixModel, build_matrix_model
from planner.solving.beside_search import BesideSolve
from planner.solving.model_rows import feasible
from planner.solving.ranking import rank_plans
from planner.solving.result import SolveResult, Termination
from planner.solving.solver import MatrixSolver
from planner.solving.start_hint import improved_by_swaps
from planner.solving.start_plan import greedy_start


@pytest.fixture
def beside(monkeypatch: pytest.MonkeyPatch) -> list[BesideSolve]:
    """Every model treated as large, two cores, no CBC: every reach stage that searches is
    solved beside its search. The solves begun are listed."""
    monkeypatch.setattr(solver_module, "SMALL_MODEL_NONZEROS", 0)
    monkeypatch.setattr(solver_module, "rival_worthwhile", lambda model: False)
    monkeypatch.setattr(ranking, "_cores", lambda threads: 2 if threads is None else threads)
    begun: list[BesideSolve] = []
    begin = BesideSolve.begin

    def noted(self: BesideSolve, start: np.ndarray | None, until: float) -> None:
        begun.append(self)
        begin(self, start, until)

    monkeypatch.setattr(BesideSolve, "begin", noted)
    return begun


def _reach_optimum(mm: MatrixModel) -> SolveResult:
    """Weighted reach's optimum on `mm`, proven (the known answer the tests offer)."""
    solver = MatrixSolver(mm, deadline=time.monotonic() + 30)
    solver.use_objective("weighted_reach")
    optimum = solver.solve()
    assert optimum.termination == Termination.OPTIMAL and optimum.incumbent is not None
    return optimum


@pytest.mark.parametrize("seed", range(6))
def test_ranks_solved_beside_the_search_are_the_plans_brute_force_allows(
    seed: int, beside: list[BesideSolve]
) -> None:
    sc = random_scenario(
        8300 + seed, n_options=8 + seed % 4, n_offers=2, plans=4, min_plan_difference=1 + seed % 2
    )
    assert_matches_bruteforce(sc)
    assert beside, "no reach stage was solved beside its search"


def test_one_core_searches_first_and_two_cores_search_beside_with_the_same_proven_plans(
    beside: list[BesideSolve],
) -> None:
    sc = random_scenario(8400, n_options=30, n_markets=10, n_offers=3, plans=4)
    one = rank_plans(sc, threads=1)
    assert not beside
    two = rank_plans(sc, threads=2)
    assert beside
    assert all(p.proven_optimal for p in one.plans + two.plans)
    assert [p.options for p in one.plans] == [p.options for p in two.plans]
    assert all(check_plan(sc, p) == [] for p in two.plans)


def test_a_twin_holds_the_solver_s_rows_objective_and_settings() -> None:
    sc = random_scenario(8500, n_options=12, n_offers=2, plans=1)
    mm = build_matrix_model(sc)
    solver = MatrixSolver(mm, deadline=time.monotonic() + 30)
    solver.use_objective("net_spend")
    solver.add_no_good_cut([0, 1, 2], 2.0)
    solver.hold("weighted_reach", 1.0)
    solver.root_lp = "ipx"
    twin = solver.twin()
    assert twin.extra_rows() == solver.extra_rows()
    assert [twin.row_name(r) for r in range(mm.n_rows, mm.n_rows + 2)] == [
        solver.row_name(r) for r in range(mm.n_rows, mm.n_rows + 2)
    ]
    assert np.array_equal(twin._cost, solver._cost) and twin._maximise == solver._maximise
    assert twin.root_lp == "ipx" and twin.scope is solver.scope and twin.highs is not solver.highs
    first, second = solver.solve(), twin.solve()
    assert first.termination == second.termination == Termination.OPTIMAL
    assert first.incumbent == pytest.approx(second.incumbent)


def test_a_plan_offered_to_a_running_solve_is_handed_to_highs_once() -> None:
    """The offered plan goes to HiGHS at its first query, and never again (HiGHS keeps it
    as its incumbent from then on: every later query reports at least its reach)."""
    sc = random_scenario(9100, n_options=40, n_markets=12, n_offers=4, plans=1)
    mm = build_matrix_model(sc)
    optimum = _reach_optimum(mm)
    assert optimum.incumbent is not None
    solver = MatrixSolver(mm, deadline=time.monotonic() + 30)
    solver.use_objective("weighted_reach")
    queries: list[tuple[bool, float]] = []
    give = solver._give_offered

    def spy(event) -> None:  # type: ignore[no-untyped-def]
        fresh = solver._offered is not solver._given
        queries.append((fresh, float(event.data_out.mip_primal_bound)))
        give(event)

    solver._give_offered = spy  # type: ignore[method-assign]
    solver.next_solve_beside(time.monotonic() + 30)
    solver.offer(np.asarray(optimum.columns()))
    found = solver.solve()
    assert found.incumbent == pytest.approx(optimum.incumbent)
    assert [fresh for fresh, _ in queries].count(True) == 1 and queries[0][0]
    later = [bound for _, bound in queries[1:]]
    assert all(b >= optimum.incumbent - 1e-6 for b in later)


@pytest.mark.parametrize("seed", range(6))
def test_swaps_go_on_from_a_better_plan_found_beside_them(seed: int) -> None:
    """Given the enumerated optimum as the solve's latest plan, the swaps end on a plan
    reaching as much, and every plan they report reaches more than the one before."""
    sc = random_scenario(8600 + seed, n_options=9, n_offers=seed % 3, plans=1)
    mm = build_matrix_model(sc)
    best = max((reach for _, reach, _ in enumerate_plans(sc)), default=0.0)
    optimum = np.asarray(_reach_optimum(mm).columns())
    start = greedy_start(mm)
    assert start is not None
    reach = mm.objectives["weighted_reach"]
    reported: list[float] = []
    ended = improved_by_swaps(
        mm,
        (),
        start,
        deadline=time.monotonic() + 30,
        on_found=lambda v: reported.append(float(reach @ v)),
        latest=lambda: optimum,
    )
    assert float(reach @ ended) == pytest.approx(best, abs=1e-6 * max(1.0, best))
    assert reported == sorted(set(reported))


def test_a_solve_beside_that_overruns_is_given_up_and_the_ranks_go_on(
    beside: list[BesideSolve], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The twin's HiGHS is held until 1.5 s past its end: it is given up at its end (plus the
    grace), the stage answers with the search's plan, and the ranks after it are solved
    on the stage's solver, every plan verified."""
    work = BesideSolve._work

    def slow(self: BesideSolve, start: np.ndarray | None, until: float) -> None:
        real = MatrixSolver.twin

        def held(solver: MatrixSolver) -> MatrixSolver:
            twin = real(solver)
            run = twin._highs.run

            def late() -> object:
                time.sleep(max(0.0, until - time.monotonic()) + 1.5)
                return run()

            twin._highs.run = late  # type: ignore[method-assign]
            return twin

        monkeypatch.setattr(MatrixSolver, "twin", held)
        try:
            work(self, start, until)
        finally:
            monkeypatch.setattr(MatrixSolver, "twin", real)

    monkeypatch.setattr(BesideSolve, "_work", slow)
    sc = random_scenario(8700, n_options=14, n_markets=6, n_offers=2, plans=3)
    sc = replace(sc, settings=replace(sc.settings, time_limit_s=6.0))
    planset = rank_plans(sc, threads=2)
    assert beside
    given_up = [b for b in beside if b._twin is not None and b._twin.abandoned is not None]
    assert given_up, "no solve beside the search was given up"
    assert len(planset.plans) == 3
    assert all(check_plan(sc, p) == [] for p in planset.plans)


def test_a_stage_cut_short_answers_with_the_search_s_plan_when_it_is_better() -> None:
    """HiGHS stopped on a plan below the search's: the stage answers with the search's plan
    and HiGHS's bound; a search plan that breaks a row, or is worse, changes nothing."""
    sc = random_scenario(8800, n_options=20, n_markets=8, n_offers=2, plans=1)
    mm = build_matrix_model(sc)
    optimum = _reach_optimum(mm)
    assert optimum.incumbent is not None
    best = np.asarray(optimum.columns())
    poor = greedy_start(mm)
    reach = mm.objectives["weighted_reach"]
    assert poor is not None and float(reach @ poor) < optimum.incumbent - 1.0
    solver = MatrixSolver(mm, deadline=time.monotonic() + 30)  # no solve of its own yet
    solver.use_objective("weighted_reach")
    cut_short = solver._result(
        Termination.TIME_LIMIT, float(reach @ poor), optimum.incumbent + 5.0, 1.0, poor, "stopped"
    )
    taken = solver.at_least(cut_short, best)
    assert taken.incumbent == pytest.approx(optimum.incumbent)
    assert np.allclose(taken.columns(), best) and taken.bound == cut_short.bound
    broken = best.copy()
    broken[: mm.y_start] = 1.0  # every option: over the budget
    assert not feasible(mm, (), broken)
    assert solver.at_least(cut_short, broken) is cut_short
    assert solver.at_least(cut_short, poor) is cut_short
    proven = replace(optimum, termination=Termination.OPTIMAL)
    assert solver.at_least(proven, poor) is proven
