"""CBC beside HiGHS (`planner.solving.cbc_rival`, `planner.solving.race`): same plans, sound proofs.

The race logic is tested with a stand-in rival that answers at once (so it
always "finishes first"), the real binary where one is installed.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import ClassVar

import highspy
import numpy as np
import pytest
from orlib import knapsack_scenario
from scenario_builders import random_scenario

import planner.solving.race as race_module
import planner.solving.solver as solver_module
from planner.checks.verify import check_plan
from planner.model.matrix_model import build_matrix_model
from planner.solving.cbc_rival import CbcRival, RivalAnswer, cbc_command
from planner.solving.highs_instance import HIGHS_THREADS
from planner.solving.model_rows import feasible
from planner.solving.race import StageRace
from planner.solving.ranking import rank_plans
from planner.solving.result import SolveResult, Termination, tolerance
from planner.solving.solver import MatrixSolver


def _optimum(lp: highspy.HighsLp) -> tuple[np.ndarray, float]:
    """HiGHS's optimal solution and objective of a copy of the model (for stand-in rivals)."""
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("threads", HIGHS_THREADS)  # HiGHS's thread pool is process-wide
    h.passModel(lp)
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return np.array(h.getSolution().col_value), h.getInfo().objective_function_value


#: The current solve's optimum, computed before HiGHS starts (so the stand-in can
#: answer at once).
OPTIMUM: list[tuple[np.ndarray, float]] = []


class ProvingRival:
    """Stands in for CBC: proves the optimum (computed beforehand by HiGHS) at once."""

    made: ClassVar[list[ProvingRival]] = []

    def __init__(self, lp, *, command, maximise, seconds, rel_gap, abs_gap, cutoff=None) -> None:
        self.values, value = OPTIMUM[-1]
        self.bound = value - lp.offset_
        self.stopped = False
        self.checking = cutoff is not None
        """Made as the race's uniqueness check (model without the plan, cut off below it)."""
        ProvingRival.made.append(self)

    def done(self) -> bool:
        return True

    def answer(self) -> RivalAnswer:
        # As a uniqueness check it "finds" a plan (the optimum again): not unique.
        return RivalAnswer(proven=True, values=self.values, bound=self.bound)

    def stop(self, wait: float = 0.0) -> RivalAnswer:
        self.stopped = True
        return self.answer()


class UniqueRival(ProvingRival):
    """Proves the optimum at once, and as the uniqueness check finds no other plan."""

    def answer(self) -> RivalAnswer:
        if self.checking:
            return RivalAnswer(proven=False, values=None, bound=None, infeasible=True)
        return super().answer()


class BrokenRival(ProvingRival):
    """Claims a proof for a vector that breaks the model's rows: must never be used."""

    def answer(self) -> RivalAnswer:
        return RivalAnswer(proven=True, values=np.full(len(self.values), 7.0), bound=1e9)


RIVAL_ANSWERS: list[str] = []
"""Messages of the stage answers that came from the race (filled by `eager_race`)."""


@pytest.fixture
def eager_race(monkeypatch: pytest.MonkeyPatch):
    """Race on every solve from its first tick, with whichever rival class the test sets.

    HiGHS is slowed (2 ms per interrupt check) so that the stand-in, which
    answers at once, reliably finishes first.
    """
    monkeypatch.setattr(race_module, "RACE_AFTER", 0.0)
    monkeypatch.setattr(race_module, "cbc_command", lambda: "stand-in")
    monkeypatch.setattr(solver_module, "rival_worthwhile", lambda model: True)
    ProvingRival.made.clear()
    RIVAL_ANSWERS.clear()
    init, settle, run = MatrixSolver.__init__, StageRace.settle, MatrixSolver._run_once

    def run_after_solving_alone(self, presolve, started):
        OPTIMUM.append(_optimum(self.highs.getLp()))
        return run(self, presolve, started)

    def slowed_init(self, *args, **kwargs) -> None:
        init(self, *args, **kwargs)
        for event in (self.highs.cbMipInterrupt, self.highs.cbSimplexInterrupt):
            event.subscribe(lambda event: time.sleep(0.002))

    def recorded_settle(self, result):
        answer = settle(self, result)
        if "CBC" in answer.message:
            RIVAL_ANSWERS.append(answer.message)
        return answer

    monkeypatch.setattr(MatrixSolver, "__init__", slowed_init)
    monkeypatch.setattr(StageRace, "settle", recorded_settle)
    monkeypatch.setattr(MatrixSolver, "_run_once", run_after_solving_alone)

    def use(rival_class: type) -> None:
        monkeypatch.setattr(race_module, "CbcRival", rival_class)

    return use


