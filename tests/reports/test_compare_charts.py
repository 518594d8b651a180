"""compare.html's inline SVG charts and compare.xlsx's native charts: one bar per market
(each side), per layer and per difference, drawn to scale, the effects largest first with
their intervals, names that are markup kept as text; compare.xlsx's charts point at the
right cells, its headers are frozen and it prints landscape, one page wide."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from planner.reports.compare_files import (
    MARKET_ROWS,
    compare_html,
    write_compare,
    write_compare_xlsx,
)
from planner.reports.svg_charts import interval_bars, nice_range

SCRIPT = "<script>alert(1)</script>"
SVG = "{http://www.w3.org/2000/svg}"


def effect(label: str, low: float | None, high: float | None, **extra: Any) -> dict[str, Any]:
    value = None if low is None else {"low": low, "high": high}
    return {
        "setting": label,
        "a": 1,
        "b": 2,
        "difference": label,
        "status": "optimal" if low == high else "feasible",
        "effect": value,
        "best_reach": value,
        **extra,
    }


def document(markets: int = 3) -> dict[str, Any]:
    """A compare.json document as `compare_runs` writes it, names that are markup in it."""
    names = [SCRIPT, *(f"M{i}" for i in range(1, markets))]
    return {
        "schema": "partnership-compare/1",
        "a": {"folder": "runs/a", "scenario": "base", "status": "optimal", "currency": "EUR m"},
        "b": {"folder": "runs/b", "scenario": "base", "status": "optimal", "currency": "EUR m"},
        "message": "",
        "settings": [{"setting": "budget", "a": 120.0, "b": 150.0}],
        "rows": [],
        "plan": {
            "a": {"weighted_reach": 10.0, "net_spend": 5.0, "options": ["O1"], "offers": []},
            "b": {"weighted_reach": 12.0, "net_spend": 6.0, "options": ["O2"], "offers": []},
            "added": ["O2"],
            "removed": ["O1"],
            "offers_added": [],
            "offers_removed": [],
            "change": {"weighted_reach": 2.0, "net_spend": 1.0},
            "markets": [
                {
                    "market": name,
                    "a": float(i),
                    "b": None if i == 1 else 2.0 * i,
                    "change": None if i == 1 else float(i),
                    "weighted_a": 10.0 * i,
                    "weighted_b": None if i == 1 else 20.0 * i,
                }
                for i, name in enumerate(names)
            ],
            "layers": [
                {"layer": SCRIPT, "a": 30.0, "b": 10.0, "change": -20.0},
                {"layer": "cloud", "a": 0.0, "b": 15.0, "change": 15.0},
            ],
        },
        # Not in order of size, one interval across 0, one loss, one not applicable.
        "effects": [
            effect("small", 1.0, 1.0),
            effect(SCRIPT, -2.0, 6.0),
            effect("loss", -9.0, -4.0),
            effect("n/a", None, None, status="not_applicable", message="alone, it leaves …"),
        ],
        "effects_complete": False,
    }


def charts(html: str) -> list[ET.Element]:
    return [ET.fromstring(svg) for svg in re.findall(r"<svg.*?</svg>", html, flags=re.S)]


def bars(svg: ET.Element, kind: str = "bar") -> list[ET.Element]:
    return [r for r in svg.iter(f"{SVG}rect") if r.get("class") == kind]


def labels(svg: ET.Element) -> list[str]:
    """The row labels, in order, as a reader sees them (their full text, unescaped)."""
    return [
        "".join(t.find(f"{SVG}title").itertext())  # type: ignore[union-attr]
        for t in svg.iter(f"{SVG}text")
        if t.get("class") == "label"
    ]


def test_compare_html_draws_markets_layers_and_effects_with_one_bar_each() -> None:
    doc = document()
    html = compare_html(doc)
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "<svg" in html and "http" not in html.replace("http://www.w3.org/2000/svg", "")
    market, layer, effects = charts(html)

    # Markets: largest weighted reach first, a bar per side that has a value.
    assert labels(market) == ["M2", "M1", SCRIPT]
    drawn = bars(market)
    assert len(drawn) == 5  # M1 has no reach in B: no bar, a dash
    widths = [float(r.get("width", "")) for r in drawn]
    assert widths[0] / widths[1] == pytest.approx(20 / 40, rel=1e-3)  # M2: A 20, B 40
    assert widths[2:] == [pytest.approx(widths[0] / 2), 0.0, 0.0]  # M1 A 10; <script> 0, 0
    # Layers: a bar per side, in the document's order, to scale.
    assert labels(layer) == [SCRIPT, "cloud"]
    spend = [float(r.get("width", "")) for r in bars(layer)]
    assert len(spend) == 4
    assert spend[0] / spend[1] == pytest.approx(3.0, rel=1e-3) and spend[2] == 0.0  # 0.1 px

    # Effects: one bar per difference with an effect, largest first; intervals shown.
    assert labels(effects) == ["loss", SCRIPT, "small"]
    assert len(bars(effects)) == 3
    assert len(bars(effects, "interval")) == 2  # `small` is proven: one number
    texts = ["".join(t.itertext()) for t in effects.iter(f"{SVG}text")]
    assert "−9.0 to −4.0" in texts and "−2.0 to +6.0" in texts and "+1.0" in texts
    assert "1 difference(s) without an effect" in html


def test_the_sure_part_of_an_effect_is_solid_and_the_rest_a_pale_band() -> None:
    svg = ET.fromstring(
        str(interval_bars([("gain", 2.0, 4.0), ("either", -1.0, 3.0)], title="t", unit="u"))
    )
    ticks = nice_range(-1.0, 4.0)
    assert ticks[0] < 0 < ticks[-1] and 0.0 in ticks
    scale = (760 - 190 - 110) / (ticks[-1] - ticks[0])
    gain, either = bars(svg)
    band_gain, band_either = bars(svg, "interval")
    assert float(gain.get("width", "")) == pytest.approx(2.0 * scale, abs=0.1)  # 0 to 2
    assert float(band_gain.get("width", "")) == pytest.approx(2.0 * scale, abs=0.1)  # 2 to 4
    assert float(either.get("width", "")) == 0.0  # nothing sure: the interval holds 0
    assert float(band_either.get("width", "")) == pytest.approx(4.0 * scale, abs=0.1)
    assert nice_range(0.0, 196.7) == [0.0, 50.0, 100.0, 150.0, 200.0]


def test_a_run_without_weights_charts_reach_and_long_lists_are_cut(tmp_path: Path) -> None:
    doc = document(markets=MARKET_ROWS + 5)
    for m in doc["plan"]["markets"]:
        m["weighted_a"] = m["weighted_b"] = None
    html = compare_html(doc)
    market = charts(html)[0]
    assert len(labels(market)) == MARKET_ROWS
    assert "Plan 1: reach by market" in html and "weights unknown" in html
    assert "The 5 markets of least reach are left out of the chart" in html
    doc["effects"] = doc["plan"]["layers"] = []
    assert len(charts(compare_html(doc))) == 1  # nothing to draw, no empty chart


def test_compare_xlsx_has_native_charts_frozen_headers_and_a_print_layout(
    tmp_path: Path,
) -> None:
    path = tmp_path / "compare.xlsx"
    write_compare_xlsx(path, document())
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Plan", "Markets", "Layers", "Settings", "Rows", "Effects"]
    for ws in book:
        assert ws.freeze_panes == "A2", ws.title
        assert ws.page_setup.orientation == "landscape", ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert ws.page_setup.fitToHeight == 0, ws.title  # one page wide, any number long
        assert ws.print_title_rows == "$1:$1", ws.title
    assert [len(ws._charts) for ws in book] == [0, 1, 1, 0, 0, 1]

    def refs(sheet: str) -> list[tuple[str, str]]:
        [chart] = book[sheet]._charts
        return [(s.val.numRef.f, s.cat.strRef.f) for s in chart.series]

    # Weighted reach of A and B (columns E and F) for the three markets.
    assert refs("Markets") == [
        ("Markets!$E$2:$E$4", "Markets!$A$2:$A$4"),
        ("Markets!$F$2:$F$4", "Markets!$A$2:$A$4"),
    ]
    # Most weighted reach first, as in compare.html's chart: the chart's 40 are the same.
    assert [c.value for c in book["Markets"]["A"][:4]] == ["market", "M2", "M1", SCRIPT]
    assert [c.value for c in book["Markets"]["E"][:2]] == ["weighted reach A", 20.0]
    assert refs("Layers") == [
        ("Layers!$B$2:$B$3", "Layers!$A$2:$A$3"),
        ("Layers!$C$2:$C$3", "Layers!$A$2:$A$3"),
    ]
    # Effects, largest first: the middle of each interval with error bars to its ends.
    assert refs("Effects") == [("Effects!$H$2:$H$5", "Effects!$A$2:$A$5")]
    [series] = book["Effects"]._charts[0].series
    assert series.errBars.plus.numRef.f == "Effects!$I$2:$I$5"
    assert series.errBars.minus.numRef.f == "Effects!$I$2:$I$5"
    rows = list(book["Effects"].iter_rows(min_row=2, max_row=5, values_only=True))
    assert [r[0] for r in rows] == ["loss", SCRIPT, "small", "n/a"]
    assert [(r[7], r[8]) for r in rows] == [(-6.5, 2.5), (2.0, 4.0), (1.0, 0.0), (None, None)]
    # Numbers stay numbers (every digit); names that are markup are text in the cells.
    assert book["Settings"]["B2"].value == 120.0 and book["Settings"]["B2"].data_type == "n"
    assert book["Layers"]["A2"].value == SCRIPT and book["Layers"]["A2"].data_type == "s"


def test_written_together_the_three_files_agree(tmp_path: Path) -> None:
    paths = write_compare(tmp_path / "compare.json", document())
    assert [p.name for p in paths] == ["compare.json", "compare.xlsx", "compare.html"]
    html = (tmp_path / "compare.html").read_text(encoding="utf-8")
    assert len(charts(html)) == 3


def test_compare_xlsx_charts_the_markets_of_most_reach(tmp_path: Path) -> None:
    path = tmp_path / "compare.xlsx"
    write_compare_xlsx(path, document(markets=MARKET_ROWS + 5))
    book = openpyxl.load_workbook(path)
    [chart] = book["Markets"]._charts
    assert [s.val.numRef.f for s in chart.series] == [
        f"Markets!$E$2:$E${MARKET_ROWS + 1}",
        f"Markets!$F$2:$F${MARKET_ROWS + 1}",
    ]
    reach = [row[4] for row in book["Markets"].iter_rows(min_row=2, values_only=True) if row[4]]
    assert reach == sorted(reach, reverse=True) and len(reach) == MARKET_ROWS + 4
