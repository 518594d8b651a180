"""The blank scenario workbook that strategy teams fill in, generated from the schema.

Everything here is derived from `planner.scenario.schema`: the sheets and their headers,
the Settings rows, the Instructions sheet, the dropdowns and the number
formats. A column added to the schema therefore appears in the template (and
is explained in its Instructions) without touching this file, and the template
can never ask for a column the reader does not know.

The extra sheet (Instructions) and the extra columns on the Settings sheet
(`default`, `expected`, `meaning`) are ignored by the reader, as SPEC §2
allows, so a filled-in template is read exactly as any other workbook.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from planner.scenario.schema import (
    DECISIONS,
    MONEY,
    REACH,
    RULES,
    SETTINGS,
    SETTINGS_SHEET,
    SHEETS,
    TRUST,
    Column,
    Kind,
    Sheet,
)
from planner.xlsx_out import atomic_path, set_text

INSTRUCTIONS = "Instructions"
LAST_ROW = 1000
"""Formats and dropdowns cover rows 2..LAST_ROW: room for any hand-made scenario
without bloating the file (rows beyond still read, just unformatted)."""

SETTINGS_EXTRA = ("default", "expected", "meaning")
"""Help columns beside Settings' `setting`/`value`; the reader ignores extra columns."""

GENERAL_RULES = (
    "Fill in one sheet per table below; headers stay in row 1. Sheet names, headers and "
    "setting names match ignoring case and surrounding spaces, with spaces and underscores "
    "alike (Option ID = option_id).",
    "Identifiers (…_id columns, resource names) are text, compared exactly after trimming "
    "spaces; a cell holding the number 7 is the id 7 (never 7.0).",
    "Layer, kind, region and country names, and the words must, never, requires and "
    "excludes, compare ignoring case.",
    "Lists inside one cell are separated by ; (for example: cloud; model). * means all "
    "(in required_layers: every layer of the Layers sheet, or of Options when it is empty).",
    "A blank optional cell takes the default shown below; wholly blank rows are ignored. "
    "Numbers may be typed as numbers or as numeric text; formulas are read by their saved value.",
    "Money is in budget units (the currency setting), reach in reach units (the reach_unit "
    "setting); shares are fractions from 0 to 1 (typing 50% gives 0.5).",
    "Extra columns (notes, sources) and extra sheets, like this one, are ignored. Optional "
    "sheets may be left empty or deleted.",
    "Dropdowns offer the allowed words; the layer dropdown on Options lists the Layers sheet.",
)

_BOLD = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_WRAP = Alignment(wrap_text=True, vertical="top")

_KIND_WIDTH = {
    Kind.ID: 14,
    Kind.TEXT: 28,
    Kind.NAME: 18,
    Kind.NUMBER: 12,
    Kind.INTEGER: 10,
    Kind.LIST: 24,
    Kind.DECISION: 11,
    Kind.RULE: 12,
}


def number_format(col: Column) -> str | None:
    """The cell format a column's values read best in, or None to leave Excel's General.

    Ids are formatted as text so that Excel keeps what is typed (`007` stays
    `007`); money and reach show one or two decimals; shares show as percent;
    trust scores as whole numbers.
    """
    if col.kind is Kind.ID:
        return "@"
    if col.kind not in (Kind.NUMBER, Kind.INTEGER):
        return None
    if col.unit in (MONEY, REACH):
        return "#,##0.0#"
    if col.unit == "fraction":
        return "0%"
    if col.unit == TRUST or col.name.endswith("trust"):
        return "0"
    return None


def _column_width(header: str, col: Column | None) -> float:
    base = _KIND_WIDTH[col.kind] if col is not None else 12
    return float(min(max(base, len(header) + 3), 60))


def _header_row(ws: Worksheet, headers: list[str]) -> None:
    for i, header in enumerate(headers, start=1):
        cell = ws.cell(row=1, column=i)
        set_text(cell, header)
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
    ws.freeze_panes = "A2"


def _letter(sheet: Sheet, column: str) -> str:
    return get_column_letter([c.name for c in sheet.columns].index(column) + 1)


def _rows(letter: str) -> str:
    return f"{letter}2:{letter}{LAST_ROW}"


def _choice_validation(words: tuple[str, ...], what: str) -> DataValidation:
    """A dropdown of fixed words; anything else is refused, since the reader would refuse it."""
    allowed = " or ".join(words)
    return DataValidation(
        type="list",
        formula1='"' + ",".join(words) + '"',
        allow_blank=True,
        showDropDown=False,  # openpyxl's name is inverted: False shows the arrow
        showErrorMessage=True,
        errorStyle="stop",
        errorTitle=f"Not a {what}",
        error=f"Leave the cell blank or choose {allowed}.",
    )


def _reference_validation(source: str, what: str, hint: str) -> DataValidation:
    """A dropdown listing another sheet's column; a warning, not a stop, because an
    empty source (an optional sheet left blank) must not block typing."""
    return DataValidation(
        type="list",
        formula1=source,
        allow_blank=True,
        showDropDown=False,
        showErrorMessage=True,
        errorStyle="warning",
        errorTitle=f"Unlisted {what}",
        error=hint,
    )