def _key(planset) -> list[tuple[float, float, int]]:
    return [(p.weighted_reach, p.net_spend, len(p.options)) for p in planset.plans]


def _same_keys(a, b) -> None:
    assert len(a) == len(b)
    for (wa, na, ca), (wb, nb, cb) in zip(a, b, strict=True):
        assert wa == pytest.approx(wb, abs=tolerance(wb))
        assert na == pytest.approx(nb, abs=2 * tolerance(nb))
        assert ca == cb


def test_plans_proven_by_the_rival_are_the_plans_highs_proves(eager_race) -> None:
    eager_race(ProvingRival)
    decided = 0
    for seed in range(10):
        sc = random_scenario(4100 + seed, n_options=40, n_markets=12, n_offers=3, plans=3)
        alone = rank_plans(sc, threads=1)
        RIVAL_ANSWERS.clear()
        raced = rank_plans(sc, threads=2)
        decided += bool(RIVAL_ANSWERS)
        assert raced.status == alone.status
        _same_keys(_key(raced), _key(alone))
        for plan in raced.plans:
            assert check_plan(sc, plan) == []
            assert plan.proven_optimal
            assert plan.bound >= plan.weighted_reach - tolerance(plan.weighted_reach)
    # Some scenarios HiGHS's presolve solves outright, before the rival can answer, and
    # later ranks start from a plan of the solution pool that HiGHS then proves alone.
    assert decided >= 3, f"the rival's proof decided a stage on only {decided} of 10 scenarios"


def test_a_rival_proof_ends_highs_without_spoiling_the_next_solve(eager_race) -> None:
    """HiGHS keeps its interrupt flag between runs; the stage after a rival's proof must
    still be solved (it once ended at once as 'interrupted by user')."""
    eager_race(ProvingRival)
    sc = random_scenario(4242, n_options=30, n_markets=10, n_offers=3, plans=3)
    mm = build_matrix_model(sc)
    solver = MatrixSolver(mm, deadline=time.monotonic() + 60, race=True)
    first = solver.solve()
    second = solver.solve()
    assert first.termination == second.termination == Termination.OPTIMAL
    assert len(RIVAL_ANSWERS) == 2
    assert second.incumbent == pytest.approx(first.incumbent, abs=tolerance(first.incumbent))
    assert all(r.stopped for r in ProvingRival.made)


