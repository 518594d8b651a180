"""`planner compare RUN_A RUN_B`: the differing settings and rows named exactly, plan 1 side
by side, effects equal to the solve with that difference, and bad folders located (exit 2)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

import planner
from planner.cli import cli

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "inputs" / "example.xlsx"


def run(args: list[object]) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert isinstance(result.exception, SystemExit | None), result.exception
    return result.exit_code, result.stdout, result.stderr


def solve(workbook: Path, out: Path, *sets: str) -> Path:
    args: list[object] = [
        "solve",
        "--no-explain",
        workbook,
        "--plans",
        "1",
        "--time-limit",
        "30",
        "--out",
        out,
    ]
    for pair in sets:
        args += ["--set", pair]
    code, _, stderr = run(args)
    assert code == 0, stderr
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("compare")
    edited = base / "edited.xlsx"
    shutil.copy(EXAMPLE, edited)
    book = openpyxl.load_workbook(edited)
    sheet = book["Options"]
    header = [c.value for c in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == "APP-02")
    assert row[header.index("cost")].value == 9
    row[header.index("cost")].value = 12
    book.save(edited)
    return {
        "a": solve(EXAMPLE, base / "a"),
        "budget": solve(EXAMPLE, base / "budget", "budget=150"),
        "cell": solve(edited, base / "cell"),
    }


def test_two_runs_differing_in_one_setting_name_exactly_it(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "cmp" / "compare.json"
    code, stdout, stderr = run(
        ["compare", runs["a"], runs["budget"], "--out", out, "--workers", "2"]
    )
    assert code == 0, stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["schema"] == "partnership-compare/1"
    assert doc["settings"] == [{"setting": "budget", "a": 120.0, "b": 150.0}]
    assert doc["rows"] == []
    assert "budget: 120 → 150" in stdout
    assert {p.name for p in out.parent.iterdir()} == {
        "compare.json",
        "compare.xlsx",
        "compare.html",
    }
    # the effect of the budget alone equals the solve with that budget
    a = planner.load(EXAMPLE)
    best_a = planner.solve(a, plans=1, time_limit=30, threads=1).plans[0]
    best_b = planner.solve(a.with_settings(budget=150), plans=1, time_limit=30, threads=1)
    [effect] = doc["effects"]
    assert effect["setting"] == "budget" and effect["status"] == "optimal"
    want = best_b.plans[0].weighted_reach - best_a.weighted_reach
    assert effect["effect"]["low"] == pytest.approx(want, abs=1e-6)
    assert effect["effect"]["high"] == pytest.approx(want, abs=1e-6)
    assert doc["effects_complete"] is True
    # plan 1 side by side
    plans_a = json.loads((runs["a"] / "plans.json").read_text(encoding="utf-8"))["plans"][0]
    plans_b = json.loads((runs["budget"] / "plans.json").read_text(encoding="utf-8"))["plans"][0]
    plan = doc["plan"]
    assert plan["added"] == sorted(set(plans_b["options"]) - set(plans_a["options"]))
    assert plan["removed"] == sorted(set(plans_a["options"]) - set(plans_b["options"]))
    assert plan["change"]["net_spend"] == pytest.approx(plans_b["net_spend"] - plans_a["net_spend"])
    assert len(plan["markets"]) == len(plans_a["markets"])
    assert set(plan["change"]) == {
        "weighted_reach",
        "net_spend",
        "cofinanced",
        "average_trust",
        "foreign_share",
    }
    # each market's weighted reach by each run's weights, each layer's gross spend
    weights = {m.market_id: m.weight for m in a.markets}
    for m in plan["markets"]:
        assert m["weighted_a"] == pytest.approx(weights[m["market"]] * m["a"])
    layers = {x["layer"]: x["spend"] for x in plans_b["segments"]["by_layer"]}
    assert {x["layer"]: x["b"] for x in plan["layers"]} == layers
    book = openpyxl.load_workbook(out.with_suffix(".xlsx"))
    assert book.sheetnames == ["Plan", "Markets", "Layers", "Settings", "Rows", "Effects"]
    assert [len(ws._charts) for ws in book] == [0, 1, 1, 0, 0, 1]
    html = out.with_suffix(".html").read_text(encoding="utf-8")
    assert html.count("<svg") == 3 and "<script" not in html


def test_two_workbooks_differing_in_one_cell_name_exactly_its_row_and_column(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "compare.json"
    code, stdout, stderr = run(["compare", runs["a"], runs["cell"], "--out", out])
    assert code == 0, stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["settings"] == []
    assert doc["rows"] == [
        {"sheet": "Options", "key": "APP-02", "column": "cost", "a": 9.0, "b": 12.0}
    ]
    assert "Options[APP-02].cost: 9 → 12" in stdout
    [effect] = doc["effects"]
    assert effect["column"] == "cost" and effect["effect"]["low"] <= effect["effect"]["high"]
    a = planner.load(EXAMPLE)
    cell = planner.load(runs["cell"].parent / "edited.xlsx")
    want = (
        planner.solve(cell, plans=1, time_limit=30, threads=1).plans[0].weighted_reach
        - planner.solve(a, plans=1, time_limit=30, threads=1).plans[0].weighted_reach
    )
    assert effect["effect"]["low"] - 1e-6 <= want <= effect["effect"]["high"] + 1e-6


def test_folders_that_are_not_runs_are_located_input_errors(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, stderr = run(["compare", runs["a"], empty, "--out", tmp_path / "c.json"])
    assert code == 2
    assert f"{empty}: not a run folder (no plans.json" in stderr
    assert not (tmp_path / "c.json").exists()
    other = Path(shutil.copytree(runs["a"], tmp_path / "other"))
    doc = json.loads((other / "plans.json").read_text(encoding="utf-8"))
    doc["schema"] = "partnership-plans/2"
    (other / "plans.json").write_text(json.dumps(doc), encoding="utf-8")
    code, _, stderr = run(["compare", other, runs["a"], "--out", tmp_path / "c.json"])
    assert code == 2
    assert "schema 'partnership-plans/2'; this version reads 'partnership-plans/1'" in stderr


def test_a_run_without_scenario_json_is_compared_on_plans_alone(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    old = Path(shutil.copytree(runs["a"], tmp_path / "old"))
    (old / "scenario.json").unlink()
    out = tmp_path / "compare.json"
    code, stdout, stderr = run(["compare", old, runs["budget"], "--out", out])
    assert code == 0, stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["settings"] is None and doc["rows"] is None and doc["effects"] is None
    assert "has no scenario.json" in doc["message"] and "has no scenario.json" in stdout
    assert doc["plan"]["change"]["weighted_reach"] > 0
