"""The team's own workbook with every problem marked where it is.

A team fixes a workbook in Excel, not from a list: each bad cell of its own file is
filled light red and given a comment saying what was found and what was expected,
so the fixes are made in place (`planner validate --annotate`, the desk's download).
A problem of a whole row (a row with no column) marks the row's cells in use; one
with no row at all (a missing sheet or column, a setting given on the command line)
cannot be shown in a cell, so a first sheet, Problems, lists every problem, located
ones too, as plain text: nothing read from a workbook becomes a formula there.

Locations are those of `planner.errors.Problem`: `sheet` is the sheet's name as
written in the workbook (or the schema's name when the sheet is missing, or an
origin such as `--set`), `row` is Excel's row number, `column` is the header of
the column as the schema names it (matched to row 1 as validation matches
headers: case, spaces and underscores aside), or Excel's letters when the
column has no usable header (a second column with the same header).

The workbook is opened with openpyxl, which reads every part of it, so the whole
package is checked first (`reader.check_package`): a workbook the reader would
refuse is never opened here. Everything else of the workbook is kept as openpyxl
keeps it (values, formulas, styles, other sheets; openpyxl drops images and charts).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.comments import Comment
from openpyxl.styles import PatternFill
from openpyxl.utils import column_index_from_string
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from planner.errors import CellError, InputError, Problem, show_value
from planner.scenario.schema import canonical_header
from planner.workbook.reader import check_package

MAX_ANNOTATED_BYTES = 16 * 2**20
"""Most a workbook may unpack to for openpyxl to open it whole. openpyxl holds every
cell as an object: a scenario of 10,000 options (12 MB unpacked) takes 150 MB and 7 s
to mark, 20,000 options 260 MB and 14 s; a service marks one at a time, within 256 MB."""
PROBLEMS_SHEET = "Problems"
FILL = PatternFill(fill_type="solid", fgColor="FFFFC7CE")
"""Excel's own light red ("Light Red Fill" of conditional formatting)."""
AUTHOR = "planner validate"
_LETTERS = re.compile(r"[A-Z]{1,3}")


def annotate_workbook(
    source: Path,
    problems: Sequence[Problem],
    target: Path,
    *,
    max_unpacked: int = MAX_ANNOTATED_BYTES,
) -> int:
    """Write `source` to `target` with each problem's cell filled and commented, and a
    first sheet listing every problem; return how many cells were marked.

    `target` appears whole or not at all (written beside it, then renamed). Raises
    InputError when `source` cannot be opened as a workbook (a file the reader would
    refuse, one unpacking to more than `max_unpacked`, one openpyxl cannot read),
    OSError when `target` cannot be written.
    """
    source, target = Path(source), Path(target)
    check_package(source, max_unpacked)
    try:
        book = load_workbook(source, rich_text=True)
    except Exception as exc:  # openpyxl raises many kinds on a file it cannot read
        raise InputError(
            [
                Problem(
                    None,
                    None,
                    None,
                    None,
                    f"{source.name} cannot be opened to mark its cells ({exc})",
                    found=False,
                )
            ]
        ) from None
    marked = _mark_cells(book, problems)
    _problems_sheet(book, problems)
    _save_whole(book, target)
    return marked


def _mark_cells(book: Workbook, problems: Sequence[Problem]) -> int:
    """Fill and comment each located problem's cells; the number of cells marked."""
    notes: dict[tuple[str, int, int], list[str]] = {}
    headers: dict[str, dict[str, int]] = {}
    for problem in problems:
        sheet = _worksheet(book, problem.sheet)
        if sheet is None or problem.row is None or problem.row < 1:
            continue
        column = _column(sheet, problem.column, headers)
        columns = [column] if column is not None else _used_columns(sheet, problem.row)
        for c in columns:
            notes.setdefault((sheet.title, problem.row, c), []).append(_note(problem))
    for (title, row, column), lines in notes.items():
        cell = book[title].cell(row=row, column=column)
        if isinstance(cell, MergedCell):  # covered by a merge: its first cell shows it
            cell = _merge_anchor(book[title], cell)
        cell.fill = FILL
        text = "\n".join(dict.fromkeys(lines))
        if cell.comment is not None:  # the team's own note is kept, ours follows
            text = f"{cell.comment.text}\n\n{text}"
        cell.comment = Comment(text, AUTHOR, height=max(80, 20 * text.count("\n") + 60), width=320)
    return len(notes)


