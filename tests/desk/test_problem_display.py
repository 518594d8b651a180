"""How a problem's value is shown on the problems page and in the 422 answer's `shown`:
as `planner validate` writes it, text as typed, numbers with every digit."""

from __future__ import annotations

import datetime as dt

import pytest

from planner.desk.uploads import problem_record, shown_value
from planner.errors import Problem


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (-5.0, "-5"),  # a whole number read as a float, as validate prints it
        (1234567.0, "1234567"),  # all digits, where the message line's %g would round
        (0.1, "0.1"),
        (3, "3"),
        (True, "TRUE"),
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),  # the page escapes it
        ("  ", "blank"),
        (None, "blank"),
        (dt.date(2026, 1, 2), "the date/time 2026-01-02"),
    ],
)
def test_a_value_is_shown_as_typed(value: object, shown: str) -> None:
    assert shown_value(value) == shown


def test_a_problem_without_a_value_shows_none() -> None:
    missing = Problem("Options", None, "cost", None, "a column named cost", found=False)
    record = problem_record(missing)
    assert record["value"] is None and record["shown"] is None
    typed = problem_record(Problem("Options", 5, "cost", -5.0, "a number ≥ 0"))
    assert (typed["value"], typed["shown"]) == (-5.0, "-5")
