"""plans.xlsx: the ranked plans for people (analysts comparing alternatives).

Sheets: Summary (one row per plan, with a chart of weighted reach by plan),
Plans (partnership × plan), Markets (reach per plan and which required layers
are met, with a chart of plan 1's reach against addressable), CoFinancing (offers
taken, amount drawn, cap use), Segments (each plan's weighted reach and spend by
layer, region and origin, with a chart of plan 1's spend by layer, domestic and
foreign), Screened (options and offers left out before solving, and why) and Run
(input file and its SHA-256, every setting used, versions, status, times). Every
string from the workbook is written as text, never as a formula.

Every sheet keeps its header row frozen and prints landscape, fitted to the page
width, with the header row repeated on each page.

Each sheet is first described as plain data (`SheetData`), then written by
XlsxWriter, a streaming writer: at 50,000 options (thousands of screened
options and markets) it writes the report in a fraction of openpyxl's 3.4 s,
and its `write_string` makes text-never-formula explicit. The large sheets
(`table_sheets`) are built apart from the others (`summary_sheets`) and may be
written in any order (`write_book`), so that a second process can write each
while the rest is built (`book_process`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import xlsxwriter

from planner.checks.screening import Screened, screen_offers
from planner.plan import PlanSet
from planner.reports.plans_json import clean_number
from planner.reports.segments import plans_segments
from planner.scenario.data import Scenario

HEADER_COLOR = "#305496"
#: Foreign spend in charts (report.html uses the same two colours).
CONTRAST_COLOR = "#E07B39"
CEILING_COLOR = "#DCE3F0"
#: Most markets in the chart of plan 1's reach (the sheet lists every one).
MARKET_CHART_ROWS = 40
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


@dataclass(frozen=True, slots=True)
class ChartSeries:
    """One series of a chart: a column of the sheet's rows (0-based column, rows from the
    first data row), labelled by its header, with categories from another column."""

    column: int
    categories: int
    rows: int
    color: str


@dataclass(frozen=True, slots=True)
class ChartSpec:
    """A native chart of a sheet's own table, as plain data."""

    kind: str
    """XlsxWriter chart type: "column" or "bar"."""
    title: str
    series: tuple[ChartSeries, ...]
    stacked: bool = False
    overlap: int | None = None
    """100 draws each series over the last (a value over its ceiling)."""
    value_axis: str = ""
    beside: bool = False
    """Placed right of the table (narrow tables) instead of below it."""


@dataclass(slots=True)
class SheetData:
    """One report sheet as plain data: what to show, not how to write it."""

    name: str
    header: list[str]
    rows: Sequence[Sequence[object]]
    formats: dict[str, str] = field(default_factory=dict)
    """Number format by column header."""
    notes: list[str] = field(default_factory=list)
    """Lines shown below the table."""
    charts: list[ChartSpec] = field(default_factory=list)


def _summary(scenario: Scenario, planset: PlanSet, segments: Sequence[dict[str, Any]]) -> SheetData:
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
        "leverage (co-financing per unit of own spend)",
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
    for p, seg in zip(planset.plans, segments, strict=True):
        foreign = sum(scenario.is_foreign(partners[options[o].partner_id]) for o in p.options)
        rows.append(
            [
                p.rank,
                p.weighted_reach,
                p.weighted_reach / top if top > 0 else None,
                p.net_spend,
                p.gross_spend,
                p.cofinanced,
                seg["leverage"],
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
            "leverage (co-financing per unit of own spend)": "0.00",
        }
    )
    notes = [f"Scenario {planset.scenario}: {planset.status}"]
    notes += [text for text in (planset.message, planset.diagnosis) if text]
    charts = []
    if rows:
        reach = ChartSeries(1, 0, len(rows), HEADER_COLOR)
        charts.append(
            ChartSpec("column", "Weighted reach by plan", (reach,), value_axis="weighted reach")
        )
    return SheetData("Summary", header, rows, formats, notes, charts)


