"""An Excel error value cached in a cell (a formula that failed in Excel) is bad input,
shown as found: never read as blank, so never quietly a column's default."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from workbooks import (
    Tables,
    full_tables,
    minimal_tables,
    put_cells,
    set_error_values,
    write_shared_strings_workbook,
    write_workbook,
)

from planner.cli import cli
from planner.errors import InputError
from planner.scenario.schema import SHEET_BY_KEY
from planner.workbook.validation import load_scenario

CODES = (
    "#N/A",
    "#DIV/0!",
    "#VALUE!",
    "#REF!",
    "#NAME?",
    "#NUM!",
    "#NULL!",
    "#SPILL!",
    "#CALC!",
    "#GETTING_DATA",
)


@pytest.fixture
def book(tmp_path: Path):
    def write(tables: Tables, name: str = "scenario.xlsx") -> Path:
        return write_workbook(tmp_path / name, tables)

    return write


def expected(column: str, sheet: str = "Markets") -> str:
    """What a cell of the column must hold, in the words of the messages."""
    return next(c for c in SHEET_BY_KEY[sheet.lower()].columns if c.name == column).expected()


def messages(path: Path, **kwargs: object) -> list[str]:
    with pytest.raises(InputError) as info:
        load_scenario(path, **kwargs)  # type: ignore[arg-type]
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize("code", CODES)
def test_an_error_in_an_optional_number_is_bad_input_not_the_default(book, code: str) -> None:
    path = book(minimal_tables())
    set_error_values(path, "Markets", {"D2": code}, formula="VLOOKUP(A2,Weights!A:B,2,0)")
    run = CliRunner().invoke(cli, ["validate", str(path)])
    assert run.exit_code == 2, run.output
    assert (
        f"sheet Markets, row 2, column weight: found {code}; expected {expected('weight')}"
    ) in run.output


def test_an_error_in_a_required_cell_is_shown_as_found_not_as_blank(book) -> None:
    path = book(minimal_tables())
    set_error_values(path, "Options", {"F3": "#DIV/0!"}, formula="40/0")
    assert messages(path) == [
        "sheet Options, row 3, column cost: found #DIV/0!; expected a number of at least 0"
    ]


@pytest.mark.parametrize(
    ("sheet", "ref", "column", "expected"),
    [
        ("Options", "A2", "option_id", "an identifier (text or whole number)"),
        ("Options", "C2", "name", "text"),
        ("Options", "G2", "decision", "blank, must or never"),
        ("Partners", "C3", "country", "a name"),
        ("Markets", "F2", "required_layers", "a ;-separated list of names, or *"),
        ("Coverage", "C4", "reach", "a number of at least 0"),
        ("CoFinancing", "G2", "regions", "a ;-separated list of names, or *"),
        ("Rules", "A2", "rule", "requires or excludes"),
    ],
)
def test_an_error_in_any_kind_of_column_is_located(
    book, sheet: str, ref: str, column: str, expected: str
) -> None:
    tables = full_tables()
    row, col = int(ref[1:]), ord(ref[0]) - ord("A")
    tables[sheet][row - 1][col] = "a value Excel replaced by an error"
    path = book(tables)
    set_error_values(path, sheet, {ref: "#N/A"})
    found = messages(path)
    assert f"sheet {sheet}, row {row}, column {column}: found #N/A; expected {expected}" in found


def test_an_error_in_the_settings_value_column(book) -> None:
    path = book(minimal_tables())
    set_error_values(path, "Settings", {"B2": "#REF!"}, formula="Budget!#REF!")
    assert messages(path) == [
        "sheet Settings, row 2, column value: found #REF!; expected budget: a number of at least 0"
    ]


def test_an_error_in_an_optional_setting_is_not_its_default(book) -> None:
    tables = minimal_tables()
    tables["Settings"].append(["max_foreign_share", 0.5])
    path = book(tables)
    set_error_values(path, "Settings", {"B4": "#VALUE!"})
    assert messages(path) == [
        "sheet Settings, row 4, column value: found #VALUE!; expected max_foreign_share: "
        "a number from 0 to 1"
    ]


def test_an_error_as_a_setting_name(book) -> None:
    path = book(minimal_tables())
    set_error_values(path, "Settings", {"A3": "#NAME?"})
    assert any(
        m.startswith(
            "sheet Settings, row 3, column setting: found #NAME?; expected one of the settings "
        )
        for m in messages(path)
    )


def test_an_error_in_the_scenarios_sheet(book) -> None:
    path = book(full_tables())
    set_error_values(path, "Scenarios", {"C2": "#N/A", "B3": "#SPILL!"})
    assert messages(path, scenario="high") == [
        "sheet Scenarios, row 2, column value: found #N/A; expected budget: a number of at least 0",
        "sheet Scenarios, row 3, column setting: found #SPILL!; expected text",
    ]


def test_an_error_alone_in_its_row_is_reported(book) -> None:
    tables = minimal_tables()
    tables["Partners"].append([None, None, None, 0])
    path = book(tables)
    set_error_values(path, "Partners", {"D4": "#N/A"})
    assert (
        "sheet Partners, row 4, column trust: found #N/A; expected a number from 0 to 100"
        in messages(path)
    )


def test_errors_in_ignored_columns_are_ignored(book) -> None:
    tables = minimal_tables()
    tables["Partners"][0].append("lookup")
    tables["Partners"][1].append("x")
    tables["Partners"][2] += [None, "y"]
    tables["Partners"][0] += [None, "z"]
    path = book(tables)
    set_error_values(path, "Partners", {"E2": "#N/A", "F3": "#REF!", "G1": "#NAME?"})
    assert load_scenario(path) == load_scenario(book(minimal_tables(), "plain.xlsx"))


def test_every_error_is_listed_in_one_run(book) -> None:
    path = book(minimal_tables())
    set_error_values(path, "Markets", {"D2": "#N/A", "E3": "#CALC!"})
    set_error_values(path, "Coverage", {"C2": "#DIV/0!"})
    assert messages(path) == [
        "sheet Coverage, row 2, column reach: found #DIV/0!; expected a number of at least 0",
        f"sheet Markets, row 2, column weight: found #N/A; expected {expected('weight')}",
        "sheet Markets, row 3, column addressable: found #CALC!; "
        f"expected {expected('addressable')}",
    ]


def test_errors_beside_a_stray_cell_keep_their_place(book) -> None:
    path = book(minimal_tables())
    put_cells(path, "Coverage", {"XFD100": "x"})
    set_error_values(path, "Coverage", {"C3": "#N/A", "C4": "#SPILL!"})
    assert messages(path) == [
        "sheet Coverage, row 3, column reach: found #N/A; expected a number of at least 0",
        "sheet Coverage, row 4, column reach: found #SPILL!; expected a number of at least 0",
    ]


def test_errors_in_a_workbook_with_shared_strings(tmp_path: Path) -> None:
    """Text in the shared-strings part, as Excel saves it, and formulas that failed."""
    path = write_shared_strings_workbook(
        tmp_path / "excel.xlsx",
        minimal_tables(),
        failed={
            "Markets!D2": ("VLOOKUP(A2,Weights!A:B,2,0)", "#N/A"),
            "Options!F3": ("40/0", "#DIV/0!"),
        },
    )
    assert messages(path) == [
        f"sheet Markets, row 2, column weight: found #N/A; expected {expected('weight')}",
        "sheet Options, row 3, column cost: found #DIV/0!; expected a number of at least 0",
    ]
