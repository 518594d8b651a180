"""A layer that no option supplies (SPEC §2, Layers).

Without a Layers sheet any layer name is accepted: one named in a market's
`required_layers` or an offer's `layers` that no option supplies is a warning
saying the consequence (the market is unreachable, the offer's filter matches
no option), and the scenario still solves, because a Markets or CoFinancing
sheet may be shared by scenarios, not all of which have options of every
layer. With a Layers sheet the sheet is the list of layers: an unlisted name
stays an input error, located.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from workbooks import Tables, full_tables, minimal_tables, write_workbook

from planner.checks.precheck import check_before_solve
from planner.cli import cli
from planner.errors import InputError
from planner.workbook.validation import load_scenario

OFFER_HEADER = [
    "offer_id",
    "financier",
    "share",
    "cap",
    "fee",
    "min_eligible_spend",
    "regions",
    "kinds",
    "layers",
    "decision",
]


@pytest.fixture
def book(tmp_path: Path):
    def write(tables: Tables) -> Path:
        return write_workbook(tmp_path / "scenario.xlsx", tables)

    return write


def _without_layers_sheet() -> Tables:
    """Markets M2 and M3 require `compute`, which no option supplies; two offers name it."""
    tables = minimal_tables()
    tables["Markets"][2][5] = "compute"
    tables["Markets"].append(["M3", "Togo", "West Africa", 1, 5, "Compute; cloud"])
    tables["Coverage"].append(["O1", "M3", 2])
    tables["CoFinancing"] = [
        OFFER_HEADER,
        ["C1", "Chips fund", 0.5, 20, 0, 0, "*", "*", "compute", None],
        ["C2", "Stack fund", 0.5, 20, 0, 0, "*", "*", "compute; cloud", None],
    ]
    return tables


def _solve(path: Path, out: Path) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli,
        [
            "solve",
            "--no-explain",
            str(path),
            "--out",
            str(out),
            "--time-limit",
            "30",
            "--plans",
            "2",
        ],
    )
    assert isinstance(result.exception, SystemExit) or result.exception is None, result.output
    return result.exit_code, result.stderr


MARKETS_WARNING = (
    "Markets rows 3, 4 (required_layers): no option supplies layer 'compute', so markets "
    "M2, M3 are unreachable (the layers of Options are cloud, model)"
)
USELESS_OFFER_WARNING = (
    "CoFinancing row 2 (layers): offer C1 names layer 'compute', which no option supplies; "
    "its layer filter matches no option, so the offer is useless "
    "(the layers of Options are cloud, model)"
)
PARTLY_USELESS_OFFER_WARNING = (
    "CoFinancing row 3 (layers): offer C2 names layer 'compute', which no option supplies; "
    "that part of its layer filter matches no option (the layers of Options are cloud, model)"
)


def test_without_layers_sheet_unsupplied_layers_are_warnings(book) -> None:
    s = load_scenario(book(_without_layers_sheet()))
    assert s.warnings == (MARKETS_WARNING, USELESS_OFFER_WARNING, PARTLY_USELESS_OFFER_WARNING)
    assert {m.market_id: m.required_layers for m in s.markets} == {
        "M1": ("cloud",),
        "M2": ("compute",),
        "M3": ("cloud", "compute"),
    }
    assert {c.offer_id: c.layers for c in s.offers} == {
        "C1": ("compute",),
        "C2": ("cloud", "compute"),
    }


def test_a_layers_sheet_without_rows_counts_as_none(book) -> None:
    """The template's Layers sheet is there but empty: it lists nothing, so it limits nothing."""
    tables = _without_layers_sheet()
    tables["Layers"] = [["layer", "min_trust", "max_foreign_share"]]
    s = load_scenario(book(tables))
    assert s.warnings == (MARKETS_WARNING, USELESS_OFFER_WARNING, PARTLY_USELESS_OFFER_WARNING)


def test_one_market_is_named_in_the_singular(book) -> None:
    tables = minimal_tables()
    tables["Markets"][2][5] = "compute"
    s = load_scenario(book(tables))
    assert s.warnings == (
        "Markets row 3 (required_layers): no option supplies layer 'compute', so market "
        "M2 is unreachable (the layers of Options are cloud, model)",
    )


