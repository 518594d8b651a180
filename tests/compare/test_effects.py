"""Effects of each difference alone: an interval that always holds the true change in
best reach, exact when solved, and still valid when the time limit ends first."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from scenario_builders import random_scenario

import planner
from planner.compare.compare import compare_runs
from planner.compare.diff import apply_difference, row_differences, setting_differences
from planner.compare.runs import read_run
from planner.engine import PoolOptions


def best(scenario: planner.Scenario) -> float:
    result = planner.solve(scenario, plans=1, time_limit=30, threads=1)
    assert result.status in ("optimal", "infeasible")
    return result.plans[0].weighted_reach if result.plans else 0.0


def two_runs(tmp_path: Path, seed: int) -> tuple[planner.Scenario, planner.Scenario]:
    a = random_scenario(seed, n_options=7, plans=1)
    options = list(a.options)
    options[1] = replace(options[1], cost=options[1].cost + 10)
    b = replace(
        a.with_settings(budget=a.settings.budget + 15),
        options=tuple(options),
        coverage=a.coverage[1:],
    )
    for scenario, folder in ((a, "a"), (b, "b")):
        planner.solve(scenario, plans=1, time_limit=30, threads=1).write(tmp_path / folder)
    return a, b


@pytest.mark.parametrize("seed", range(4))
def test_each_effect_holds_the_solve_with_that_difference_alone(tmp_path: Path, seed: int) -> None:
    a, b = two_runs(tmp_path, seed)
    doc = compare_runs(
        read_run(tmp_path / "a"), read_run(tmp_path / "b"), time_limit=60, pool=PoolOptions(1)
    )
    differences = [*setting_differences(a, b), *row_differences(a, b)]
    assert len(doc["effects"]) == len(differences) == 3
    base = best(a)
    by_label = {d.label(): d for d in differences}
    for effect in doc["effects"]:
        want = best(apply_difference(a, by_label[effect["difference"]], b)) - base
        assert effect["effect"]["low"] == pytest.approx(want, abs=1e-6)
        assert effect["effect"]["high"] == pytest.approx(want, abs=1e-6)
    assert doc["effects_complete"] is True
    sizes = [max(abs(e["effect"]["low"]), abs(e["effect"]["high"])) for e in doc["effects"]]
    assert sizes == sorted(sizes, reverse=True)


@pytest.mark.parametrize("seed", range(3))
def test_effects_not_solved_in_time_keep_a_valid_interval(tmp_path: Path, seed: int) -> None:
    a, b = two_runs(tmp_path, seed)
    doc = compare_runs(
        read_run(tmp_path / "a"), read_run(tmp_path / "b"), time_limit=1e-9, pool=PoolOptions(1)
    )
    base = best(a)
    by_label = {d.label(): d for d in [*setting_differences(a, b), *row_differences(a, b)]}
    for effect in doc["effects"]:
        assert effect["status"] == "not_run"
        want = best(apply_difference(a, by_label[effect["difference"]], b)) - base
        assert effect["effect"]["low"] - 1e-6 <= want <= effect["effect"]["high"] + 1e-6
    assert doc["effects_complete"] is False


def test_a_plan_proven_within_a_gap_is_not_taken_as_the_best(tmp_path: Path) -> None:
    """With `mip_gap` above 0, plan 1 proven optimal may lie below the best by up to its
    bound: the effects' intervals keep that room, and a variant's solve proven within
    the gap narrows to its bound, not to its reach."""
    from scenario_builders import tiny_scenario

    from planner.compare.effects import solve_variant

    a = tiny_scenario(budget=20.0, mip_gap=0.5)
    b = a.with_settings(budget=25.0)
    for scenario, folder in ((a, "a"), (b, "b")):
        planner.solve(scenario, plans=1, time_limit=30, threads=1).write(tmp_path / folder)
    path = tmp_path / "a" / "plans.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    reach = doc["plans"][0]["weighted_reach"]
    assert reach == 21.0 and doc["plans"][0]["proven_optimal"] is True
    doc["plans"][0]["bound"] = reach + 5  # what a solve stopped within the gap may prove
    path.write_text(json.dumps(doc), encoding="utf-8")
    out = compare_runs(
        read_run(tmp_path / "a"), read_run(tmp_path / "b"), time_limit=30, pool=PoolOptions(1)
    )
    [effect] = out["effects"]
    assert effect["setting"] == "budget"
    low, high = effect["effect"]["low"], effect["effect"]["high"]
    assert high - low >= 5 - 1e-9  # A's best reach is known to lie in [21, 26] only
    assert out["effects_complete"] is False
    want = best(b.with_settings(mip_gap=0.0)) - best(a.with_settings(mip_gap=0.0))
    assert low - 1e-6 <= want <= high + 1e-6
    assert solve_variant(b, 30.0)["proven_optimal"] is False
    assert solve_variant(b.with_settings(mip_gap=0.0), 30.0)["proven_optimal"] is True