def _plans(scenario: Scenario, planset: PlanSet) -> SheetData:
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
    in_plan = [set(p.options) for p in planset.plans]  # a plan can hold 10,000 options
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
        for members, per_option in zip(in_plan, drawn, strict=True):
            row += ["✓" if oid in members else "", per_option.get(oid) or None]
        rows.append(row)
    formats = {"cost": MONEY}
    formats.update({h: MONEY for h in header if h.endswith("co-financing")})
    return SheetData("Plans", header, rows, formats)


def _markets(scenario: Scenario, planset: PlanSet) -> SheetData:
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
    charts = []
    if planset.plans and rows:
        shown = min(len(rows), MARKET_CHART_ROWS)
        more = f" (first {shown} of {len(rows)} markets)" if shown < len(rows) else ""
        charts.append(
            ChartSpec(
                "bar",
                f"Plan 1: reach by market against addressable{more}",
                (ChartSeries(4, 1, shown, CEILING_COLOR), ChartSeries(6, 1, shown, HEADER_COLOR)),
                overlap=100,
                value_axis=unit,
            )
        )
    return SheetData("Markets", header, rows, formats, charts=charts)


def _cofinancing(scenario: Scenario, planset: PlanSet) -> SheetData:
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
    formats = {"share": PERCENT, "cap": MONEY, "drawn": MONEY, "cap used": PERCENT, "fee": MONEY}
    return SheetData("CoFinancing", header, rows, formats)


def _segments(
    scenario: Scenario, planset: PlanSet, segments: Sequence[dict[str, Any]]
) -> SheetData:
    """Each plan's segments (`planner.reports.segments`), plan 1's layers first, so the
    chart of its spend by layer reads one block of rows."""
    currency = scenario.settings.currency
    header = [
        "plan",
        "by",
        "segment",
        "weighted reach",
        f"spend, {currency}",
        f"domestic spend, {currency}",
        f"foreign spend, {currency}",
    ]
    rows: list[list[object]] = []
    first_layers = 0
    for p, seg in zip(planset.plans, segments, strict=True):
        for x in seg["by_layer"]:
            rows.append(
                [
                    p.rank,
                    "layer",
                    x["layer"],
                    x["weighted_reach"],
                    x["spend"],
                    x["domestic_spend"],
                    x["foreign_spend"],
                ]
            )
        if p.rank == planset.plans[0].rank:
            first_layers = len(rows)
        for x in seg["by_region"]:
            rows.append([p.rank, "region", x["region"], x["weighted_reach"], x["spend"]])
        for x in seg["by_origin"]:
            rows.append([p.rank, "origin", x["origin"], x["weighted_reach"], x["spend"]])
    formats = {h: MONEY for h in header if currency in h}
    formats["weighted reach"] = REACH
    notes = [
        "Spend is gross cost. A region's spend counts every option operating there. The reach"
        " of a layer or origin is what its options reach on their own: segments overlap, so"
        " they need not add up to the plan's weighted reach."
    ]
    charts = []
    if first_layers:
        charts.append(
            ChartSpec(
                "bar",
                "Plan 1: gross spend by layer, domestic and foreign",
                (
                    ChartSeries(5, 2, first_layers, HEADER_COLOR),
                    ChartSeries(6, 2, first_layers, CONTRAST_COLOR),
                ),
                stacked=True,
                value_axis=currency,
                beside=True,
            )
        )
    return SheetData("Segments", header, rows, formats, notes, charts)


def _screened(scenario: Scenario, screened: Sequence[Screened]) -> SheetData:
    """Options screened out (as given), then offers screened out (`never`, from the data)."""
    options = {o.option_id: o for o in scenario.options}
    partners = scenario.partner_of()
    financiers = {c.offer_id: c.financier for c in scenario.offers}
    rows: list[list[object]] = []
    for item in screened:
        o = options[item.option_id]
        rows.append(
            [o.option_id, "option", o.name, partners[o.partner_id].name, o.layer, item.reason]
        )
    for offer in screen_offers(scenario):
        rows.append([offer.offer_id, "offer", financiers[offer.offer_id], "", "", offer.reason])
    return SheetData("Screened", ["id", "type", "name", "partner", "layer", "reason"], rows)


