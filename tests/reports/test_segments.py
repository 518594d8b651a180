"""Segments of a plan (plans.json `plans[k].segments`): hand-computed values, and sums
that hold on random plans."""

from __future__ import annotations

import random

import orjson
import pytest
from scenario_builders import random_scenario, sorted_scenario, tiny_scenario

from planner.checks.verify import make_plan
from planner.plan import CoFinancing, PlanSet, RunStatus
from planner.reports.plans_json import plans_document
from planner.reports.segments import plan_segments
from planner.scenario.data import (
    Coverage,
    Market,
    Offer,
    Option,
    Partner,
    Scenario,
    Settings,
)
from planner.solving.ranking import rank_plans


def _handmade() -> Scenario:
    """Overlapping options (M1 caps at 6), a market whose required layer is missing (M3),
    a foreign and a domestic partner, an offer partly drawn and one with a cap of 0."""
    return sorted_scenario(
        Scenario(
            name="segments",
            settings=Settings(budget=100.0, home_country="Home"),
            markets=(
                Market("M1", "Market 1", "East Africa", 1.0, 6.0),
                Market("M2", "Market 2", "east  africa", 2.0, 10.0),
                Market("M3", "Market 3", "West Africa", 3.0, 10.0, ("skills",)),
            ),
            partners=(Partner("P1", "P1", "Home", 80.0), Partner("P2", "P2", "Canada", 60.0)),
            options=(
                Option("O1", "P1", "O1", "cloud", None, 10.0),
                Option("O2", "P2", "O2", "cloud", None, 10.0),
                Option("O3", "P1", "O3", "model", None, 15.0),
                Option("O4", "P2", "O4", "model", None, 5.0),
            ),
            coverage=(
                Coverage("O1", "M1", 5.0),
                Coverage("O2", "M2", 8.0),
                Coverage("O3", "M1", 4.0),
                Coverage("O3", "M2", 4.0),
                Coverage("O4", "M3", 7.0),
            ),
            offers=(Offer("C1", "Fund 1", 0.5, 8.0), Offer("C2", "Fund 2", 0.5, 0.0)),
        )
    )


def test_hand_computed_segments() -> None:
    scenario = _handmade()
    plan = make_plan(
        scenario,
        1,
        ["O1", "O2", "O3", "O4"],
        ["C1", "C2"],
        [CoFinancing("C1", "O3", 6.0)],
        bound=26.0,
        proven_optimal=True,
        gap=0.0,
    )
    # M1: min(6, 5 + 4) = 6 (weight 1); M2: min(10, 8 + 4) = 10 (weight 2); M3: no skills.
    assert plan.weighted_reach == pytest.approx(26.0)
    seg = plan_segments(scenario, plan)
    # Regions compare canonically and keep the first spelling (M1's).
    assert seg["by_region"] == [
        {"region": "East Africa", "weighted_reach": 26.0, "spend": 35.0},
        {"region": "West Africa", "weighted_reach": 0.0, "spend": 5.0},
    ]
    # cloud: M1 min(6, 5) + 2·8 = 21; model: M1 4 + 2·4 = 12 (M3 unserved): 33 > 26, overlap.
    assert seg["by_layer"] == [
        {
            "layer": "cloud",
            "weighted_reach": 21.0,
            "spend": 20.0,
            "domestic_spend": 10.0,
            "foreign_spend": 10.0,
        },
        {
            "layer": "model",
            "weighted_reach": 12.0,
            "spend": 20.0,
            "domestic_spend": 15.0,
            "foreign_spend": 5.0,
        },
    ]
    # domestic O1, O3: M1 min(6, 9) + 2·4 = 14; foreign O2, O4: 2·8 = 16.
    assert seg["by_origin"] == [
        {"origin": "domestic", "weighted_reach": 14.0, "spend": 25.0},
        {"origin": "foreign", "weighted_reach": 16.0, "spend": 15.0},
    ]
    assert seg["leverage"] == pytest.approx(6.0 / 34.0)  # drawn / (gross 40 − drawn 6)
    assert seg["offers"] == [
        {"offer": "C1", "cap": 8.0, "used": 6.0, "share_used": 0.75},
        {"offer": "C2", "cap": 0.0, "used": 0.0, "share_used": None},
    ]