def test_a_solution_found_before_the_rival_started_is_the_answer_it_proves(
    eager_race, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HiGHS reports the optimal start at once, before CBC is started; the race must
    still recognise it as HiGHS's first solution within the proven gap."""
    eager_race(ProvingRival)
    tick = StageRace.tick

    def once_highs_has_a_solution(self) -> None:
        # The rival starts only after HiGHS reported its first solution (the start),
        # whatever the machine's speed (a fixed delay made this test flaky under load).
        if self.rival is None and not self.improving:
            return
        tick(self)

    monkeypatch.setattr(StageRace, "tick", once_highs_has_a_solution)
    sc = random_scenario(4243, n_options=60, n_markets=20, n_offers=3, plans=1)
    mm = build_matrix_model(sc)
    alone = MatrixSolver(mm, deadline=time.monotonic() + 60).solve()
    assert alone.termination == Termination.OPTIMAL
    solver = MatrixSolver(mm, deadline=time.monotonic() + 60, race=True)
    solver.set_start(alone.columns())
    raced = solver.solve()
    assert raced.termination == Termination.OPTIMAL
    assert "CBC" in raced.message
    assert np.array_equal(raced.columns(), alone.columns())


def test_a_rival_answer_that_breaks_a_row_is_ignored(eager_race) -> None:
    eager_race(BrokenRival)
    sc = random_scenario(4300, n_options=14, n_markets=6, n_offers=3, plans=2)
    alone = rank_plans(sc, threads=1)
    raced = rank_plans(sc, threads=2)
    _same_keys(_key(raced), _key(alone))
    assert ProvingRival.made, "the stand-in rival never ran"
    for plan in raced.plans:
        assert check_plan(sc, plan) == []


def test_out_of_time_the_better_solution_and_the_tighter_bound_win(eager_race) -> None:
    """Neither solver proved: the answer combines the best of both, and says so."""
    eager_race(ProvingRival)
    sc = random_scenario(4400, n_options=14, n_markets=6, n_offers=3, plans=1)
    mm = build_matrix_model(sc)
    solver = MatrixSolver(mm, deadline=time.monotonic() + 60, race=True)
    lp = solver.highs.getLp()
    values, optimum = _optimum(lp)
    OPTIMUM.append((values, optimum))

    class Unproven(ProvingRival):
        def answer(self) -> RivalAnswer:
            return RivalAnswer(proven=False, values=values, bound=optimum + 1)

    race = solver._new_race(time.monotonic())
    race.rival = Unproven(  # as `StageRace.tick` would have started it
        lp, command="", maximise=True, seconds=1, rel_gap=0, abs_gap=0
    )
    weak = SolveResult(Termination.TIME_LIMIT, 0.0, optimum + 50, 1.0, message="time limit")
    merged = race.settle(weak)
    race.end()
    assert merged.termination == Termination.TIME_LIMIT
    assert merged.incumbent == pytest.approx(optimum)
    assert merged.bound == pytest.approx(optimum + 1)
    assert feasible(mm, (), merged.columns())
    assert "CBC" in merged.message


def _random_knapsack(seed: int, n: int = 24, m: int = 3):
    """A multi-dimensional knapsack with integral data, as a scenario (one exact objective)."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(10, 100, size=(m, n)).astype(float)
    profits = rng.integers(10, 100, size=n).astype(float)
    return knapsack_scenario(
        profits.tolist(), rows.tolist(), (rows.sum(axis=1) // 3).tolist(), time_limit=60.0
    )


@pytest.fixture
def slow_highs(monkeypatch: pytest.MonkeyPatch) -> None:
    """HiGHS 20 ms per interrupt check: the rivals' answers come long before its own."""
    init = MatrixSolver.__init__

    def slowed_more(self, *args, **kwargs) -> None:
        init(self, *args, **kwargs)
        self.highs.cbMipInterrupt.subscribe(lambda event: time.sleep(0.02))

    monkeypatch.setattr(MatrixSolver, "__init__", slowed_more)


def test_a_plan_proven_the_only_optimum_is_taken_at_once(eager_race, slow_highs) -> None:
    """One exact objective: CBC's plan, shown to be the only plan of its value, is what
    HiGHS would return too, so the stage ends with it without waiting for HiGHS."""
    eager_race(UniqueRival)
    taken = 0
    for seed in range(4):
        sc = _random_knapsack(4600 + seed)
        alone = rank_plans(sc, threads=1)
        RIVAL_ANSWERS.clear()
        raced = rank_plans(sc, threads=2)
        taken += any("only plan" in message for message in RIVAL_ANSWERS)
        assert raced.plans[0].options == alone.plans[0].options
        assert raced.plans[0].proven_optimal and check_plan(sc, raced.plans[0]) == []
    assert taken >= 2, f"CBC's unique plan was taken on only {taken} of 4 knapsacks"
    assert any(r.checking for r in ProvingRival.made), "the uniqueness check never ran"


def test_without_uniqueness_the_stage_waits_for_highs(eager_race, slow_highs) -> None:
    """The check finds another plan of the same value: HiGHS's own plan is the answer."""
    eager_race(ProvingRival)
    sc = _random_knapsack(4610)
    alone = rank_plans(sc, threads=1)
    RIVAL_ANSWERS.clear()
    raced = rank_plans(sc, threads=2)
    assert raced.plans[0].options == alone.plans[0].options
    assert not any("only plan" in message for message in RIVAL_ANSWERS)
    assert any(r.checking for r in ProvingRival.made), "the uniqueness check never ran"


def test_no_uniqueness_check_without_one_exact_objective(eager_race, slow_highs) -> None:
    """Decimal data: plan values are not integers, so a cutoff half a unit below could
    hide a different plan of nearly the same value; the check must not run."""
    eager_race(UniqueRival)
    sc = random_scenario(4620, n_options=14, n_markets=6, n_offers=3, plans=1)
    rank_plans(sc, threads=2)
    assert ProvingRival.made and not any(r.checking for r in ProvingRival.made)


def _knapsack_lp(seed: int, n: int = 40) -> tuple[highspy.HighsLp, float]:
    """A small multi-dimensional knapsack, maximised, and its optimum by HiGHS."""
    rng = np.random.default_rng(seed)
    weights = rng.integers(10, 100, size=(3, n)).astype(float)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.passModel(_lp(rng.integers(10, 100, size=n).astype(float), weights, weights.sum(axis=1) / 3))
    lp = h.getLp()
    _, value = _optimum(lp)
    return lp, value


def _lp(profit: np.ndarray, weights: np.ndarray, capacity: np.ndarray) -> highspy.HighsLp:
    lp = highspy.HighsLp()
    m, n = weights.shape
    lp.num_col_, lp.num_row_ = n, m
    lp.col_cost_ = profit
    lp.col_lower_, lp.col_upper_ = np.zeros(n), np.ones(n)
    lp.row_lower_, lp.row_upper_ = np.full(m, -highspy.kHighsInf), capacity
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.offset_ = 3.0  # left out of CBC's model; the caller adds it back
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.arange(0, m * n + 1, m)
    lp.a_matrix_.index_ = np.tile(np.arange(m), n)
    lp.a_matrix_.value_ = weights.T.ravel()
    return lp


needs_cbc = pytest.mark.skipif(cbc_command() is None, reason="no CBC binary on this machine")


@needs_cbc
@pytest.mark.parametrize("seed", range(3))
def test_cbc_proves_the_optimum_highs_proves(seed: int) -> None:
    lp, optimum = _knapsack_lp(seed)
    command = cbc_command()
    assert command is not None
    rival = CbcRival(lp, command=command, maximise=True, seconds=30, rel_gap=0.0, abs_gap=1e-7)
    deadline = time.monotonic() + 30
    while not rival.done() and time.monotonic() < deadline:
        time.sleep(0.01)
    answer = rival.stop()
    assert answer is not None and answer.proven and answer.values is not None
    profit = np.asarray(lp.col_cost_)
    assert float(profit @ answer.values) + lp.offset_ == pytest.approx(optimum, abs=1e-6)
    assert np.allclose(answer.values, np.round(answer.values), atol=1e-6)


@needs_cbc
def test_cbc_stopped_early_leaves_no_answer_and_no_files() -> None:
    lp, _ = _knapsack_lp(7, n=60)
    command = cbc_command()
    assert command is not None
    rival = CbcRival(lp, command=command, maximise=True, seconds=30, rel_gap=0.0, abs_gap=1e-7)
    folder = rival._dir
    answer = rival.stop()  # at once: killed before it could write a solution
    assert answer is None
    assert rival.done()
    assert not folder.exists()


@needs_cbc
@pytest.mark.parametrize("seed", range(4))
def test_racing_real_cbc_gives_the_same_plans(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(race_module, "RACE_AFTER", 0.0)
    monkeypatch.setattr(solver_module, "rival_worthwhile", lambda model: True)
    sc = random_scenario(4500 + seed, n_options=24, n_markets=8, n_offers=3, plans=3)
    sc = replace(sc, settings=replace(sc.settings, time_limit_s=60.0))
    alone = rank_plans(sc, threads=1)
    raced = rank_plans(sc, threads=2)
    assert raced.status == alone.status
    _same_keys(_key(raced), _key(alone))
    for plan in raced.plans:
        assert check_plan(sc, plan) == []


@needs_cbc
def test_cbc_cutoff_keeps_the_models_sense_and_offset() -> None:
    """Half a unit above the optimum nothing is left (infeasible); half below, the optimum."""
    lp, optimum = _knapsack_lp(11, n=30)  # integral profits, offset 3
    command = cbc_command()
    assert command is not None
    answers = []
    for cutoff in (optimum + 0.5, optimum - 0.5):
        rival = CbcRival(
            lp, command=command, maximise=True, seconds=30, rel_gap=0.0, abs_gap=1e-7, cutoff=cutoff
        )
        deadline = time.monotonic() + 30
        while not rival.done() and time.monotonic() < deadline:
            time.sleep(0.01)
        answers.append(rival.stop())
    above, below = answers
    assert above is not None and above.infeasible and above.values is None
    assert below is not None and below.proven and not below.infeasible
    assert below.values is not None
    profit = np.asarray(lp.col_cost_)
    assert float(profit @ below.values) + lp.offset_ == pytest.approx(optimum, abs=1e-6)


@needs_cbc
@pytest.mark.parametrize("seed", range(3))
def test_racing_real_cbc_on_knapsacks_gives_the_same_plans(
    seed: int, monkeypatch: pytest.MonkeyPatch, slow_highs
) -> None:
    monkeypatch.setattr(race_module, "RACE_AFTER", 0.0)
    monkeypatch.setattr(solver_module, "rival_worthwhile", lambda model: True)
    sc = _random_knapsack(4700 + seed, n=30)
    alone = rank_plans(sc, threads=1)
    raced = rank_plans(sc, threads=2)
    assert raced.status == alone.status == "optimal"
    assert raced.plans[0].options == alone.plans[0].options
    assert check_plan(sc, raced.plans[0]) == []
