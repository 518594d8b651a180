"""Progress within a rank: what the stages report while HiGHS works, and when.

The numbers must be weighted reach whatever objective HiGHS holds (the reach
stage's own, or the one exact lexicographic objective of choice 16), never
claim more than is found or less than is possible, and reach the caller only
from the caller's own thread.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest
from scenario_builders import random_scenario

import planner.solving.ranking as ranking
from planner.model.common import canonical_order
from planner.model.conditioning import condition
from planner.model.matrix_model import build_matrix_model
from planner.plan import ProgressEvent, ProgressStage
from planner.scenario.data import Scenario
from planner.solving.result import Termination, tolerance
from planner.solving.solver import MatrixSolver
from planner.solving.stages import StageProgress, StageWatch, lexicographic_weights, reach_stage


def _watched_reach_stage(sc: Scenario, *, lexicographic: bool) -> tuple[float, list[StageProgress]]:
    """Rank 1's reach stage, with what the watch said at every wait tick."""
    mm = build_matrix_model(canonical_order(sc))
    assert (lexicographic_weights(mm, 0.0) is not None) == lexicographic
    solver = MatrixSolver(mm, deadline=time.monotonic() + 60)
    watch = StageWatch()
    seen: list[StageProgress] = []
    solver.scope.tick_with(lambda: seen.append(watch.now()))  # type: ignore[arg-type]
    result = reach_stage(mm, solver, watch=watch)
    assert result.termination == Termination.OPTIMAL and result.incumbent is not None
    return result.incumbent, seen


@pytest.mark.parametrize(
    ("seed", "shape", "lexicographic"),
    [
        # co-financing shares of 0.3-0.9: HiGHS maximises weighted reach itself
        (5, {"n_options": 1000, "n_markets": 300, "n_offers": 4, "with_resources": False}, False),
        # no offers, integral data: one exact objective F, read back as weighted reach
        (13, {"n_options": 1500, "n_markets": 400, "n_offers": 0}, True),
    ],
    ids=["weighted-reach", "lexicographic"],
)
def test_live_numbers_are_weighted_reach_between_found_and_possible(
    seed: int, shape: dict[str, int], lexicographic: bool
) -> None:
    sc = random_scenario(seed, **shape)  # type: ignore[arg-type]
    best, seen = _watched_reach_stage(sc, lexicographic=lexicographic)
    assert seen and all(s is not None and s.stage == "reach" for s in seen)
    known = [s for s in seen if s.weighted_reach is not None and s.bound is not None]
    assert known, "HiGHS reported no incumbent and bound while it worked"
    for s in known:
        assert s.weighted_reach is not None and s.bound is not None
        assert s.weighted_reach <= s.bound
        assert s.weighted_reach <= best + tolerance(best)  # never more than is possible
        assert s.bound >= best - tolerance(best)  # a bound indeed
    assert max(s.weighted_reach for s in known if s.weighted_reach is not None) > 0


def test_events_come_from_the_calling_thread_in_order_and_match_the_plans(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a report at every wait tick, also while a second lane proves a tie-break:
    each rank's in-rank events come before its plan is kept, time and plans kept only
    grow, a kept event carries the plan's own numbers, and the plans are those of a
    run without progress (every plan proven, so timing cannot change them)."""
    sc = random_scenario(6101, n_options=400, n_markets=80, n_offers=6, plans=3)
    quiet = ranking.rank_plans(sc, threads=2)
    monkeypatch.setattr(ranking, "PROGRESS_INTERVAL", 0.0)
    events: list[ProgressEvent] = []
    caller = threading.current_thread()

    def progress(event: ProgressEvent) -> None:
        assert threading.current_thread() is caller
        events.append(event)

    planset = ranking.rank_plans(sc, threads=2, progress=progress)
    assert planset.plans == quiet.plans and all(p.proven_optimal for p in planset.plans)
    kept = [e for e in events if e.stage == ProgressStage.KEPT]
    assert [e.rank for e in kept] == [1, 2, 3]
    for e, plan in zip(kept, planset.plans, strict=True):
        assert (e.weighted_reach, e.bound, e.gap) == (plan.weighted_reach, plan.bound, plan.gap)
        assert e.plans_kept == plan.rank
    within = [e for e in events if e.stage in (ProgressStage.REACH, ProgressStage.TIE_BREAK)]
    assert within, "no report while HiGHS worked"
    for e in within:
        assert events.index(e) < events.index(kept[e.rank - 1])
        assert e.plans_kept < e.rank
        if e.weighted_reach is not None and e.bound is not None:
            assert e.weighted_reach <= e.bound
    elapsed = [e.elapsed_s for e in events]
    assert elapsed == sorted(elapsed)
    assert [e.plans_kept for e in events] == sorted(e.plans_kept for e in events)
    assert all(e.plans_asked == 3 for e in events)


@pytest.mark.parametrize("factor", [1e-7, 1e7], ids=["tiny-weights", "huge-weights"])
def test_progress_speaks_the_scenarios_units_when_the_model_is_scaled(
    factor: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Market weights far from 1 make HiGHS solve a rescaled model; what the caller
    hears while it works is still weighted reach as the scenario counts it."""
    base = random_scenario(6101, n_options=400, n_markets=80, n_offers=6, plans=1)
    weights = tuple(replace(m, weight=m.weight * factor) for m in base.markets)
    sc = replace(base, markets=weights)
    assert condition(build_matrix_model(canonical_order(sc))).scaling is not None
    monkeypatch.setattr(ranking, "PROGRESS_INTERVAL", 0.0)
    events: list[ProgressEvent] = []
    planset = ranking.rank_plans(sc, threads=1, progress=events.append)
    reach = planset.plans[0].weighted_reach
    within = [
        e
        for e in events
        if e.stage in (ProgressStage.REACH, ProgressStage.TIE_BREAK) and e.weighted_reach
    ]
    assert within
    for e in within:  # early in a solve HiGHS may have a plan before it has a bound
        assert e.weighted_reach is not None and e.weighted_reach <= reach * (1 + 1e-6)
        assert e.bound is None or e.bound >= reach * (1 - 1e-6)
    assert any(e.bound is not None for e in within)
    assert any(e.weighted_reach == pytest.approx(reach, rel=1e-6) for e in within)