def test_tiny_scenario_best_plan() -> None:
    scenario = tiny_scenario()
    plan = make_plan(scenario, 1, ["O1", "O2"], [], [], bound=21, proven_optimal=True, gap=0)
    seg = plan_segments(scenario, plan)
    assert seg["by_region"] == [{"region": "East Africa", "weighted_reach": 21.0, "spend": 20.0}]
    assert seg["by_layer"] == [
        {
            "layer": "cloud",
            "weighted_reach": 21.0,
            "spend": 20.0,
            "domestic_spend": 10.0,
            "foreign_spend": 10.0,
        }
    ]
    assert seg["by_origin"] == [
        {"origin": "domestic", "weighted_reach": 5.0, "spend": 10.0},
        {"origin": "foreign", "weighted_reach": 16.0, "spend": 10.0},
    ]
    assert seg["leverage"] == 0.0
    assert seg["offers"] == []


def test_no_own_spend_has_no_leverage() -> None:
    scenario = tiny_scenario()
    plan = make_plan(scenario, 1, [], [], [], bound=0, proven_optimal=True, gap=0)
    seg = plan_segments(scenario, plan)
    assert seg["leverage"] is None
    assert seg["by_layer"] == []
    assert [o["spend"] for o in seg["by_origin"]] == [0.0, 0.0]


@pytest.mark.parametrize("seed", range(12))
def test_sums_are_consistent_on_random_plans(seed: int) -> None:
    scenario = random_scenario(seed, n_options=10, n_markets=5)
    rng = random.Random(seed)
    chosen = [o.option_id for o in scenario.options if rng.random() < 0.5]
    plan = make_plan(scenario, 1, chosen, [], [], bound=0, proven_optimal=False, gap=None)
    seg = plan_segments(scenario, plan)
    gross = plan.gross_spend
    assert sum(x["spend"] for x in seg["by_layer"]) == pytest.approx(gross)
    assert sum(x["spend"] for x in seg["by_origin"]) == pytest.approx(gross)
    for x in seg["by_layer"]:
        assert x["domestic_spend"] + x["foreign_spend"] == pytest.approx(x["spend"])
    # Every market lies in one region: region reaches add up to the plan's.
    assert sum(x["weighted_reach"] for x in seg["by_region"]) == pytest.approx(plan.weighted_reach)
    # A group of options never reaches more than the whole plan, nor less than nothing.
    for group in (*seg["by_layer"], *seg["by_origin"]):
        assert -1e-9 <= group["weighted_reach"] <= plan.weighted_reach + 1e-9
    # Every region spend is at most the gross spend (an option may count in several).
    assert all(x["spend"] <= gross + 1e-9 for x in seg["by_region"])


def test_plans_document_holds_segments_per_plan() -> None:
    scenario = tiny_scenario()
    plans = tuple(
        make_plan(scenario, k, opts, [], [], bound=21, proven_optimal=True, gap=0)
        for k, opts in ((1, ["O1", "O2"]), (2, ["O2", "O3"]))
    )
    doc = plans_document(scenario, PlanSet("base", RunStatus.OPTIMAL, 30.0, plans))
    assert len(doc["plans"]) == 2
    for written, plan in zip(doc["plans"], plans, strict=True):
        assert written["segments"] == plan_segments(scenario, plan)


def test_segments_are_plain_json_numbers() -> None:
    # Arrays compute them; orjson (plans.json) refuses numpy's own number types.
    sc = random_scenario(3, n_options=10, n_offers=2)
    result = rank_plans(sc)
    for plan in result.plans:
        segments = plan_segments(sc, plan)
        orjson.dumps(segments)
        for row in segments["by_region"] + segments["by_layer"] + segments["by_origin"]:
            assert all(type(v) in (str, float) for v in row.values()), row
