"""compare.html and compare.xlsx show text from a workbook as text, never as markup or
formulas."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import openpyxl
from scenario_builders import tiny_scenario

import planner
from planner.compare.compare import compare_runs
from planner.compare.runs import read_run
from planner.engine import PoolOptions
from planner.reports.compare_files import compare_summary, write_compare

MARKUP = "<script>alert('x')</script>"


def test_names_that_are_markup_or_formulas_stay_text(tmp_path: Path) -> None:
    a = tiny_scenario()
    partners = tuple(replace(p, name=MARKUP) for p in a.partners)
    options = (replace(a.options[0], name="=HYPERLINK(1)"), *a.options[1:])
    b = replace(a, partners=partners, options=options, name="<b>bold</b>")
    for scenario, folder in ((a, "a"), (b, "b")):
        planner.solve(scenario, plans=1, time_limit=20, threads=1).write(tmp_path / folder)
    doc = compare_runs(
        read_run(tmp_path / "a"),
        read_run(tmp_path / "b"),
        time_limit=20,
        pool=PoolOptions(workers=1),
    )
    assert {r["column"] for r in doc["rows"]} == {"name"}
    assert all(e["status"] == "no_effect" for e in doc["effects"])
    assert all(e["effect"] == {"low": 0.0, "high": 0.0} for e in doc["effects"])
    out = tmp_path / "cmp" / "compare.json"
    write_compare(out, doc)
    html = (out.parent / "compare.html").read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>bold</b>" not in html
    book = openpyxl.load_workbook(out.parent / "compare.xlsx")
    values = [c.value for row in book["Rows"].iter_rows() for c in row]
    assert "=HYPERLINK(1)" in values and book["Rows"]["D2"].data_type == "s"
    assert MARKUP in compare_summary(doc)