def _run(scenario: Scenario, run: RunInfo) -> SheetData:
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
    return SheetData("Run", ["item", "value"], rows)


def _write_sheet(
    book: xlsxwriter.Workbook, ws: Any, sheet: SheetData, styles: dict[str, object]
) -> None:
    # Layout first: in streaming (constant-memory) mode rows are written once, in order.
    ws.freeze_panes(1, 1)
    ws.set_row(0, 32)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)  # as wide as one page, as many pages long as needed
    ws.repeat_rows(0)
    ws.set_footer("&L&A&RPage &P of &N")
    for j, name in enumerate(sheet.header):
        sample = [len(str(r[j])) for r in sheet.rows[:200] if j < len(r) and r[j] is not None]
        ws.set_column(j, j, min(max(10, max([len(name), *sample]) + 2), 48))
    header_style = styles["header"]
    for j, name in enumerate(sheet.header):
        ws.write_string(0, j, name, header_style)
    column_styles = [
        styles.setdefault(sheet.formats[h], book.add_format({"num_format": sheet.formats[h]}))
        if h in sheet.formats
        else None
        for h in sheet.header
    ]
    for i, row in enumerate(sheet.rows, start=1):
        for j, value in enumerate(row):
            if value is None or value == "":
                continue
            if isinstance(value, str):
                ws.write_string(i, j, value)  # text stays text, even "=..." or "@..."
            elif isinstance(value, bool):
                ws.write_boolean(i, j, value)
            else:
                number = clean_number(float(value))  # type: ignore[arg-type]
                ws.write_number(i, j, 0.0 if number is None else number, column_styles[j])
    for k, note in enumerate(sheet.notes):
        ws.write_string(len(sheet.rows) + 2 + k, 0, note)
    below = len(sheet.rows) + 2 + len(sheet.notes) + 1
    for spec in sheet.charts:
        chart = _chart(book, sheet, spec)
        if spec.beside:
            ws.insert_chart(1, len(sheet.header) + 1, chart)
        else:
            ws.insert_chart(below, 1, chart)
            below += 2 + _chart_height(spec) // 20  # rows of the default 20 px


def _chart_height(spec: ChartSpec) -> int:
    """Pixels: a bar chart grows with its categories, so every one keeps its label."""
    if spec.kind == "bar":
        return max(288, 100 + 24 * spec.series[0].rows)
    return 320


def _chart(book: xlsxwriter.Workbook, sheet: SheetData, spec: ChartSpec) -> Any:
    options: dict[str, str] = {"type": spec.kind}
    if spec.stacked:
        options["subtype"] = "stacked"
    chart = book.add_chart(options)
    for series in spec.series:
        values: dict[str, Any] = {
            "name": [sheet.name, 0, series.column],
            "categories": [sheet.name, 1, series.categories, series.rows, series.categories],
            "values": [sheet.name, 1, series.column, series.rows, series.column],
            "fill": {"color": series.color},
            "border": {"none": True},
        }
        if spec.kind == "column":  # plans close in reach: the figures say what bars cannot
            values["data_labels"] = {"value": True, "num_format": "#,##0.0"}
        if spec.overlap is not None:
            values["overlap"] = spec.overlap
            values["gap"] = 60
        chart.add_series(values)
    chart.set_title({"name": spec.title, "name_font": {"size": 12, "bold": True}})
    if spec.kind == "bar":  # categories run down: first row on top, as in the table
        chart.set_y_axis({"reverse": True})
        chart.set_x_axis({"name": spec.value_axis, "min": 0, "major_gridlines": {"visible": True}})
        chart.set_size({"width": 720, "height": _chart_height(spec)})
    else:
        chart.set_x_axis({"name": "plan"})
        chart.set_y_axis({"name": spec.value_axis, "min": 0})  # bars of true proportion
        chart.set_size({"width": 720, "height": _chart_height(spec)})
    if len(spec.series) == 1:
        chart.set_legend({"none": True})
    else:
        chart.set_legend({"position": "top"})
    return chart


