"""compare.html as a person sees it: opened in headless Chromium (Debian's package), the
DOM it built holds the three charts with a bar for each market and side, each layer and
side and each difference, and names that are markup as text (no script element)."""

from __future__ import annotations

import re
from pathlib import Path

from reports.test_compare_charts import SCRIPT, document
from reports.test_report_browser import browse

from planner.reports.compare_files import write_compare


def test_browser_shows_the_three_charts_and_markup_as_text(tmp_path: Path) -> None:
    write_compare(tmp_path / "cmp" / "compare.json", document())
    dom = browse(tmp_path / "cmp" / "compare.html", tmp_path / "profile", "--dump-dom").stdout
    assert "<script" not in dom
    assert SCRIPT.replace("<", "&lt;").replace(">", "&gt;") in dom
    charts = re.findall(r"<svg.*?</svg>", dom, flags=re.S)
    assert len(charts) == 3
    bars = [len(re.findall(r'<rect class="bar"', chart)) for chart in charts]
    assert bars == [5, 4, 3]  # markets × sides with a value, layers × sides, differences
    assert len(re.findall(r'<rect class="interval"', charts[2])) == 2
