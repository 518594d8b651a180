"""Charts for report.html as inline SVG, drawn here: no library, no script, no network.

Five shapes cover report.html and compare.html: horizontal bars (reach by plan),
bars against a ceiling (reach by market against addressable), stacked bars (spend
by layer, domestic and foreign), grouped bars (two runs side by side) and interval
bars on an axis through 0 (the change each input difference makes, known to lie in
an interval). Each returns `Markup` (an SVG element) that a Jinja2
template inserts as is; every piece of text in it (labels from the workbook,
titles, units) is escaped here, so a market named `<script>` stays text. A
plotting library would add a dependency and, for matplotlib, fonts and a
renderer, for a handful of rectangles; SVG drawn by hand also stays crisp when
printed and searchable in the page.

Sizes are in CSS pixels; the SVG scales to the width of its container
(`viewBox`, `width="100%"`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 760
LABEL_WIDTH = 190
VALUE_WIDTH = 110
#: Width of one character of the charts' 12 px text, at most (digits and lower case).
CHAR_WIDTH = 6.6
ROW = 22
BAR = 14
TOP = 8
AXIS = 40
FONT = "font-family:inherit;font-size:12px"

#: House colours: the plans.xlsx header blue, and a warm contrast for foreign spend.
PRIMARY = "#305496"
CONTRAST = "#E07B39"
CEILING = "#DCE3F0"
GRID = "#E5E7EB"
TEXT = "#1F2937"
MUTED = "#6B7280"


@dataclass(frozen=True, slots=True)
class Series:
    """One named part of a stacked bar, with its colour."""

    name: str
    color: str


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round axis ticks from 0 to at least `top` (1, 2, 2.5 or 5 times a power of ten)."""
    if not math.isfinite(top) or top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    ticks = [0.0]
    while ticks[-1] < top - 1e-12 * top:
        ticks.append(round(ticks[-1] + step, 12))
    return ticks


def nice_range(low: float, high: float, count: int = 5) -> list[float]:
    """Round axis ticks spanning `low` to `high` and 0, for values of either sign (the
    change an input difference makes to reach); from 0 as `nice_ticks` when none is
    negative."""
    lo, hi = min(0.0, low), max(0.0, high)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if lo == 0:
        return nice_ticks(hi, count)
    raw = (hi - lo) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    ticks = [math.floor(lo / step) * step]
    while ticks[-1] < hi - 1e-12 * (hi - lo):
        ticks.append(round(ticks[-1] + step, 12))
    return ticks


