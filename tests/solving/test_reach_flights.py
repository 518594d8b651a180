"""Ranks solved ahead (`ranking._Ranking._chain`, `planner.solving.reach_flight`).

On small models each later rank's reach stage runs before the tie-break of the
rank before it (which then searches only that plan's neighbourhood), and with
two cores beside the rank before it on a guess. None of it may change a plan:
the plans brute force allows, the same on one core and two, whatever the
guesses were.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import numpy as np
import pytest
from model.test_model_bruteforce import assert_matches_bruteforce
from scenario_builders import random_scenario

import planner.solving.ranking as ranking
import planner.solving.reach_flight as reach_flight
import planner.solving.solver as solver_module
from planner.checks.verify import check_plan
from planner.model.common import canonical_order, extract_decisions
from planner.model.matrix_model import build_matrix_model
from planner.plan import PlanSet
from planner.scenario.data import Scenario
from planner.solving.model_rows import neighbourhood_row, no_good_row
from planner.solving.ranking import rank_plans
from planner.solving.reach_flight import ReachFlight, options_of
from planner.solving.result import Termination, tolerance
from planner.solving.solver import MatrixSolver
from planner.solving.stages import objective_tolerance, reach_stage, tie_break


@pytest.fixture(autouse=True)
def highs_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CBC beside HiGHS: the second core is the flights'."""
    monkeypatch.setattr(solver_module, "rival_worthwhile", lambda model: False)


def fractional(sc: Scenario) -> Scenario:
    """The same scenario with weights that are not whole numbers: every rank then has
    two stages (reach, then the tie-break), not one exact objective."""
    markets = tuple(
        replace(m, weight=round(m.weight * 1.37 + 0.11 * (i % 3), 6))
        for i, m in enumerate(sc.markets)
    )
    return replace(sc, markets=markets)


def same_plans(a: PlanSet, b: PlanSet) -> None:
    assert a.status == b.status and a.message == b.message
    assert [(p.options, p.offers, p.proven_optimal) for p in a.plans] == [
        (p.options, p.offers, p.proven_optimal) for p in b.plans
    ]
    for pa, pb in zip(a.plans, b.plans, strict=True):
        assert pa.weighted_reach == pytest.approx(
            pb.weighted_reach, abs=tolerance(pb.weighted_reach)
        )
        assert pa.net_spend == pytest.approx(pb.net_spend, abs=2 * tolerance(pb.net_spend))


def _wrong_guess(flight: ReachFlight) -> tuple[str, ...] | None:
    """A stand-in for `ReachFlight.start_options`: the start's options with the first left
    out and another put in, never the plan the rank ends on."""
    if flight.start is None:
        return None
    right = options_of(flight.model, flight.start)  # not start_options: this replaces it
    others = [o for o in flight.model.option_ids if o not in right]
    return tuple(sorted(right[1:] + tuple(others[:1])))


@pytest.mark.parametrize("seed", range(8))
def test_ranks_solved_ahead_are_the_plans_brute_force_allows(seed: int) -> None:
    d = 1 + seed % 2
    sc = fractional(
        random_scenario(
            7300 + seed, n_options=8 + seed % 4, n_offers=2, plans=5, min_plan_difference=d
        )
    )
    assert_matches_bruteforce(sc)
    same_plans(rank_plans(sc, threads=1), rank_plans(sc, threads=2))


@pytest.mark.parametrize("seed", range(4))
def test_one_core_and_two_give_the_same_plans(seed: int) -> None:
    for sc in (
        random_scenario(7400 + seed, n_options=40, n_markets=12, n_offers=4, plans=6),
        fractional(random_scenario(7410 + seed, n_options=40, n_markets=12, n_offers=4, plans=6)),
    ):
        one, two = rank_plans(sc, threads=1), rank_plans(sc, threads=2)
        same_plans(one, two)
        assert all(p.proven_optimal for p in two.plans)
        assert all(check_plan(sc, p) == [] for p in two.plans)


