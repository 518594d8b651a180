"""Explanations by hand on the tiny scenario, and where they appear: plans.json (plan 1),
plans.xlsx (an Explain sheet), the terminal's priority list; nothing without them."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from scenario_builders import tiny_scenario

import planner
from planner.engine import PoolOptions
from planner.explain import explain_plan
from planner.reports.explain_terminal import priority_list
from planner.reports.plans_json import core_index


def _exact(value: float) -> dict[str, float]:
    return {"low": value, "high": value}


@pytest.fixture(scope="module")
def tiny_explained() -> tuple[planner.Result, dict]:
    """O1 (cost 10) reaches M1 by 5, O2 (cost 10) M2 by 8, O3 (cost 15) both by 4; weights
    1 and 2; budget 20: plan 1 is {O1, O2}, weighted reach 5 + 2·8 = 21."""
    result = planner.solve(tiny_scenario(), plans=2, threads=1)
    return result, explain_plan(result, time_s=30, step_share=0.5, pool=PoolOptions(workers=1))


def test_tiny_explanations_by_hand(tiny_explained: tuple[planner.Result, dict]) -> None:
    result, explain = tiny_explained
    assert result.plans[0].options == ("O1", "O2")
    assert explain["complete"] and explain["step_share"] == 0.5
    # Only O1 reaches M1 (5), only O2 reaches M2 (2·8 = 16).
    assert explain["exclusive_reach"] == {"O1": _exact(5.0), "O2": _exact(16.0)}
    # Without O1 the best is {O2}: 16; without O2 it is {O3}: 4 + 2·4 = 12.
    assert explain["marginal_value"] == {"O1": _exact(5.0), "O2": _exact(9.0)}
    # With O3 the budget leaves it alone: 12.
    assert explain["replacement_cost"] == {"O3": _exact(9.0)}
    budget, foreign = explain["limits"]
    # Budget 20 + 10 = 30 affords {O2, O3}: 4 + 2·min(10, 12) = 24, 3 more than 21.
    assert budget == {
        "limit": "budget",
        "value": 20.0,
        "used": 20.0,
        "slack": 0.0,
        "step": 10.0,
        "gain": _exact(3.0),
    }
    # A foreign-share cap of 1 cannot be loosened: step 0, gain 0.
    assert foreign["limit"] == "max_foreign_share" and foreign["step"] == 0.0
    assert foreign["gain"] == _exact(0.0)
    assert explain["offers"] == {}


def test_plans_json_and_xlsx_hold_the_explanations(
    tiny_explained: tuple[planner.Result, dict], tmp_path: Path
) -> None:
    result, explain = tiny_explained
    assert result.to_dict(explain)["plans"][0]["explain"] == explain
    result.write(tmp_path, explain=explain)
    doc = json.loads((tmp_path / "plans.json").read_text(encoding="utf-8"))
    assert doc["plans"][0]["explain"] == explain
    assert all("explain" not in p for p in doc["plans"][1:])
    assert doc["core_index"] == core_index(result.planset)
    book = openpyxl.load_workbook(tmp_path / "plans.xlsx", read_only=True)
    rows = list(book["Explain"].iter_rows(values_only=True))
    header = rows[0]
    table = [dict(zip(header, row, strict=False)) for row in rows[1:] if row[1]]
    first = [r for r in table if r["explains"] == "marginal value"]
    assert [r["id"] for r in first] == ["O2", "O1"]  # 9 before 5: the priority list
    assert [r["priority"] for r in first] == [1, 2]
    assert (first[0]["low"], first[0]["high"], first[0]["exclusive reach"]) == (9, 9, 16)
    assert {r["id"] for r in table if r["explains"] == "replacement cost"} == {"O3"}
    assert {r["id"] for r in table if r["explains"] == "gain from loosening"} == {
        "budget",
        "max_foreign_share",
    }


def test_without_explanations_nothing_of_them_is_written(
    tiny_explained: tuple[planner.Result, dict], tmp_path: Path
) -> None:
    result, _explain = tiny_explained
    result.write(tmp_path)
    doc = json.loads((tmp_path / "plans.json").read_text(encoding="utf-8"))
    assert all("explain" not in p for p in doc["plans"])
    assert "Explain" not in openpyxl.load_workbook(tmp_path / "plans.xlsx").sheetnames


def test_terminal_priority_list(tiny_explained: tuple[planner.Result, dict]) -> None:
    result, explain = tiny_explained
    text = priority_list(result.scenario, result.plans[0], explain, core_index(result.planset))
    lines = text.splitlines()
    ranked = [line.split()[1] for line in lines[2:4]]
    assert ranked == ["O2", "O1"]
    assert "9.00" in lines[2] and "16.00" in lines[2]
    assert "budget +10: 3.00" in text
    assert "O3 9.00" in text


def test_no_plan_no_explanations() -> None:
    result = planner.solve(tiny_scenario(budget=0.0), threads=1)
    with pytest.raises(ValueError, match="no plan"):
        explain_plan(result, time_s=1)
