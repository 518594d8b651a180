"""Errors a user can act on.

A `Problem` locates one mistake in the user's terms (sheet, row as Excel shows
it, column, value found, what was expected). `InputError` carries all of them,
so a planner fixes a workbook in one pass instead of one error per run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CellError:
    """An Excel error value cached in a cell (#N/A, #DIV/0!, ...): a formula that failed.

    Neither blank nor text, so every column rejects it, and a message shows it as
    Excel does: a failed lookup must not quietly become a column's default.
    """

    code: str

    def __str__(self) -> str:
        return self.code


def show_value(value: object) -> str:
    """A cell value as a message shows it: text quoted, numbers plain, blanks named."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "blank"
    if isinstance(value, CellError):
        return value.code
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.date | dt.time | dt.timedelta):
        return f"the date/time {value}"
    text = str(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return repr(text)


@dataclass(frozen=True, slots=True)
class Problem:
    """One mistake in the input, located as precisely as the input allows."""

    sheet: str | None
    row: int | None
    column: str | None
    value: object
    expected: str
    found: bool = True
    """False when there is no value to show (a missing sheet or column)."""

    def where(self) -> str:
        if self.sheet is not None and self.sheet.startswith("--"):
            return " ".join(["command line", self.sheet, *([self.column] if self.column else [])])
        if self.sheet is not None and self.sheet.endswith("()"):  # an API call's argument
            return " ".join([self.sheet, *([f"argument {self.column}"] if self.column else [])])
        parts = []
        if self.sheet is not None:
            parts.append(f"sheet {self.sheet}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column}")
        return ", ".join(parts)

    def __str__(self) -> str:
        if not self.where():
            return self.expected
        if not self.found:
            return f"{self.where()}: {self.expected}"
        return f"{self.where()}: found {show_value(self.value)}; expected {self.expected}"

    def sort_key(self) -> tuple[str, int, str, str]:
        return (self.sheet or "", self.row or 0, self.column or "", self.expected)


class InputError(Exception):
    """Bad input: the CLI prints every problem and exits with status 2."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=Problem.sort_key)
        super().__init__(f"{len(problems)} problem(s) in the input")

    def report(self, limit: int = 200) -> str:
        lines = [str(p) for p in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"... and {len(self.problems) - limit} more problems of the same kinds")
        return "\n".join(lines)
