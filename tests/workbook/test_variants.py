"""A workbook read once for many variants gives exactly what `planner.load` gives.

Sweeps and scenario batches load one workbook under many settings; whatever the
path inside (`Workbook.load` reuses a validated scenario for plain settings and
re-validates for cell changes), the scenario, its source and every problem must
be those of a fresh `planner.load` with the same arguments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from workbooks import full_tables, write_workbook

import planner
from planner.errors import InputError
from planner.scenario.data import Scenario
from planner.workbook import variants
from planner.workbook.reader import RawWorkbook
from planner.workbook.variants import Workbook, open_workbook

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "inputs" / "example.xlsx"

MIXES: list[tuple[str | None, Mapping[str, object]]] = [
    (None, {}),
    ("base", {"budget": 90}),
    ("high_budget", {}),
    ("high_budget", {"plans": 2}),
    ("High_Budget", {"plans": "3", "min_average_trust": None}),
    ("tight_trust", {"budget": 90, "max_foreign_share": "0.5"}),
    ("no_trust_limits", {"min_partner_trust": 60}),
    (None, {"Options[APP-02].cost": 5}),
    ("home_first", {"Layers[model].max_foreign_share": 0, "budget": 150}),
    ("low_budget", {"CoFinancing[C-EU-OPENWEIGHT].decision": "never", "plans": 1}),
    (None, {"Coverage[APP-02,ET].reach": 9, "Options[CMP-07].decision": "must"}),
]

BAD_MIXES: list[tuple[str | None, Mapping[str, object]]] = [
    (None, {"budget": -1}),
    (None, {"budget": None}),  # a required setting cannot be reset
    ("high_budget", {"plans": 0, "mip_gap": "x"}),
    ("nowhere", {"plans": 2}),
    (None, {"colour": "red", "plans": 2}),
    (None, {"Options[APP-99].cost": 1, "plans": 0}),
    (None, {"Options[APP-02].cost": -1}),
]


@pytest.fixture(scope="module")
def workbook() -> Workbook:
    return open_workbook(EXAMPLE)


def test_open_workbook_reads_the_file_once_and_knows_its_scenarios(workbook: Workbook) -> None:
    assert workbook.path == EXAMPLE
    assert workbook.sha256 == planner.load(EXAMPLE).source.sha256  # type: ignore[union-attr]
    assert workbook.scenario_names == (
        "high_budget",
        "home_first",
        "low_budget",
        "no_trust_limits",
        "tight_trust",
    )


@pytest.mark.parametrize(("scenario", "settings"), MIXES)
def test_load_gives_what_planner_load_gives(
    workbook: Workbook, scenario: str | None, settings: Mapping[str, object]
) -> None:
    expected = planner.load(EXAMPLE, scenario, settings)
    got = workbook.load(scenario, settings)
    assert got == expected
    # Fields outside ==: where it was read from, and what the user should know.
    assert got.source == expected.source and got.warnings == expected.warnings
    assert got.name == expected.name
    assert workbook.load(scenario, list(settings.items())) == expected  # pairs, too


@pytest.mark.parametrize(("scenario", "settings"), BAD_MIXES)
def test_bad_input_gives_the_problems_planner_load_gives(
    workbook: Workbook, scenario: str | None, settings: Mapping[str, object]
) -> None:
    with pytest.raises(InputError) as fresh:
        planner.load(EXAMPLE, scenario, settings, origin="--vary")
    with pytest.raises(InputError) as reused:
        workbook.load(scenario, settings, origin="--vary")
    assert reused.value.problems == fresh.value.problems
    assert any(p.sheet == "--vary" or p.sheet == "--scenario" for p in reused.value.problems)


def test_plain_settings_reuse_one_validation_per_scenario(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[object, ...]] = []
    real = variants.check_workbook

    def counted(
        raw: RawWorkbook,
        scenario: str | None = None,
        overrides: Sequence[tuple[str, object]] = (),
        origin: str = "--set",
    ) -> Scenario:
        calls.append((scenario, tuple(overrides)))
        return real(raw, scenario, overrides, origin)

    monkeypatch.setattr(variants, "check_workbook", counted)
    workbook = open_workbook(EXAMPLE)
    budgets = [workbook.load("high_budget", {"budget": b}).settings.budget for b in (50, 60, 70)]
    assert budgets == [50, 60, 70]
    workbook.load("HIGH_BUDGET", {"plans": 1})
    workbook.load(None, {"plans": 1})
    workbook.load("base")
    assert calls == [("high_budget", ()), (None, ())]
    # A cell change validates the raw cells again, with the change written in.
    workbook.load("high_budget", {"Options[APP-02].cost": 5})
    assert calls[-1] == ("high_budget", (("Options[APP-02].cost", 5),))


def test_later_pairs_win_and_every_value_is_checked(workbook: Workbook) -> None:
    assert workbook.load(None, [("budget", 50), ("Budget", 70)]).settings.budget == 70
    with pytest.raises(InputError) as info:
        workbook.load(None, [("budget", "lots"), ("budget", 70)])
    [problem] = info.value.problems
    assert str(problem) == "load() argument budget: found 'lots'; expected a number of at least 0"


def test_a_workbook_with_problems_reports_them_on_every_load(tmp_path: Path) -> None:
    tables = full_tables()
    tables["Partners"][1][3] = 120
    path = write_workbook(tmp_path / "s.xlsx", tables)
    workbook = open_workbook(path)
    for settings in ({}, {"budget": 10}, {"budget": -1}):
        with pytest.raises(InputError) as fresh:
            planner.load(path, "high", settings)
        with pytest.raises(InputError) as reused:
            workbook.load("high", settings)
        assert reused.value.problems == fresh.value.problems


def test_an_unreadable_file_is_bad_input_at_once(tmp_path: Path) -> None:
    path = tmp_path / "notes.xlsx"
    path.write_text("not a workbook")
    with pytest.raises(InputError, match="1 problem"):
        open_workbook(path)
    with pytest.raises(InputError, match="1 problem"):
        open_workbook(tmp_path / "gone.xlsx")
