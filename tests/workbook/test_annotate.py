"""The team's own workbook, annotated: each bad cell filled and commented where the
problem says it is, every problem listed as text on a first sheet, nothing else changed."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.cell.cell import Cell
from test_hostile_files import laughs_in_sheet, zip_bomb, zip_not_a_workbook
from workbooks import minimal_tables, write_shared_strings_workbook, write_workbook

import planner.api as api
from planner.errors import InputError, Problem
from planner.workbook.annotate import FILL, annotate_workbook

EXAMPLE = Path(__file__).resolve().parents[2] / "inputs" / "example.xlsx"
RED = FILL.fgColor.rgb


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """The example with three mistakes: a trust above 100 (Partners D3), a cost typed as
    text that looks like a formula (Options F5) and a second `weight` header (Markets G1)."""
    book = load_workbook(EXAMPLE)
    book["Partners"]["D3"] = 120
    cost = book["Options"]["F5"]
    cost.value = "=6*2"
    cost.data_type = "s"  # text in the cell, as a team types '=6*2
    book["Markets"]["G1"] = "Weight"
    path = tmp_path / "broken.xlsx"
    book.save(path)
    return path


def problems_of(path: Path, **settings: object) -> list[Problem]:
    with pytest.raises(InputError) as info:
        api.load(path, settings=settings)
    return info.value.problems


def the(problems: list[Problem], sheet: str, row: int | None, column: str) -> Problem:
    [found] = [p for p in problems if (p.sheet, p.row, p.column) == (sheet, row, column)]
    return found


def test_bad_cells_are_filled_and_commented_where_the_problems_are(
    broken: Path, tmp_path: Path
) -> None:
    problems = problems_of(broken)
    assert len(problems) == 3
    out = tmp_path / "annotated.xlsx"
    assert annotate_workbook(broken, problems, out) == 3
    book = load_workbook(out)
    # The header row names each column: trust is D on Partners, cost F on Options.
    assert book["Partners"]["D1"].value == "trust" and book["Options"]["F1"].value == "cost"
    expected = {
        ("Partners", "D3"): f"found 120; expected {the(problems, 'Partners', 3, 'trust').expected}",
        ("Options", "F5"): f"found '=6*2'; expected {the(problems, 'Options', 5, 'cost').expected}",
        # A second header is located by its letter: G, not the first weight column (D).
        ("Markets", "G1"): "found 'Weight'; expected the column weight only once "
        "(it is also column D)",
    }
    for (sheet, ref), text in expected.items():
        cell = book[sheet][ref]
        assert cell.fill.fgColor.rgb == RED, (sheet, ref)
        assert cell.comment is not None and cell.comment.text == text
    assert book["Markets"]["D1"].comment is None
    assert book["Options"]["F5"].value == "=6*2" and book["Options"]["F5"].data_type == "s"


def test_every_problem_is_listed_as_text_on_a_first_sheet(broken: Path, tmp_path: Path) -> None:
    problems = problems_of(broken, budget="-1")  # a setting given outside the workbook
    out = tmp_path / "annotated.xlsx"
    assert annotate_workbook(broken, problems, out) == 3  # the setting has no cell
    book = load_workbook(out)
    assert book.sheetnames[0] == "Problems" and book.active.title == "Problems"
    sheet = book["Problems"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == ["sheet", "row", "column", "value", "expected"]
    assert ["load()", None, "budget", "-1", "a number of at least 0"] in rows
    assert ["Partners", "3", "trust", "120", "a number from 0 to 100"] in rows
    assert len(rows) == 1 + len(problems)
    # A found value that looks like a formula stays the text it is.
    [formula_like] = [row for row in sheet.iter_rows() if row[3].value == "=6*2"]
    assert formula_like[3].data_type == "s"
    with zipfile.ZipFile(out) as zf:
        first = zf.read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in first and b"<f " not in first


def test_unlocated_problems_mark_no_cell(broken: Path, tmp_path: Path) -> None:
    problems = [
        Problem("Rules2", None, None, None, "a sheet named Rules2", found=False),
        Problem("--set", None, None, "budget", "SETTING=VALUE"),
        Problem("Options", None, "cost", None, "a column headed cost", found=False),
    ]
    out = tmp_path / "annotated.xlsx"
    assert annotate_workbook(broken, problems, out) == 0
    rows = [[c.value for c in row] for row in load_workbook(out)["Problems"].iter_rows()]
    assert [row[0] for row in rows[1:]] == ["Rules2", "--set", "Options"]


def test_a_row_without_a_column_marks_the_cells_in_use(broken: Path, tmp_path: Path) -> None:
    problem = Problem("Options", 5, None, None, "a row of its own", found=False)
    out = tmp_path / "annotated.xlsx"
    assert annotate_workbook(broken, [problem], out) == 6  # A5:F5 hold values, G5 is blank
    sheet = load_workbook(out)["Options"]
    for c in range(1, 7):
        cell = sheet.cell(row=5, column=c)
        assert cell.fill.fgColor.rgb == RED and cell.comment is not None
        assert cell.comment.text == "expected a row of its own"
    assert sheet["G5"].comment is None


def test_every_other_cell_and_sheet_is_unchanged(broken: Path, tmp_path: Path) -> None:
    problems = problems_of(broken)
    out = tmp_path / "annotated.xlsx"
    annotate_workbook(broken, problems, out)
    before, after = load_workbook(broken), load_workbook(out)
    assert after.sheetnames == ["Problems", *before.sheetnames]
    marked = {("Partners", "D3"), ("Options", "F5"), ("Markets", "G1")}
    seen = 0
    for sheet in before.worksheets:
        other = after[sheet.title]
        assert (other.max_row, other.max_column) == (sheet.max_row, sheet.max_column)
        for row in sheet.iter_rows():
            for cell in row:
                assert isinstance(cell, Cell)
                twin = other[cell.coordinate]
                where = (sheet.title, cell.coordinate)
                assert (twin.value, twin.data_type) == (cell.value, cell.data_type), where
                assert twin.number_format == cell.number_format, where
                if where not in marked:
                    # (openpyxl's style proxies compare by identity: compare their contents)
                    assert repr(twin.fill) == repr(cell.fill), where
                    assert repr(twin.font) == repr(cell.font), where
                    assert twin.comment is None, where
                    seen += 1
        widths = {k: d.width for k, d in sheet.column_dimensions.items()}
        assert {k: d.width for k, d in other.column_dimensions.items()} == widths
    assert seen > 1000


def test_hostile_or_unreadable_source_is_refused_and_nothing_written(tmp_path: Path) -> None:
    out = tmp_path / "out" / "annotated.xlsx"
    out.parent.mkdir()
    for build, message in (
        (zip_bomb, "unpacks to more than"),
        (laughs_in_sheet, "declares a DOCTYPE or ENTITY"),
        (zip_not_a_workbook, "archive.xlsx cannot be opened to mark its cells"),
    ):
        with pytest.raises(InputError) as info:
            annotate_workbook(build(tmp_path), [], out)
        assert message in str(info.value.problems[0])
    assert list(out.parent.iterdir()) == []


def test_target_written_whole_or_not_at_all(broken: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        annotate_workbook(broken, [], tmp_path / "missing" / "annotated.xlsx")
    out = tmp_path / "annotated.xlsx"
    out.write_bytes(b"an older copy")
    annotate_workbook(broken, problems_of(broken), out)
    assert {p.name for p in tmp_path.iterdir()} == {"broken.xlsx", "annotated.xlsx"}  # no temp
    assert load_workbook(out)["Partners"]["D3"].fill.fgColor.rgb == RED


def test_workbook_too_large_to_open_whole_is_refused(tmp_path: Path) -> None:
    """openpyxl holds every cell as an object: the whole package is measured first."""
    tables = {"Options": [["option_id", "note"]]}
    tables["Options"] += [[f"O{i}", f"note {i} " * 20] for i in range(12_000)]
    source = write_shared_strings_workbook(tmp_path / "large.xlsx", tables)
    with pytest.raises(InputError) as info:
        annotate_workbook(source, [], tmp_path / "marked.xlsx", max_unpacked=2**20)
    assert str(info.value.problems[0]) == (
        "large.xlsx unpacks to more than 1 MB, more than a workbook opened whole "
        "(to mark its cells) may be"
    )


def test_headers_match_as_validation_matches_them(tmp_path: Path) -> None:
    """A column is found by its header as validation finds it (case, spaces, underscores)."""
    tables = minimal_tables()
    tables["Partners"][0] = ["Partner ID", "Name", "Country", "  TRUST "]
    tables["Partners"][2][3] = -5  # row 3, column D
    source = write_workbook(tmp_path / "headers.xlsx", tables)
    problems = problems_of(source)
    assert [(p.sheet, p.row, p.column) for p in problems] == [("Partners", 3, "trust")]
    out = tmp_path / "marked.xlsx"
    assert annotate_workbook(source, problems, out) == 1
    sheet = load_workbook(out)["Partners"]
    assert sheet["D3"].comment is not None and sheet["D3"].fill.fgColor.rgb == RED
    assert sheet["C3"].comment is None
