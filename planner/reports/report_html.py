"""report.html: one self-contained page a person reads to understand a run.

Rendered from the plans.json document (with each plan's `segments` and, when
explanations ran, `plans[0]["explain"]`), the `Scenario` for names and
addressable reach, and optionally the `RunInfo` for times and the command, so
the report knows nothing of the solver. Sections: run facts and status; the
ranked plans (a table and a chart of reach by plan); a plan × option grid with
the options that differ between plans highlighted; plan 1's reach by market
against addressable; spend by layer, domestic and foreign; why plan 1 looks as it
does (explanations, only when present); the segments of each plan; options
screened out. An infeasible run's page holds its status, message and diagnosis.

Self-contained: the CSS is inline, charts are inline SVG (`svg_charts`), there is
no script, font or image to fetch, so the page opens offline and prints as shown.
Jinja2 escapes every value (autoescaping on), and the charts escape their own text,
so no name from a workbook ever becomes markup.

Large runs stay readable and quick to write: the grid shows at most `GRID_ROWS`
options (those differing between plans first) and the market chart the
`MARKET_ROWS` markets of greatest weighted reach; the page says what it left out,
which plans.xlsx holds in full.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from planner.reports.plans_json import share_of_plans
from planner.reports.plans_xlsx import RunInfo
from planner.reports.svg_charts import (
    CONTRAST,
    PRIMARY,
    Series,
    bars_against_ceiling,
    horizontal_bars,
    stacked_bars,
)
from planner.scenario.data import Scenario

#: Most options in the plan × option grid, and most markets in plan 1's market chart.
GRID_ROWS = 300
MARKET_ROWS = 40
#: Most rows in the lists of replacement costs and screened options.
LIST_ROWS = 60
REPLACEMENT_ROWS = 25


def number(value: object, digits: int = 1) -> str:
    """A figure as the page shows it: thousands separated, `—` when unknown."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return "—"
    if not math.isfinite(value):
        return "—"
    return f"{value:,.{digits}f}"


def percent(value: object, digits: int = 0) -> str:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return "—"
    return f"{100 * value:.{digits}f}%"


def interval(value: Mapping[str, float] | None, digits: int = 1) -> str:
    """An explanation interval: one number when proven (low == high), else `low – high`."""
    if value is None:
        return "—"
    low, high = value.get("low"), value.get("high")
    if low is None or high is None:
        return "—"
    a, b = number(low, digits), number(high, digits)
    return a if a == b else f"{a} – {b}"


