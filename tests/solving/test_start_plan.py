"""The greedy start plan: it must meet every SPEC §3 rule, checked from the input data.

The start is what a large run reports when HiGHS has nothing better by the
deadline, so it is held to the same standard as a solved plan: verified by
`planner.checks.verify` (which knows nothing of the model), with the reach it claims
recomputed from the scenario.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest
from scenario_builders import random_scenario, sorted_scenario

from planner.checks.verify import check_plan, evaluate_plan, make_plan
from planner.model.common import extract_decisions
from planner.model.matrix_model import MatrixModel, build_matrix_model
from planner.plan import CoFinancing
from planner.scenario.data import Coverage, Market, Offer, Option, Partner, Scenario, Settings
from planner.solving import solver as solver_module
from planner.solving.lp_start import lp_guided_start
from planner.solving.model_rows import ExtraRow, feasible
from planner.solving.ranking import rank_plans
from planner.solving.result import Termination
from planner.solving.solver import MatrixSolver
from planner.solving.start_plan import greedy_start


def _verified_reach(mm: MatrixModel, values: np.ndarray) -> float:
    """Check the start as a plan, with its own co-financing amounts; its recomputed reach."""
    options, offers, amounts = extract_decisions(
        mm,
        list(values[mm.x_start : mm.y_start]),
        list(values[mm.y_start : mm.z_start]),
        list(values[mm.z_start : mm.u_start]),
    )
    cofinancing = [CoFinancing(c, o, a) for c, o, a in amounts]
    plan = make_plan(
        mm.scenario, 1, options, offers, cofinancing, bound=0.0, proven_optimal=False, gap=None
    )
    assert check_plan(mm.scenario, plan) == []
    metrics = evaluate_plan(mm.scenario, options, offers, cofinancing)
    return metrics.weighted_reach


@pytest.mark.parametrize("seed", range(40))
def test_greedy_start_is_a_verified_plan_below_the_optimum(seed: int) -> None:
    sc = random_scenario(900 + seed, n_options=10, n_markets=5, n_offers=3, plans=1)
    mm = build_matrix_model(sc)
    values = greedy_start(mm)
    if values is None:
        return  # allowed: a `>=` rule the greedy could not meet
    assert feasible(mm, (), values)
    claimed = float(mm.objectives["weighted_reach"] @ values)
    assert claimed == pytest.approx(_verified_reach(mm, values), rel=1e-9, abs=1e-9)
    best = rank_plans(sc)
    if best.plans:
        assert claimed <= best.plans[0].weighted_reach + 1e-6


def test_greedy_start_finds_plans_on_most_random_scenarios() -> None:
    """A heuristic that gives up everywhere would pass the test above: it must not."""
    found = 0
    for seed in range(40):
        sc = random_scenario(900 + seed, n_options=10, n_markets=5, n_offers=3, plans=1)
        values = greedy_start(build_matrix_model(sc))
        found += values is not None and float(values[: len(sc.options)].sum()) > 0
    assert found >= 30


@pytest.mark.parametrize("seed", range(10))
def test_greedy_start_honours_no_good_cuts(seed: int) -> None:
    sc = random_scenario(950 + seed, n_options=10, n_markets=5, n_offers=2, plans=1)
    mm = build_matrix_model(sc)
    first = greedy_start(mm)
    if first is None:
        return
    chosen = np.flatnonzero(first[: mm.y_start] > 0.5).astype(np.int32)
    if len(chosen) == 0:
        return
    cut = ExtraRow(chosen, np.ones(len(chosen)), -np.inf, float(len(chosen) - 1))
    second = greedy_start(mm, [cut])
    if second is None:
        return
    assert feasible(mm, [cut], second)
    assert (second[chosen] < 0.5).any()
    _verified_reach(mm, second)


def test_greedy_start_takes_offers_that_pay_for_themselves() -> None:
    """Co-financing frees budget: with an offer paying half of every cost, the start
    takes it and then affords options the budget alone could not."""
    options = tuple(Option(f"O{i}", "P1", f"O{i}", "cloud", None, 10.0) for i in range(6))
    sc = sorted_scenario(
        Scenario(
            name="offer-pays",
            settings=Settings(budget=20.0, home_country="Home", plans=1),
            markets=(Market("M1", "M1", "East Africa", 1.0, 100.0),),
            partners=(Partner("P1", "P1", "Home", 80.0),),
            options=options,
            coverage=tuple(Coverage(o.option_id, "M1", 5.0) for o in options),
            offers=(Offer("C1", "Fund", share=0.5, cap=1000.0, fee=1.0),),
        )
    )
    mm = build_matrix_model(sc)
    values = greedy_start(mm)
    assert values is not None
    assert values[mm.y_start] == 1.0  # the offer is taken
    assert values[: mm.y_start].sum() >= 3  # 2 options fit without it
    assert _verified_reach(mm, values) >= 15.0


def test_an_infeasible_must_leaves_no_start() -> None:
    sc = random_scenario(3, n_options=6, plans=1)
    costly = max(sc.options, key=lambda o: o.cost)
    options = tuple(replace(o, decision="must") if o is costly else o for o in sc.options)
    sc = replace(sc, options=options, settings=replace(sc.settings, budget=costly.cost / 2))
    assert greedy_start(build_matrix_model(sc)) is None


def test_the_solver_answers_with_the_start_when_out_of_time() -> None:
    """A solve refused at the deadline still reports the start plan, unproven, with no bound."""
    sc = random_scenario(905, n_options=10, n_markets=5, n_offers=3, plans=1)
    mm = build_matrix_model(sc)
    values = greedy_start(mm)
    assert values is not None
    solver = MatrixSolver(mm, deadline=time.monotonic() + 30.0)
    solver.deadline = time.monotonic() - 1.0
    solver.use_objective("weighted_reach")
    solver.set_start(values)
    result = solver.solve()
    assert result.termination == Termination.TIME_LIMIT
    assert result.incumbent == pytest.approx(float(mm.objectives["weighted_reach"] @ values))
    assert np.array_equal(result.columns(), values)


def test_a_start_that_breaks_a_row_is_never_reported() -> None:
    sc = random_scenario(905, n_options=10, n_markets=5, n_offers=3, plans=1)
    mm = build_matrix_model(sc)
    bad = mm.col_upper.copy()  # every option: over budget
    solver = MatrixSolver(mm, deadline=time.monotonic() + 30.0)
    solver.deadline = time.monotonic() - 1.0
    solver.set_start(bad)
    assert not solver.solve().has_solution


def test_lp_guided_start_is_a_verified_plan_that_honours_cuts() -> None:
    """Most seeds must give a plan (a fixed sub-MIP may be infeasible: then None)."""
    found = 0
    for seed in range(6):
        sc = random_scenario(970 + seed, n_options=14, n_markets=6, n_offers=3, plans=1)
        mm = build_matrix_model(sc)
        now = time.monotonic()
        guided = lp_guided_start(mm, [], lp_deadline=now + 20.0, deadline=now + 20.0)
        if guided is None or guided.values is None:
            continue
        first = guided.values
        assert feasible(mm, (), first, tol=1e-6)
        _verified_reach(mm, np.round(first, 9))
        chosen = np.flatnonzero(first[: mm.y_start] > 0.5).astype(np.int32)
        if len(chosen) == 0:
            continue
        found += 1
        cut = ExtraRow(chosen, np.ones(len(chosen)), -np.inf, float(len(chosen) - 1))
        again = lp_guided_start(mm, [cut], lp_deadline=now + 20.0, deadline=now + 20.0)
        second = None if again is None else again.values
        if second is not None:
            assert feasible(mm, [cut], second, tol=1e-6)
            assert (second[chosen] < 0.5).any()
    assert found >= 4


def test_lp_guided_start_gives_up_when_its_lp_is_out_of_time() -> None:
    sc = random_scenario(971, n_options=14, n_markets=6, n_offers=3, plans=1)
    mm = build_matrix_model(sc)
    past = time.monotonic() - 1.0
    assert lp_guided_start(mm, [], lp_deadline=past, deadline=past) is None


def _best_reach(sc: Scenario) -> float:
    from model.test_model_bruteforce import enumerate_plans  # tests/model, by its path

    return max((reach for _, reach, *_ in enumerate_plans(sc)), default=0.0)


@pytest.mark.parametrize("seed", range(4))
def test_lp_guided_search_bound_is_above_every_plan(seed: int) -> None:
    """The LP bound the search reports must hold for the best plan found by enumeration."""
    sc = sorted_scenario(random_scenario(990 + seed, n_options=10, n_markets=5, n_offers=2))
    mm = build_matrix_model(sc)
    now = time.monotonic()
    guided = lp_guided_start(mm, [], lp_deadline=now + 20.0, deadline=now + 20.0)
    assert guided is not None
    best = _best_reach(sc)
    assert guided.lp_bound >= best - 1e-6 * max(1.0, best)
    if guided.values is not None:
        assert _verified_reach(mm, np.round(guided.values, 9)) <= best + 1e-6 * max(1.0, best)


def test_rins_rounds_improve_a_poor_known_plan() -> None:
    """With RENS given no time, the rounds alone must climb from a one-option plan."""
    improved = 0
    for seed in range(6):
        sc = random_scenario(1010 + seed, n_options=30, n_markets=10, n_offers=3, plans=1)
        mm = build_matrix_model(sc)
        reach = mm.objectives["weighted_reach"]
        poor = _poor_plan(mm)
        if poor is None:
            continue
        now = time.monotonic()
        guided = lp_guided_start(
            mm,
            [],
            lp_deadline=now + 20.0,
            rens_deadline=now - 1.0,
            deadline=now + 20.0,
            known=[poor],
        )
        assert guided is not None and guided.values is not None
        assert feasible(mm, (), guided.values, tol=1e-6)
        assert float(reach @ guided.values) >= float(reach @ poor) - 1e-9
        _verified_reach(mm, np.round(guided.values, 9))
        improved += float(reach @ guided.values) > float(reach @ poor) + 1e-6
    assert improved >= 3


def _poor_plan(mm: MatrixModel) -> np.ndarray | None:
    """A plan of only the greedy plan's first option (when the greedy chose two or more)."""
    greedy = greedy_start(mm)
    if greedy is None:
        return None
    chosen = np.flatnonzero(greedy[: mm.y_start] > 0.5)
    return _with_only(mm, int(chosen[0])) if len(chosen) >= 2 else None