#: The report's sheets in book order; Explain only when the run has explanations.
SHEETS = ("Summary", "Plans", "Markets", "CoFinancing", "Segments", "Explain", "Screened", "Run")


def sheet_names(planset: PlanSet, explain: dict[str, object] | None = None) -> list[str]:
    """The names of the report's sheets, in book order."""
    explained = explain is not None and bool(planset.plans)
    return [name for name in SHEETS if name != "Explain" or explained]


def table_sheets(
    scenario: Scenario, planset: PlanSet, screened: Sequence[Screened]
) -> Iterator[SheetData]:
    """The report's large sheets (options × plans, markets × plans, co-financing, what
    was screened), each as soon as built: they need nothing the other files compute,
    so a second process can write each while the rest is built (`book_process`)."""
    yield _plans(scenario, planset)
    yield _markets(scenario, planset)
    yield _screened(scenario, screened)
    yield _cofinancing(scenario, planset)


def table_cells(scenario: Scenario, planset: PlanSet, screened: Sequence[Screened]) -> int:
    """The cells of `table_sheets`, counted without building them: so that whoever writes
    the book can be chosen, and started, before the first sheet is built."""
    k = len(planset.plans)
    chosen = set().union(*(p.options for p in planset.plans))
    never = sum(1 for c in scenario.offers if c.decision == "never")
    return (
        len(chosen) * (8 + 2 * k)  # Plans
        + len(scenario.markets) * (6 + 3 * k)  # Markets
        + (len(screened) + never) * 6  # Screened
        + sum(len(p.offers) for p in planset.plans) * 9  # CoFinancing
    )


def summary_sheets(
    scenario: Scenario,
    planset: PlanSet,
    run: RunInfo,
    explain: dict[str, object] | None = None,
    segments: Sequence[dict[str, Any]] | None = None,
) -> Iterator[SheetData]:
    """The report's other sheets: Summary, Segments, Explain (with `explain`, plans.json's
    `plans[0].explain`) and Run. `segments` (each plan's, as plans.json holds them)
    saves computing them again."""
    if segments is None:
        segments = plans_segments(scenario, planset.plans)
    yield _summary(scenario, planset, segments)
    yield _segments(scenario, planset, segments)
    if explain is not None and planset.plans:
        from planner.reports.explain_sheet import explain_sheet  # it builds on this module

        yield explain_sheet(scenario, planset, explain)
    yield _run(scenario, run)


def write_book(path: Path, names: Sequence[str], sheets: Iterable[SheetData]) -> None:
    """Write an xlsx book at `path` (callers make the write atomic) with sheets `names` in
    that order, filled from `sheets` in any order (the book streams each sheet's rows to
    a file of its own, so sheets may come as they are built)."""
    # strings_to_formulas/urls off: nothing from a user's workbook becomes live content.
    book = xlsxwriter.Workbook(
        str(path),
        {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False},
    )
    styles: dict[str, object] = {
        "header": book.add_format(
            {
                "bold": True,
                "font_color": "#FFFFFF",
                "bg_color": HEADER_COLOR,
                "text_wrap": True,
                "valign": "top",
            }
        )
    }
    worksheets = {name: book.add_worksheet(name) for name in names}
    written = set()
    for sheet in sheets:
        if sheet.name not in worksheets or sheet.name in written:
            raise ValueError(f"sheet {sheet.name!r} is not one of {list(names)} still to write")
        _write_sheet(book, worksheets[sheet.name], sheet, styles)
        written.add(sheet.name)
    if missing := [name for name in names if name not in written]:
        raise ValueError(f"sheets {missing} were never written")
    book.close()
