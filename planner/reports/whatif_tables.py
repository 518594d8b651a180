"""The terminal tables `planner sweep` and `planner frontier` print: one line per point.

From the sweep.json and frontier.json documents (plain dicts). Long sweeps show
their first points and say where the rest are: the files hold every point.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

#: Points shown on the terminal at most; sweep.xlsx and sweep.json hold them all.
SHOWN = 60

#: Characters of an options list shown on one line.
OPTIONS_WIDTH = 50


def _num(value: float | None, fmt: str = ",.1f") -> str:
    return "-" if value is None else format(value, fmt)


def _options(options: Sequence[str]) -> str:
    text = ", ".join(options)
    return text if len(text) <= OPTIONS_WIDTH else text[: OPTIONS_WIDTH - 3] + "..."


def _value(value: Any) -> str:
    if value is None:
        return "blank"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def sweep_table(document: Mapping[str, Any]) -> str:
    """One line per point: each varied value, status, weighted reach, net spend, options."""
    varied = list(document["varied"])
    points = list(document["points"])
    values = [[_value(p["settings"].get(name)) for name in varied] for p in points]
    widths = [max([len(name), *(len(v[j]) for v in values)]) for j, name in enumerate(varied)]
    head = " ".join(f"{name:>{w}}" for name, w in zip(varied, widths, strict=True))
    lines = [
        f"Sweep of scenario {document.get('scenario', 'base')}: {len(points)} point(s)"
        + ("" if document.get("complete") else " (not complete: see status)"),
        f"{head} {'status':<11} {'w. reach':>10} {'net':>9} {'opts':>4}  options",
    ]
    for point, shown in list(zip(points, values, strict=True))[:SHOWN]:
        cells = " ".join(f"{v:>{w}}" for v, w in zip(shown, widths, strict=True))
        known = point["status"] in ("optimal", "feasible", "infeasible")
        detail = _options(point["options"]) if known else (point.get("error") or "")
        lines.append(
            f"{cells} {point['status']:<11} {_num(point.get('weighted_reach')):>10} "
            f"{_num(point.get('net_spend')):>9} "
            f"{len(point['options']) if known else '-':>4}  {detail}"
        )
    if len(points) > SHOWN:
        lines.append(f"... and {len(points) - SHOWN} more point(s) in sweep.xlsx and sweep.json")
    return "\n".join(lines)


def frontier_table(document: Mapping[str, Any]) -> str:
    """One line per frontier point, in ascending net spend."""
    points = list(document["points"])
    budget = document.get("max_budget")
    lines = [
        f"Reach-budget frontier of scenario {document.get('scenario', 'base')}"
        + (f" up to net spend {_num(budget)}" if budget is not None else "")
        + f": {len(points)} point(s)"
        + ("" if document.get("complete") else " (not complete)"),
    ]
    message = document.get("message") or ""
    if not points:
        lines.append(message or "No plan with positive weighted reach fits within the budget.")
        return "\n".join(lines)
    lines.append(f"{'net':>9} {'w. reach':>10} {'proven':>6} {'opts':>4}  options")
    for point in points[:SHOWN]:
        lines.append(
            f"{_num(point.get('net_spend')):>9} {_num(point.get('weighted_reach')):>10} "
            f"{'yes' if point.get('proven_optimal') else 'no':>6} "
            f"{len(point.get('options', [])):>4}  {_options(point.get('options', []))}"
        )
    if len(points) > SHOWN:
        lines.append(f"... and {len(points) - SHOWN} more point(s) in frontier.xlsx")
    if message:
        lines.append(message)
    return "\n".join(lines)