def _add_validations(ws: Worksheet, sheet: Sheet) -> None:
    """Dropdowns for every column whose allowed values the schema knows."""
    layers_sheet = next(s for s in SHEETS if s.name == "Layers")
    for col in sheet.columns:
        letter = _letter(sheet, col.name)
        dv: DataValidation | None = None
        if col.kind is Kind.DECISION:
            dv = _choice_validation(DECISIONS, "decision")
        elif col.kind is Kind.RULE:
            dv = _choice_validation(RULES, "rule")
        elif col.name == "layer" and col.kind is Kind.NAME and sheet is not layers_sheet:
            source_col = _letter(layers_sheet, "layer")
            source = (
                f"{quote_sheetname(layers_sheet.name)}!${source_col}$2:${source_col}${LAST_ROW}"
            )
            dv = _reference_validation(
                source,
                "layer",
                "This layer is not on the Layers sheet. When the Layers sheet has any rows, "
                "every layer used here must be listed there.",
            )
        elif sheet.name == "Scenarios" and col.name == "setting":
            last = 1 + len(SETTINGS)
            source = f"{quote_sheetname(SETTINGS_SHEET.name)}!$A$2:$A${last}"
            dv = _reference_validation(
                source,
                "setting",
                "Not a setting name. Type a setting of the Settings sheet, or a cell of "
                "another sheet as Sheet[key].column, e.g. Options[APP-02].cost.",
            )
        if dv is not None:
            ws.add_data_validation(dv)
            dv.add(_rows(letter))


def _data_sheet(wb: Workbook, sheet: Sheet) -> None:
    ws = wb.create_sheet(sheet.name)
    headers = [c.name for c in sheet.columns]
    _header_row(ws, headers)
    for i, col in enumerate(sheet.columns, start=1):
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = _column_width(col.name, col)
        fmt = number_format(col)
        if fmt is not None:
            for row in range(2, LAST_ROW + 1):
                ws.cell(row=row, column=i).number_format = fmt
    _add_validations(ws, sheet)


def _settings_sheet(wb: Workbook) -> None:
    """Settings pre-filled with every setting name; values blank, help beside them."""
    ws = wb.create_sheet(SETTINGS_SHEET.name)
    headers = [c.name for c in SETTINGS_SHEET.columns] + list(SETTINGS_EXTRA)
    _header_row(ws, headers)
    for row, spec in enumerate(SETTINGS, start=2):
        set_text(ws.cell(row=row, column=1), spec.name)
        set_text(ws.cell(row=row, column=3), spec.default_text())
        set_text(ws.cell(row=row, column=4), _expected(spec))
        set_text(ws.cell(row=row, column=5), spec.meaning)
        for column in (3, 4, 5):
            ws.cell(row=row, column=column).font = Font(italic=True, color="666666")
    widths = {"setting": 22, "value": 16, "default": 14, "expected": 36, "meaning": 70}
    for i, header in enumerate(headers, start=1):
        ws.column_dimensions[get_column_letter(i)].width = widths.get(header, 16)


def _expected(col: Column) -> str:
    return col.expected() + (f" ({col.unit})" if col.unit else "")


def _instructions_sheet(wb: Workbook) -> None:
    """How to fill the workbook in: general rules, then every sheet, column and setting."""
    ws = wb.active
    assert ws is not None
    ws.title = INSTRUCTIONS
    set_text(ws.cell(row=1, column=1), "Scenario workbook: how to fill it in")
    ws.cell(row=1, column=1).font = Font(bold=True, size=14)
    row = 3
    set_text(ws.cell(row=row, column=1), "General rules")
    ws.cell(row=row, column=1).font = _BOLD
    for line in GENERAL_RULES:
        row += 1
        set_text(ws.cell(row=row, column=1), line)
    row += 2
    table_headers = ("sheet", "column or setting", "required", "expected", "default", "meaning")
    for i, header in enumerate(table_headers, start=1):
        cell = ws.cell(row=row, column=i)
        set_text(cell, header)
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
    for sheet in SHEETS:
        row += 1
        need = "required sheet" if sheet.required else "optional sheet"
        for i, value in enumerate((sheet.name, "", need, "", "", sheet.meaning), start=1):
            set_text(ws.cell(row=row, column=i), value)
            ws.cell(row=row, column=i).font = _BOLD
        for col in sheet.columns:
            row += 1
            _describe(ws, row, sheet.name, col)
        if sheet is SETTINGS_SHEET:
            row += 1
            set_text(ws.cell(row=row, column=2), "settings, one row each:")
            ws.cell(row=row, column=2).font = Font(italic=True)
            for spec in SETTINGS:
                row += 1
                _describe(ws, row, sheet.name, spec)
    widths = (14, 22, 12, 44, 16, 80)
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width


def _describe(ws: Worksheet, row: int, sheet: str, col: Column) -> None:
    meaning = col.meaning
    if col.refers_to:
        meaning += f"; must exist in {col.refers_to.replace('.', ' ')}"
    values = (
        sheet,
        col.name,
        "required" if col.required else "optional",
        _expected(col),
        col.default_text(),
        meaning,
    )
    for i, value in enumerate(values, start=1):
        set_text(ws.cell(row=row, column=i), value)
        ws.cell(row=row, column=i).alignment = _WRAP


def write_template(path: str | Path) -> None:
    """Write a blank scenario workbook, whole or not at all.

    Planners start from this file rather than from a copy of someone's
    scenario, so it carries no data, only the structure and the help needed to
    fill it in correctly the first time.
    """
    path = Path(path)
    wb = Workbook()
    _instructions_sheet(wb)
    for sheet in SHEETS:
        if sheet is SETTINGS_SHEET:
            _settings_sheet(wb)
        else:
            _data_sheet(wb, sheet)
    with atomic_path(path) as tmp:
        wb.save(tmp)
