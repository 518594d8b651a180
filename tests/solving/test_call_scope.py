"""A solve belongs to its call: its stop, its given-up threads and its cores stay in it.

Calls in parallel processes, in worker threads or one after another in one
process must give the answers of one call at a time: a stop meant for one call
never reaches a later one, a HiGHS instance given up at the deadline is never
edited again while its thread may still be inside it, threads given up on are
waited for (bounded), and a call told to use one core starts no second solver
and no tie-break lane.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import ClassVar

import pytest
from scenario_builders import random_scenario, tiny_scenario

import planner.solving.cofinancing as cofinancing
import planner.solving.race as race_module
import planner.solving.ranking as ranking
import planner.solving.solver as solver_module
from planner.checks.verify import check_plan
from planner.model.common import canonical_order
from planner.model.matrix_model import build_matrix_model
from planner.plan import PlanSet, RunStatus
from planner.scenario.data import Scenario
from planner.solving.cofinancing import max_cofinancing
from planner.solving.ranking import rank_plans
from planner.solving.reach_flight import ReachFlight
from planner.solving.result import Termination, tolerance
from planner.solving.solver import (
    MatrixSolver,
    SolveScope,
    abandoned_solves_running,
    stop_all_solves,
)
from planner.solving.tie_break_lane import TieBreakLane


def _slowed(solver: MatrixSolver, seconds: float) -> None:
    """HiGHS sleeps `seconds` at every interrupt check (so it notices a deadline late)."""
    for event in (solver.highs.cbMipInterrupt, solver.highs.cbSimplexInterrupt):
        event.subscribe(lambda event: time.sleep(seconds))


def _hard() -> Scenario:
    """A scenario HiGHS cannot prove within seconds when slowed (as the CLI tests use)."""
    sc = random_scenario(6101, n_options=400, n_markets=80, n_offers=6, plans=3)
    return replace(sc, settings=replace(sc.settings, time_limit_s=120.0))


# -- a stop belongs to the calls running when it comes -----------------------------


def test_a_stop_with_nothing_running_leaves_later_calls_alone() -> None:
    stop_all_solves(wait=0.0)
    planset = rank_plans(tiny_scenario(plans=2))
    assert planset.status == RunStatus.OPTIMAL
    assert planset.plans and all(p.proven_optimal for p in planset.plans)


def test_a_stop_ends_the_call_running_then_and_not_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    init = MatrixSolver.__init__

    def slowed(self, *args, **kwargs) -> None:
        init(self, *args, **kwargs)
        _slowed(self, 0.002)

    monkeypatch.setattr(MatrixSolver, "__init__", slowed)
    outcome: list[PlanSet] = []
    call = threading.Thread(target=lambda: outcome.append(rank_plans(_hard(), threads=1)))
    call.start()
    waited = time.monotonic() + 60
    while not solver_module._inside_highs and call.is_alive() and time.monotonic() < waited:
        time.sleep(0.01)
    assert solver_module._inside_highs, "no solve started"
    stopped_at = time.monotonic()
    stop_all_solves(wait=5.0)
    call.join(30)
    assert not call.is_alive()
    assert time.monotonic() - stopped_at < 10, "the stopped call went on solving"
    (stopped,) = outcome
    assert stopped.status != RunStatus.OPTIMAL
    monkeypatch.setattr(MatrixSolver, "__init__", init)
    later = rank_plans(tiny_scenario(plans=2))
    assert later.status == RunStatus.OPTIMAL
    assert later.plans and all(p.proven_optimal for p in later.plans)


def test_a_stop_between_two_solves_still_stops_the_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stop that comes while the call is between solves (no thread inside HiGHS)."""
    real = ranking.reach_stage
    calls: list[int] = []

    def stopped_after_the_first(pm, solver, **options):
        result = real(pm, solver, **options)
        calls.append(1)
        if len(calls) == 1:
            stop_all_solves(wait=0.0)
        return result

    monkeypatch.setattr(ranking, "reach_stage", stopped_after_the_first)
    planset = rank_plans(tiny_scenario(plans=3), threads=1)
    assert len(planset.plans) == 1
    assert "the run was stopped" in planset.message
    monkeypatch.undo()
    assert len(rank_plans(tiny_scenario(plans=3), threads=1).plans) > 1


# -- a given-up solve's instance is never touched again ----------------------------


class _Recorder:
    """Stands in for the HiGHS instance once a solve on it was given up: records any use."""

    def __init__(self) -> None:
        self.used: list[str] = []

    def __getattr__(self, name: str):
        self.used.append(name)
        raise AssertionError(f"HiGHS instance used after its solve was given up: {name}")


def _abandoned_solver() -> MatrixSolver:
    """A solver whose reach stage was given up at the deadline, its thread still in HiGHS."""
    sc = canonical_order(random_scenario(6102, n_options=200, n_markets=40, n_offers=4))
    solver = MatrixSolver(build_matrix_model(sc), deadline=time.monotonic() + 30.0)
    _slowed(solver, 0.4)
    solver.use_objective("weighted_reach")
    solver.deadline = time.monotonic() + 0.2
    result = solver.solve()
    assert solver.abandoned is not None, "the solve was not given up"
    assert result.termination == Termination.TIME_LIMIT
    return solver


