"""The compact ranked table `planner solve` prints, and its progress line."""

from __future__ import annotations

from planner.plan import PlanSet
from planner.scenario.data import Scenario


def _num(value: float | None, fmt: str = ".1f") -> str:
    return "-" if value is None else format(value, fmt)


def ranked_table(scenario: Scenario, planset: PlanSet) -> str:
    """One line per plan: the numbers an analyst compares first."""
    s = scenario.settings
    top = planset.max_weighted_reach
    if not planset.plans:
        head = f"Scenario {planset.scenario}: {planset.status} — no plan"
        return "\n".join([head, planset.message] if planset.message else [head])
    lines = [
        f"Scenario {planset.scenario}: {planset.status}"
        f" — {len(planset.plans)} plan(s); weighted reach ceiling {top:,.1f}",
        f"{'rank':>4} {'w. reach':>10} {'% max':>6} {'net':>9} {'gross':>9} {'co-fin':>8} "
        f"{'trust':>6} {'foreign':>7} {'opts':>4} {'proven':>6}  options",
    ]
    for p in planset.plans:
        share = 100 * p.weighted_reach / top if top > 0 else 0.0
        foreign = "-" if p.foreign_share is None else f"{100 * p.foreign_share:.0f}%"
        options = ", ".join(p.options)
        if len(options) > 60:
            options = options[:57] + "..."
        proven = "yes" if p.proven_optimal else f"gap {100 * (p.gap or 0):.1f}%"
        lines.append(
            f"{p.rank:>4} {p.weighted_reach:>10,.1f} {share:>5.1f}% {p.net_spend:>9,.1f} "
            f"{p.gross_spend:>9,.1f} {p.cofinanced:>8,.1f} {_num(p.average_trust):>6} "
            f"{foreign:>7} {len(p.options):>4} {proven:>6}  {options}"
        )
    lines.append(f"(money in {s.currency}, reach in {s.reach_unit})")
    if planset.message:
        lines.append(planset.message)
    return "\n".join(lines)


def progress_line(k: int, wanted: int, elapsed: float, gap: float | None) -> str:
    gap_text = "" if gap is None else f", gap {100 * gap:.2f}%"
    return f"plan {k} of {wanted}, {elapsed:.1f} s elapsed{gap_text}"
