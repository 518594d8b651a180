"""The fast ranking path: merged tie-break stage, solver options, checked answers, lighter rows.

The direct backend breaks ties in one solve, min net spend + ε·(option count)
(formulation eq. 15). These tests pin the two properties that make it the SPEC
§3 order: the count term never outweighs a net-spend difference larger than
the SPEC tolerance (even when the least net spend is far below the budget), and
among plans of equal net spend the fewest options win. The Pyomo reference
keeps three separate stages; both must agree.
"""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from scenario_builders import random_scenario, sorted_scenario

from planner.model.matrix_model import build_matrix_model
from planner.scenario.data import Coverage, Market, Option, Partner, Scenario, Settings
from planner.solving.ranking import rank_plans
from planner.solving.result import REL_TOL, SolveResult, Termination
from planner.solving.solver import MatrixSolver
from planner.solving.stages import tie_break_epsilon


def _one_market(costs: dict[str, tuple[float, float]], budget: float) -> Scenario:
    """Options reaching one market (weight 1, addressable 1): id -> (cost, reach)."""
    return sorted_scenario(
        Scenario(
            name="one-market",
            settings=Settings(budget=budget, home_country="Home", plans=1),
            markets=(Market("M1", "M1", "East Africa", 1.0, 1.0),),
            partners=(Partner("P1", "P1", "Home", 80.0),),
            options=tuple(
                Option(o, "P1", o, "cloud", None, cost) for o, (cost, _r) in costs.items()
            ),
            coverage=tuple(Coverage(o, "M1", reach) for o, (_c, reach) in costs.items()),
        )
    )


@pytest.mark.parametrize("free", [0, 1, 7, 50_000, 10_000_000])
@pytest.mark.parametrize("floor", [0.0, 0.3, 1.0 - 1e-12, 1.0, 1.0 + 1e-12, 17.5, 2.5e6])
def test_count_weight_stays_below_the_net_spend_tolerance(floor: float, free: int) -> None:
    """A plan dearer by more than SPEC's tolerance must never win by having fewer options.

    Two plans' counts differ by at most `free`, and HiGHS may stop ε/2 (its
    absolute gap in that stage) short of the optimum: together they must stay
    below the tolerance at the net-spend floor. Worked in exact fractions from
    SPEC §3's own number, 1e-6·max(1, |value|), not the planner's constants, so
    the check cannot inherit a mistake (or a rounding) of the code it tests.
    """
    from fractions import Fraction

    tolerance = Fraction(1, 10**6) * max(Fraction(1), Fraction(floor))

    def count_term_fits(eps: float) -> bool:
        return Fraction(eps) * free + Fraction(eps) / 2 < tolerance

    epsilon = tie_break_epsilon(floor, free)
    assert count_term_fits(epsilon)
    # Near the boundary: a weight just above the largest that fits is rejected,
    # so the check above can fail (e.g. for ε = tol/free, no room for the gap).
    assert not count_term_fits(float(tolerance / (free + Fraction(1, 2))) * (1 + 1e-9))
    # ... and the count still moves the objective: one option fewer is not lost
    # below the resolution of a double at the floor.
    assert epsilon > 0
    assert max(1.0, floor) + epsilon > max(1.0, floor)


def test_lower_net_spend_wins_over_fewer_options_far_below_the_budget() -> None:
    # {A1, A2}: reach 1, net spend 1.0, 2 options; {C}: reach 1, net spend 1.0002, 1 option.
    # 2e-4 is above the SPEC tolerance at 1.0 (1e-6), below the one at the budget (1e-3):
    # a count weight scaled by the budget would pick {C}.
    sc = _one_market({"A1": (0.5, 0.5), "A2": (0.5, 0.5), "C": (1.0002, 1.0)}, budget=1000.0)
    plan = rank_plans(sc).plans[0]
    assert plan.options == ("A1", "A2")
    assert plan.proven_optimal


