"""A cell typed far from the table (Ctrl+End lands on XFD1048576) is read by what it
is, an extra column or a row of data, in little time and memory: the reader follows
a sheet's real cells, not the rectangle from A1 to its last cell. Only a sheet whose
cells in use truly span far more than any scenario is refused, quickly."""

from __future__ import annotations

import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
from workbooks import (
    Tables,
    edit_sheet,
    minimal_tables,
    put_cells,
    write_shared_strings_workbook,
    write_workbook,
)

import planner.workbook.reader as workbook_reader
from planner.errors import InputError
from planner.scenario.data import Scenario
from planner.workbook.validation import load_scenario

MEMORY = 512 * 2**20
"""Address space a `validate` process gets: a few times what it needs."""


@pytest.fixture
def book(tmp_path: Path):
    def write(tables: Tables, name: str = "scenario.xlsx") -> Path:
        return write_workbook(tmp_path / name, tables)

    return write


@pytest.fixture
def baseline(book) -> Scenario:
    return load_scenario(book(minimal_tables(), "baseline.xlsx"))


def bounded_python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Python code in its own process with bounded memory: an allocation the size of a
    sheet's rectangle aborts that process rather than the test run."""

    def bounded() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))

    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        preexec_fn=bounded,
        timeout=120,
    )


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    """`planner validate PATH`, with bounded memory."""
    return bounded_python("from planner.cli import cli; cli()", "validate", str(path))


@pytest.mark.parametrize("ref", ["XFD1048576", "XFD5000", "Z1048576", "XFD1", "AA2"])
def test_a_stray_cell_in_an_extra_column_is_ignored(book, baseline: Scenario, ref: str) -> None:
    path = book(minimal_tables())
    put_cells(path, "Options", {ref: "x"})
    run = validate(path)
    assert (run.returncode, run.stdout.splitlines()[-1:]) == (0, ["Valid."]), run.stderr[-2000:]
    assert load_scenario(path) == baseline


def test_a_stray_cell_is_read_in_well_under_a_second(book) -> None:
    path = book(minimal_tables())
    put_cells(path, "Options", {"XFD1048576": "x"})
    timed = (
        "import sys, time\n"
        "from planner.workbook.reader import read_workbook\n"
        "read_workbook(sys.argv[1])\n"  # imports and first-use costs out of the measure
        "start = time.perf_counter()\n"
        "raw = read_workbook(sys.argv[1])\n"
        "print(time.perf_counter() - start)\n"
        "print(*(len(row) for _, row in raw.sheets['options'].rows))\n"
    )
    run = bounded_python(timed, str(path))
    assert run.returncode == 0, run.stderr[-2000:]
    seconds, widths = run.stdout.splitlines()
    assert float(seconds) < 0.5
    assert widths == "7 7"  # the extra column is left out


def test_a_stray_value_far_down_a_known_column_is_a_located_row(book) -> None:
    path = book(minimal_tables())
    put_cells(path, "Options", {"A1048576": "O9"})
    run = validate(path)
    assert run.returncode == 2, run.stderr[-2000:]
    assert (
        "sheet Options, row 1048576, column partner_id: found blank; expected an identifier "
        "(text or whole number) (this column is required)"
    ) in run.stderr


def test_rows_keep_their_excel_numbers_around_a_stray_cell(book) -> None:
    tables = minimal_tables()
    tables["Options"][2][5] = -1  # row 3
    path = book(tables)
    put_cells(path, "Options", {"XFD100": "x", "F70": "lots", "B70": "P1"})
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert [str(p) for p in info.value.problems] == [
        "sheet Options, row 3, column cost: found -1; expected a number of at least 0",
        "sheet Options, row 70, column cost: found 'lots'; expected a number of at least 0",
        "sheet Options, row 70, column layer: found blank; expected a name "
        "(this column is required)",
        "sheet Options, row 70, column option_id: found blank; expected an identifier "
        "(text or whole number) (this column is required)",
    ]


def test_a_header_far_to_the_right_is_named_by_its_column(book) -> None:
    path = book(minimal_tables())
    put_cells(path, "Options", {"XFD1": "cost", "ZZ100": 5})
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert [str(p) for p in info.value.problems] == [
        "sheet Options, row 1, column XFD: found 'cost'; expected the column cost only once "
        "(it is also column F)"
    ]


def test_a_formula_without_cached_value_beside_a_stray_cell_is_located(book) -> None:
    tables = minimal_tables()
    tables["Options"][1][5] = "=20+10"
    path = book(tables)
    put_cells(path, "Options", {"XFD100": "x"})
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert [str(p) for p in info.value.problems] == [
        "sheet Options, row 2, column cost: a value, found a formula with no cached value; "
        "open and save the workbook in Excel (or type the value)"
    ]


