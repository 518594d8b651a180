"""scenarios.xlsx and the terminal table of `planner solve --all-scenarios` (SPEC §8).

The top plan of every scenario side by side: status, weighted reach and its
share of the ceiling, net spend, co-financing, average trust, foreign share,
how many options, and how many of them base's plan 1 also holds (how far the
scenario moves the answer). Built from plans.json documents (plain dicts), so
it never needs the scenarios or the solver.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planner.reports.plans_xlsx import MONEY, PERCENT, REACH, TRUST
from planner.reports.xlsx_tables import open_book, write_table

BASE = "base"


@dataclass(frozen=True, slots=True)
class ScenarioRun:
    """One scenario of the batch: its plans.json document, or why there is none."""

    scenario: str
    folder: str
    """The run folder written for it ("" when nothing was written)."""
    plans: Mapping[str, Any] | None
    """The plans.json document; None when the solve failed or did not run."""
    status: str
    """The document's status, or `failed` / `not_run`."""
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ScenarioRow:
    """The figures of one scenario's plan 1 (None where it has no plan)."""

    scenario: str
    status: str
    weighted_reach: float | None
    share_of_ceiling: float | None
    net_spend: float | None
    cofinanced: float | None
    average_trust: float | None
    foreign_share: float | None
    n_options: int | None
    in_common_with_base: int | None
    options: tuple[str, ...]
    folder: str
    note: str


def scenario_rows(runs: Sequence[ScenarioRun]) -> list[ScenarioRow]:
    """One row per run, in the runs' order; options in common are counted against base."""
    base = next((r for r in runs if r.scenario == BASE), None)
    base_top = _top(base.plans) if base else None
    base_options = set(base_top["options"]) if base_top else None
    rows = []
    for run in runs:
        plan = _top(run.plans)
        ceiling = run.plans.get("max_weighted_reach") if run.plans else None
        note = run.error or (run.plans.get("message", "") if run.plans else "") or ""
        plan = plan or {}
        options = tuple(plan.get("options", ()))
        reach = plan.get("weighted_reach")
        rows.append(
            ScenarioRow(
                scenario=run.scenario,
                status=run.status,
                weighted_reach=reach,
                share_of_ceiling=reach / ceiling if reach is not None and ceiling else None,
                net_spend=plan.get("net_spend"),
                cofinanced=plan.get("cofinanced"),
                average_trust=plan.get("average_trust"),
                foreign_share=plan.get("foreign_share"),
                n_options=len(options) if plan else None,
                in_common_with_base=(
                    len(base_options & set(options)) if plan and base_options is not None else None
                ),
                options=options,
                folder=run.folder,
                note=note,
            )
        )
    return rows


def _top(plans: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if not plans or not plans.get("plans"):
        return None
    top: Mapping[str, Any] = plans["plans"][0]
    return top


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def scenarios_table(rows: Sequence[ScenarioRow]) -> str:
    """The terminal table: one line per scenario, plan 1's figures."""
    width = max([8, *(len(r.scenario) for r in rows)])
    lines = [
        f"{'scenario':<{width}} {'status':<11} {'w. reach':>10} {'% max':>6} {'net':>9} "
        f"{'co-fin':>8} {'trust':>6} {'foreign':>7} {'opts':>4} {'common':>6}"
    ]
    for r in rows:
        share = "-" if r.share_of_ceiling is None else f"{100 * r.share_of_ceiling:.1f}%"
        foreign = "-" if r.foreign_share is None else f"{100 * r.foreign_share:.0f}%"
        lines.append(
            f"{r.scenario:<{width}} {r.status:<11} {_num(r.weighted_reach, ',.1f'):>10} "
            f"{share:>6} {_num(r.net_spend, ',.1f'):>9} {_num(r.cofinanced, ',.1f'):>8} "
            f"{_num(r.average_trust, '.1f'):>6} {foreign:>7} "
            f"{'-' if r.n_options is None else r.n_options:>4} "
            f"{'-' if r.in_common_with_base is None else r.in_common_with_base:>6}"
        )
    lines.append("(plan 1 of each scenario; common: its options also in base's plan 1)")
    lines += [f"{r.scenario}: {r.note}" for r in rows if r.status in ("failed", "not_run")]
    return "\n".join(lines)


def write_scenarios_xlsx(path: Path, rows: Sequence[ScenarioRow]) -> None:
    """scenarios.xlsx: the Scenarios table with a chart of weighted reach, and Options,
    which options each scenario's plan 1 holds."""
    book = open_book(path)
    header = [
        "scenario",
        "status",
        "weighted reach",
        "share of ceiling",
        "net spend",
        "co-financing drawn",
        "average trust",
        "foreign share",
        "partnerships",
        "in common with base plan 1",
        "run folder",
        "note",
    ]
    table = [
        [
            r.scenario,
            r.status,
            r.weighted_reach,
            r.share_of_ceiling,
            r.net_spend,
            r.cofinanced,
            r.average_trust,
            r.foreign_share,
            r.n_options,
            r.in_common_with_base,
            r.folder,
            r.note,
        ]
        for r in rows
    ]
    formats = {
        "weighted reach": REACH,
        "share of ceiling": PERCENT,
        "net spend": MONEY,
        "co-financing drawn": MONEY,
        "average trust": TRUST,
        "foreign share": PERCENT,
    }
    notes = ["Plan 1 of each scenario; each run folder holds its plans.xlsx and plans.json."]
    ws = write_table(book, "Scenarios", header, table, formats, notes)
    if rows:
        chart = book.add_chart({"type": "column"})
        n = len(rows)
        chart.add_series(
            {
                "name": ["Scenarios", 0, 2],
                "categories": ["Scenarios", 1, 0, n, 0],
                "values": ["Scenarios", 1, 2, n, 2],
            }
        )
        chart.add_series(
            {
                "name": ["Scenarios", 0, 4],
                "categories": ["Scenarios", 1, 0, n, 0],
                "values": ["Scenarios", 1, 4, n, 4],
                "y2_axis": True,
            }
        )
        chart.set_title({"name": "Plan 1 of each scenario"})
        chart.set_y_axis({"name": "weighted reach"})
        chart.set_y2_axis({"name": "net spend"})
        ws.insert_chart(n + 2 + len(notes) + 1, 0, chart)
    chosen = sorted({o for r in rows for o in r.options})
    members = [set(r.options) for r in rows]
    option_rows = [[o, *("✓" if o in m else "" for m in members)] for o in chosen]
    write_table(book, "Options", ["option_id", *(r.scenario for r in rows)], option_rows)
    book.close()