def test_fewer_options_win_at_equal_net_spend() -> None:
    sc = _one_market(
        {"E": (0.5, 0.5), "F": (0.5, 0.5), "G": (1.0, 1.0), "Z": (0.0, 0.0)}, budget=1000.0
    )
    plan = rank_plans(sc).plans[0]
    assert plan.options == ("G",)


@pytest.mark.parametrize("seed", range(12))
def test_merged_stage_agrees_with_three_stages(seed: int) -> None:
    sc = random_scenario(200 + seed, n_options=9, n_markets=4, n_offers=3, plans=1)
    if seed % 3 == 0:  # a budget well above what the best plan spends
        sc = replace(sc, settings=replace(sc.settings, budget=sc.settings.budget * 40))
    reference = rank_plans(sc, backend="pyomo")
    fast = rank_plans(sc)
    assert reference.status == fast.status
    if not reference.plans:
        assert not fast.plans
        return
    a, b = reference.plans[0], fast.plans[0]
    assert abs(a.weighted_reach - b.weighted_reach) <= REL_TOL * max(1.0, a.weighted_reach)
    assert abs(a.net_spend - b.net_spend) <= REL_TOL * max(1.0, a.net_spend)
    assert len(a.options) == len(b.options)
    assert b.proven_optimal


def test_ranked_plans_match_enumeration_where_a_warm_start_once_misled_highs() -> None:
    """Regression: a repaired warm start made HiGHS claim rank 2 had reach 30.999969
    (its own solution had 26.999969); the true ranked reaches are 31, 30, 30, 27."""
    from scenario_builders import random_scenario

    from planner.solving.ranking import rank_plans

    result = rank_plans(random_scenario(2714, n_options=8, plans=4, min_plan_difference=1))
    assert [round(p.weighted_reach, 6) for p in result.plans] == [31.0, 30.0, 30.0, 27.0]


def _misreporting(monkeypatch: pytest.MonkeyPatch, runs: int) -> list[SolveResult]:
    """Make HiGHS's first `runs` answers claim 4 more than their solutions have (as HiGHS
    1.16 did: 30.999969 claimed, 26.999969 in the columns). Returns every run's true answer."""
    real = MatrixSolver._highs_result
    answers: list[SolveResult] = []

    def misreported(self, started: float) -> SolveResult:
        result = real(self, started)
        answers.append(result)
        if len(answers) <= runs and result.incumbent is not None:
            return replace(result, incumbent=result.incumbent + 4.0)
        return result

    monkeypatch.setattr(MatrixSolver, "_highs_result", misreported)
    return answers


def _reach_solver(sc: Scenario) -> tuple[MatrixSolver, SolveResult]:
    """A solver on `sc`'s model maximising weighted reach, and that stage's honest answer."""
    mm = build_matrix_model(sc)
    honest = MatrixSolver(mm, deadline=time.monotonic() + 30.0)
    honest.use_objective("weighted_reach")
    expected = honest.solve()
    assert expected.termination == Termination.OPTIMAL
    solver = MatrixSolver(mm, deadline=time.monotonic() + 30.0)
    solver.use_objective("weighted_reach")
    return solver, expected


def test_a_misreported_objective_is_solved_again_without_the_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a start (tie-breaks always have one), a reported objective that is not the
    solution's own is distrusted: the solve runs again without the start."""
    solver, expected = _reach_solver(random_scenario(2714, n_options=8, plans=1))
    solver.set_start(expected.columns())
    answers = _misreporting(monkeypatch, runs=1)
    answer = solver.solve()
    assert len(answers) == 2, "the misreported answer was not solved again"
    assert answer.termination == Termination.OPTIMAL
    assert answer.incumbent == pytest.approx(expected.incumbent, abs=1e-9)
    reach = float(solver.model.objectives["weighted_reach"] @ answer.columns())
    assert reach == pytest.approx(answer.incumbent, abs=1e-6)