def _with_only(mm: MatrixModel, option: int) -> np.ndarray | None:
    """A feasible vector pursuing only `option`, its reach at the most it allows, or None."""
    lower, upper = mm.col_lower.copy(), mm.col_upper.copy()
    binary = mm.integrality == 1
    upper[binary] = 0.0
    upper[option] = 1.0
    lower[option] = 1.0
    solver = MatrixSolver(
        replace(mm, col_lower=lower, col_upper=upper), deadline=time.monotonic() + 20
    )
    solver.use_objective("weighted_reach")
    found = solver.solve()
    return found.columns() if found.has_solution else None


@pytest.mark.parametrize("seed", range(3))
def test_the_large_model_path_finds_the_enumerated_optimum(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Greedy, LP-guided search and the LP bound (every model treated as large) end at the
    optimum enumeration finds, proven, with every plan verified from the scenario."""
    monkeypatch.setattr(solver_module, "SMALL_MODEL_NONZEROS", 0)
    sc = sorted_scenario(random_scenario(1030 + seed, n_options=10, n_markets=5, n_offers=2))
    sc = replace(sc, settings=replace(sc.settings, plans=1))
    planset = rank_plans(sc)
    best = _best_reach(sc)
    if best <= 1e-9:
        assert not planset.plans
        return
    (plan,) = planset.plans
    assert check_plan(sc, plan) == []
    assert abs(plan.weighted_reach - best) <= 1e-6 * max(1.0, best)
    assert plan.proven_optimal
    assert plan.bound >= plan.weighted_reach - 1e-9


def test_without_rounds_the_search_is_rens_alone() -> None:
    """Below `RINS_MIN_NONZEROS` no round runs: with RENS given no time, the known plan
    comes back as it went in, where rounds would have improved it."""
    from planner.solving.stages import RINS_MIN_NONZEROS

    sc = random_scenario(1010, n_options=30, n_markets=10, n_offers=3, plans=1)
    mm = build_matrix_model(sc)
    assert len(mm.row_value) < RINS_MIN_NONZEROS
    reach = mm.objectives["weighted_reach"]
    poor = _poor_plan(mm)
    assert poor is not None
    now = time.monotonic()
    kwargs = {"lp_deadline": now + 20.0, "rens_deadline": now - 1.0, "deadline": now + 20.0}
    alone = lp_guided_start(mm, [], known=[poor], rounds=False, **kwargs)
    rounds = lp_guided_start(mm, [], known=[poor], **kwargs)
    assert alone is not None and alone.values is not None
    assert np.array_equal(alone.values, poor)
    assert rounds is not None and rounds.values is not None
    assert float(reach @ rounds.values) > float(reach @ poor) + 1e-6