def test_a_note_alone_in_an_extra_column_makes_no_row(book, baseline: Scenario) -> None:
    tables = minimal_tables()
    tables["Options"][0].append("notes")
    tables["Options"].insert(2, [None] * 7 + ["-- models --"])
    tables["Options"].append([None] * 8 + ["unheaded"])
    assert load_scenario(book(tables)) == baseline


def test_a_sheet_spanning_far_more_than_any_scenario_is_refused(book) -> None:
    """Cells in use across 6,000 rows by 6,000 columns (a diagonal): 36 million cells."""
    path = book(minimal_tables())
    cells: dict[str, object] = {}
    for k in range(6000):
        column = workbook_reader.column_letter(10 + k)
        cells[f"{column}1"] = f"note {k}"
        cells[f"{column}{10 + k}"] = k
    put_cells(path, "Options", cells)
    start = time.perf_counter()
    run = validate(path)
    assert time.perf_counter() - start < 30
    assert run.returncode == 2, run.stderr[-2000:]
    assert (
        "sheet Options: at most 33,554,432 cells in the rows and headed columns in use; this "
        "sheet spans 6,003 rows by 6,007 columns, far more than any scenario (delete the "
        "cells far below or to the right of the table)"
    ) in run.stderr


# --- sheets written by other programs -------------------------------------------------------


def _stray_row(xml: bytes, prefix: bytes = b"") -> bytes:
    p = prefix
    row = (
        b'<%srow r="100"><%sc r="XFD100" t="inlineStr"><%sis><%st>x</%st></%sis></%sc></%srow>'
        % ((p,) * 8)
    )
    return xml.replace(b"</%ssheetData>" % p, row + b"</%ssheetData>" % p)


def _no_gaps() -> Tables:
    tables = minimal_tables()
    tables["Options"][2][4] = "research"  # every row filled up to its last cell
    return tables


def test_cells_written_without_references_keep_their_places(book) -> None:
    """Some programs leave out a cell's reference: it follows the cell before it."""
    expected = load_scenario(book(_no_gaps(), "plain.xlsx"))
    path = book(_no_gaps())
    edit_sheet(path, "Options", lambda x: _stray_row(re.sub(rb'<c r="[A-Z]+\d+"', b"<c", x)))
    assert load_scenario(path) == expected


def test_a_sheet_with_prefixed_tags_is_read_by_its_cells(book) -> None:
    """SpreadsheetML under a namespace prefix (`<x:c>`), as some generators write it."""
    expected = load_scenario(book(_no_gaps(), "plain.xlsx"))
    path = book(_no_gaps())

    def prefixed(xml: bytes) -> bytes:
        xml = xml.replace(b"<worksheet xmlns=", b"<worksheet xmlns:x=", 1)
        xml = re.sub(rb"<(/?)(\w+)([\s/>])", rb"<\1x:\2\3", xml)
        return _stray_row(xml, b"x:").replace(b'<x:c r="F3" t="n"><x:v>40</x:v>', ERROR_F3)

    edit_sheet(path, "Options", prefixed)
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert [str(p) for p in info.value.problems] == [
        "sheet Options, row 3, column cost: found #N/A; expected a number of at least 0"
    ]
    edit_sheet(path, "Options", lambda x: x.replace(ERROR_F3, b'<x:c r="F3"><x:v>40</x:v>'))
    assert load_scenario(path) == expected


ERROR_F3 = b'<x:c s="0" t="e" r="F3"><x:f>VLOOKUP(B3,Costs!A:B,2,0)</x:f><x:v>#N/A</x:v>'


@pytest.mark.parametrize("references", [True, False])
def test_error_cells_written_in_any_order_are_found(book, references: bool) -> None:
    path = book(_no_gaps())

    def edit(xml: bytes) -> bytes:
        xml = xml.replace(b'<c r="F3" t="n"><v>40</v>', b'<c s="0" t="e" r="F3"><v>#DIV/0!</v>')
        return xml if references else re.sub(rb'\sr="[A-Z]+\d+"', b"", xml)

    edit_sheet(path, "Options", edit)
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert [str(p) for p in info.value.problems] == [
        "sheet Options, row 3, column cost: found #DIV/0!; expected a number of at least 0"
    ]


def test_a_workbook_with_shared_strings_and_stray_cells_reads_equal(
    tmp_path: Path, baseline: Scenario
) -> None:
    """Text in the shared-strings part, as Excel saves it: the packed copy keeps it."""
    path = write_shared_strings_workbook(
        tmp_path / "excel.xlsx",
        minimal_tables(),
        cells={"Options!XFD1048576": "stray", "Markets!AB70000": "note"},
    )
    run = validate(path)
    assert (run.returncode, run.stdout.splitlines()[-1:]) == (0, ["Valid."]), run.stderr[-2000:]
    assert load_scenario(path) == baseline
