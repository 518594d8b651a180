"""Cell changes (SPEC §2): a scenario, `--set` or `load()` naming one cell of another sheet.

A setting name of the form `Sheet[key].column` (`Options[APP-02].cost`,
`Coverage[APP-02,KE].reach`, `Layers[model].max_foreign_share`) replaces one cell
of the raw workbook *before* validation, so the new value is checked exactly like
the cell it replaces: its type and range, and whatever depends on other rows (a
partner id must exist, a layer must be listed). What the user typed is where the
mistake is, so every problem a change causes is located at the Scenarios row or
the option that gave it (`relocated`), never at the replaced cell.

Why raw cells and not the validated `Scenario`: a cell change must mean what the
same edit made by hand in Excel means, blank cells, defaults, ids read as text
and every cross-sheet check included; editing the raw cells is the one way that
cannot drift from the reader. Only the sheets a change names are copied, and of
them only the list of rows and the rows changed: a workbook of 250,000 rows with
a few changes costs a few list copies, and one without changes costs nothing.

Names: the sheet and the column match as every header does (case, spaces and
underscores aside); a key is an id, compared exactly after trimming (the number 7
is the id "7"), except a layer name, compared case-insensitively. Sheets keyed
by a pair (Coverage, Usage) take both ids, comma-separated, so an id of those
sheets holding a comma cannot be named.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

from planner.errors import Problem
from planner.scenario.schema import SHEET_BY_KEY, SHEETS, Column, Kind, Sheet, canonical_header
from planner.scenario.values import CONVERTERS, BadValue, convert_value, is_blank
from planner.workbook.reader import RawSheet, RawWorkbook

#: How the messages show the form of a cell change.
CELL_FORM = "a cell of another sheet as Sheet[key].column (e.g. Options[APP-02].cost)"
_FORM = "Sheet[key].column"
_NOT_CHANGEABLE = ("Settings", "Scenarios")


class BadCellName(Exception):
    """A name that is no cell change; `expected` says what it should have been."""

    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


@dataclass(frozen=True, slots=True)
class Cell:
    """A cell named `Sheet[key].column`: the sheet, its row's key and the column."""

    sheet: Sheet
    key: tuple[str, ...]
    """The key as compared with the sheet's key cells: ids trimmed (NFC), layers casefolded."""
    column: Column
    typed_key: tuple[str, ...]
    """The key's ids as typed (trimmed), for messages."""

    @property
    def text(self) -> str:
        """The name with the schema's spelling of sheet and column, the key as typed."""
        return f"{self.sheet.name}[{','.join(self.typed_key)}].{self.column.name}"

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class CellChange:
    """A new value for a cell, and where the user gave it (for messages)."""

    cell: Cell
    value: object
    sheet: str
    """The Scenarios sheet as written in the workbook, or the origin (`--set`, `load()`)."""
    row: int | None
    """The Scenarios row (as Excel shows it); None for an option or an API argument."""
    typed: str
    """The name as the user typed it (trimmed)."""

    def problem(self, value: object, expected: str, found: bool = True) -> Problem:
        """A problem of this change's value, located where the user typed it."""
        if self.row is None:
            return Problem(self.sheet, None, self.typed, value, expected, found)
        return Problem(self.sheet, self.row, "value", value, f"{self.cell}: {expected}", found)


Placed = dict[tuple[str, int, str], CellChange]
"""(sheet name as written, Excel row, column) of each replaced cell -> the change applied."""


def is_cell_name(name: str) -> bool:
    """Whether a setting name is meant as a cell (`Sheet[key].column`), well formed or not."""
    return "[" in name or "]" in name


def name_problem(sheet: str, row: int | None, typed: object, expected: str) -> Problem:
    """A problem with the *name* of a setting or cell, located where it was typed.

    On the Scenarios sheet that is the row's `setting` cell; on the command line
    the option itself (`--set`); in an API call the argument, named as typed.
    """
    if row is not None:
        return Problem(sheet, row, "setting", typed, expected)
    column = None if sheet.startswith("--") else str(typed)
    return Problem(sheet, None, column, typed, expected)


