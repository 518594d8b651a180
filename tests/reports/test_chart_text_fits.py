"""A bar chart's values and notes stay inside the chart, however long the notes (the
sweep chart of the desk once cut its labels off at the right)."""

from __future__ import annotations

import re

import pytest

from planner.reports.svg_charts import CHAR_WIDTH, LABEL_WIDTH, WIDTH, horizontal_bars


@pytest.mark.parametrize(
    "note", ["", "net spend 120 (optimal)", "net spend 1,234,567.5 (feasible)"]
)
def test_the_text_beside_the_longest_bar_fits(note: str) -> None:
    rows = [("budget=80", 150.0), ("budget=120", 196.7), ("budget=160", 201.3)]
    svg = str(horizontal_bars(rows, title="Weighted reach", notes=[note] * 3))
    widths = [
        float(w) for w in re.findall(r'class="bar" x="[\d.]+" y="[\d.]+" width="([\d.]+)"', svg)
    ]
    assert len(widths) == 3
    # Bars stay to scale: the longest value has the longest bar.
    assert widths[0] / widths[2] == pytest.approx(150.0 / 201.3, rel=1e-2)
    beside = re.findall(r'<text x="([\d.]+)" y="[\d.]+" fill="[^"]+">([^<]*)</text>', svg)
    values = [(float(x), text) for x, text in beside if float(x) > LABEL_WIDTH]
    assert len(values) == 3
    for x, text in values:
        assert x + CHAR_WIDTH * len(text) <= WIDTH
