"""compare.json, compare.xlsx and compare.html: two runs compared (SPEC §7).

Written from the compare.json document alone (plain dicts), whole or not at all
(`write_whole`). compare.xlsx writes every text with `write_string` (a name such
as `=A1` never becomes a formula); compare.html is rendered by Jinja2 with
autoescaping, so no text from a workbook ever becomes markup.

compare.xlsx holds: Plan (plan 1 of each run side by side, options added and
removed), Markets (each market's reach and weighted reach in A and B), Layers (gross
spend by stack layer in A and B), Settings, Rows (the input differences) and Effects.
Markets, Layers and Effects carry a native chart of their table; every sheet keeps
its header row frozen and prints landscape, one page wide, as plans.xlsx does.
compare.html draws the same three charts as inline SVG (`svg_charts`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
from xlsxwriter.utility import quote_sheetname, xl_range_abs
from xlsxwriter.workbook import Workbook

from planner.reports.plans_xlsx import CONTRAST_COLOR, HEADER_COLOR, MONEY, REACH
from planner.reports.svg_charts import (
    CONTRAST,
    PRIMARY,
    Series,
    grouped_bars,
    interval_bars,
)
from planner.reports.whole_files import json_writer, write_whole
from planner.reports.xlsx_tables import open_book, set_print_layout, write_table

SCHEMA = "partnership-compare/1"

#: Most markets in the chart of plan 1's reach by market (the tables list every one).
MARKET_ROWS = 40
#: The two runs in charts: A in the house blue, B in the contrast colour.
SIDES = (Series("A", PRIMARY), Series("B", CONTRAST))

FIGURE_NAMES = {
    "weighted_reach": "weighted reach",
    "net_spend": "net spend",
    "cofinanced": "co-financing",
    "average_trust": "average trust",
    "foreign_share": "foreign share",
}


def _number(value: object) -> float | None:
    """A number of the document, or None (true and false are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _text(value: object) -> str:
    """A value as a table cell shows it: numbers plain (to 10 significant digits, so a
    cost of 1234567 is not shown as 1234570), lists joined, null blank."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.10g}"
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_text(v)}" for k, v in value.items())
    return str(value)


def _cell(value: object) -> object:
    """A value as compare.xlsx writes it: a number stays a number (all its digits, and
    sortable), anything else as `_text` shows it."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return _text(value)


def _interval(value: Mapping[str, Any] | None) -> str:
    if not value:
        return ""
    low, high = value.get("low"), value.get("high")
    if low == high:
        return _text(low)
    return f"{_text(low)} to {_text(high)}"


def _plan_rows(document: Mapping[str, Any]) -> list[list[Any]]:
    plan = document["plan"]
    a, b = plan.get("a") or {}, plan.get("b") or {}
    rows: list[list[Any]] = [
        [FIGURE_NAMES[f], a.get(f), b.get(f), plan["change"].get(f)] for f in FIGURE_NAMES
    ]
    rows.append(["options added", "", _text(plan["added"]), len(plan["added"])])
    rows.append(["options removed", _text(plan["removed"]), "", -len(plan["removed"])])
    rows.append(["offers added", "", _text(plan["offers_added"]), len(plan["offers_added"])])
    rows.append(["offers removed", _text(plan["offers_removed"]), "", -len(plan["offers_removed"])])
    return rows


def _size(effect: Mapping[str, Any]) -> float:
    """How large an effect may be: its end farthest from 0 (-1 when it has none)."""
    ends = _ends(effect)
    return -1.0 if ends is None else max(abs(ends[0]), abs(ends[1]))


def effects_by_size(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The effects, largest first (stable: ties keep the document's order)."""
    return sorted(document.get("effects") or [], key=_size, reverse=True)


def _ends(effect: Mapping[str, Any]) -> tuple[float, float] | None:
    value = effect.get("effect") or {}
    low, high = _number(value.get("low")), _number(value.get("high"))
    return None if low is None or high is None else (low, high)


def _effect_rows(document: Mapping[str, Any]) -> list[list[Any]]:
    rows = []
    for e in effects_by_size(document):
        ends = _ends(e)
        middle, half = (None, None) if ends is None else (sum(ends) / 2, (ends[1] - ends[0]) / 2)
        rows.append(
            [
                e["difference"],
                e["status"],
                (e.get("effect") or {}).get("low"),
                (e.get("effect") or {}).get("high"),
                (e.get("best_reach") or {}).get("low"),
                (e.get("best_reach") or {}).get("high"),
                e.get("message", ""),
                middle,
                half,
            ]
        )
    return rows


def _weighted(document: Mapping[str, Any]) -> bool:
    """Whether the markets carry weighted reach (both runs kept their scenario)."""
    return any(
        m.get("weighted_a") is not None or m.get("weighted_b") is not None
        for m in document["plan"]["markets"]
    )


def _markets_by_reach(document: Mapping[str, Any]) -> tuple[list[Mapping[str, Any]], str]:
    """Plan 1's markets, most reached (in A or B) first, and what they are ranked by:
    weighted reach when the runs' weights are known, else reach."""
    weighted = _weighted(document)
    a, b = ("weighted_a", "weighted_b") if weighted else ("a", "b")
    markets = sorted(
        document["plan"]["markets"],
        key=lambda m: -max(_number(m.get(a)) or 0.0, _number(m.get(b)) or 0.0),
    )
    return markets, "weighted reach" if weighted else "reach"


def _bar_chart(
    book: Workbook,
    sheet: str,
    title: str,
    rows: int,
    series: Sequence[tuple[int, str]],
    axis: str,
    error_column: int | None = None,
) -> Any:
    """A native bar chart of a sheet's table: categories in column A, one series per
    (column, colour), first row on top; with `error_column`, error bars of its values
    (half an interval) both ways."""
    chart = book.add_chart({"type": "bar"})
    for column, color in series:
        values: dict[str, Any] = {
            "name": [sheet, 0, column],
            "categories": [sheet, 1, 0, rows, 0],
            "values": [sheet, 1, column, rows, column],
            "fill": {"color": color},
            "border": {"none": True},
        }
        if error_column is not None:
            span = f"={quote_sheetname(sheet)}!{xl_range_abs(1, error_column, rows, error_column)}"
            values["y_error_bars"] = {
                "type": "custom",
                "plus_values": span,
                "minus_values": span,
                "line": {"color": "#1F2937"},
            }
        chart.add_series(values)
    chart.set_title({"name": title, "name_font": {"size": 12, "bold": True}})
    chart.set_y_axis({"reverse": True})
    chart.set_x_axis({"name": axis, "major_gridlines": {"visible": True}})
    chart.set_legend({"none": True} if len(series) == 1 else {"position": "top"})
    chart.set_size({"width": 720, "height": max(288, 100 + 12 * (len(series) + 1) * rows)})
    return chart


def write_compare_xlsx(path: Path, document: Mapping[str, Any]) -> None:
    book = open_book(path)
    a, b = document["a"], document["b"]
    currency = a.get("currency") or ""
    notes = [f"A: {a['folder']} ({a.get('scenario')})", f"B: {b['folder']} ({b.get('scenario')})"]
    if document.get("message"):
        notes.append(document["message"])
    plan = document["plan"]
    sheets = [
        write_table(
            book, "Plan", ["plan 1", "A", "B", "change (B − A)"], _plan_rows(document), notes=notes
        )
    ]
    markets, what = _markets_by_reach(document)
    header = ["market", "reach A", "reach B", "change", "weighted reach A", "weighted reach B"]
    ws = write_table(
        book,
        "Markets",
        header,
        [
            [m["market"], m["a"], m["b"], m["change"], m.get("weighted_a"), m.get("weighted_b")]
            for m in markets
        ],
        dict.fromkeys(header[1:], REACH),
        notes=[f"Markets ranked by {what} in A or B, most first."],
    )
    if markets:
        shown = min(len(markets), MARKET_ROWS)
        more = f" (the {shown} of most {what}, of {len(markets)})" if shown < len(markets) else ""
        first = 4 if what == "weighted reach" else 1
        ws.insert_chart(
            1,
            len(header) + 1,
            _bar_chart(
                book,
                "Markets",
                f"Plan 1: {what} by market, A and B{more}",
                shown,
                ((first, HEADER_COLOR), (first + 1, CONTRAST_COLOR)),
                what,
            ),
        )
    sheets.append(ws)
    layers = plan.get("layers") or []
    header = ["layer", "gross spend A", "gross spend B", "change"]
    ws = write_table(
        book,
        "Layers",
        header,
        [[x["layer"], x["a"], x["b"], x["change"]] for x in layers],
        dict.fromkeys(header[1:], MONEY),
        notes=["Gross spend of plan 1's options in each stack layer (each plan's segments)."],
    )
    if layers:
        ws.insert_chart(
            1,
            len(header) + 1,
            _bar_chart(
                book,
                "Layers",
                "Plan 1: gross spend by layer, A and B",
                len(layers),
                ((1, HEADER_COLOR), (2, CONTRAST_COLOR)),
                f"gross spend, {currency}" if currency else "gross spend",
            ),
        )
    sheets.append(ws)
    sheets.append(
        write_table(
            book,
            "Settings",
            ["setting", "A", "B"],
            [[s["setting"], _cell(s["a"]), _cell(s["b"])] for s in document.get("settings") or []],
        )
    )
    sheets.append(
        write_table(
            book,
            "Rows",
            ["sheet", "key", "column", "A", "B"],
            [
                [
                    r["sheet"],
                    _text(r["key"]),
                    r["column"] or "(whole row)",
                    _cell(r["a"]),
                    _cell(r["b"]),
                ]
                for r in document.get("rows") or []
            ],
        )
    )
    header = [
        "difference",
        "status",
        "effect low",
        "effect high",
        "best reach low",
        "best reach high",
        "note",
        "effect, middle",
        "effect, ± half the interval",
    ]
    effects = _effect_rows(document)
    ws = write_table(
        book,
        "Effects",
        header,
        effects,
        {c: REACH for c in header if c.startswith(("effect", "best"))},
        notes=[
            "Effect: the change in A's best weighted reach with that difference alone applied, "
            "an interval holding the true value (one number when proven). The chart draws "
            "its middle, with error bars to its ends; largest first."
        ],
    )
    if effects:
        ws.insert_chart(
            1,
            len(header) + 1,
            _bar_chart(
                book,
                "Effects",
                "Effect of each difference alone on weighted reach",
                len(effects),
                ((7, HEADER_COLOR),),
                "change in weighted reach",
                error_column=8,
            ),
        )
    sheets.append(ws)
    for ws in sheets:
        set_print_layout(ws)
    book.close()


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("planner.reports", "templates"),
        autoescape=True,  # every value from a workbook or a run is text, never markup
        undefined=jinja2.StrictUndefined,
    )
    env.filters["text"] = _text
    env.filters["interval"] = _interval
    return env


def compare_charts(document: Mapping[str, Any]) -> dict[str, Any]:
    """compare.html's charts as inline SVG (None when there is nothing to draw), and what
    they leave out: plan 1's (weighted) reach by market in A and B, its gross spend by
    layer in A and B, and the effect of each difference alone, largest first."""
    a = document["a"]
    plan = document["plan"]
    markets, what = _markets_by_reach(document)
    weighted = what == "weighted reach"
    keys = ("weighted_a", "weighted_b") if weighted else ("a", "b")
    shown = markets[:MARKET_ROWS]
    market_chart = (
        grouped_bars(
            [(str(m["market"]), [_number(m.get(k)) for k in keys]) for m in shown],
            SIDES,
            title=f"Plan 1: {what} by market, A and B",
            unit=what if weighted else a.get("reach_unit") or what,
        )
        if shown
        else None
    )
    layers = plan.get("layers") or []
    currency = a.get("currency") or ""
    layer_chart = (
        grouped_bars(
            [(str(x["layer"]), [_number(x["a"]), _number(x["b"])]) for x in layers],
            SIDES,
            title="Plan 1: gross spend by layer, A and B",
            unit=f"gross spend, {currency}" if currency else "gross spend",
        )
        if layers
        else None
    )
    effects = [(e["difference"], _ends(e)) for e in effects_by_size(document)]
    drawn = [(label, *ends) for label, ends in effects if ends is not None]
    effects_chart = (
        interval_bars(
            drawn,
            title="Effect of each difference alone on A's best weighted reach",
            unit="change in weighted reach",
        )
        if drawn
        else None
    )
    return {
        "market_chart": market_chart,
        "markets_hidden": len(markets) - len(shown),
        "markets_weighted": weighted,
        "layer_chart": layer_chart,
        "effects_chart": effects_chart,
        "effects_undrawn": len(effects) - len(drawn),
    }


def compare_html(document: Mapping[str, Any]) -> str:
    """compare.html: self-contained (no network, no script), every value escaped; the
    charts are `Markup` made by `svg_charts`, which escapes their text itself."""
    template = _environment().get_template("compare.html.j2")
    return template.render(
        doc=document,
        plan_rows=_plan_rows(document),
        figure_names=FIGURE_NAMES,
        charts=compare_charts(document),
        effects=effects_by_size(document),
    )


def write_compare(path: Path, document: Mapping[str, Any]) -> list[Path]:
    """compare.json at `path`, compare.xlsx and compare.html beside it (same stem),
    whole or not at all; returns the paths written."""
    stem = path.stem
    html = compare_html(document)

    def write_html(target: Path) -> None:
        target.write_text(html, encoding="utf-8")

    return write_whole(
        path.parent,
        {
            path.name: json_writer(document),
            f"{stem}.xlsx": lambda p: write_compare_xlsx(p, document),
            f"{stem}.html": write_html,
        },
    )


def compare_summary(document: Mapping[str, Any], limit: int = 10) -> str:
    """The terminal's summary: differences, plan 1 side by side, the largest effects."""
    a, b = document["a"], document["b"]
    lines = [
        f"Compare A {a['folder']} ({a.get('scenario')}) with B {b['folder']} ({b.get('scenario')})"
    ]
    if document.get("message"):
        lines.append(document["message"])
    settings: Sequence[Mapping[str, Any]] | None = document.get("settings")
    rows: Sequence[Mapping[str, Any]] | None = document.get("rows")
    if settings is not None and rows is not None:
        lines.append(f"Settings differing: {len(settings)}; input rows differing: {len(rows)}")
        for s in settings[:limit]:
            lines.append(f"  {s['setting']}: {_text(s['a'])} → {_text(s['b'])}")
        if len(settings) > limit:
            lines.append(
                f"  ... and {len(settings) - limit} more settings (compare.json lists them)"
            )
        for r in rows[:limit]:
            where = f"{r['sheet']}[{_text(r['key'])}]"
            if r["column"] is None:
                lines.append(f"  {where} {'added' if r['a'] is None else 'removed'}")
            else:
                lines.append(f"  {where}.{r['column']}: {_text(r['a'])} → {_text(r['b'])}")
        if len(rows) > limit:
            lines.append(f"  ... and {len(rows) - limit} more rows (compare.json lists them all)")
    plan = document["plan"]
    lines.append("Plan 1, A → B:")
    for name, label in FIGURE_NAMES.items():
        va = (plan.get("a") or {}).get(name)
        vb = (plan.get("b") or {}).get(name)
        change = plan["change"].get(name)
        shown = "" if change is None else f" ({change:+.6g})"
        lines.append(f"  {label}: {_text(va) or '-'} → {_text(vb) or '-'}{shown}")
    lines.append(f"  options added: {_text(plan['added']) or 'none'}")
    lines.append(f"  options removed: {_text(plan['removed']) or 'none'}")
    effects = document.get("effects")
    if effects:
        lines.append("Effect of each difference alone on A's best weighted reach:")
        for e in effects[:limit]:
            shown = _interval(e.get("effect")) or e.get("message", "")
            lines.append(f"  {e['difference']}: {shown} [{e['status']}]")
    return "\n".join(lines)
