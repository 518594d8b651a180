"""Plan 1 as a priority list (SPEC §6), printed by `planner solve` after the ranked table.

Options come in order of marginal value (the weighted reach lost when the option is left
out and the plan re-optimised), most valuable first: what to secure first, what to give
up first when money runs short. Intervals show as `low–high` until proven.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from planner.plan import Plan
from planner.scenario.data import Scenario

#: Names are cut to this many characters so a line fits an 100-column terminal.
NAME_CHARS = 28


def interval_text(interval: Mapping[str, Any] | None) -> str:
    """`12.5` when exact, `10.1–12.5` while not proven, `none` for null."""
    if interval is None:
        return "none"
    low, high = interval["low"], interval["high"]
    if low == high:
        return f"{low:,.2f}"
    return f"{low:,.2f}–{high:,.2f}"


def priority_order(explain: Mapping[str, Any], plan: Plan) -> list[str]:
    """Plan 1's options by marginal value, highest first (the midpoint of its interval,
    then its upper end, then its id); `must` options, which have none, last."""
    marginal = explain["marginal_value"]

    def key(o: str) -> tuple[int, float, float, str]:
        if o not in marginal:
            return (1, 0.0, 0.0, o)
        low, high = marginal[o]["low"], marginal[o]["high"]
        return (0, -(low + high) / 2, -high, o)

    return sorted(plan.options, key=key)


def priority_list(
    scenario: Scenario,
    plan: Plan,
    explain: Mapping[str, Any],
    core_index: Mapping[str, float],
) -> str:
    """The lines `planner solve` prints: options by marginal value, then limits and offers."""
    names = {o.option_id: o.name for o in scenario.options}
    marginal, exclusive = explain["marginal_value"], explain["exclusive_reach"]
    lines = [
        "Plan 1 as a priority list (marginal: weighted reach lost without the option, "
        "re-optimised; exclusive: reach only it provides):",
        f"{'#':>3}  {'option':<12} {'name':<{NAME_CHARS}} {'marginal':>15} "
        f"{'exclusive':>10} {'core':>5}",
    ]
    for k, o in enumerate(priority_order(explain, plan), start=1):
        name = names.get(o, o)
        if len(name) > NAME_CHARS:
            name = name[: NAME_CHARS - 1] + "…"
        value = interval_text(marginal[o]) if o in marginal else "must"
        core = f"{100 * core_index.get(o, 0.0):.0f}%"
        lines.append(
            f"{k:>3}  {o:<12} {name:<{NAME_CHARS}} {value:>15} "
            f"{interval_text(exclusive.get(o)):>10} {core:>5}"
        )
    gains = [  # a floor is loosened by lowering it, a cap by raising it
        f"{row['limit']} {'-' if row['limit'] == 'min_average_trust' else '+'}{row['step']:g}: "
        f"{interval_text(row['gain'])}"
        for row in explain["limits"]
        if row["step"]
    ]
    if gains:
        lines.append("Gain from loosening each limit: " + "; ".join(gains))
    if explain["offers"]:
        worth = [f"{c} {interval_text(v)}" for c, v in explain["offers"].items()]
        lines.append("Value of each offer taken: " + "; ".join(worth))
    cheapest = sorted(
        (
            (v["low"], o)
            for o, v in explain["replacement_cost"].items()
            if v is not None and not v.get("maybe_null")
        ),
    )[:3]
    if cheapest:
        listed = "; ".join(
            f"{o} {interval_text(explain['replacement_cost'][o])}" for _low, o in cheapest
        )
        lines.append(f"Closest options left out (replacement cost): {listed}")
    lines.append(
        f"(weighted reach; {explain['time_s']:.1f} s; "
        + ("every value exact)" if explain["complete"] else "not all exact: see plans.json)")
    )
    if not explain["complete"]:
        lines.append(explain["message"])
    return "\n".join(lines)
