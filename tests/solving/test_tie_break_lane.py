"""Tie-breaks overlapped with the next rank's reach stage (`planner.solving.tie_break_lane`).

The overlap must not change a single plan: the same plans as the sequential
order, whether the speculated options were right (the usual case) or wrong
(the next reach stage is then solved again with the right cut).

Small models rank their proven ranks another way (`ranking._Ranking._chain`,
tests/solving/test_reach_flights.py); the lane serves large models whose ranks
are proven. Here that other way is turned off, so these small scenarios take the
lane.
"""

from __future__ import annotations

import threading
import time

import pytest
from scenario_builders import random_scenario

import planner.solving.race as race_module
import planner.solving.ranking as ranking
import planner.solving.solver as solver_module
from planner.checks.verify import check_plan
from planner.model.common import canonical_order
from planner.model.matrix_model import build_matrix_model
from planner.solving.ranking import rank_plans
from planner.solving.result import tolerance
from planner.solving.solver import MatrixSolver
from planner.solving.tie_break_lane import TieBreakLane


def _same_plans(a, b) -> None:
    """The same plans: options, offers and co-financing, and so every figure."""
    assert a.status == b.status
    assert len(a.plans) == len(b.plans)
    for pa, pb in zip(a.plans, b.plans, strict=True):
        assert pa.options == pb.options
        assert pa.offers == pb.offers
        assert [(c.offer_id, c.option_id) for c in pa.cofinancing] == [
            (c.offer_id, c.option_id) for c in pb.cofinancing
        ]
        for ca, cb in zip(pa.cofinancing, pb.cofinancing, strict=True):
            assert ca.amount == pytest.approx(cb.amount, abs=tolerance(cb.amount))
        assert pa.weighted_reach == pytest.approx(
            pb.weighted_reach, abs=tolerance(pb.weighted_reach)
        )
        assert pa.net_spend == pytest.approx(pb.net_spend, abs=2 * tolerance(pb.net_spend))
        assert pa.proven_optimal == pb.proven_optimal


@pytest.fixture(autouse=True)
def lane_not_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ranks go the lane's way, as on a large model."""
    monkeypatch.setattr(ranking._Ranking, "_chaining", lambda self, k, first: False)


@pytest.fixture
def lane_starts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the tie-breaks handed to a lane (CBC kept out: the lane alone has the core)."""
    monkeypatch.setattr(solver_module, "rival_worthwhile", lambda model: False)
    starts: list[int] = []
    original = TieBreakLane.start

    def counted(self, reach, cuts, rank_deadline=None) -> None:
        starts.append(len(cuts))
        original(self, reach, cuts, rank_deadline)

    monkeypatch.setattr(TieBreakLane, "start", counted)
    return starts


@pytest.mark.parametrize("d", [1, 2])
def test_overlapped_tie_breaks_give_the_sequential_plans(
    d: int, lane_starts: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    for seed in range(6):
        sc = random_scenario(
            5200 + seed, n_options=30, n_markets=10, n_offers=3, plans=5, min_plan_difference=d
        )
        sequential = rank_plans(sc, threads=1)
        overlapped = rank_plans(sc, threads=2)
        _same_plans(overlapped, sequential)
        for plan in overlapped.plans:
            assert check_plan(sc, plan) == []
    assert lane_starts, "no tie-break ever ran in the lane"
    # The lane is handed the cuts of the plans returned before, in order: 0, 1, 2, ...
    assert lane_starts[:3] == [0, 1, 2]


def test_wrongly_speculated_options_are_cut_again_and_the_rank_solved_again(
    lane_starts: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Speculate a wrong option set every time: every rank is re-solved, plans unchanged."""
    dropped: list[int] = []
    original_drop = MatrixSolver.drop_last_cut

    def counted_drop(self) -> None:
        dropped.append(1)
        original_drop(self)

    monkeypatch.setattr(MatrixSolver, "drop_last_cut", counted_drop)
    real = ranking._speculated_options

    def wrong(pm, reach):
        options = real(pm, reach)
        others = [o for o in pm.option_ids if o not in options]
        return tuple(sorted(options[1:] + tuple(others[:1])))

    for seed in range(4):
        sc = random_scenario(5300 + seed, n_options=24, n_markets=8, n_offers=3, plans=4)
        sequential = rank_plans(sc, threads=1)
        monkeypatch.setattr(ranking, "_speculated_options", wrong)
        overlapped = rank_plans(sc, threads=2)
        monkeypatch.setattr(ranking, "_speculated_options", real)
        _same_plans(overlapped, sequential)
        for plan in overlapped.plans:
            assert check_plan(sc, plan) == []
    assert dropped, "the wrong speculation was never noticed"