def test_a_tie_break_within_the_neighbourhood_is_the_whole_tie_break() -> None:
    """Once the next rank proves that every plan meeting the cut reaches less, the
    tie-break among the plans leaving out fewer options than the cut asks is the whole
    one: the same least net spend and options. (Scenarios whose second rank ties with the
    first are passed over: there the whole tie-break runs.)"""
    compared = 0
    for seed in range(7500, 7540):
        d = 1 + seed % 2
        sc = canonical_order(
            fractional(random_scenario(seed, n_options=24, n_markets=8, n_offers=3))
        )
        mm = build_matrix_model(sc)
        index = mm.option_index()
        first = reach_stage(mm, MatrixSolver(mm, deadline=time.monotonic() + 60))
        assert first.termination == Termination.OPTIMAL and first.incumbent is not None
        options = extract_decisions(mm, list(first.x), list(first.y), list(first.z))[0]
        chosen = sorted(index[o] for o in options)
        if len(chosen) <= d:
            continue
        following = MatrixSolver(mm, deadline=time.monotonic() + 60)
        following.add_no_good_cut(chosen, len(chosen) - d)
        after = reach_stage(mm, following)
        held = first.incumbent - objective_tolerance(mm, "weighted_reach", first.incumbent)
        if after.termination != Termination.INFEASIBLE and (
            after.bound is None or after.bound >= held
        ):
            continue
        whole = tie_break(mm, MatrixSolver(mm, deadline=time.monotonic() + 60), first)
        near = tie_break(
            mm,
            MatrixSolver(mm, deadline=time.monotonic() + 60),
            first,
            within=neighbourhood_row(mm, chosen, d),
        )
        assert whole.proven and near.proven
        spend, count = mm.objectives["net_spend"], mm.objectives["option_count"]
        a, b = whole.best.columns(), near.best.columns()
        least = float(spend @ a)
        assert float(spend @ b) == pytest.approx(least, abs=tolerance(least))
        assert float(count @ b) == pytest.approx(float(count @ a))
        compared += 1
    assert compared >= 5


def test_a_neighbourhood_row_holds_exactly_the_plans_the_cut_bars() -> None:
    sc = canonical_order(random_scenario(7600, n_options=6, n_markets=3))
    mm = build_matrix_model(sc)
    plan = [0, 2, 3]
    for d in (1, 2, 3):
        cut, near = no_good_row(mm, plan, len(plan) - d), neighbourhood_row(mm, plan, d)
        for bits in range(2 ** len(mm.option_ids)):
            x = np.array([(bits >> i) & 1 for i in range(len(mm.option_ids))], dtype=float)
            activity = float(x[cut.cols - mm.x_start].sum())
            meets_cut = activity <= cut.upper
            in_near = activity >= near.lower
            assert meets_cut != in_near


def test_wrong_guesses_are_launched_again_and_change_no_plan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every flight launched beside another guesses wrong: each is cancelled, its rank
    solved again on what happened; the plans are those of one core."""
    cancelled: list[int] = []
    cancel = ReachFlight.cancel

    def counted(self, wait: float = reach_flight.CANCEL_WAIT) -> bool:
        cancelled.append(len(self.after))
        return cancel(self, wait)

    for seed in range(3):
        sc = fractional(random_scenario(7700 + seed, n_options=30, n_markets=10, plans=5))
        one = rank_plans(sc, threads=1)
        monkeypatch.setattr(ReachFlight, "start_options", property(_wrong_guess))
        monkeypatch.setattr(ReachFlight, "cancel", counted)
        two = rank_plans(sc, threads=2)
        monkeypatch.undo()
        monkeypatch.setattr(solver_module, "rival_worthwhile", lambda model: False)
        same_plans(one, two)
    assert cancelled, "no wrong guess was ever noticed"


def test_a_tie_break_that_changes_the_options_solves_the_next_rank_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cut (and neighbourhood) of a wrong option set: the tie-break still finds the
    rank's plan, and the next rank is solved again under that plan's own cut."""
    real = ranking._speculated_options
    again: list[int] = []
    fly = ranking._Ranking._fly

    def counted(self, rank, before, *args):
        if before == self._kept_options():  # the rank before it is kept: flown again
            again.append(rank)
        return fly(self, rank, before, *args)

    def wrong(pm, reach):
        options = real(pm, reach)
        others = [o for o in pm.option_ids if o not in options]
        return tuple(sorted(options[1:] + tuple(others[:1])))

    for seed in range(3):
        sc = fractional(random_scenario(7800 + seed, n_options=24, n_markets=8, plans=4))
        expected = rank_plans(sc, threads=1)
        monkeypatch.setattr(ranking, "_speculated_options", wrong)
        monkeypatch.setattr(ranking._Ranking, "_fly", counted)
        for threads in (1, 2):
            same_plans(rank_plans(sc, threads=threads), expected)
        monkeypatch.undo()
        monkeypatch.setattr(solver_module, "rival_worthwhile", lambda model: False)
    assert again, "no rank was solved again"


