"""report.html and plans.xlsx as files people open: self-contained, every section there,
names that are markup shown as text, and plans.xlsx's charts, frozen headers and print
layout. The page in a real browser: test_report_browser.py."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from scenario_builders import sorted_scenario

from planner.checks.verify import make_plan
from planner.plan import CoFinancing, PlanSet, RunStatus
from planner.reports.outputs import plans_json_document, write_outputs
from planner.reports.plans_xlsx import RunInfo
from planner.reports.report_html import interval, render_report_html
from planner.reports.svg_charts import horizontal_bars, nice_ticks
from planner.scenario.data import (
    Coverage,
    Market,
    Offer,
    Option,
    Partner,
    Scenario,
    Settings,
)

SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://x","y")'
RUN = RunInfo("w.xlsx", "0" * 64, "base", "optimal", {"planner": "0.1.0"}, "now")


def markup_scenario() -> Scenario:
    """Every name a report shows is markup or a formula; ids too."""
    return sorted_scenario(
        Scenario(
            name="base",
            settings=Settings(budget=30.0, home_country="Home", currency=SCRIPT),
            markets=(
                Market("M1", SCRIPT, SCRIPT, 1.0, 10.0),
                Market("M2", "<b>M2</b>", "East & West", 2.0, 10.0, ("model",)),
            ),
            partners=(
                Partner("P1", SCRIPT, "Home", 80.0),
                Partner("P2", FORMULA, "Canada", 60.0),
            ),
            options=(
                Option("O1", "P1", SCRIPT, "cloud", None, 10.0),
                Option("O2", "P2", FORMULA, "cloud", None, 10.0),
                Option("<i>O3</i>", "P1", "O3", "skills", None, 15.0),
            ),
            coverage=(
                Coverage("O1", "M1", 5.0),
                Coverage("O2", "M2", 8.0),
                Coverage("<i>O3</i>", "M1", 4.0),
            ),
            offers=(Offer("C1", SCRIPT, 0.5, 4.0),),
        )
    )


def planset(scenario: Scenario) -> PlanSet:
    plans = (
        make_plan(
            scenario,
            1,
            ["O1", "O2"],
            ["C1"],
            [CoFinancing("C1", "O1", 4.0)],
            bound=5.0,
            proven_optimal=True,
            gap=0.0,
        ),
        make_plan(scenario, 2, ["<i>O3</i>"], [], [], bound=4.0, proven_optimal=True, gap=0.0),
    )
    return PlanSet("base", RunStatus.OPTIMAL, 30.0, plans, message=SCRIPT)


def explain_for(plan: dict[str, Any]) -> dict[str, Any]:
    """An explain dict of the shape SPEC §6 gives plans[0]["explain"]."""
    return {
        "time_s": 0.5,
        "complete": True,
        "message": "",
        "step_share": 0.1,
        "marginal_value": {"O1": {"low": 5.0, "high": 5.0}, "O2": {"low": 1.0, "high": 2.0}},
        "exclusive_reach": {o: {"low": 1.0, "high": 1.0} for o in plan["options"]},
        "replacement_cost": {"<i>O3</i>": {"low": 3.0, "high": 3.0}},
        "limits": [
            {
                "limit": "budget",
                "value": 30.0,
                "used": 16.0,
                "slack": 14.0,
                "step": 3.0,
                "gain": {"low": 0.0, "high": 0.0},
            }
        ],
        "offers": {"C1": {"low": 0.0, "high": 0.0}},
    }


def test_markup_in_names_is_text_in_report_html() -> None:
    scenario = markup_scenario()
    doc = plans_json_document(scenario, planset(scenario), (), RUN)
    doc["plans"][0]["explain"] = explain_for(doc["plans"][0])
    html = render_report_html(doc, scenario, RUN)
    assert "<script" not in html.lower(), "no script element, from the data or the page"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>M2</b>" not in html and "&lt;b&gt;M2&lt;/b&gt;" in html
    assert "<i>O3</i>" not in html and "&lt;i&gt;O3&lt;/i&gt;" in html
    assert "East &amp; West" in html
    # Inside the SVG charts too (market names label the market chart).
    charts = re.findall(r"<svg.*?</svg>", html, flags=re.S)
    assert len(charts) == 3
    assert any("&lt;script&gt;" in chart for chart in charts)


def test_report_is_self_contained() -> None:
    scenario = markup_scenario()
    html = render_report_html(plans_json_document(scenario, planset(scenario), (), RUN), scenario)
    # Nothing to fetch: no links, scripts, images, frames, imports or url() references.
    for needle in ("<link", "<script", "<img", "<iframe", "@import", "url(", "src=", 'href="http'):
        assert needle not in html.lower(), needle
    addresses = set(re.findall(r'=\s*"(https?://[^"]*)"', html))  # in attributes
    assert addresses == {"http://www.w3.org/2000/svg"}, addresses  # a namespace, not fetched
    assert "@media print" in html and "size: A4 landscape" in html


def test_every_section_and_plan_is_shown() -> None:
    scenario = markup_scenario()
    doc = plans_json_document(scenario, planset(scenario), (), RUN)
    html = render_report_html(doc, scenario, RUN)
    assert re.findall(r'<tr class="plan-row" data-rank="(\d+)">', html) == ["1", "2"]
    for section in ("run", "plans", "grid", "markets", "spend", "segments", "details"):
        assert f'<section id="{section}"' in html, section
    assert 'id="explain"' not in html and "marginal value" not in html.lower()
    # The grid: each option once; every option differs between the two plans here.
    assert html.count('<tr class="differs">') == 3
    # M2 needs a model layer no plan supplies: the market chart says so.
    assert "missing model" in html


def test_explanations_section_when_present() -> None:
    scenario = markup_scenario()
    doc = plans_json_document(scenario, planset(scenario), (), RUN)
    doc["plans"][0]["explain"] = explain_for(doc["plans"][0])
    html = render_report_html(doc, scenario, RUN)
    section = html[html.index('<section id="explain"') :]
    section = section[: section.index("</section>")]
    # Plan 1's options as a priority list by marginal value: O1 (5) before O2 (1 – 2).
    assert section.index(">O1<") < section.index(">O2<")
    assert "1.0 – 2.0" in section and "5.0" in section
    assert "budget" in section and "&lt;i&gt;O3&lt;/i&gt;" in section  # limits, replacements
    assert "C1" in section


def test_infeasible_report_shows_status_message_and_diagnosis() -> None:
    scenario = markup_scenario()
    infeasible = PlanSet(
        "base", RunStatus.INFEASIBLE, 30.0, (), message="no plan", diagnosis=f"budget {SCRIPT}"
    )
    html = render_report_html(plans_json_document(scenario, infeasible, (), RUN), scenario, RUN)
    assert "infeasible" in html and "no plan" in html
    assert '<pre class="diagnosis">budget &lt;script&gt;' in html
    assert 'id="plans"' not in html and "<svg" not in html


def test_write_outputs_writes_report_html(tmp_path: Path) -> None:
    scenario = markup_scenario()
    written = write_outputs(tmp_path, scenario, planset(scenario), (), RUN)
    assert tmp_path / "report.html" in written
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "&lt;script&gt;" in html


def test_markup_and_formulas_in_names_are_strings_in_plans_xlsx(tmp_path: Path) -> None:
    scenario = markup_scenario()
    write_outputs(tmp_path, scenario, planset(scenario), (), RUN)
    book = openpyxl.load_workbook(tmp_path / "plans.xlsx")
    texts = {
        cell.value
        for ws in book
        for row in ws.iter_rows()
        for cell in row
        if isinstance(cell.value, str)
    }
    assert SCRIPT in texts and FORMULA in texts and "<i>O3</i>" in texts
    with zipfile.ZipFile(tmp_path / "plans.xlsx") as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
        assert not any("<f>" in archive.read(n).decode() for n in sheets), "no formula cell"


def test_plans_xlsx_charts_frozen_headers_and_print_layout(tmp_path: Path) -> None:
    scenario = markup_scenario()
    write_outputs(tmp_path, scenario, planset(scenario), (), RUN)
    book = openpyxl.load_workbook(tmp_path / "plans.xlsx")
    for ws in book:
        assert ws.freeze_panes == "B2", ws.title
        assert ws.page_setup.orientation == "landscape", ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert ws.page_setup.fitToHeight == 0, ws.title  # one page wide, any number long
        assert ws.print_title_rows == "$1:$1", ws.title
    assert [len(ws._charts) for ws in book] == [1, 0, 1, 0, 1, 0, 0]
    with zipfile.ZipFile(tmp_path / "plans.xlsx") as archive:
        charts = [archive.read(n).decode() for n in archive.namelist() if "charts/chart" in n]
    titles = " ".join(re.findall(r"<a:t>([^<]*)</a:t>", " ".join(charts)))
    assert "Weighted reach by plan" in titles
    assert "reach by market against addressable" in titles
    assert "spend by layer, domestic and foreign" in titles
    assert any('<c:grouping val="stacked"/>' in chart for chart in charts)
    segments = list(book["Segments"].iter_rows(min_row=2, values_only=True))
    assert segments[0][:3] == (1, "layer", "cloud")


def test_charts_escape_their_text_and_scale() -> None:
    svg = str(horizontal_bars([(SCRIPT, 3.0), ("b", 1.5)], title=SCRIPT, unit="<u>"))
    assert "<script" not in svg and "&lt;script&gt;" in svg and "&lt;u&gt;" in svg
    assert svg.count('class="bar"') == 2
    assert nice_ticks(196.7) == [0.0, 50.0, 100.0, 150.0, 200.0]
    assert nice_ticks(0.0) == [0.0, 1.0]


@pytest.mark.parametrize(
    ("value", "shown"),
    [({"low": 1.0, "high": 1.0}, "1.0"), ({"low": 1.0, "high": 2.5}, "1.0 – 2.5"), (None, "—")],
)
def test_intervals_read_as_one_number_when_proven(value: Any, shown: str) -> None:
    assert interval(value) == shown


def test_explanations_with_unknown_values_still_render() -> None:
    """Intervals not computed (nulls) and fields missing show as `—`, never an error:
    a report that cannot be rendered would leave the whole run folder unwritten."""
    scenario = markup_scenario()
    doc = plans_json_document(scenario, planset(scenario), (), RUN)
    doc["plans"][0]["explain"] = {
        "marginal_value": {"O1": {"low": None, "high": None}},
        "limits": [{"limit": "budget"}],
        "replacement_cost": {"<i>O3</i>": None},
    }
    html = render_report_html(doc, scenario, RUN)
    section = html[html.index('<section id="explain"') :]
    assert "budget" in section and "no feasible plan contains it" in section