def test_a_misreport_that_persists_is_numerical_trouble(monkeypatch: pytest.MonkeyPatch) -> None:
    solver, expected = _reach_solver(random_scenario(2714, n_options=8, plans=1))
    solver.set_start(expected.columns())
    answers = _misreporting(monkeypatch, runs=2)
    answer = solver.solve()
    assert len(answers) == 2
    assert answer.termination == Termination.NUMERICAL and not answer.has_solution
    assert "HiGHS reported objective" in answer.message


def test_a_misreport_without_a_start_is_not_solved_again(monkeypatch: pytest.MonkeyPatch) -> None:
    solver, _ = _reach_solver(random_scenario(2714, n_options=8, plans=1))
    answers = _misreporting(monkeypatch, runs=1)
    answer = solver.solve()
    assert len(answers) == 1
    assert answer.termination == Termination.NUMERICAL


def test_only_the_tie_break_runs_without_highs_restart() -> None:
    """The merged tie-break turns HiGHS's restart off (measured faster there); the reach
    stage keeps it (neutral there), and so does the next rank's reach stage."""
    from planner.solving.stages import reach_stage, tie_break

    sc = sorted_scenario(random_scenario(1101, n_options=12, n_markets=5, n_offers=2, plans=2))
    mm = build_matrix_model(sc)
    solver = MatrixSolver(mm, deadline=time.monotonic() + 30.0)
    seen: list[bool] = []
    real_options = solver._options

    def options(presolve: str, remaining: float) -> dict:
        chosen = real_options(presolve, remaining)
        seen.append(bool(chosen["mip_allow_restart"]))
        return chosen

    solver._options = options  # type: ignore[method-assign]
    reach = reach_stage(mm, solver)
    after_reach = len(seen)
    tie_break(mm, solver, reach)
    reach_stage(mm, solver)
    assert after_reach >= 1 and all(seen[:after_reach])
    assert seen[after_reach] is False
    assert seen[-1] is True


def test_root_heuristic_skipped_only_from_a_near_start() -> None:
    """HiGHS's root reduced-cost heuristic looks for a first good plan: it runs on a cold
    reach stage and on one started from a plan merely repaired (`hint` alone), not on a
    later rank's (`near`: a start most likely optimal), a frontier point's (`neighbour`:
    the best single drop of the budget above's plan, refilled) nor on the merged
    tie-break (started from its reach stage's plan); the restart goes off from any
    related plan. The answers are the same either way."""
    from planner.solving.stages import reach_stage, tie_break

    sc = sorted_scenario(random_scenario(1101, n_options=12, n_markets=5, n_offers=2, plans=2))
    mm = build_matrix_model(sc)
    solver = MatrixSolver(mm, deadline=time.monotonic() + 30.0)
    seen: list[tuple[bool, bool]] = []
    real_options = solver._options

    def options(presolve: str, remaining: float) -> dict:
        chosen = real_options(presolve, remaining)
        seen.append(
            (bool(chosen["mip_heuristic_run_root_reduced_cost"]), bool(chosen["mip_allow_restart"]))
        )
        return chosen

    solver._options = options  # type: ignore[method-assign]

    def stage(**kwargs: object) -> tuple[list[tuple[bool, bool]], SolveResult]:
        seen.clear()
        answer = reach_stage(mm, solver, **kwargs)  # type: ignore[arg-type]
        return list(seen), answer

    cold, best = stage()
    plan = tuple(o for o, v in zip(mm.option_ids, best.x, strict=True) if v > 0.5)
    hinted, from_hint = stage(hint=plan)
    near, from_near = stage(hint=plan, near=True)
    neighbour, from_neighbour = stage(hint=plan, neighbour=True)
    assert cold and all(run == (True, True) for run in cold)
    assert hinted and all(run == (True, False) for run in hinted)
    assert near and all(run == (False, False) for run in near)
    assert neighbour and all(run == (False, False) for run in neighbour)
    assert from_hint.incumbent == pytest.approx(best.incumbent)
    assert from_near.incumbent == pytest.approx(best.incumbent)
    assert from_neighbour.incumbent == pytest.approx(best.incumbent)
    seen.clear()
    tie_break(mm, solver, from_near)
    assert seen and seen[-1] == (False, False)