def test_one_plan_asked_for_never_starts_a_lane(lane_starts: list[int]) -> None:
    sc = random_scenario(5400, n_options=24, n_markets=8, n_offers=3, plans=1)
    assert rank_plans(sc, threads=2).plans
    assert lane_starts == []


def test_one_core_starts_no_lane(lane_starts: list[int]) -> None:
    sc = random_scenario(5401, n_options=24, n_markets=8, n_offers=3, plans=4)
    assert len(rank_plans(sc, threads=1).plans) > 1
    assert lane_starts == []


def test_lane_errors_reach_the_caller() -> None:
    sc = canonical_order(random_scenario(5402, n_options=12, n_markets=4, n_offers=2))
    mm = build_matrix_model(sc)
    lane = TieBreakLane(mm, deadline=time.monotonic() + 30, mip_gap=0.0, grace=0.0)
    with pytest.raises(RuntimeError, match="no tie-break was started"):
        lane.result()
    main = MatrixSolver(mm, deadline=time.monotonic() + 30)
    main.use_objective("weighted_reach")
    reach = main.solve()

    def broken(pm, solver, reach):
        raise ranking.SolverTroubleError("HiGHS reported numerical trouble")

    import planner.solving.tie_break_lane as lane_module

    original = lane_module.tie_break
    lane_module.tie_break = broken
    try:
        lane.start(reach, main.extra_rows())
        with pytest.raises(ranking.SolverTroubleError, match="numerical trouble"):
            lane.result()
    finally:
        lane_module.tie_break = original
    lane.start(reach, main.extra_rows())
    stages = lane.result()  # the lane works again after a failed tie-break
    assert stages.proven
    assert not lane.busy


def test_cbc_waits_while_the_lane_has_the_second_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(race_module, "RACE_AFTER", 0.0)
    monkeypatch.setattr(race_module, "cbc_command", lambda: "stand-in")
    monkeypatch.setattr(solver_module, "rival_worthwhile", lambda model: True)
    made: list[object] = []

    class Recorded:
        def __init__(self, *args, **kwargs) -> None:
            made.append(self)

    monkeypatch.setattr(race_module, "CbcRival", Recorded)
    sc = canonical_order(random_scenario(5403, n_options=30, n_markets=10, n_offers=3))
    solver = MatrixSolver(build_matrix_model(sc), deadline=time.monotonic() + 30, race=True)
    taken = threading.Event()
    taken.set()
    solver.spare_core_taken = taken.is_set
    solver.use_objective("weighted_reach")
    assert solver.solve().has_solution
    assert made == []


def test_an_error_in_the_run_stops_the_lanes_tie_break(
    lane_starts: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that ends with an error leaves no tie-break solving on in its thread."""
    lanes: list[TieBreakLane] = []
    init = TieBreakLane.__init__

    def slowed(self, *args, **kwargs) -> None:
        init(self, *args, **kwargs)
        self._solver.highs.cbMipInterrupt.subscribe(lambda event: time.sleep(0.005))
        lanes.append(self)

    monkeypatch.setattr(TieBreakLane, "__init__", slowed)
    real = ranking.reach_stage
    calls: list[int] = []

    def failing_second(pm, solver, **options):
        calls.append(1)
        if len(calls) == 2:
            raise ranking.SolverTroubleError("HiGHS reported numerical trouble")
        return real(pm, solver, **options)

    monkeypatch.setattr(ranking, "reach_stage", failing_second)
    sc = random_scenario(5404, n_options=30, n_markets=10, n_offers=3, plans=3)
    with pytest.raises(ranking.SolverTroubleError):
        rank_plans(sc, threads=2)
    assert lanes and lane_starts
    assert not lanes[0].busy
