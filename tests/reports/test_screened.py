"""Options and offers screened out before solving are listed, with the reason,
in plans.json, in the Screened sheet of plans.xlsx and by `planner validate`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from workbooks import Tables, full_tables, write_workbook

from planner.checks.precheck import check_before_solve
from planner.checks.screening import ScreenedOffer, screen_offers
from planner.cli import cli
from planner.plan import PlanSet, RunStatus
from planner.reports.outputs import write_outputs
from planner.reports.plans_json import plans_document
from planner.reports.plans_xlsx import RunInfo
from planner.scenario.data import Scenario
from planner.workbook.validation import load_scenario


def _tables() -> Tables:
    """Option O1 and offer C2 are `never`; offer C1 is free to take."""
    tables = full_tables()
    tables["Options"][1][6] = "never"
    tables["CoFinancing"].append(["C2", "Other fund", 0.3, 10, 0, 0, "*", "*", "*", " Never "])
    tables["CoFinancing"].append(["C0", "First fund", 0.3, 10, 0, 0, "*", "*", "*", "never"])
    return tables


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return write_workbook(tmp_path / "scenario.xlsx", _tables())


def _outputs(scenario: Scenario, out: Path) -> list[Path]:
    found = check_before_solve(scenario)
    planset = PlanSet(scenario.name, RunStatus.INFEASIBLE, 1.0, (), "", "limits conflict")
    run = RunInfo("w.xlsx", "0" * 64, scenario.name, "infeasible", {}, "now")
    return write_outputs(out, scenario, planset, found.screened, run)


def test_never_offers_are_screened_in_offer_order(path: Path) -> None:
    scenario = load_scenario(path)
    expected = [
        ScreenedOffer("C0", "decision is never"),
        ScreenedOffer("C2", "decision is never"),
    ]
    assert screen_offers(scenario) == expected
    found = check_before_solve(scenario)
    assert list(found.screened_offers) == expected
    assert [x.option_id for x in found.screened] == ["O1"]


def test_plans_json_lists_screened_options_and_offers(path: Path, tmp_path: Path) -> None:
    scenario = load_scenario(path)
    _outputs(scenario, tmp_path / "out")
    doc = json.loads((tmp_path / "out" / "plans.json").read_text(encoding="utf-8"))
    assert doc["screened"] == [{"option": "O1", "reason": "decision is never"}]
    assert doc["screened_offers"] == [
        {"offer": "C0", "reason": "decision is never"},
        {"offer": "C2", "reason": "decision is never"},
    ]


def test_plans_json_without_screened_offers_has_an_empty_list(tmp_path: Path) -> None:
    scenario = load_scenario(write_workbook(tmp_path / "s.xlsx", full_tables()))
    planset = PlanSet(scenario.name, RunStatus.INFEASIBLE, 1.0, ())
    assert plans_document(scenario, planset)["screened_offers"] == []


def test_screened_sheet_lists_options_then_offers(path: Path, tmp_path: Path) -> None:
    scenario = load_scenario(path)
    _outputs(scenario, tmp_path / "out")
    ws = load_workbook(tmp_path / "out" / "plans.xlsx", read_only=True)["Screened"]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    assert rows == [
        ["id", "type", "name", "partner", "layer", "reason"],
        ["O1", "option", "Cloud region", "Home Cloud", "cloud", "decision is never"],
        ["C0", "offer", "First fund", None, None, "decision is never"],
        ["C2", "offer", "Other fund", None, None, "decision is never"],
    ]


def test_validate_lists_screened_offers(path: Path) -> None:
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    at = lines.index("  Screened  1 option(s) before solving")
    assert lines[at : at + 5] == [
        "  Screened  1 option(s) before solving",
        "    O1: decision is never",
        "  Screened  2 offer(s) before solving",
        "    C0: decision is never",
        "    C2: decision is never",
    ]


def test_validate_says_nothing_of_offers_when_none_is_screened(tmp_path: Path) -> None:
    book = write_workbook(tmp_path / "s.xlsx", full_tables())
    result = CliRunner().invoke(cli, ["validate", str(book)])
    assert result.exit_code == 0, result.output
    assert "offer(s) before solving" not in result.stdout
