"""The Explain sheet of plans.xlsx (SPEC §6): plan 1's options as a priority list, then
the options left out, the limits and the offers, each explanation as an interval.

Built as plain data (`SheetData`) from the `explain` document and the plans, like every
other sheet; `summary_sheets` adds it when there are explanations.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from planner.plan import PlanSet
from planner.reports.explain_terminal import priority_order
from planner.reports.plans_json import core_index
from planner.reports.plans_xlsx import PERCENT, REACH, SheetData
from planner.scenario.data import Scenario

HEADER = [
    "priority",
    "explains",
    "id",
    "name",
    "low",
    "high",
    "exclusive reach",
    "core index",
    "value",
    "used",
    "slack",
    "step",
    "note",
]


def explain_sheet(scenario: Scenario, planset: PlanSet, explain: Mapping[str, Any]) -> SheetData:
    """Rows: plan 1's options by marginal value (priority 1 first), options left out by
    replacement cost, the limits with the gain from loosening each, the offers taken."""
    names = {o.option_id: o.name for o in scenario.options}
    financiers = {c.offer_id: c.financier for c in scenario.offers}
    core = core_index(planset)
    plan = planset.plans[0]
    marginal, exclusive = explain["marginal_value"], explain["exclusive_reach"]
    rows: list[list[object]] = []
    for k, o in enumerate(priority_order(explain, plan), start=1):
        value = marginal.get(o)
        note = "" if value is not None else "must: kept by decision, no marginal value"
        rows.append(
            _row(
                k,
                "marginal value",
                o,
                names.get(o, o),
                value,
                exclusive=exclusive[o]["low"] if o in exclusive else None,
                core=core.get(o, 0.0),
                note=note,
            )
        )
    replacement = explain["replacement_cost"]

    def cost_key(o: str) -> tuple[int, float, str]:
        v = replacement[o]
        return (1, 0.0, o) if v is None else (0, v["low"], o)

    for o in sorted(replacement, key=cost_key):
        v = replacement[o]
        if v is None:
            note = "no feasible plan contains it"
        elif v.get("maybe_null"):
            note = "not known whether any feasible plan contains it"
        else:
            note = ""
        rows.append(
            _row(None, "replacement cost", o, names.get(o, o), v, core=core.get(o), note=note)
        )
    for row in explain["limits"]:
        measured = (row["value"], row["used"], row["slack"], row["step"])
        rows.append(
            _row(None, "gain from loosening", row["limit"], "", row["gain"], limit=measured)
        )
    for c, v in explain["offers"].items():
        rows.append(_row(None, "offer value", c, financiers.get(c, c), v))
    formats = {"low": REACH, "high": REACH, "exclusive reach": REACH, "core index": PERCENT}
    notes = [
        "Every value is in weighted reach and is an interval: low ≤ true value ≤ high, "
        "low = high when proven.",
        "Marginal value: reach lost when the option is left out and the plan re-optimised. "
        "Exclusive reach: reach only it provides, nothing re-optimised.",
        "Replacement cost: reach lost by the best plan that includes the option. Gain: best "
        f"reach with the limit loosened by its step ({explain['step_share']:g} of its value) "
        "minus plan 1's. Offer value: reach lost without the offer.",
        "Core index: share of the returned plans that contain the option.",
        f"Explanations took {explain['time_s']:.1f} s. {explain['message']}",
    ]
    return SheetData("Explain", HEADER, rows, formats, notes)


def _pair(interval: Mapping[str, Any] | None) -> list[object]:
    if interval is None:
        return [None, None]
    return [interval["low"], interval["high"]]


def _row(
    priority: int | None,
    explains: str,
    key: str,
    name: str,
    interval: Mapping[str, Any] | None,
    *,
    exclusive: float | None = None,
    core: float | None = None,
    limit: tuple[object, ...] = (None, None, None, None),
    note: str = "",
) -> list[object]:
    """One row of the sheet, in `HEADER`'s order."""
    return [priority, explains, key, name, *_pair(interval), exclusive, core, *limit, note]
