"""sweep.json and sweep.xlsx: a sweep's points for programs and for people (SPEC §8).

Written from the sweep.json document alone (plain dicts), so the files can be
written again from a document read back, and reports never need the solver.

sweep.xlsx holds:
- Chart: weighted reach (and net spend, on a secondary axis) against the
  first varied setting; with more settings varied, one series per value of
  the others (`max_foreign_share=0.3`). The table beside the chart holds the
  charted numbers.
- Points: one row per point in grid order: each varied value, status,
  weighted reach, net spend, the options of plan 1, and any error.
- Changes: the options entering and leaving between neighbouring points,
  neighbours being consecutive values of the first varied setting with the
  others the same (as on the chart's lines); points without a known plan
  (failed, not run, out of time) are stepped over.
- Run: the scenario, fixed settings, workbook and whether every point ran.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from xlsxwriter.workbook import Workbook

from planner.reports.plans_xlsx import MONEY, REACH
from planner.reports.whole_files import json_writer, write_whole
from planner.reports.xlsx_tables import open_book, write_table

SCHEMA = "partnership-sweep/1"

#: Statuses whose options are known: plan 1's, or none at all when infeasible.
KNOWN = ("optimal", "feasible", "infeasible")

#: Lines drawn on the chart at most (each also has its net spend line); the Chart
#: sheet's table holds every series, the chart the first ones.
MAX_CHART_SERIES = 24


def write_sweep(out: Path, document: Mapping[str, Any]) -> list[Path]:
    """Write sweep.json and sweep.xlsx into `out`, whole or not at all; returns their paths."""
    return write_whole(
        out,
        {
            "sweep.json": json_writer(document),
            "sweep.xlsx": lambda path: write_sweep_xlsx(path, document),
        },
    )


def show_value(value: Any) -> str:
    """A varied value as a label shows it (blank named, numbers without float noise)."""
    if value is None:
        return "blank"
    if isinstance(value, float):
        return f"{value:g}" if abs(value) >= 1e-4 else repr(value)
    return str(value)


def series_of(document: Mapping[str, Any]) -> dict[tuple[Any, ...], list[dict[str, Any]]]:
    """Points grouped by the values of every varied setting but the first, each group
    in the order of the first setting's values (grid order, the first varying slowest)."""
    varied = list(document["varied"])
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for point in document["points"]:
        key = tuple(_hashable(point["settings"].get(name)) for name in varied[1:])
        groups.setdefault(key, []).append(point)
    return groups


def _hashable(value: Any) -> Any:
    return (type(value).__name__, value) if isinstance(value, str) else value


def _unhashable(value: Any) -> Any:
    return value[1] if isinstance(value, tuple) else value


def series_label(varied: Sequence[str], key: tuple[Any, ...]) -> str:
    """`max_foreign_share=0.3, min_average_trust=blank`: one line of the chart."""
    return ", ".join(
        f"{name}={show_value(_unhashable(v))}" for name, v in zip(varied[1:], key, strict=True)
    )