def parse_cell(name: str) -> Cell:
    """The cell a `Sheet[key].column` name stands for; raises BadCellName saying why not.

    Only the name is judged here; whether the workbook has such a row is
    `CellTargets.locate`'s question.
    """
    sheet_text, bracket, rest = name.partition("[")
    key_text, closing, tail = rest.rpartition("]")
    if not bracket or not closing or not tail.strip().startswith(".") or not sheet_text.strip():
        raise BadCellName(f"a setting name, or {CELL_FORM}")
    sheet = SHEET_BY_KEY.get(canonical_header(sheet_text))
    if sheet is None:
        raise BadCellName(f"a cell of one of the sheets {_changeable_sheets()}, as {_FORM}")
    if sheet.name == "Settings":
        setting = key_text.strip() or "budget"
        raise BadCellName(f"a setting by its name alone ({setting}, not {name.strip()})")
    if sheet.name == "Scenarios":
        raise BadCellName("a cell of a sheet other than Scenarios (a scenario cannot change one)")
    if not sheet.key:
        raise BadCellName(
            f"a cell of a sheet whose rows have ids ({_changeable_sheets()}); "
            f"rows of {sheet.name} have none, so they cannot be named"
        )
    key_columns = [sheet.column(name) for name in sheet.key]
    parts = key_text.split(",") if len(key_columns) > 1 else [key_text]
    form = f"{sheet.name}[{','.join(sheet.key)}].column"
    if len(parts) != len(key_columns):
        raise BadCellName(f"both ids, comma-separated, as in {form}")
    key = []
    for col, part in zip(key_columns, parts, strict=True):
        normal = key_of(col, part)
        if normal is None:
            raise BadCellName(f"{col.expected()} for {col.name}, as in {form}")
        key.append(normal)
    column = _column(sheet, tail.strip()[1:])
    return Cell(sheet, tuple(key), column, tuple(part.strip() for part in parts))


def _column(sheet: Sheet, text: str) -> Column:
    wanted = canonical_header(text)
    for col in sheet.columns:
        if canonical_header(col.name) == wanted:
            if col.name in sheet.key:
                raise BadCellName(
                    f"a column other than {col.name}, which names the row (a change cannot "
                    "rename a row)"
                )
            return col
    others = ", ".join(c.name for c in sheet.columns if c.name not in sheet.key)
    raise BadCellName(f"a column of {sheet.name}: {others}")


def _changeable_sheets() -> str:
    return ", ".join(s.name for s in SHEETS if s.key and s.name not in _NOT_CHANGEABLE)


def key_of(col: Column, value: object) -> str | None:
    """A key cell (or a typed key) as keys are compared; None when it is no key at all."""
    try:
        key = CONVERTERS[col.kind](value)
    except BadValue:
        return None
    if not isinstance(key, str) or not key:
        return None
    return key.casefold() if col.kind is Kind.NAME else key


def value_problem(change: CellChange) -> Problem | None:
    """The change's value judged by its column's own rule alone (type, range, blank).

    For changes that are not applied (a scenario not chosen, a value overridden
    later): cheap, and catches most mistakes in one run. Checks that need the
    other rows (references, listed layers) are made for applied changes only,
    by validation itself.
    """
    col, value = change.cell.column, change.value
    if is_blank(value):
        if not col.required:
            return None
        return change.problem(value, f"{col.expected()} (this column is required)")
    try:
        convert_value(col, value)
    except BadValue:
        return change.problem(value, col.expected())
    return None


@dataclass(frozen=True, slots=True)
class Target:
    """Where a cell change writes: a row and column of a raw sheet."""

    sheet: str
    """The sheet's key in `RawWorkbook.sheets` (its canonical name)."""
    position: int
    """Index in the raw sheet's `rows`."""
    column: int | None
    """Index in the raw sheet's `headers`; None when the column is to be added."""


