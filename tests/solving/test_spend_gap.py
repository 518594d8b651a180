"""SPEC §4 `spend_gap`: how far a plan's net spend may be above the least proven
possible at its weighted reach (0 when the tie-break was proven, null when none ran)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from scenario_builders import random_scenario

from planner.plan import spend_gap
from planner.reports.plans_json import plan_document
from planner.solving import ranking
from planner.solving.stages import Stages


def test_every_plan_of_a_proven_run_has_spend_gap_zero() -> None:
    sc = random_scenario(11, n_options=30, n_markets=8, n_offers=3, plans=3)
    planset = ranking.rank_plans(sc, threads=1)
    assert planset.plans and planset.status == "optimal"
    for plan in planset.plans:
        assert plan.spend_gap == 0.0
        assert plan_document(plan)["spend_gap"] == 0.0


def test_spend_gap_is_relative_to_the_least_net_spend_proven() -> None:
    assert spend_gap(100.0, 80.0) == pytest.approx(0.25)
    assert spend_gap(0.5, 0.25) == pytest.approx(0.25)  # floor of 1 below 1, as gap's
    assert spend_gap(80.0, 80.0) == 0.0
    assert spend_gap(79.9999, 80.0) == 0.0  # never below 0


def test_an_unproven_tie_break_reports_its_gap_and_none_without_a_floor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The tie-break's own proof decides: stand-in stages that prove nothing about net
    spend give null, one with a floor gives the gap to it, in the scenario's units."""
    sc = random_scenario(11, n_options=30, n_markets=8, n_offers=3, plans=1)
    real = ranking.tie_break

    def unproven(floor_share: float | None):
        def stages(pm, solver, first, **kwargs) -> Stages:  # type: ignore[no-untyped-def]
            done = real(pm, solver, first, **kwargs)
            spent = float(pm.objectives["net_spend"] @ done.best.columns())
            floor = None if floor_share is None else floor_share * spent
            return replace(done, proven=False, spend_proven=False, spend_floor=floor)

        return stages

    monkeypatch.setattr(ranking, "tie_break", unproven(None))
    assert ranking.rank_plans(sc, threads=1).plans[0].spend_gap is None
    monkeypatch.setattr(ranking, "tie_break", unproven(0.8))
    plan = ranking.rank_plans(sc, threads=1).plans[0]
    least = 0.8 * plan.net_spend
    assert plan.spend_gap == pytest.approx((plan.net_spend - least) / max(1.0, least))