def html_environment(package: str, **filters: Callable[..., str]) -> jinja2.Environment:
    """Templates of `package`'s `templates/` folder, for HTML pages: autoescaped, so every
    value is text unless it is Markup made in code (the charts); an undefined name is an
    error, not an empty string; with the `number`, `percent` and `interval` filters (and
    `filters`)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(package, "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(number=number, percent=percent, interval=interval, **filters)
    return env


@functools.cache
def _environment() -> jinja2.Environment:
    return html_environment("planner.reports")


def _grid(scenario: Scenario, plans: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    options = {o.option_id: o for o in scenario.options}
    partners = scenario.partner_of()
    core = share_of_plans([p["options"] for p in plans])
    members = [set(p["options"]) for p in plans]
    drawn: list[dict[str, float]] = []
    for p in plans:
        per_option: dict[str, float] = {}
        for line in p["cofinancing"]:
            per_option[line["option"]] = per_option.get(line["option"], 0.0) + line["amount"]
        drawn.append(per_option)
    differing = [o for o in core if core[o] < 1]
    shared = [o for o in core if core[o] >= 1]
    rows = []
    for oid in (differing + shared)[:GRID_ROWS]:
        option = options.get(oid)
        partner = partners.get(option.partner_id) if option else None
        rows.append(
            {
                "id": oid,
                "name": option.name if option else "",
                "partner": partner.name if partner else "",
                "layer": option.layer if option else "",
                "origin": ("foreign" if scenario.is_foreign(partner) else "domestic")
                if partner
                else "",
                "cost": option.cost if option else None,
                "core": core[oid],
                "differs": core[oid] < 1,
                "cells": [
                    {"in": oid in chosen, "cofinanced": d.get(oid)}
                    for chosen, d in zip(members, drawn, strict=True)
                ],
            }
        )
    return {
        "rows": rows,
        "differing": len(differing),
        "shared": len(shared),
        "hidden": max(0, len(core) - GRID_ROWS),
    }


def _market_chart(scenario: Scenario, plan: Mapping[str, Any], unit: str) -> dict[str, Any]:
    reach = {m["market"]: m["reach"] for m in plan["markets"]}
    missing = {m["market"]: m.get("missing_layers") or [] for m in plan["markets"]}
    markets = sorted(
        scenario.markets,
        key=lambda m: (-m.weight * reach.get(m.market_id, 0.0), -m.addressable, m.market_id),
    )
    shown = markets[:MARKET_ROWS]
    rows = [
        (
            f"{m.name} ({m.market_id})" if m.name != m.market_id else m.market_id,
            reach.get(m.market_id, 0.0),
            m.addressable,
        )
        for m in shown
    ]
    notes = [
        "missing " + ", ".join(missing[m.market_id]) if missing.get(m.market_id) else ""
        for m in shown
    ]
    chart = bars_against_ceiling(
        rows,
        title=f"Plan {plan['rank']}: reach by market against addressable",
        unit=unit,
        notes=notes,
    )
    return {"svg": chart, "hidden": len(markets) - len(shown)}


def _layer_chart(plan: Mapping[str, Any], currency: str) -> Markup:
    layers = plan["segments"]["by_layer"]
    rows = [(x["layer"], (x["domestic_spend"], x["foreign_spend"])) for x in layers]
    return stacked_bars(
        rows,
        (Series("domestic", PRIMARY), Series("foreign", CONTRAST)),
        title=f"Plan {plan['rank']}: gross spend by layer, domestic and foreign",
        unit=currency,
    )


def _share(value: Mapping[str, float] | None, end: str, top: float) -> float:
    """Where an interval's end lies on the priority list's bar, in percent of its width."""
    x = (value or {}).get(end)
    if not isinstance(x, int | float) or not math.isfinite(x) or top <= 0:
        return 0.0
    return min(100.0, 100 * max(0.0, x) / top)


def _explain(
    scenario: Scenario,
    plan: Mapping[str, Any],
    explain: Mapping[str, Any],
    core: Mapping[str, float],
) -> dict[str, Any]:
    """Plan 1's explanations arranged for reading: a priority list, then the rest."""
    options = {o.option_id: o for o in scenario.options}
    offers = {c.offer_id: c for c in scenario.offers}
    marginal = explain.get("marginal_value") or {}
    exclusive = explain.get("exclusive_reach") or {}

    def end(v: Mapping[str, float] | None, key: str) -> float:
        x = (v or {}).get(key)
        return float(x) if isinstance(x, int | float) and math.isfinite(x) else -math.inf

    def high_low(v: Mapping[str, float] | None) -> tuple[float, float]:
        return end(v, "high"), end(v, "low")

    top = max([end(v, "high") for v in marginal.values()] + [0.0])
    priority = []
    for oid in sorted(plan["options"], key=lambda o: (*(-x for x in high_low(marginal.get(o))), o)):
        value = marginal.get(oid)
        option = options.get(oid)
        priority.append(
            {
                "id": oid,
                "name": option.name if option else "",
                "layer": option.layer if option else "",
                "must": value is None,
                "marginal": value,
                "exclusive": exclusive.get(oid),
                "core": core.get(oid),
                "low_pct": _share(value, "low", top),
                "high_pct": _share(value, "high", top),
            }
        )
    replacement = explain.get("replacement_cost") or {}
    costs = sorted(
        replacement.items(),
        key=lambda kv: (kv[1] is None, (kv[1] or {}).get("low", 0.0), kv[0]),
    )
    replacements = [
        {"id": oid, "name": options[oid].name if oid in options else "", "cost": value}
        for oid, value in costs[:REPLACEMENT_ROWS]
    ]
    offer_values = [
        {
            "id": oid,
            "financier": offers[oid].financier if oid in offers else "",
            "value": value,
        }
        for oid, value in sorted((explain.get("offers") or {}).items())
    ]
    return {
        "time_s": explain.get("time_s"),
        "complete": explain.get("complete", False),
        "message": explain.get("message", ""),
        "step_share": explain.get("step_share"),
        "priority": priority,
        "replacements": replacements,
        "replacements_hidden": max(0, len(costs) - REPLACEMENT_ROWS),
        "limits": [
            {key: limit.get(key) for key in ("limit", "value", "used", "slack", "step", "gain")}
            for limit in explain.get("limits") or []
        ],
        "offers": offer_values,
    }