def test_an_error_in_a_flight_reaches_the_caller_and_leaves_no_solve_running(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """(An error in a flight cancelled for a wrong guess is dropped with it: the rank's
    own flight meets it again.)"""
    real = reach_flight.reach_stage
    calls: list[int] = []

    def failing_after_the_first(pm, solver, **options):
        calls.append(1)
        if len(calls) >= 2:
            raise ranking.SolverTroubleError("HiGHS reported numerical trouble")
        return real(pm, solver, **options)

    monkeypatch.setattr(reach_flight, "reach_stage", failing_after_the_first)
    sc = fractional(random_scenario(7900, n_options=30, n_markets=10, n_offers=3, plans=5))
    with pytest.raises(ranking.SolverTroubleError, match="numerical trouble"):
        rank_plans(sc, threads=2)
    deadline = time.monotonic() + 5.0
    while any(t.name == "reach-flight" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "a flight still solves after the call ended"
        time.sleep(0.01)


def _slowed_flights(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every flight's HiGHS pauses 2 ms at each interrupt check: its solve lasts past the
    waiting thread's ticks, as it does on the benchmark's scenarios."""
    made = ReachFlight.__init__

    def slowed(self, model, **options):
        made(self, model, **options)
        self.solver.highs.cbMipInterrupt.subscribe(lambda event: time.sleep(0.002))

    monkeypatch.setattr(ReachFlight, "__init__", slowed)


def test_a_flight_launched_again_on_a_plan_found_midway_changes_no_plan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A flight beside another is launched again each time that one holds a plan other
    than its guess (`_guess_again`; here every guess is wrong, so the plan held from the
    start on differs); kept only when that plan is the rank's answer and its pool the one
    one core would use: the plans of one core."""
    again: list[int] = []
    guess_again = ranking._Ranking._guess_again

    def counted(self, rank, flight):
        before = self.flights.get(rank + 1)
        guess_again(self, rank, flight)
        if self.flights.get(rank + 1) is not before:
            again.append(rank + 1)

    for seed in range(3):
        sc = fractional(random_scenario(8000 + seed, n_options=40, n_markets=12, plans=5))
        one = rank_plans(sc, threads=1)
        with monkeypatch.context() as patched:
            _slowed_flights(patched)
            patched.setattr(ReachFlight, "start_options", property(_wrong_guess))
            patched.setattr(ranking._Ranking, "_guess_again", counted)
            two = rank_plans(sc, threads=2)
        same_plans(one, two)
    assert again, "no flight was ever launched again"


def test_rank_2_launched_while_rank_1_is_solved_changes_no_plan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With two cores rank 2's flight starts on the plan rank 1's solve has found so far
    (`_fly_early`); the plans are those of one core, and one core launches none."""
    early: list[int] = []
    fly_early = ranking._Ranking._fly_early

    def counted(self):
        before = self.flights.get(2)
        fly_early(self)
        if self.flights.get(2) is not before:
            early.append(self.cores)

    monkeypatch.setattr(ranking._Ranking, "_fly_early", counted)
    _slowed_flights(monkeypatch)
    for seed in range(4):
        sc = fractional(
            random_scenario(8100 + seed, n_options=120, n_markets=30, n_offers=5, plans=4)
        )
        one = rank_plans(sc, threads=1)
        assert early == []
        same_plans(one, rank_plans(sc, threads=2))
        if early:
            break
    assert early, "rank 2 was never launched while rank 1 was solved"