def format_number(value: float) -> str:
    """A value as a chart labels it: thousands separated, at most one decimal."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1 or value == 0:
        return f"{value:,.1f}"
    return f"{value:.2g}"


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _frame(
    title: str,
    rows: int,
    ticks: list[float],
    unit: str,
    legend: Sequence[Series],
    row_height: float = ROW,
    value_width: float = VALUE_WIDTH,
) -> tuple[list[str], float, float]:
    """Opening of a chart: heading, gridlines and axis labels; returns the parts, the
    top of its first row and the pixels per unit of value. The axis starts at
    `ticks[0]` (0, or below 0 for values of either sign); `value_width` is kept right
    of the plot for the text beside the longest bar."""
    plot = WIDTH - LABEL_WIDTH - value_width
    legend_height = 20 if legend else 0
    height = TOP + legend_height + rows * row_height + AXIS
    scale = plot / (ticks[-1] - ticks[0])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" style="max-width:{WIDTH}px;{FONT}" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    x = LABEL_WIDTH
    for item in legend:
        parts.append(
            f'<rect x="{x}" y="{TOP}" width="12" height="12" rx="2" fill="{escape(item.color)}"/>'
        )
        parts.append(f'<text x="{x + 16}" y="{TOP + 10}" fill="{TEXT}">{escape(item.name)}</text>')
        x += 28 + 7 * len(item.name)
    base = TOP + legend_height
    bottom = base + rows * row_height
    for tick in ticks:
        tx = LABEL_WIDTH + (tick - ticks[0]) * scale
        parts.append(
            f'<line x1="{tx:.1f}" y1="{base}" x2="{tx:.1f}" y2="{bottom}" stroke="{GRID}"/>'
        )
        parts.append(
            f'<text x="{tx:.1f}" y="{bottom + 15}" text-anchor="middle" fill="{MUTED}">'
            f"{escape(format_number(tick))}</text>"
        )
    if unit:
        parts.append(
            f'<text x="{WIDTH - VALUE_WIDTH:.1f}" y="{bottom + 32}" '
            f'text-anchor="end" fill="{MUTED}">{escape(unit)}</text>'
        )
    return parts, base, scale


def _label(parts: list[str], y: float, label: str) -> None:
    full = escape(label)
    parts.append(
        f'<text class="label" x="{LABEL_WIDTH - 8}" y="{y + BAR - 3}" text-anchor="end" '
        f'fill="{TEXT}"><title>{full}</title>{escape(_short(label))}</text>'
    )


def _beside(parts: list[str], end: float, y: float, text: str) -> None:
    """A bar's value (and note), written just right of `end`, the bar's right end."""
    parts.append(
        f'<text x="{end + 6:.1f}" y="{y + BAR - 3:.1f}" fill="{TEXT}">{escape(text)}</text>'
    )


def _row_top(base: float, i: int) -> float:
    """Where the bar of row `i` starts, centred in its row."""
    return base + i * ROW + (ROW - BAR) / 2


def horizontal_bars(
    rows: Sequence[tuple[str, float]],
    *,
    title: str,
    unit: str = "",
    color: str = PRIMARY,
    notes: Sequence[str] | None = None,
) -> Markup:
    """One bar per row (label, value), with the value (and its note, if any) beside it;
    the plot narrows so that the longest such text still fits in the chart."""
    top = max([v for _, v in rows if math.isfinite(v)] + [0.0])
    texts = [
        format_number(value) + (f"  {notes[i]}" if notes and notes[i] else "")
        for i, (_, value) in enumerate(rows)
    ]
    room = max([VALUE_WIDTH, *(CHAR_WIDTH * len(t) + 12 for t in texts)])
    value_width = min(room, (WIDTH - LABEL_WIDTH) / 2)
    parts, base, scale = _frame(title, len(rows), nice_ticks(top), unit, (), ROW, value_width)
    for i, (label, value) in enumerate(rows):
        y = _row_top(base, i)
        width = max(0.0, value) * scale if math.isfinite(value) else 0.0
        _label(parts, y, label)
        parts.append(
            f'<rect class="bar" x="{LABEL_WIDTH}" y="{y:.1f}" width="{width:.1f}" '
            f'height="{BAR}" rx="2" fill="{escape(color)}"/>'
        )
        _beside(parts, LABEL_WIDTH + width, y, texts[i])
    parts.append("</svg>")
    return Markup("".join(parts))


def bars_against_ceiling(
    rows: Sequence[tuple[str, float, float]],
    *,
    title: str,
    unit: str = "",
    names: tuple[str, str] = ("reached", "addressable"),
    notes: Sequence[str] | None = None,
) -> Markup:
    """One bar per row (label, value, ceiling): the ceiling pale, the value over it,
    and the share of the ceiling reached (and the row's note, if any) beside them."""
    top = max([x for _, v, c in rows for x in (v, c) if math.isfinite(x)] + [0.0])
    legend = (Series(names[0], PRIMARY), Series(names[1], CEILING))
    parts, base, scale = _frame(title, len(rows), nice_ticks(top), unit, legend)
    for i, (label, value, ceiling) in enumerate(rows):
        y = _row_top(base, i)
        _label(parts, y, label)
        full = max(0.0, ceiling) * scale
        got = min(max(0.0, value), max(0.0, ceiling)) * scale
        parts.append(
            f'<rect x="{LABEL_WIDTH}" y="{y:.1f}" width="{full:.1f}" height="{BAR}" rx="2" '
            f'fill="{CEILING}"/>'
        )
        parts.append(
            f'<rect class="bar" x="{LABEL_WIDTH}" y="{y:.1f}" width="{got:.1f}" '
            f'height="{BAR}" rx="2" fill="{PRIMARY}"/>'
        )
        text = format_number(value) + (f" ({value / ceiling:.0%})" if ceiling > 0 else "")
        if notes and notes[i]:
            text += f"  {notes[i]}"
        _beside(parts, LABEL_WIDTH + max(full, got), y, text)
    parts.append("</svg>")
    return Markup("".join(parts))


def stacked_bars(
    rows: Sequence[tuple[str, Sequence[float]]],
    series: Sequence[Series],
    *,
    title: str,
    unit: str = "",
) -> Markup:
    """One bar per row (label, values), its parts in the order and colours of `series`,
    the total beside it."""
    totals = [sum(max(0.0, v) for v in values) for _, values in rows]
    parts, base, scale = _frame(title, len(rows), nice_ticks(max([*totals, 0.0])), unit, series)
    for i, (label, values) in enumerate(rows):
        y = _row_top(base, i)
        _label(parts, y, label)
        x = float(LABEL_WIDTH)
        for value, part in zip(values, series, strict=True):
            width = max(0.0, value) * scale
            if width > 0:
                parts.append(
                    f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
                    f'height="{BAR}" fill="{escape(part.color)}">'
                    f"<title>{escape(f'{part.name}: {format_number(value)}')}</title></rect>"
                )
            x += width
        _beside(parts, x, y, format_number(totals[i]))
    parts.append("</svg>")
    return Markup("".join(parts))


def grouped_bars(
    rows: Sequence[tuple[str, Sequence[float | None]]],
    series: Sequence[Series],
    *,
    title: str,
    unit: str = "",
) -> Markup:
    """One group per row (label, values): a bar per series, in the order and colours of
    `series`, its value beside it; a value None (that side has none) draws no bar and
    shows `—`. For two runs side by side (A and B), each row's bars touch."""
    values = [v for _, vs in rows for v in vs if v is not None and math.isfinite(v)]
    group = len(series) * BAR + 8
    parts, base, scale = _frame(
        title, len(rows), nice_ticks(max([*values, 0.0])), unit, series, row_height=group
    )
    for i, (label, row) in enumerate(rows):
        top = base + i * group + 4
        _label(parts, top + (len(series) - 1) * BAR / 2, label)
        for k, (value, part) in enumerate(zip(row, series, strict=True)):
            y = top + k * BAR
            width, shown = 0.0, "—"
            if value is not None and math.isfinite(value):
                width, shown = max(0.0, value) * scale, format_number(value)
                parts.append(
                    f'<rect class="bar" x="{LABEL_WIDTH}" y="{y:.1f}" width="{width:.1f}" '
                    f'height="{BAR - 1}" fill="{escape(part.color)}">'
                    f"<title>{escape(f'{part.name}: {shown}')}</title></rect>"
                )
            _beside(parts, LABEL_WIDTH + width, y, shown)
    parts.append("</svg>")
    return Markup("".join(parts))


def signed(value: float) -> str:
    """A change as a chart labels it: its sign always shown (`+1.5`, `−2.0`, `0.0`)."""
    text = format_number(abs(value))
    if value > 0:
        return "+" + text
    return "−" + text if value < 0 else text


def interval_bars(
    rows: Sequence[tuple[str, float, float]],
    *,
    title: str,
    unit: str = "",
) -> Markup:
    """One row per (label, low, high), a change known to lie between low and high, on an
    axis through 0: a solid bar (class `bar`) from 0 to what is sure (the end nearer 0
    when both ends share a sign; none when the interval holds 0), and when low < high a
    pale band (class `interval`) from low to high. A gain is drawn in the house blue, a
    loss in the contrast colour; the value, or `low to high`, is written beside."""
    finite = [x for _, low, high in rows for x in (low, high) if math.isfinite(x)]
    ticks = nice_range(min([*finite, 0.0]), max([*finite, 0.0]))
    legend = (Series("gain", PRIMARY), Series("loss", CONTRAST), Series("not proven", CEILING))
    parts, base, scale = _frame(title, len(rows), ticks, unit, legend)

    def x_of(value: float) -> float:
        clipped = min(max(value, ticks[0]), ticks[-1])  # an unbounded end runs to the edge
        return LABEL_WIDTH + (clipped - ticks[0]) * scale

    zero = x_of(0.0)
    for i, (label, low, high) in enumerate(rows):
        y = _row_top(base, i)
        _label(parts, y, label)
        if low < high:
            parts.append(
                f'<rect class="interval" x="{x_of(low):.1f}" y="{y:.1f}" '
                f'width="{x_of(high) - x_of(low):.1f}" height="{BAR}" fill="{CEILING}"/>'
            )
        sure = low if low > 0 else high if high < 0 else 0.0
        left, right = sorted((zero, x_of(sure)))
        color = PRIMARY if sure >= 0 else CONTRAST
        text = signed(low) if low == high else f"{signed(low)} to {signed(high)}"
        parts.append(
            f'<rect class="bar" x="{left:.1f}" y="{y:.1f}" width="{right - left:.1f}" '
            f'height="{BAR}" fill="{color}"><title>{escape(f"{label}: {text}")}</title></rect>'
        )
        _beside(parts, max(zero, x_of(high)), y, text)
    parts.append(
        f'<line x1="{zero:.1f}" y1="{base}" x2="{zero:.1f}" y2="{base + len(rows) * ROW}" '
        f'stroke="{MUTED}"/>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))