def report_context(
    document: Mapping[str, Any], scenario: Scenario, run: RunInfo | None = None
) -> dict[str, Any]:
    """What the template shows, as plain values and chart markup (a stable contract)."""
    settings = document.get("settings") or {}
    currency = settings.get("currency") or scenario.settings.currency
    unit = settings.get("reach_unit") or scenario.settings.reach_unit
    plans = list(document.get("plans") or [])
    top = document.get("max_weighted_reach") or 0.0
    best = plans[0]["weighted_reach"] if plans else None
    rows = []
    for p in plans:
        rows.append(
            {
                **p,
                "share_of_max": p["weighted_reach"] / top if top else None,
                "behind_first": (best - p["weighted_reach"]) if best is not None else None,
                "n_options": len(p["options"]),
            }
        )
    core = document.get("core_index") or (
        share_of_plans([p["options"] for p in plans]) if plans else {}
    )
    context: dict[str, Any] = {
        "scenario": document.get("scenario", scenario.name),
        "status": document.get("status", ""),
        "message": document.get("message", ""),
        "diagnosis": document.get("diagnosis"),
        "max_weighted_reach": top,
        "currency": currency,
        "unit": unit,
        "settings": settings,
        "run": document.get("run") or {},
        "started": run.started if run else "",
        "command": run.command if run else "",
        "timings": dict(run.timings) if run else {},
        "plans": rows,
        "screened": list(document.get("screened") or [])[:LIST_ROWS],
        "screened_hidden": max(0, len(document.get("screened") or []) - LIST_ROWS),
        "screened_offers": list(document.get("screened_offers") or []),
        "explain": None,
    }
    if not plans:
        return context
    first = plans[0]
    notes = [
        "" if k == 0 else f"−{number(best - p['weighted_reach'], 1)} vs plan 1"
        for k, p in enumerate(plans)
    ]
    context["reach_chart"] = horizontal_bars(
        [(f"plan {p['rank']}", p["weighted_reach"]) for p in plans],
        title="Weighted reach by plan",
        unit="weighted reach",
        notes=notes,
    )
    context["grid"] = _grid(scenario, plans)
    context["markets"] = _market_chart(scenario, first, unit)
    context["layer_chart"] = _layer_chart(first, currency) if "segments" in first else None
    if first.get("explain"):
        context["explain"] = _explain(scenario, first, first["explain"], core)
    return context


def render_report_html(
    document: Mapping[str, Any], scenario: Scenario, run: RunInfo | None = None
) -> str:
    """The page as text (UTF-8 when written)."""
    template = _environment().get_template("report.html.j2")
    return template.render(report_context(document, scenario, run))


def write_report_html(
    path: Path, document: Mapping[str, Any], scenario: Scenario, run: RunInfo | None = None
) -> None:
    """Write report.html to `path` (callers make the write atomic)."""
    path.write_text(render_report_html(document, scenario, run), encoding="utf-8")