def test_a_given_up_instance_is_never_edited_or_solved_again() -> None:
    solver = _abandoned_solver()
    thread = solver.abandoned
    assert thread is not None and thread.is_alive()
    assert abandoned_solves_running()
    real, recorder = solver._highs, _Recorder()
    solver._highs = recorder  # type: ignore[assignment]
    try:
        model = solver.model
        rows_before = len(solver.extra_rows())
        solver.add_no_good_cut([0, 1], 1.0)
        solver.hold("weighted_reach", 1.0)
        solver.use_tie_break(1e-6)
        solver.set_start(model.col_lower.copy())
        solver.set_objective_offset(0.0)
        again = solver.solve()
        solver.clear_stage_rows()
        solver.drop_last_cut()
        solver.use_objective("weighted_reach")
        with pytest.raises(RuntimeError, match="given up"):
            solver.write_model("unused.mps")
    finally:
        solver._highs = real
    assert recorder.used == []
    assert again.termination == Termination.TIME_LIMIT and again.seconds == 0.0
    # The solver's own records still follow every edit (for checking starts).
    assert len(solver.extra_rows()) == rows_before
    assert solver.wait_given_up(time.monotonic() + 10.0)
    assert not thread.is_alive()
    assert not abandoned_solves_running()


def test_an_interrupt_while_waiting_gives_the_solve_up_and_stops_it() -> None:
    """Ctrl-C reaches the waiting thread, not HiGHS's: the solve is given up, never touched
    again, and told to stop at HiGHS's next check."""
    sc = canonical_order(random_scenario(6102, n_options=200, n_markets=40, n_offers=4))
    solver = MatrixSolver(build_matrix_model(sc), deadline=time.monotonic() + 60.0)
    _slowed(solver, 0.05)
    solver.use_objective("weighted_reach")
    solver.set_objective_offset(0.0)

    def ctrl_c() -> None:
        if solver_module._inside_highs:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        solver._run_watched(solver.highs, tick=ctrl_c)
    assert solver.abandoned is not None
    assert solver.wait_given_up(time.monotonic() + 5.0)
    assert solver.solve().termination == Termination.TIME_LIMIT  # refused at once


def test_the_threads_inside_highs_are_only_those_running_now() -> None:
    for _ in range(2):
        solver = _abandoned_solver()
        assert solver.wait_given_up(time.monotonic() + 10.0)
    assert solver_module._inside_highs == {}


def test_a_scope_waits_for_its_given_up_threads_until_the_instant_given() -> None:
    scope = SolveScope()
    quick = threading.Thread(target=time.sleep, args=(0.1,), daemon=True)
    slow = threading.Thread(target=time.sleep, args=(2.0,), daemon=True)
    quick.start()
    scope.give_up(quick)
    assert scope.end(until=time.monotonic() + 5.0)
    assert not quick.is_alive() and scope.stop.is_set()
    slow.start()
    scope.give_up(slow)
    began = time.monotonic()
    assert not scope.end(until=began + 0.1)
    assert time.monotonic() - began < 1.0
    assert scope.running() == [slow]


# -- the cores a call may use ------------------------------------------------------


class _IdleRival:
    """Stands in for CBC: starts, never answers."""

    made: ClassVar[list[_IdleRival]] = []

    def __init__(self, *args, **kwargs) -> None:
        _IdleRival.made.append(self)

    def done(self) -> bool:
        return False

    def answer(self) -> None:
        return None

    def stop(self, wait: float = 0.0) -> None:
        return None


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count second solvers, tie-break lanes and reach stages launched beside another, with
    CBC possible at once."""
    monkeypatch.setattr(race_module, "RACE_AFTER", 0.0)
    monkeypatch.setattr(race_module, "cbc_command", lambda: "stand-in")
    monkeypatch.setattr(solver_module, "rival_worthwhile", lambda model: True)
    monkeypatch.setattr(race_module, "CbcRival", _IdleRival)
    _IdleRival.made.clear()
    counts = {"lanes": 0, "flights": 0}
    init = TieBreakLane.__init__
    launch = ReachFlight.launch

    def launched(self) -> None:
        counts["flights"] += 1
        launch(self)

    monkeypatch.setattr(ReachFlight, "launch", launched)

    def counted(self, *args, **kwargs) -> None:
        counts["lanes"] += 1
        init(self, *args, **kwargs)

    monkeypatch.setattr(TieBreakLane, "__init__", counted)
    init_solver = MatrixSolver.__init__

    def slowed(self, *args, **kwargs) -> None:  # every solve lasts past the first tick
        init_solver(self, *args, **kwargs)
        _slowed(self, 0.002)

    monkeypatch.setattr(MatrixSolver, "__init__", slowed)
    return counts


def test_one_core_starts_no_second_solver_and_no_lane(started: dict[str, int]) -> None:
    """One core: HiGHS alone, one solve at a time. Two: CBC races plan 1's reach stage and
    the later ranks' reach stages run beside one another; the same plans."""
    sc = random_scenario(5200, n_options=30, n_markets=10, n_offers=3, plans=4)
    one = rank_plans(sc, threads=1)
    assert _IdleRival.made == [] and started["lanes"] == 0 and started["flights"] == 0
    assert not any(t.name in ("tie-break-lane", "reach-flight") for t in threading.enumerate())
    two = rank_plans(sc, threads=2)
    assert _IdleRival.made and started["flights"] >= 2  # the same call with two cores
    assert [p.options for p in one.plans] == [p.options for p in two.plans]


