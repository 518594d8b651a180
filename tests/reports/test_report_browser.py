"""report.html as a person sees it: opened in headless Chromium (Debian's package).

The example's run (three plans) is rendered by the browser, which dumps the DOM it
built and takes a screenshot: every plan has its row, the charts are there with
their bars, and a workbook whose option and market are named
`<script>alert(1)</script>` shows that text as text (no script element appears).
The screenshot must be a real picture, not a blank page: its header band is the
house blue and its pixels vary.

Chromium runs with the flags that keep it off the network (this machine's network
is closed; without them it keeps trying Google's hosts). Skipped only when Chromium
is missing outside CI; in CI (`CI` set, as `.ci/run` does, which installs it) a
missing browser fails the test.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

import planner

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "inputs" / "example.xlsx"
SCRIPT = "<script>alert(1)</script>"
HOUSE_BLUE = (0x30, 0x54, 0x96)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("Chromium is missing: .ci/run installs Debian's chromium package")
    pytest.skip("Chromium is not installed (apt-get install chromium); CI installs it")


def browse(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium on `page` with the network-quiet flags, and `extra`."""
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--no-first-run",
        f"--user-data-dir={profile}",
        *extra,
        page.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def png_rows(path: Path, rows: int) -> tuple[int, int, list[bytes]]:
    """Width, height and the first `rows` rows of pixels (RGB or RGBA bytes) of an
    8-bit, non-interlaced PNG, as Chromium writes them; a reader small enough to
    trust, so the test needs no imaging library."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, chunks, header = 8, [], b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        if kind == b"IHDR":
            header = data[pos + 8 : pos + 8 + length]
        elif kind == b"IDAT":
            chunks.append(data[pos + 8 : pos + 8 + length])
        pos += 12 + length
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
    bpp = 3 if color == 2 else 4
    stride = width * bpp
    stream = zlib.decompressobj()
    raw = b""
    for chunk in chunks:
        raw += stream.decompress(chunk)
        if len(raw) >= rows * (stride + 1):
            break
    previous = bytearray(stride)
    out = []
    for r in range(min(rows, height)):
        line = raw[r * (stride + 1) : (r + 1) * (stride + 1)]
        kind, cur = line[0], bytearray(line[1:])
        for i in range(stride):
            a = cur[i - bpp] if i >= bpp else 0
            b = previous[i]
            c = previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                cur[i] = (cur[i] + a) & 0xFF
            elif kind == 2:
                cur[i] = (cur[i] + b) & 0xFF
            elif kind == 3:
                cur[i] = (cur[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                cur[i] = (cur[i] + pred) & 0xFF
        out.append(bytes(cur))
        previous = cur
    return width, height, out


@pytest.fixture(scope="module")
def example_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, planner.Result]:
    chromium()
    out = tmp_path_factory.mktemp("example")
    result = planner.solve(planner.load(EXAMPLE), plans=3)
    result.write(out)
    return out, result


def test_browser_shows_every_plan_and_the_charts(
    example_run: tuple[Path, planner.Result], tmp_path: Path
) -> None:
    out, result = example_run
    dom = browse(out / "report.html", tmp_path / "profile", "--dump-dom").stdout
    ranks = re.findall(r'<tr class="plan-row" data-rank="(\d+)"', dom)
    assert ranks == [str(p.rank) for p in result.plans] == ["1", "2", "3"]
    charts = re.findall(r"<svg\b.*?</svg>", dom, flags=re.S)
    assert len(charts) == 3  # reach by plan, by market, spend by layer
    assert all(chart.count('class="bar"') >= 3 for chart in charts)
    for section in ("plans", "grid", "markets", "spend", "segments", "details"):
        assert f'id="{section}"' in dom
    for option in result.plans[0].options:
        assert f'<td class="id">{option}</td>' in dom


def test_screenshot_is_a_rendered_page(
    example_run: tuple[Path, planner.Result], tmp_path: Path
) -> None:
    out, _ = example_run
    shot = tmp_path / "report.png"
    browse(
        out / "report.html",
        tmp_path / "profile",
        f"--screenshot={shot}",
        "--window-size=1280,4000",
        "--hide-scrollbars",
    )
    assert shot.stat().st_size > 50_000, "a page of tables and charts, not a blank"
    width, height, rows = png_rows(shot, 120)
    assert (width, height) == (1280, 4000)
    bpp = len(rows[0]) // width
    pixels = [tuple(row[i : i + 3]) for row in rows for i in range(0, len(row), bpp)]
    # The header band is the house blue, with white text on it: the CSS was applied.
    assert pixels.count(HOUSE_BLUE) > 0.5 * len(pixels)
    assert len(set(pixels)) > 20, "text and shapes, not a flat fill"
    mean = sum(sum(p) for p in pixels) / (3 * len(pixels))
    variance = sum((sum(p) / 3 - mean) ** 2 for p in pixels) / len(pixels)
    assert variance > 100


def test_markup_in_workbook_names_shows_as_text(tmp_path: Path) -> None:
    chromium()  # skips (or fails in CI) before any solve
    scenario = planner.load(EXAMPLE)
    options = tuple(
        dataclasses.replace(o, name=f"{SCRIPT} {o.option_id}") for o in scenario.options
    )
    markets = tuple(
        dataclasses.replace(m, name=f"{SCRIPT} {m.market_id}") for m in scenario.markets
    )
    scenario = dataclasses.replace(scenario, options=options, markets=markets)
    result = planner.solve(scenario, plans=2)
    result.write(tmp_path / "run")
    dom = browse(tmp_path / "run" / "report.html", tmp_path / "profile", "--dump-dom").stdout
    assert "<script" not in dom.lower(), "a workbook name became a script element"
    shown = "&lt;script&gt;alert(1)&lt;/script&gt;"
    for option in result.plans[0].options:  # the grid names every option of plan 1
        assert f"<td>{shown} {option}</td>" in dom
    market_chart = re.findall(r"<svg\b.*?</svg>", dom, flags=re.S)[1]
    assert market_chart.count(shown) >= len(scenario.markets)  # every market labelled


def test_explanations_show_plan_1_as_a_priority_list(tmp_path: Path) -> None:
    chromium()
    from planner.explain import explain_plan

    result = planner.solve(planner.load(EXAMPLE), plans=2)
    explain = explain_plan(result, time_s=5.0)
    result.write(tmp_path / "run", explain=explain)
    dom = browse(tmp_path / "run" / "report.html", tmp_path / "profile", "--dump-dom").stdout
    section = dom[dom.index('<section id="explain"') :]
    section = section[: section.index("</section>")]
    listed = re.findall(r'<td class="id">([^<]+)</td>', section.split("<h3>Limits")[0])
    assert sorted(listed) == sorted(result.plans[0].options)
    highs = [explain["marginal_value"][o]["high"] for o in listed if o in explain["marginal_value"]]
    assert highs == sorted(highs, reverse=True), "a priority list, greatest marginal value first"
    assert "budget" in section  # the limits table
