"""A reach stage solved by HiGHS beside its start search (`planner.solving.beside_search`).

On large models with two cores (and no CBC race), HiGHS's solve runs on a twin of the
stage's solver while the search runs; plans pass both ways. None of it may change what
a plan is: the ranks brute force allows, every plan verified from the scenario, the
stage's solver still usable when the twin had to be given up.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np
import pytest
from model.test_model_bruteforce import assert_matches_bruteforce, enumerate_plans
from scenario_builders import random_scenario

import planner.solving.beside_search as beside_search
import planner.solving.ranking as ranking
import planner.solving.solver as solver_module
from planner.checks.verify import check_plan
from planner.model.matrix_model import MatrixModel, build_matrix_model
from planner.solving.beside_search import BesideSolve
from planner.solving.model_rows import feasible
from planner.solving.ranking import rank_plans
from planner.solving.result import SolveResult, Termination
from planner.solving.solver import MatrixSolver, _Checks
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


def _reach_solver(mm: MatrixModel, seconds: float = 30.0) -> MatrixSolver:
    """A solver of `mm` holding weighted reach, its deadline `seconds` away."""
    solver = MatrixSolver(mm, deadline=time.monotonic() + seconds)
    solver.use_objective("weighted_reach")
    return solver


def _reach_optimum(mm: MatrixModel) -> SolveResult:
    """Weighted reach's optimum on `mm`, proven (the known answer the tests offer)."""
    optimum = _reach_solver(mm).solve()
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
    solver = _reach_solver(mm)
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
    solver = _reach_solver(mm)  # no solve of its own yet
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


def _not_proven_at_the_root() -> tuple[MatrixModel, SolveResult, float]:
    """A model whose root LP leaves fractional binaries (HiGHS checks in after it), with
    its proven optimum and that optimum's weighted reach."""
    mm = build_matrix_model(random_scenario(9203, n_options=60, n_markets=20, n_offers=4))
    optimum = _reach_optimum(mm)
    assert optimum.incumbent is not None
    return mm, optimum, optimum.incumbent


def test_the_next_round_is_the_longest_wait_between_checks_and_some_root_lps_at_least() -> None:
    """Before the root LP (the opening bound unchanged) nothing is expected; then at least
    `round_lps` times the root LP's time, or the longest wait between two checks."""
    checks = _Checks(began=0.0, opening_bound=math.inf, last=0.0)
    assert checks.next_round(1.0, math.inf, 4.0) is None
    assert checks.next_round(5.0, 100.0, 4.0) == pytest.approx(20.0)  # root LP: 5 s
    assert checks.next_round(6.0, 99.0, 4.0) == pytest.approx(20.0)  # a check 1 s on
    assert checks.next_round(40.0, 99.0, 4.0) == pytest.approx(34.0)  # a round of 34 s
    assert checks.next_round(41.0, 99.0, 4.0) == pytest.approx(34.0)


def test_a_solve_beside_stops_after_its_root_lp_when_its_next_round_would_end_after_it() -> None:
    """Told that a round takes far longer than its 20 s, the solve stops at its first check
    after the root LP, on a true bound; without that, the same solve is proven; and the
    solver's next solve (not beside a search) goes on as usual."""
    mm, _, most = _not_proven_at_the_root()
    solver = _reach_solver(mm, 60.0)
    solver.next_solve_beside(time.monotonic() + 20, round_lps=1e9)
    cut = solver.solve()
    assert cut.termination == Termination.TIME_LIMIT and solver.interrupted
    assert cut.bound is not None and cut.bound >= most - 1e-6
    assert cut.incumbent is None or cut.incumbent <= most + 1e-6
    again = solver.solve()
    assert again.termination == Termination.OPTIMAL
    assert again.incumbent == pytest.approx(most)
    whole = _reach_solver(mm, 60.0)
    whole.next_solve_beside(time.monotonic() + 20, round_lps=0.0)
    assert whole.solve().termination == Termination.OPTIMAL


def test_a_solve_stopped_after_its_root_lp_leaves_its_answer_to_the_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ended without a proof: the search is not told to stop (`proven`), reads the solve's
    answer (one object, read after read), and progress shows the better of that answer
    and the plans the search offers after it; the stage answers with the best."""
    monkeypatch.setattr(beside_search, "ROUND_LPS", 1e9)
    mm, optimum, most = _not_proven_at_the_root()
    solver = _reach_solver(mm, 60.0)
    solve = BesideSolve(solver)
    solve.begin(greedy_start(mm), until=time.monotonic() + 30)
    waited = time.monotonic() + 20
    while not solve.ended and time.monotonic() < waited:
        time.sleep(0.01)
    assert solve.ended and not solve.proven
    answer = solve.found()
    assert answer is not None and solve.found() is answer
    assert feasible(mm, (), answer)
    reach = mm.objectives["weighted_reach"]
    live = solve.live_numbers()
    assert live is not None and live.solution is answer
    assert live.objective == pytest.approx(float(reach @ answer))
    assert live.bound is not None and live.bound >= most - 1e-6
    best = np.asarray(optimum.columns())
    solve.offer(best)
    live = solve.live_numbers()
    assert live is not None and live.solution is best
    assert live.objective == pytest.approx(most)
    stage = solve.result(best)
    assert stage.incumbent == pytest.approx(most)
    assert stage.bound is not None and stage.bound >= most - 1e-6


def test_ranks_whose_solves_stop_after_the_root_lp_are_verified_plans_within_true_bounds(
    beside: list[BesideSolve], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every solve beside a search stopped after its root LP: the ranks are still found,
    each plan verified from the scenario, plan 1 no better than the optimum and its
    bound no lower."""
    monkeypatch.setattr(beside_search, "ROUND_LPS", 1e9)
    sc = random_scenario(9203, n_options=60, n_markets=20, n_offers=4, plans=3)
    sc = replace(sc, settings=replace(sc.settings, time_limit_s=20.0))
    optimum = _reach_optimum(build_matrix_model(sc))
    assert optimum.incumbent is not None
    planset = rank_plans(sc, threads=2)
    assert beside and any(b.ended and not b.proven for b in beside)
    assert len(planset.plans) == 3
    assert all(check_plan(sc, p) == [] for p in planset.plans)
    first = planset.plans[0]
    assert first.weighted_reach <= optimum.incumbent + 1e-6
    assert first.bound is not None and first.bound >= optimum.incumbent - 1e-6
