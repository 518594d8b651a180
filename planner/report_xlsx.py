"""plans.xlsx: the ranked plans for people (analysts comparing alternatives).

Sheets: Summary (one row per plan, with a chart of reach against net spend),
Plans (partnership × plan), Markets (reach per plan and which required layers
are met), CoFinancing (offers taken, amount drawn, cap use), Screened (options
left out before solving, and why) and Run (input file and its SHA-256, every
setting used, versions, status, times). Every string from the workbook is
written as text, never as a formula.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from planner.plan import PlanSet
from planner.report_json import clean_number
from planner.scenario import Scenario
from planner.screening import Screened
from planner.xlsx_out import set_text

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="305496")
MONEY = "#,##0.00"
REACH = "#,##0.00"
PERCENT = "0.0%"
TRUST = "0.0"


@dataclass(frozen=True, slots=True)
class RunInfo:
    """Facts about the run that make a result reproducible and auditable."""

    workbook: str
    sha256: str
    scenario: str
    status: str
    versions: dict[str, str]
    started: str
    timings: dict[str, float] = field(default_factory=dict)
    command: str = ""


def _table(
    ws: Worksheet,
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    formats: dict[str, str] | None = None,
) -> None:
    """Write a header and rows, style the header, freeze it, size the columns."""
    formats = formats or {}
    for j, name in enumerate(header, start=1):
        cell = ws.cell(row=1, column=j)
        set_text(cell, name)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for i, row in enumerate(rows, start=2):
        for j, value in enumerate(row, start=1):
            cell = ws.cell(row=i, column=j)
            if isinstance(value, float):
                value = clean_number(value)  # 2.199999999999999 -> 2.2
            set_text(cell, value)
            fmt = formats.get(header[j - 1])
            if fmt and isinstance(value, int | float) and not isinstance(value, bool):
                cell.number_format = fmt
    ws.freeze_panes = "B2"
    for j, name in enumerate(header, start=1):
        width = max([len(str(name))] + [len(str(r[j - 1])) for r in rows[:200] if j <= len(r)])
        ws.column_dimensions[get_column_letter(j)].width = min(max(10, width + 2), 48)
    ws.row_dimensions[1].height = 32


def _summary(wb: Workbook, scenario: Scenario, planset: PlanSet) -> None:
    ws = wb.active
    ws.title = "Summary"
    s = scenario.settings
    partners = scenario.partner_of()
    options = {o.option_id: o for o in scenario.options}
    top = planset.max_weighted_reach
    header = [
        "rank",
        "weighted reach",
        "share of maximum",
        f"net spend, {s.currency}",
        f"gross spend, {s.currency}",
        f"co-financing drawn, {s.currency}",
        "leverage (co-financing per net unit)",
        f"fees, {s.currency}",
        "average trust",
        "foreign share",
        "partnerships",
        "domestic",
        "foreign",
        "offers taken",
        "proven optimal",
        "gap",
        "bound",
    ]
    rows = []
    for p in planset.plans:
        foreign = sum(scenario.is_foreign(partners[options[o].partner_id]) for o in p.options)
        rows.append(
            [
                p.rank,
                p.weighted_reach,
                p.weighted_reach / top if top > 0 else None,
                p.net_spend,
                p.gross_spend,
                p.cofinanced,
                p.cofinanced / p.net_spend if p.net_spend > 0 else None,
                p.fees,
                p.average_trust,
                p.foreign_share,
                len(p.options),
                len(p.options) - foreign,
                foreign,
                len(p.offers),
                "yes" if p.proven_optimal else "no",
                p.gap if p.gap is not None else None,
                p.bound,
            ]
        )
    formats = {h: MONEY for h in header if s.currency in h}
    formats.update(
        {
            "weighted reach": REACH,
            "bound": REACH,
            "share of maximum": PERCENT,
            "foreign share": PERCENT,
            "gap": "0.00%",
            "average trust": TRUST,
            "leverage (co-financing per net unit)": "0.00",
        }
    )
    _table(ws, header, rows, formats)
    note_row = len(rows) + 3
    set_text(ws.cell(row=note_row, column=1), f"Scenario {planset.scenario}: {planset.status}")
    if planset.message:
        set_text(ws.cell(row=note_row + 1, column=1), planset.message)
    if planset.diagnosis:
        set_text(ws.cell(row=note_row + 2, column=1), planset.diagnosis)
    if rows:
        chart = BarChart()
        chart.type = "col"
        chart.title = "Weighted reach and net spend by plan"
        chart.y_axis.title = "value"
        chart.x_axis.title = "plan rank"
        data = Reference(ws, min_col=2, min_row=1, max_row=len(rows) + 1)
        spend = Reference(ws, min_col=4, min_row=1, max_row=len(rows) + 1)
        chart.add_data(data, titles_from_data=True)
        chart.add_data(spend, titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=len(rows) + 1))
        chart.height, chart.width = 8, 16
        ws.add_chart(chart, f"B{note_row + 4}")


def _plans(wb: Workbook, scenario: Scenario, planset: PlanSet) -> None:
    ws = wb.create_sheet("Plans")
    partners = scenario.partner_of()
    chosen = sorted({o for p in planset.plans for o in p.options})
    options = {o.option_id: o for o in scenario.options}
    drawn: list[dict[str, float]] = []
    for p in planset.plans:
        per_option: dict[str, float] = {}
        for c in p.cofinancing:
            per_option[c.option_id] = per_option.get(c.option_id, 0.0) + c.amount
        drawn.append(per_option)
    header = [
        "option_id",
        "name",
        "partner",
        "country",
        "domestic/foreign",
        "layer",
        "kind",
        "cost",
    ]
    for p in planset.plans:
        header += [f"plan {p.rank}", f"plan {p.rank} co-financing"]
    rows = []
    for oid in chosen:
        o = options[oid]
        partner = partners[o.partner_id]
        row: list[object] = [
            oid,
            o.name,
            partner.name,
            partner.country,
            "foreign" if scenario.is_foreign(partner) else "domestic",
            o.layer,
            o.kind or "",
            o.cost,
        ]
        for p, per_option in zip(planset.plans, drawn, strict=True):
            row += ["✓" if oid in p.options else "", per_option.get(oid) or None]
        rows.append(row)
    formats = {"cost": MONEY}
    formats.update({h: MONEY for h in header if h.endswith("co-financing")})
    _table(ws, header, rows, formats)


def _markets(wb: Workbook, scenario: Scenario, planset: PlanSet) -> None:
    ws = wb.create_sheet("Markets")
    unit = scenario.settings.reach_unit
    header = [
        "market_id",
        "name",
        "region",
        "weight",
        f"addressable, {unit}",
        "required layers",
    ]
    for p in planset.plans:
        header += [f"plan {p.rank} reach", f"plan {p.rank} share", f"plan {p.rank} layers"]
    reach = [{m.market_id: m for m in p.markets} for p in planset.plans]
    rows = []
    for m in scenario.markets:
        row: list[object] = [
            m.market_id,
            m.name,
            m.region,
            m.weight,
            m.addressable,
            "; ".join(m.required_layers),
        ]
        for per_market in reach:
            got = per_market.get(m.market_id)
            r = got.reach if got else 0.0
            missing = got.missing_layers if got else ()
            layers = "missing: " + "; ".join(missing) if missing else "met"
            if not m.required_layers:
                layers = "none required"
            row += [r, r / m.addressable if m.addressable else None, layers]
        rows.append(row)
    formats = {h: REACH for h in header if h.endswith("reach") or h.startswith("addressable")}
    formats.update({h: PERCENT for h in header if h.endswith("share")})
    _table(ws, header, rows, formats)


def _cofinancing(wb: Workbook, scenario: Scenario, planset: PlanSet) -> None:
    ws = wb.create_sheet("CoFinancing")
    offers = {c.offer_id: c for c in scenario.offers}
    header = [
        "plan",
        "offer_id",
        "financier",
        "share",
        "cap",
        "drawn",
        "cap used",
        "fee",
        "options financed",
    ]
    rows = []
    for p in planset.plans:
        for oid in sorted(p.offers):
            c = offers[oid]
            lines = [x for x in p.cofinancing if x.offer_id == oid]
            drawn = sum(x.amount for x in lines)
            rows.append(
                [
                    p.rank,
                    oid,
                    c.financier,
                    c.share,
                    c.cap,
                    drawn,
                    drawn / c.cap if c.cap > 0 else None,
                    c.fee,
                    "; ".join(
                        f"{x.option_id} {x.amount:.4g}"
                        for x in sorted(lines, key=lambda x: x.option_id)
                    ),
                ]
            )
    _table(
        ws,
        header,
        rows,
        {"share": PERCENT, "cap": MONEY, "drawn": MONEY, "cap used": PERCENT, "fee": MONEY},
    )


def _screened(wb: Workbook, scenario: Scenario, screened: Sequence[Screened]) -> None:
    ws = wb.create_sheet("Screened")
    options = {o.option_id: o for o in scenario.options}
    partners = scenario.partner_of()
    rows = []
    for item in screened:
        o = options[item.option_id]
        rows.append([o.option_id, o.name, partners[o.partner_id].name, o.layer, item.reason])
    _table(ws, ["option_id", "name", "partner", "layer", "reason"], rows)


def _run(wb: Workbook, scenario: Scenario, run: RunInfo) -> None:
    ws = wb.create_sheet("Run")
    rows: list[list[object]] = [
        ["workbook", run.workbook],
        ["workbook SHA-256", run.sha256],
        ["scenario", run.scenario],
        ["status", run.status],
        ["started", run.started],
    ]
    if run.command:
        rows.append(["command", run.command])
    for name, value in asdict(scenario.settings).items():
        rows.append([f"setting {name}", "" if value is None else value])
    for name, version in sorted(run.versions.items()):
        rows.append([f"version {name}", version])
    for name, seconds in run.timings.items():
        rows.append([f"time {name} (s)", round(seconds, 3)])
    _table(ws, ["item", "value"], rows)


def write_plans_xlsx(
    path: Path,
    scenario: Scenario,
    planset: PlanSet,
    screened: Sequence[Screened],
    run: RunInfo,
) -> None:
    """Write the report to `path` (callers make the write atomic)."""
    wb = Workbook()
    _summary(wb, scenario, planset)
    _plans(wb, scenario, planset)
    _markets(wb, scenario, planset)
    _cofinancing(wb, scenario, planset)
    _screened(wb, scenario, screened)
    _run(wb, scenario, run)
    wb.save(path)