class CellTargets:
    """Finds the rows cell changes name in a raw workbook, and applies changes to a copy.

    Each sheet's key index is built once, and only for the sheets named.
    """

    def __init__(self, raw: RawWorkbook) -> None:
        self.raw = raw
        self._rows: dict[str, dict[tuple[str, ...], int] | None] = {}

    def locate(self, change: CellChange) -> Target | Problem | None:
        """The cell a change replaces, or the problem of naming a row that is not there.

        None when the sheet's key columns are themselves missing: that is
        reported as the sheet's own problem, and no row can be told.
        """
        cell = change.cell
        sheet_key = canonical_header(cell.sheet.name)
        raw = self.raw.sheets.get(sheet_key)
        if raw is None:
            return name_problem(
                change.sheet,
                change.row,
                change.typed,
                f"a cell of a row that exists: the workbook has no {cell.sheet.name} sheet",
            )
        headers = _header_positions(cell.sheet, raw)
        if sheet_key not in self._rows:
            self._rows[sheet_key] = _row_index(cell.sheet, raw, headers)
        rows = self._rows[sheet_key]
        if rows is None:
            return None
        position = rows.get(cell.key)
        if position is None:
            named = " and ".join(
                f"{name} {part}" for name, part in zip(cell.sheet.key, cell.typed_key, strict=True)
            )
            return name_problem(
                change.sheet,
                change.row,
                change.typed,
                f"a cell of a row that exists: no row of {cell.sheet.name} has {named} "
                "(a change replaces a cell; it does not add rows)",
            )
        column = headers.get(cell.column.name)
        if column is None and cell.column.required:
            return None  # a required column missing: the sheet's own problem, reported
        return Target(sheet_key, position, column)

    def apply(self, changes: Iterable[tuple[CellChange, Target]]) -> tuple[RawWorkbook, Placed]:
        """A copy of the workbook with the changes' values in their cells (later ones win).

        Only the sheets changed are copied: their list of rows, and the rows changed.
        """
        final: dict[tuple[str, int, str], tuple[CellChange, Target]] = {}
        for change, target in changes:
            final[target.sheet, target.position, change.cell.column.name] = (change, target)
        if not final:
            return self.raw, {}
        sheets = dict(self.raw.sheets)
        copied: set[tuple[str, int]] = set()
        added: dict[tuple[str, str], int] = {}
        placed: Placed = {}
        for change, target in final.values():
            sheet = sheets[target.sheet]
            if sheet is self.raw.sheets[target.sheet]:
                sheet = sheets[target.sheet] = _copy(sheet)
            column = target.column
            if column is None:  # one column added per sheet, whatever the rows changed
                name = change.cell.column.name
                if (target.sheet, name) not in added:
                    added[target.sheet, name] = _add_column(sheet, name)
                column = added[target.sheet, name]
            excel_row, cells = sheet.rows[target.position]
            if (target.sheet, target.position) not in copied:
                cells = list(cells)
                sheet.rows[target.position] = (excel_row, cells)
                copied.add((target.sheet, target.position))
            cells[column] = change.value
            sheet.uncached_formulas.discard((excel_row, column))
            placed[sheet.name, excel_row, change.cell.column.name] = change
        return RawWorkbook(path=self.raw.path, sheets=sheets), placed


def _copy(sheet: RawSheet) -> RawSheet:
    return RawSheet(
        name=sheet.name,
        headers=list(sheet.headers),
        rows=list(sheet.rows),
        uncached_formulas=set(sheet.uncached_formulas),
        columns=None if sheet.columns is None else list(sheet.columns),
    )


def _add_column(sheet: RawSheet, name: str) -> int:
    """Head a new column `name` (an optional column the sheet lacks); its cells are blank."""
    sheet.headers.append(name)
    if sheet.columns is not None:
        sheet.columns.append(max(sheet.columns, default=-1) + 1)
    sheet.rows[:] = [(r, [*cells, ""]) for r, cells in sheet.rows]  # rows span every header
    return len(sheet.headers) - 1


def _header_positions(sheet: Sheet, raw: RawSheet) -> dict[str, int]:
    """Column name -> index in the raw headers, the first of repeated headers (as validation
    reads them)."""
    known = {canonical_header(c.name): c.name for c in sheet.columns}
    out: dict[str, int] = {}
    for i, header in enumerate(raw.headers):
        if isinstance(header, str):
            name = known.get(canonical_header(header))
            if name is not None:
                out.setdefault(name, i)
    return out


def _row_index(
    sheet: Sheet, raw: RawSheet, headers: dict[str, int]
) -> dict[tuple[str, ...], int] | None:
    """The sheet's key -> position of the first row with it; None without its key columns."""
    if any(name not in headers for name in sheet.key):
        return None
    columns = []
    for name in sheet.key:
        col, i = sheet.column(name), headers[name]
        columns.append(_keys(col, [cells[i] for _, cells in raw.rows]))
    keys = list(zip(*columns, strict=True))
    # Built backwards, so a key repeated (a duplicate, reported by validation) finds its
    # first row, the one validation keeps.
    return dict(zip(reversed(keys), range(len(keys) - 1, -1, -1), strict=True))


def _keys(col: Column, cells: list[object]) -> list[str | None]:
    """A key column's cells as keys compare; plain ASCII ids (almost all) at C speed."""
    if col.kind is Kind.ID and set(map(type, cells)) == {str}:
        texts = cast(list[str], cells)
        if all(map(str.isascii, texts)):
            return [text.strip() or None for text in texts]
    return [key_of(col, cell) for cell in cells]


def relocated(problems: Sequence[Problem], placed: Placed) -> list[Problem]:
    """Problems found at replaced cells, moved to where their change was typed."""
    if not placed:
        return list(problems)
    out = []
    for p in problems:
        change = (
            placed.get((p.sheet, p.row, p.column))
            if p.sheet is not None and p.row is not None and p.column is not None
            else None
        )
        out.append(p if change is None else change.problem(p.value, p.expected, p.found))
    return out