def neighbour_changes(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Options entering and leaving between neighbouring points with known plans."""
    varied = list(document["varied"])
    first = varied[0]
    changes = []
    for key, points in series_of(document).items():
        previous: dict[str, Any] | None = None
        for point in points:
            if point["status"] not in KNOWN:
                continue
            if previous is not None:
                before, after = set(previous["options"]), set(point["options"])
                changes.append(
                    {
                        "series": series_label(varied, key),
                        "from": previous["settings"].get(first),
                        "to": point["settings"].get(first),
                        "entering": sorted(after - before),
                        "leaving": sorted(before - after),
                        "reach_change": _difference(point, previous, "weighted_reach"),
                        "spend_change": _difference(point, previous, "net_spend"),
                    }
                )
            previous = point
    return changes


def _difference(now: Mapping[str, Any], before: Mapping[str, Any], field: str) -> float | None:
    a, b = before.get(field), now.get(field)
    return None if a is None or b is None else b - a


def write_sweep_xlsx(path: Path, document: Mapping[str, Any]) -> None:
    """Write sweep.xlsx (see the module's docstring) at `path`."""
    book = open_book(path)
    _chart_sheet(book, document)
    _points_sheet(book, document)
    _changes_sheet(book, document)
    _run_sheet(book, document)
    book.close()


def _points_sheet(book: Workbook, document: Mapping[str, Any]) -> None:
    varied = list(document["varied"])
    header = [
        "point",
        *varied,
        "status",
        "weighted reach",
        "net spend",
        "proven optimal",
        "partnerships",
        "options",
        "error",
    ]
    rows = []
    for i, point in enumerate(document["points"], start=1):
        settings = point["settings"]
        known = point["status"] in KNOWN
        rows.append(
            [
                i,
                *(_cell_value(settings.get(name)) for name in varied),
                point["status"],
                point.get("weighted_reach"),
                point.get("net_spend"),
                point.get("proven_optimal") if known else None,
                len(point["options"]) if known else None,
                "; ".join(point["options"]),
                point.get("error") or "",
            ]
        )
    write_table(book, "Points", header, rows, {"weighted reach": REACH, "net spend": MONEY})


def _cell_value(value: Any) -> Any:
    return "blank" if value is None else value


def _changes_sheet(book: Workbook, document: Mapping[str, Any]) -> None:
    first = document["varied"][0]
    several = len(document["varied"]) > 1
    header = [
        *(["other settings"] if several else []),
        f"{first} from",
        f"{first} to",
        "entering",
        "leaving",
        "change in weighted reach",
        "change in net spend",
    ]
    rows = [
        [
            *([change["series"]] if several else []),
            _cell_value(change["from"]),
            _cell_value(change["to"]),
            "; ".join(change["entering"]),
            "; ".join(change["leaving"]),
            change["reach_change"],
            change["spend_change"],
        ]
        for change in neighbour_changes(document)
    ]
    notes = [
        "Neighbours: consecutive values of the first varied setting, the others the same;"
        " points without a known plan (failed, not run, no plan in time) are stepped over."
    ]
    formats = {"change in weighted reach": REACH, "change in net spend": MONEY}
    write_table(book, "Changes", header, rows, formats, notes)


def _run_sheet(book: Workbook, document: Mapping[str, Any]) -> None:
    rows: list[list[Any]] = [
        ["schema", document.get("schema", SCHEMA)],
        ["scenario", document.get("scenario", "")],
        ["varied", ", ".join(document["varied"])],
        ["points", len(document["points"])],
        ["complete", "yes" if document.get("complete") else "no"],
    ]
    for name, value in (document.get("fixed") or {}).items():
        rows.append([f"--set {name}", value])
    for item in ("workbook", "sha256"):
        if document.get(item):
            rows.append([item, document[item]])
    statuses: dict[str, int] = {}
    for point in document["points"]:
        statuses[point["status"]] = statuses.get(point["status"], 0) + 1
    rows += [[f"points {status}", n] for status, n in sorted(statuses.items())]
    write_table(book, "Run", ["item", "value"], rows)


def _chart_sheet(book: Workbook, document: Mapping[str, Any]) -> None:
    """The charted numbers (x, then reach and net spend per series) and the chart."""
    varied = list(document["varied"])
    groups = series_of(document)
    xs: list[Any] = []
    for points in groups.values():
        for point in points:
            x = point["settings"].get(varied[0])
            if not any(_same(x, seen) for seen in xs):
                xs.append(x)
    labels = [series_label(varied, key) for key in groups]
    header = [varied[0]]
    for label in labels:
        suffix = f", {label}" if label else ""
        header += [f"weighted reach{suffix}", f"net spend{suffix}"]
    rows = []
    for x in xs:
        row: list[Any] = [_cell_value(x)]
        for points in groups.values():
            at = next((p for p in points if _same(p["settings"].get(varied[0]), x)), None)
            row += [None, None] if at is None else [at.get("weighted_reach"), at.get("net_spend")]
        rows.append(row)
    formats = {h: (REACH if h.startswith("weighted") else MONEY) for h in header[1:]}
    notes = []
    if len(groups) > MAX_CHART_SERIES:
        notes.append(f"The chart draws the first {MAX_CHART_SERIES} of {len(groups)} series.")
    ws = write_table(book, "Chart", header, rows, formats, notes)
    if not rows:
        return
    # Numbers on a value axis (uneven lists spaced truly); text as categories.
    numeric = all(isinstance(x, int | float) and not isinstance(x, bool) for x in xs)
    kind = {"type": "scatter", "subtype": "straight_with_markers"} if numeric else {"type": "line"}
    chart = book.add_chart(kind)
    n = len(rows)
    for k in range(min(len(groups), MAX_CHART_SERIES)):
        for col, secondary in ((1 + 2 * k, False), (2 + 2 * k, True)):
            series: dict[str, Any] = {
                "name": ["Chart", 0, col],
                "categories": ["Chart", 1, 0, n, 0],
                "values": ["Chart", 1, col, n, col],
                "marker": {"type": "circle" if not secondary else "diamond"},
            }
            if secondary:
                series["y2_axis"] = True
                series["line"] = {"dash_type": "dash"}
            chart.add_series(series)
    chart.set_title({"name": f"Weighted reach and net spend against {varied[0]}"})
    chart.set_x_axis({"name": varied[0]})
    chart.set_y_axis({"name": "weighted reach"})
    chart.set_y2_axis({"name": "net spend"})
    chart.show_blanks_as("gap")
    chart.set_size({"width": 760, "height": 420})
    ws.insert_chart(n + 2 + len(notes) + 1, 0, chart)


def _same(a: Any, b: Any) -> bool:
    return isinstance(a, str) == isinstance(b, str) and a == b
