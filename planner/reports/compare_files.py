"""compare.json, compare.xlsx and compare.html: two runs compared (SPEC §7).

Written from the compare.json document alone (plain dicts), whole or not at all
(`write_whole`). compare.xlsx writes every text with `write_string` (a name such
as `=A1` never becomes a formula); compare.html is rendered by Jinja2 with
autoescaping, so no text from a workbook ever becomes markup.

compare.xlsx holds: Plan (plan 1 of each run side by side, options added and
removed, per market), Settings, Rows (the input differences) and Effects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2

from planner.reports.plans_xlsx import REACH
from planner.reports.whole_files import json_writer, write_whole
from planner.reports.xlsx_tables import open_book, write_table

SCHEMA = "partnership-compare/1"

FIGURE_NAMES = {
    "weighted_reach": "weighted reach",
    "net_spend": "net spend",
    "cofinanced": "co-financing",
    "average_trust": "average trust",
    "foreign_share": "foreign share",
}


def _text(value: object) -> str:
    """A value as a table cell shows it: numbers plain, lists joined, null blank."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_text(v)}" for k, v in value.items())
    return str(value)


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


def _effect_rows(document: Mapping[str, Any]) -> list[list[Any]]:
    return [
        [
            e["difference"],
            e["status"],
            (e.get("effect") or {}).get("low"),
            (e.get("effect") or {}).get("high"),
            (e.get("best_reach") or {}).get("low"),
            (e.get("best_reach") or {}).get("high"),
            e.get("message", ""),
        ]
        for e in document.get("effects") or []
    ]


def write_compare_xlsx(path: Path, document: Mapping[str, Any]) -> None:
    book = open_book(path)
    a, b = document["a"], document["b"]
    notes = [f"A: {a['folder']} ({a.get('scenario')})", f"B: {b['folder']} ({b.get('scenario')})"]
    if document.get("message"):
        notes.append(document["message"])
    write_table(
        book, "Plan", ["plan 1", "A", "B", "change (B − A)"], _plan_rows(document), notes=notes
    )
    write_table(
        book,
        "Markets",
        ["market", "reach A", "reach B", "change"],
        [[m["market"], m["a"], m["b"], m["change"]] for m in document["plan"]["markets"]],
        {"reach A": REACH, "reach B": REACH, "change": REACH},
    )
    write_table(
        book,
        "Settings",
        ["setting", "A", "B"],
        [[s["setting"], _text(s["a"]), _text(s["b"])] for s in document.get("settings") or []],
    )
    write_table(
        book,
        "Rows",
        ["sheet", "key", "column", "A", "B"],
        [
            [
                r["sheet"],
                _text(r["key"]),
                r["column"] or "(whole row)",
                _text(r["a"]),
                _text(r["b"]),
            ]
            for r in document.get("rows") or []
        ],
    )
    write_table(
        book,
        "Effects",
        [
            "difference",
            "status",
            "effect low",
            "effect high",
            "best reach low",
            "best reach high",
            "note",
        ],
        _effect_rows(document),
        {c: REACH for c in ("effect low", "effect high", "best reach low", "best reach high")},
        notes=[
            "Effect: the change in A's best weighted reach with that difference alone applied, "
            "an interval holding the true value (one number when proven)."
        ],
    )
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


def compare_html(document: Mapping[str, Any]) -> str:
    """compare.html: self-contained (no network), every value escaped."""
    template = _environment().get_template("compare.html.j2")
    return template.render(
        doc=document,
        plan_rows=_plan_rows(document),
        figure_names=FIGURE_NAMES,
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
