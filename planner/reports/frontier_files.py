"""frontier.json and frontier.xlsx: the reach–budget frontier for programs and people (SPEC §8).

Written from the frontier.json document alone (plain dicts), so the files can be
written again from a document read back, and reports never need the solver.

frontier.xlsx holds:
- Chart: the best weighted reach a budget buys, as a step chart against net
  spend (a scatter with straight lines over step-shaped points: the reach of a
  point holds from its net spend up to the next point's), the frontier points
  marked; the table beside it holds the step's corners.
- Points: one row per point in ascending net spend: net spend, weighted
  reach, proven optimal, the options and offers of its plan.
- Ladder: for each point after the first, the options entering and leaving
  compared with the point before, and what the step costs and gains.
- Run: the scenario, B, fixed settings, workbook, and whether it is complete.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from xlsxwriter.workbook import Workbook

from planner.reports.plans_xlsx import MONEY, REACH
from planner.reports.whole_files import json_writer, write_whole
from planner.reports.xlsx_tables import open_book, write_table

SCHEMA = "partnership-frontier/1"


def write_frontier(out: Path, document: Mapping[str, Any]) -> list[Path]:
    """Write frontier.json and frontier.xlsx into `out`, whole or not at all; returns their
    paths."""
    return write_whole(
        out,
        {
            "frontier.json": json_writer(document),
            "frontier.xlsx": lambda path: write_frontier_xlsx(path, document),
        },
    )


def step_corners(
    points: Sequence[Mapping[str, Any]], max_budget: float | None
) -> list[tuple[float, float]]:
    """The corners of the step function budget → best weighted reach, left to right.

    Below the first point's net spend no plan has positive reach (0); from each
    point's net spend to the next, that point's reach; from the last one up to B,
    the last reach. Two corners at each point's net spend draw the vertical rise.
    """
    corners: list[tuple[float, float]] = []
    reach = 0.0
    if points and points[0]["net_spend"] > 0:
        corners.append((0.0, 0.0))
    for point in points:
        spend = point["net_spend"]
        corners += [(spend, reach), (spend, point["weighted_reach"])]
        reach = point["weighted_reach"]
    if points and max_budget is not None and max_budget > points[-1]["net_spend"]:
        corners.append((max_budget, reach))
    return corners


def ladder(points: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """For each point after the first: the options entering and leaving since the point
    before, and the change in net spend and weighted reach."""
    steps = []
    for k in range(1, len(points)):
        before, after = points[k - 1], points[k]
        had, has = set(before["options"]), set(after["options"])
        steps.append(
            {
                "from": k,
                "to": k + 1,
                "net_spend": after["net_spend"],
                "weighted_reach": after["weighted_reach"],
                "spend_change": after["net_spend"] - before["net_spend"],
                "reach_change": after["weighted_reach"] - before["weighted_reach"],
                "entering": sorted(has - had),
                "leaving": sorted(had - has),
            }
        )
    return steps


def write_frontier_xlsx(path: Path, document: Mapping[str, Any]) -> None:
    """Write frontier.xlsx (see the module's docstring) at `path`."""
    book = open_book(path)
    _chart_sheet(book, document)
    _points_sheet(book, document)
    _ladder_sheet(book, document)
    _run_sheet(book, document)
    book.close()


def _points_sheet(book: Workbook, document: Mapping[str, Any]) -> None:
    header = [
        "point",
        "net spend",
        "weighted reach",
        "proven optimal",
        "partnerships",
        "options",
        "offers",
    ]
    rows = [
        [
            i,
            point["net_spend"],
            point["weighted_reach"],
            bool(point["proven_optimal"]),
            len(point["options"]),
            "; ".join(point["options"]),
            "; ".join(point.get("offers", [])),
        ]
        for i, point in enumerate(document["points"], start=1)
    ]
    notes = []
    if not document.get("complete"):
        notes.append("Not complete: " + (document.get("message") or "stopped early."))
    write_table(book, "Points", header, rows, {"net spend": MONEY, "weighted reach": REACH}, notes)


def _ladder_sheet(book: Workbook, document: Mapping[str, Any]) -> None:
    header = [
        "from point",
        "to point",
        "net spend",
        "weighted reach",
        "change in net spend",
        "change in weighted reach",
        "entering",
        "leaving",
    ]
    rows = [
        [
            step["from"],
            step["to"],
            step["net_spend"],
            step["weighted_reach"],
            step["spend_change"],
            step["reach_change"],
            "; ".join(step["entering"]),
            "; ".join(step["leaving"]),
        ]
        for step in ladder(document["points"])
    ]
    formats = {
        "net spend": MONEY,
        "weighted reach": REACH,
        "change in net spend": MONEY,
        "change in weighted reach": REACH,
    }
    notes = ["Each row: the options entering and leaving from one point to the next."]
    write_table(book, "Ladder", header, rows, formats, notes)


def _run_sheet(book: Workbook, document: Mapping[str, Any]) -> None:
    rows: list[list[Any]] = [
        ["schema", document.get("schema", SCHEMA)],
        ["scenario", document.get("scenario", "")],
        ["max budget", document.get("max_budget")],
        ["points", len(document["points"])],
        ["complete", bool(document.get("complete"))],
        ["message", document.get("message") or ""],
    ]
    for name, value in (document.get("fixed") or {}).items():
        rows.append([f"--set {name}", value])
    for item in ("workbook", "sha256"):
        if document.get(item):
            rows.append([item, document[item]])
    write_table(book, "Run", ["item", "value"], rows)


def _chart_sheet(book: Workbook, document: Mapping[str, Any]) -> None:
    """The step's corners (and the points, for markers) as a table, and the chart."""
    points = document["points"]
    corners = step_corners(points, document.get("max_budget"))
    header = ["net spend (budget)", "best weighted reach", "point net spend", "point reach"]
    rows: list[list[Any]] = []
    for k in range(max(len(corners), len(points))):
        row: list[Any] = list(corners[k]) if k < len(corners) else [None, None]
        if k < len(points):
            row += [points[k]["net_spend"], points[k]["weighted_reach"]]
        rows.append(row)
    formats = {
        "net spend (budget)": MONEY,
        "best weighted reach": REACH,
        "point net spend": MONEY,
        "point reach": REACH,
    }
    notes = [] if points else ["No point: no plan with positive weighted reach was found."]
    ws = write_table(book, "Chart", header, rows, formats, notes)
    if not points:
        return
    chart = book.add_chart({"type": "scatter", "subtype": "straight"})
    chart.add_series(
        {
            "name": "best weighted reach within the budget",
            "categories": ["Chart", 1, 0, len(corners), 0],
            "values": ["Chart", 1, 1, len(corners), 1],
            "line": {"width": 2.0},
        }
    )
    chart.add_series(
        {
            "name": "frontier points",
            "categories": ["Chart", 1, 2, len(points), 2],
            "values": ["Chart", 1, 3, len(points), 3],
            "line": {"none": True},
            "marker": {"type": "circle", "size": 6},
        }
    )
    chart.set_title({"name": "Reach-budget frontier"})
    chart.set_x_axis({"name": "net spend", "min": 0})
    chart.set_y_axis({"name": "weighted reach", "min": 0})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 760, "height": 420})
    ws.insert_chart(1, len(header) + 1, chart)
