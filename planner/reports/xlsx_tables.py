"""Plain tables in an xlsx report, written the way plans.xlsx writes them.

Shared by the what-if reports (sweep.xlsx, scenarios.xlsx): a header row in
the house colour, frozen; text always written as text (a name such as `=A1`
or `@x` never becomes a formula or a link); numbers cleaned of float noise;
blank cells for values that are unknown (a point that failed, an average of
nothing), so charts show a gap rather than a false zero.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from planner.reports.plans_json import clean_number
from planner.reports.plans_xlsx import HEADER_COLOR

#: Widest a column is made, in characters: lists of options wrap beyond it.
MAX_WIDTH = 60


def open_book(path: Path) -> Workbook:
    """A new report at `path` with nothing from the data ever turned into live content."""
    return xlsxwriter.Workbook(
        str(path),
        {"strings_to_formulas": False, "strings_to_urls": False, "nan_inf_to_errors": True},
    )


def write_table(
    book: Workbook,
    name: str,
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    formats: Mapping[str, str] | None = None,
    notes: Sequence[str] = (),
) -> Worksheet:
    """A sheet holding `rows` under `header`, numbers formatted by column (`formats`),
    `notes` below the table; returns the sheet, for a chart to be added."""
    ws = book.add_worksheet(name)
    header_style = book.add_format(
        {"bold": True, "font_color": "#FFFFFF", "bg_color": HEADER_COLOR, "text_wrap": True}
    )
    styles = {
        column: book.add_format({"num_format": number_format})
        for column, number_format in (formats or {}).items()
    }
    ws.freeze_panes(1, 0)
    for j, title in enumerate(header):
        sample = [len(str(r[j])) for r in rows[:200] if j < len(r) and r[j] is not None]
        ws.set_column(j, j, min(max(10, len(title) + 2, *(n + 2 for n in sample)), MAX_WIDTH))
        ws.write_string(0, j, title, header_style)
    column_styles = [styles.get(title) for title in header]
    for i, row in enumerate(rows, start=1):
        for j, value in enumerate(row):
            write_cell(ws, i, j, value, column_styles[j] if j < len(column_styles) else None)
    for k, note in enumerate(notes):
        ws.write_string(len(rows) + 2 + k, 0, note)
    return ws


def write_cell(ws: Worksheet, row: int, col: int, value: Any, style: Any = None) -> None:
    """One value: text as text, booleans as yes/no, numbers cleaned, None left blank."""
    if value is None or value == "":
        return
    if isinstance(value, bool):
        ws.write_string(row, col, "yes" if value else "no")
    elif isinstance(value, int | float):
        number = clean_number(float(value))
        if number is not None:
            ws.write_number(row, col, number, style)
    else:
        ws.write_string(row, col, str(value))


def set_print_layout(ws: Worksheet) -> None:
    """Print as plans.xlsx does: landscape, one page wide and as many long as needed, the
    header row on every page, the sheet's name and page number in the footer."""
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)
    ws.set_footer("&L&A&RPage &P of &N")