def _worksheet(book: Workbook, name: str | None) -> Worksheet | None:
    """The sheet a problem names, as written or as the schema matches names."""
    if name is None:
        return None
    if name in book.sheetnames:
        found = book[name]
    else:
        key = canonical_header(name)
        titles = [t for t in book.sheetnames if canonical_header(t) == key]
        if not titles:
            return None
        found = book[titles[0]]
    return found if isinstance(found, Worksheet) else None


def _column(sheet: Worksheet, column: str | None, headers: dict[str, dict[str, int]]) -> int | None:
    """1-based column of a problem: its header in row 1 (the first one, as validation
    takes it), else Excel letters; None when the problem names no column there."""
    if column is None:
        return None
    if sheet.title not in headers:
        found: dict[str, int] = {}
        for cell in next(sheet.iter_rows(min_row=1, max_row=1), ()):
            if isinstance(cell.value, str) and cell.value.strip():
                found.setdefault(canonical_header(cell.value), int(cell.column))
        headers[sheet.title] = found
    index = headers[sheet.title].get(canonical_header(column))
    if index is None and _LETTERS.fullmatch(column):
        index = column_index_from_string(column)
    return index


def _used_columns(sheet: Worksheet, row: int) -> list[int]:
    """Columns of a row's cells holding something; every headed column if none does."""
    if row > sheet.max_row:
        return []
    cells = next(sheet.iter_rows(min_row=row, max_row=row), ())
    used = [int(c.column) for c in cells if isinstance(c, Cell) and c.value not in (None, "")]
    if used:
        return used
    header = next(sheet.iter_rows(min_row=1, max_row=1), ())
    return [int(c.column) for c in header if isinstance(c, Cell) and c.value not in (None, "")]


def _merge_anchor(sheet: Worksheet, cell: MergedCell) -> Cell:
    for merged in sheet.merged_cells.ranges:
        if cell.coordinate in merged:
            anchor = sheet.cell(row=merged.min_row, column=merged.min_col)
            if isinstance(anchor, Cell):
                return anchor
    raise ValueError(f"{cell.coordinate} is in no merged range")


def _note(problem: Problem) -> str:
    if not problem.found:
        return f"expected {problem.expected}"
    return f"found {show_value(problem.value)}; expected {problem.expected}"


def _problems_sheet(book: Workbook, problems: Sequence[Problem]) -> None:
    """A first sheet listing every problem, each cell text (never a formula)."""
    title = PROBLEMS_SHEET
    n = 1
    while title in book.sheetnames:  # the team's own Problems sheet is kept
        n += 1
        title = f"{PROBLEMS_SHEET} {n}"
    sheet = book.create_sheet(title, 0)
    rows = [("sheet", "row", "column", "value", "expected")]
    rows += [
        (
            p.sheet or "",
            "" if p.row is None else str(p.row),
            p.column or "",
            _as_text(p.value) if p.found else "",
            p.expected,
        )
        for p in problems
    ]
    for r, values in enumerate(rows, start=1):
        for c, value in enumerate(values, start=1):
            cell = sheet.cell(row=r, column=c)
            cell.value = value
            cell.data_type = "s"  # "=…" stays the text it is
    for letter, width in zip("ABCDE", (16, 6, 16, 24, 90), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    book.active = 0
    for other in book.worksheets[1:]:
        other.sheet_view.tabSelected = False


def _as_text(value: object) -> str:
    """A found value as the team typed it, as text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, CellError):
        return value.code
    return show_value(value)


def _save_whole(book: Workbook, target: Path) -> None:
    """Save beside `target`, then rename: a reader never sees half a workbook."""
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        book.save(temp)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