@pytest.mark.parametrize("threads", [0, -1, True, 1.5])
def test_threads_must_be_a_whole_number_of_at_least_one(threads: object) -> None:
    with pytest.raises(ValueError, match="threads"):
        rank_plans(tiny_scenario(), threads=threads)  # type: ignore[arg-type]


# -- the co-financing LP is bounded ------------------------------------------------


def test_cofinancing_out_of_time_keeps_the_solves_amounts_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checked = 0
    for seed in range(6):
        sc = random_scenario(5600 + seed, n_options=20, n_markets=8, n_offers=3, plans=2)
        exact = rank_plans(sc, threads=1)
        monkeypatch.setattr(cofinancing, "_solve_lp", lambda *args: None)
        estimated = rank_plans(sc, threads=1)
        monkeypatch.undo()
        assert estimated.status == exact.status
        if not any(p.cofinancing for p in exact.plans):
            continue
        checked += 1
        assert "co-financing amounts are the solver's own" in estimated.message
        for a, b in zip(estimated.plans, exact.plans, strict=True):
            assert check_plan(sc, a) == []
            assert a.options == b.options and a.offers == b.offers
            assert a.net_spend == pytest.approx(b.net_spend, abs=1e-5 * max(1.0, b.net_spend))
    assert checked >= 2, "too few scenarios used co-financing"


def test_amounts_beyond_the_rules_are_cut_back_to_them(monkeypatch: pytest.MonkeyPatch) -> None:
    sc = canonical_order(random_scenario(5700, n_options=20, n_markets=8, n_offers=3, plans=1))
    plan = rank_plans(sc, threads=1).plans[0]
    assert plan.cofinancing
    found = [(c.offer_id, c.option_id, 3.0 * c.amount + 1.0) for c in plan.cofinancing]
    monkeypatch.setattr(cofinancing, "_solve_lp", lambda *args: None)
    cut = max_cofinancing(
        sc, plan.options, plan.offers, deadline=time.monotonic() + 10, found=found
    )
    assert not cut.most and cut.amounts
    cost = {o.option_id: o.cost for o in sc.options}
    offer = {c.offer_id: c for c in sc.offers}
    share = sc.settings.max_cofinance_share
    by_offer: dict[str, float] = {}
    by_option: dict[str, float] = {}
    for c, o, amount in cut.amounts:
        assert amount <= min(offer[c].share, share) * cost[o] + tolerance(amount)
        by_offer[c] = by_offer.get(c, 0.0) + amount
        by_option[o] = by_option.get(o, 0.0) + amount
    for c, total in by_offer.items():
        assert total <= offer[c].cap + tolerance(total)
    for o, total in by_option.items():
        assert total <= share * cost[o] + tolerance(total)


def test_the_cofinancing_lp_runs_briefly_even_past_the_deadline() -> None:
    sc = canonical_order(random_scenario(5700, n_options=20, n_markets=8, n_offers=3, plans=1))
    plan = rank_plans(sc, threads=1).plans[0]
    late = max_cofinancing(sc, plan.options, plan.offers, deadline=time.monotonic() - 60.0)
    assert late.most
    assert [(c.offer_id, c.option_id) for c in plan.cofinancing] == [
        (c, o) for c, o, _ in late.amounts
    ]


# -- the lane's wait is bounded ----------------------------------------------------


def test_closing_the_lane_waits_a_bounded_time() -> None:
    sc = canonical_order(random_scenario(6103, n_options=200, n_markets=40, n_offers=4))
    mm = build_matrix_model(sc)
    main = MatrixSolver(mm, deadline=time.monotonic() + 30)
    main.use_objective("weighted_reach")
    reach = main.solve()
    assert reach.has_solution
    lane = TieBreakLane(mm, deadline=time.monotonic() + 30, mip_gap=0.0, grace=0.0)
    _slowed(lane._solver, 1.0)  # HiGHS notices the stop only a second late
    lane.start(reach, main.extra_rows())
    time.sleep(0.2)
    began = time.monotonic()
    lane.close(wait=0.3)
    assert time.monotonic() - began < 0.9
    assert lane.close(wait=10.0)  # the lane's thread gave its solve up and ended
    assert lane._solver.wait_given_up(time.monotonic() + 10.0)
