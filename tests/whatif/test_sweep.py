"""`run_sweep` on the example: each point is the solve of its variant alone, points in
grid order, every bad value found before any solve, a resumed sweep solves only what
is missing, and a point that fails is reported without losing the others."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest

import planner
from planner.engine import BatchStatus, PoolOptions
from planner.errors import InputError
from planner.reports.sweep_files import write_sweep
from planner.scenario.data import Scenario
from planner.whatif import sweep
from planner.whatif.sweep import JOURNAL, point_record, run_sweep, solve_point, validate_points
from planner.workbook.variants import Workbook, open_workbook

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "inputs" / "example.xlsx"
BUDGETS = (40, 80, 120, 160)
POOL = PoolOptions(workers=2)


@pytest.fixture(scope="module")
def workbook() -> Workbook:
    return open_workbook(EXAMPLE)


def budget_sweep(
    workbook: Workbook, out: Path, pool: PoolOptions = POOL, statuses: list | None = None
) -> dict[str, Any]:
    return run_sweep(
        workbook,
        scenario=None,
        sets=[("min_average_trust", "65")],
        varies=[("budget", ",".join(str(b) for b in BUDGETS))],
        time_limit=60,
        out=out,
        pool=pool,
        progress=None if statuses is None else statuses.append,
    )


@pytest.fixture(scope="module")
def swept(workbook: Workbook, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("sweep")
    return budget_sweep(workbook, out), out


def test_each_point_is_the_solve_of_its_variant_alone(swept: tuple[dict, Path]) -> None:
    document, _ = swept
    assert document["schema"] == "partnership-sweep/1"
    assert document["varied"] == ["budget"] and document["complete"] is True
    assert [p["settings"] for p in document["points"]] == [{"budget": b} for b in BUDGETS]
    for budget, point in zip(BUDGETS, document["points"], strict=True):
        variant = planner.load(EXAMPLE, settings={"min_average_trust": 65, "budget": budget})
        alone = planner.solve(variant, plans=1, time_limit=60, threads=1)
        assert point == point_record({"budget": budget}, alone)
        assert point["status"] == "optimal" and point["net_spend"] <= budget + 1e-6
    reach = [p["weighted_reach"] for p in document["points"]]
    assert reach == sorted(reach) and reach[0] < reach[-1]  # more budget never reaches less


def test_the_files_hold_the_document_and_the_sheets(swept: tuple[dict, Path]) -> None:
    document, out = swept
    write_sweep(out, document)
    assert json.loads((out / "sweep.json").read_text(encoding="utf-8")) == document
    book = openpyxl.load_workbook(out / "sweep.xlsx")
    assert book.sheetnames == ["Chart", "Points", "Changes", "Run"]
    points = list(book["Points"].values)
    assert points[0][:5] == ("point", "budget", "status", "weighted reach", "net spend")
    assert [row[1] for row in points[1:]] == list(BUDGETS)
    changes = list(book["Changes"].values)
    assert [row[:2] for row in changes[1 : len(BUDGETS)]] == list(itertools.pairwise(BUDGETS))
    first, second = document["points"][:2]
    entering = sorted(set(second["options"]) - set(first["options"]))
    assert (changes[1][2] or "") == "; ".join(entering)
    assert book["Chart"]._charts, "the chart of reach against budget"


def test_bad_values_are_all_reported_before_any_solve(workbook: Workbook, tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        run_sweep(
            workbook,
            scenario=None,
            sets=[],
            varies=[("budget", "-1,50,-1x"), ("max_foreign_share", "0.5,2"), ("budgt", "1,2")],
            time_limit=10,
            out=tmp_path,
            pool=POOL,
            progress=None,
        )
    shown = [str(p) for p in caught.value.problems]
    assert len(shown) == len(set(shown)), "each problem once, however many points share it"
    assert any("--vary budget: found '-1';" in p for p in shown), shown
    assert any("'-1x'" in p for p in shown), shown
    assert any("max_foreign_share: found '2';" in p for p in shown), shown
    assert any("'budgt'" in p and "one of the settings" in p for p in shown), shown
    assert not (tmp_path / JOURNAL).exists(), "nothing ran"


def test_resume_solves_only_the_points_not_journaled(
    workbook: Workbook, swept: tuple[dict, Path], tmp_path: Path
) -> None:
    document, out = swept
    lines = (out / JOURNAL).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 + len(BUDGETS)
    (tmp_path / JOURNAL).write_text("\n".join(lines[:3]) + "\n", encoding="utf-8")  # 2 kept
    statuses: list[BatchStatus] = []
    resumed = budget_sweep(workbook, tmp_path, PoolOptions(workers=1, resume=True), statuses)
    assert resumed == document
    assert statuses[-1].resumed == 2 and statuses[-1].done == len(BUDGETS)


def solve_or_fail(variant: Scenario, settings: dict[str, Any], seconds: float) -> dict[str, Any]:
    """A point task that fails at budget 80 (module-level: it pickles to the workers)."""
    if settings["budget"] == 80:
        raise RuntimeError("a point that cannot be solved")
    return solve_point(variant, settings, seconds)


def test_a_failing_point_is_reported_and_loses_no_other(
    workbook: Workbook, swept: tuple[dict, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sweep, "solve_point", solve_or_fail)
    document = budget_sweep(workbook, tmp_path)
    failed = document["points"][1]
    assert failed["status"] == "failed" and failed["weighted_reach"] is None
    assert failed["error"] == "RuntimeError: a point that cannot be solved"
    others = [p for i, p in enumerate(document["points"]) if i != 1]
    expected = [p for i, p in enumerate(swept[0]["points"]) if i != 1]
    assert others == expected
    assert document["complete"] is False


def test_each_variant_is_what_the_workbook_loads_for_its_point(workbook: Workbook) -> None:
    """Cells are validated once per combination and settings applied after: the same
    scenarios as loading every point in full."""
    sets = [("min_average_trust", "60"), ("budget", "90")]
    varies = [("budget", "80,120"), ("Options[APP-02].cost", "5,50"), ("plans", "1,2")]
    _, grid, variants = validate_points(workbook, None, sets, varies)
    assert len(grid) == 8
    for point, variant in zip(grid, variants, strict=True):
        alone = workbook.load(None, [*sets, *point.overrides()], origin="--vary")
        assert variant == alone and variant.source == alone.source
    assert {v.settings.budget for v in variants} == {80, 120}
    assert {next(o.cost for o in v.options if o.option_id == "APP-02") for v in variants} == {
        5,
        50,
    }


def test_points_are_dispatched_largest_budget_first_and_reported_in_grid_order(
    workbook: Workbook, swept: tuple[dict, Path], tmp_path: Path
) -> None:
    """One worker runs the points in dispatch order, which its journal records: the
    slowest expected (the largest budget) first; the document keeps grid order and
    the same points as two workers give."""
    document = budget_sweep(workbook, tmp_path, PoolOptions(workers=1))
    assert document == swept[0]
    lines = (tmp_path / JOURNAL).read_text(encoding="utf-8").splitlines()[1:]
    keys = [json.loads(line)["key"] for line in lines]
    assert keys == [f"budget={b}" for b in sorted(BUDGETS, reverse=True)]


def test_longest_first_orders_by_the_options_a_budget_affords_ties_in_grid_order(
    workbook: Workbook,
) -> None:
    _, _, variants = validate_points(
        workbook, None, [], [("budget", "80,5000,0,120"), ("min_average_trust", "60,70")]
    )
    order = sweep.longest_first(variants)
    budgets = [variants[i].settings.budget for i in order]
    trusts = [variants[i].settings.min_average_trust for i in order]
    # 5000 affords every option, as does nothing larger; 0 affords none.
    assert budgets == [5000, 5000, 120, 120, 80, 80, 0, 0]
    assert trusts == [60, 70] * 4, "equal effort: grid order"
    _, _, same_budget = validate_points(workbook, None, [], [("max_foreign_share", "0.2,0.5,0.9")])
    assert sweep.longest_first(same_budget) == [0, 1, 2]