def test_pre_solve_checks_see_the_market_unreachable_and_the_offer_useless(book) -> None:
    found = check_before_solve(load_scenario(book(_without_layers_sheet())))
    assert found.conflicts == ()
    assert found.warnings[:3] == (
        MARKETS_WARNING,
        USELESS_OFFER_WARNING,
        PARTLY_USELESS_OFFER_WARNING,
    )
    assert set(found.warnings[3:]) == {
        "market M2 (Ghana) is unreachable: no option that can be chosen supplies its "
        "required layer(s) compute there",
        "market M3 (Togo) is unreachable: no option that can be chosen supplies its "
        "required layer(s) compute there",
        "offer C1 (Chips fund): no option is eligible for it",
    }


def test_a_must_offer_needing_spend_on_an_unsupplied_layer_is_infeasible(book) -> None:
    tables = _without_layers_sheet()
    tables["CoFinancing"][1][5] = 10  # min_eligible_spend
    tables["CoFinancing"][1][9] = "must"
    found = check_before_solve(load_scenario(book(tables)))
    assert found.conflicts == (
        "offer C1 is must but needs 10 of spend on eligible options, and all eligible "
        "options that can be chosen cost 0 together",
    )


def test_without_layers_sheet_the_scenario_solves(book, tmp_path: Path) -> None:
    code, stderr = _solve(book(_without_layers_sheet()), tmp_path / "out")
    assert code == 0, stderr
    assert f"warning: {MARKETS_WARNING}" in stderr.splitlines()
    assert f"warning: {USELESS_OFFER_WARNING}" in stderr.splitlines()
    doc = json.loads((tmp_path / "out" / "plans.json").read_text(encoding="utf-8"))
    assert doc["status"] == "optimal"
    best = doc["plans"][0]
    assert best["options"] == ["O1", "O2"]
    reach = {m["market"]: m["reach"] for m in best["markets"]}
    assert reach == {"M1": 8.0, "M2": 0.0, "M3": 0.0}  # M2, M3 unreachable
    assert all(c["offer"] == "C2" for c in best["cofinancing"])  # C1 pays for nothing


def test_validate_lists_the_warnings(book) -> None:
    result = CliRunner().invoke(cli, ["validate", str(book(_without_layers_sheet()))])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert f"  - {MARKETS_WARNING}" in lines
    assert f"  - {PARTLY_USELESS_OFFER_WARNING}" in lines
    assert lines[-1] == "Valid."


@pytest.mark.parametrize(
    ("sheet", "row", "column", "cell", "listed"),
    [
        ("Markets", 3, "required_layers", ("Markets", 2, 5), False),
        ("CoFinancing", 2, "layers", ("CoFinancing", 1, 8), False),
        # Listed on the Layers sheet though no option supplies it: accepted, no warning
        # from validation (the pre-solve checks still say what it means).
        ("Markets", 3, "required_layers", ("Markets", 2, 5), True),
        ("CoFinancing", 2, "layers", ("CoFinancing", 1, 8), True),
    ],
)
def test_with_layers_sheet_the_sheet_is_the_list_of_layers(
    book,
    sheet: str,
    row: int,
    column: str,
    cell: tuple[str, int, int],
    listed: bool,
) -> None:
    tables = full_tables()
    name, r, c = cell
    tables[name][r][c] = "Compute"
    if listed:
        tables["Layers"].append(["compute", 0, 1])
        s = load_scenario(book(tables))
        assert not any("compute" in w for w in s.warnings)
        return
    with pytest.raises(InputError) as caught:
        load_scenario(book(tables))
    [problem] = caught.value.problems
    assert (problem.sheet, problem.row, problem.column, problem.value) == (
        sheet,
        row,
        column,
        "compute",
    )
    assert str(problem) == (
        f"sheet {sheet}, row {row}, column {column}: found 'compute'; "
        "expected a layer listed in the Layers sheet (cloud, model, skills)"
    )


def test_with_layers_sheet_the_scenario_with_a_listed_unsupplied_layer_solves(
    book, tmp_path: Path
) -> None:
    tables = full_tables()
    tables["Layers"].append(["compute", 0, 1])
    tables["Markets"][2][5] = "compute"
    tables["CoFinancing"][1][8] = "compute"
    code, stderr = _solve(book(tables), tmp_path / "out")
    assert code == 0, stderr
    assert "market M2 (Ghana) is unreachable" in stderr
    assert "offer C1 (Allied fund): no option is eligible for it" in stderr
