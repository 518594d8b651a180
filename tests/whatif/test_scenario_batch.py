"""`run_all_scenarios` on the example: base and every scenario, each run folder what
`planner solve --scenario NAME` writes, the summary rows from their plans, every
problem of every scenario before any solve, and a resumed batch solving nothing again."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

import planner
from planner.engine import BatchStatus, PoolOptions
from planner.errors import InputError
from planner.reports.scenarios_table import (
    ScenarioRun,
    scenario_rows,
    scenarios_table,
    write_scenarios_xlsx,
)
from planner.whatif.scenario_batch import JOURNAL, load_all, run_all_scenarios, run_folder_name
from planner.workbook.variants import Workbook, open_workbook

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "inputs" / "example.xlsx"
NAMES = ["base", "high_budget", "home_first", "low_budget", "no_trust_limits", "tight_trust"]
SETS = [("plans", "2"), ("time_limit_s", "30")]


@pytest.fixture(scope="module")
def workbook() -> Workbook:
    return open_workbook(EXAMPLE)


@pytest.fixture(scope="module")
def batch(workbook: Workbook, tmp_path_factory: pytest.TempPathFactory) -> tuple[list, Path]:
    out = tmp_path_factory.mktemp("scenarios")
    runs = run_all_scenarios(
        workbook, sets=SETS, out=out, pool=PoolOptions(workers=2), progress=None, command="test"
    )
    return runs, out


def test_every_scenario_gets_the_run_folder_solve_writes(batch: tuple[list, Path]) -> None:
    runs, out = batch
    assert [r.scenario for r in runs] == NAMES
    for run in runs:
        folder = out / f"example-{run.scenario}"
        assert run.folder == str(folder) and run.status == "optimal"
        assert sorted(p.name for p in folder.iterdir()) == [
            "plans.json",
            "plans.xlsx",
            "report.html",
            "scenario.json",
        ]
        document = json.loads((folder / "plans.json").read_text(encoding="utf-8"))
        assert document == run.plans
        scenario = None if run.scenario == "base" else run.scenario
        variant = planner.load(EXAMPLE, scenario, settings=dict(SETS))
        alone = planner.solve(variant, threads=1)
        assert document["scenario"] == run.scenario
        assert document["settings"] == alone.to_dict()["settings"]
        assert [p["options"] for p in document["plans"]] == [sorted(p.options) for p in alone.plans]
        assert openpyxl.load_workbook(folder / "plans.xlsx").sheetnames[0] == "Summary"


def test_the_summary_compares_plan_1_with_base(batch: tuple[list, Path], tmp_path: Path) -> None:
    runs, _ = batch
    rows = scenario_rows(runs)
    base, high = rows[0], rows[1]
    assert base.in_common_with_base == base.n_options
    assert high.weighted_reach is not None and base.weighted_reach is not None
    assert high.weighted_reach > base.weighted_reach  # a budget of 200 reaches further
    assert high.in_common_with_base == len(set(base.options) & set(high.options))
    table = scenarios_table(rows)
    assert all(name in table for name in NAMES)
    write_scenarios_xlsx(tmp_path / "scenarios.xlsx", rows)
    book = openpyxl.load_workbook(tmp_path / "scenarios.xlsx")
    sheet = list(book["Scenarios"].values)
    assert [row[0] for row in sheet[1 : len(NAMES) + 1]] == NAMES
    assert sheet[0][9] == "in common with base plan 1"
    options = list(book["Options"].values)
    assert options[0] == ("option_id", *NAMES)


def test_a_failed_scenario_is_a_row_without_figures() -> None:
    rows = scenario_rows([ScenarioRun("base", "", None, "failed", "RuntimeError: boom")])
    assert rows[0].weighted_reach is None and rows[0].in_common_with_base is None
    assert "base: RuntimeError: boom" in scenarios_table(rows)


def test_resume_solves_nothing_again(
    workbook: Workbook, batch: tuple[list, Path], tmp_path: Path
) -> None:
    runs, out = batch
    (tmp_path / JOURNAL).write_bytes((out / JOURNAL).read_bytes())
    statuses: list[BatchStatus] = []
    again = run_all_scenarios(
        workbook,
        sets=SETS,
        out=tmp_path,
        pool=PoolOptions(workers=1, resume=True),
        progress=statuses.append,
        command="test",
    )
    assert statuses[-1].resumed == len(NAMES)
    assert [r.plans for r in again] == [r.plans for r in runs]
    assert (tmp_path / "example-base" / "plans.xlsx").exists()  # written from the journal


def test_every_problem_of_every_scenario_is_reported_once(workbook: Workbook) -> None:
    with pytest.raises(InputError) as caught:
        load_all(workbook, [("plans", "0"), ("budgt", "1")])
    shown = [str(p) for p in caught.value.problems]
    assert len(shown) == 2, shown


def test_a_scenario_name_never_makes_a_folder_elsewhere() -> None:
    assert run_folder_name("example", "a/../b") == "example-a_.._b"
