"""`planner verify` re-checks the figures a hand-edited plans.json could make wrong, not
only the limits: each plan's segments and plan 1's explanation figures that need no
solve (each limit's value, used and slack), recomputed without the solver. Untouched
runs of random scenarios hold; each edited figure is named with both numbers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from scenario_builders import random_scenario

import planner
from planner.compare.runs import read_run
from planner.compare.verify_run import verify_lines, verify_run
from planner.engine import PoolOptions
from planner.explain.explain import explain_plan


def solved(folder: Path, seed: int) -> Path:
    """A run folder of a random scenario: 3 plans and plan 1's explanations (the bounds
    known without a solve: the limits' figures are what is checked here)."""
    scenario = random_scenario(seed, n_options=9, n_offers=2, plans=3)
    result = planner.solve(scenario, plans=3, time_limit=20, threads=1)
    assert result.plans, result.status
    explain = explain_plan(result, time_s=0, pool=PoolOptions(workers=1))
    result.write(folder, explain=explain)
    return folder


def lines(folder: Path) -> list[str]:
    run = read_run(folder)
    assert run.scenario is not None
    return verify_lines(verify_run(run, run.scenario))


def edit(folder: Path, change: Any) -> None:
    path = folder / "plans.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(json.dumps(doc), encoding="utf-8")


@pytest.mark.parametrize("seed", range(4))
def test_untouched_runs_of_random_scenarios_hold(seed: int, tmp_path: Path) -> None:
    """No false alarm: every segment and limit figure written equals the recomputed one
    (layers with foreign caps, trust floors and country caps included)."""
    folder = solved(tmp_path / "run", seed)
    doc = json.loads((folder / "plans.json").read_text(encoding="utf-8"))
    assert doc["plans"][0]["explain"]["limits"] and doc["plans"][0]["segments"]["by_layer"]
    found = lines(folder)
    assert all("every limit holds and every figure matches" in line for line in found), found


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return solved(tmp_path_factory.mktemp("verify") / "run", seed=11)


def copy_of(example: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(example, tmp_path / "run"))


def test_a_hand_edited_segment_figure_is_named(example: Path, tmp_path: Path) -> None:
    folder = copy_of(example, tmp_path)
    doc = json.loads((folder / "plans.json").read_text(encoding="utf-8"))
    last = len(doc["plans"])
    layer = doc["plans"][-1]["segments"]["by_layer"][0]
    spend = layer["spend"]

    def raise_spend(d: dict[str, Any]) -> None:
        d["plans"][-1]["segments"]["by_layer"][0]["spend"] = spend + 5

    edit(folder, raise_spend)
    found = lines(folder)
    assert found[:-1] == [
        f"plan {k}: every limit holds and every figure matches" for k in range(1, last)
    ]
    assert found[-1] == (
        f"plan {last}: reported segments.by_layer[{layer['layer']}].spend {spend + 5:.9g} "
        f"differs from recomputed {spend:.9g} by 5"
    )


def test_segments_missing_an_entry_or_leverage_are_named(example: Path, tmp_path: Path) -> None:
    folder = copy_of(example, tmp_path)
    doc = json.loads((folder / "plans.json").read_text(encoding="utf-8"))
    region = doc["plans"][0]["segments"]["by_region"][0]["region"]
    leverage = doc["plans"][0]["segments"]["leverage"]

    def drop(d: dict[str, Any]) -> None:
        segments = d["plans"][0]["segments"]
        segments["by_region"] = segments["by_region"][1:]
        segments["by_origin"].append({"origin": "elsewhere", "weighted_reach": 0, "spend": 0})
        segments["leverage"] = "high"

    edit(folder, drop)
    found = [line for line in lines(folder) if line.startswith("plan 1:")]
    assert f"plan 1: segments.by_region[{region}] is missing from the report" in found
    assert "plan 1: segments.by_origin[elsewhere] is reported, but the plan has none" in found
    wanted = "null" if leverage is None else f"{leverage:.9g}"
    assert f"plan 1: reported segments.leverage 'high', recomputed {wanted}" in found


def test_plan_ones_limit_figures_are_rechecked(example: Path, tmp_path: Path) -> None:
    """The budget's `used` is plan 1's net spend written a second time: an edit of it,
    or of a slack, is named; a limit the scenario lacks is named too."""
    folder = copy_of(example, tmp_path)
    doc = json.loads((folder / "plans.json").read_text(encoding="utf-8"))
    plan = doc["plans"][0]
    budget = doc["settings"]["budget"]

    def change(d: dict[str, Any]) -> None:
        limits = d["plans"][0]["explain"]["limits"]
        limits[0]["used"] = plan["net_spend"] - 1
        limits[0]["slack"] = budget - plan["net_spend"] + 1
        limits.append({"limit": "resource[<b>time</b>]", "value": 1, "used": 0, "slack": 1})

    edit(folder, change)
    found = lines(folder)
    net = plan["net_spend"]
    assert found[0] == (
        f"plan 1: reported explain.limits[budget].used {net - 1:.9g} differs from "
        f"recomputed {net:.9g} by -1"
    )
    assert found[1] == (
        f"plan 1: reported explain.limits[budget].slack {budget - net + 1:.9g} differs from "
        f"recomputed {budget - net:.9g} by 1"
    )
    assert (
        found[2] == "plan 1: explain.limits[resource[<b>time</b>]]: the scenario has no such limit"
    )
    assert all("every limit holds" in line for line in found[3:])
