"""The compact ranked table `planner solve` prints, and its progress while it runs."""

from __future__ import annotations

import math
from typing import TextIO

from planner.plan import PlanSet, ProgressEvent, ProgressStage
from planner.reports.status_line import StatusLine
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


def _reach(value: float) -> str:
    return f"{value:,.1f}" if abs(value) >= 1 else f"{value:.3g}"


def progress_line(event: ProgressEvent) -> str:
    """One line saying how the run stands: the plan looked for, time, and what is known
    (weighted reach as the table's "w. reach"), short enough for an 80-column terminal."""
    head = f"plan {event.rank} of {event.plans_asked}"
    if event.stage == ProgressStage.KEPT:
        head += " found"
    parts = [head, f"{event.elapsed_s:.1f} s elapsed"]
    reach, bound, gap = event.weighted_reach, event.bound, event.gap
    if event.stage == ProgressStage.REACH:
        parts.append("searching" if reach is None else f"best w. reach {_reach(reach)}")
        if bound is not None:
            parts.append(f"bound {_reach(bound)}")
    elif reach is not None:
        parts.append(f"w. reach {_reach(reach)}")
    if gap is not None:
        parts.append(f"gap {100 * gap:.2f}%")
    if event.stage == ProgressStage.TIE_BREAK:
        parts.append("now least net spend")
    return ", ".join(parts)


#: Runs quicker than this show no progress at all: their table follows at once.
QUIET_SECONDS = 2.0

#: Where the output is not a terminal (a log, a pipe), in-rank lines come at most this
#: often (seconds); a line for each plan found is always written.
PLAIN_EVERY = 5.0


class ProgressDisplay:
    """Shows a run's progress events on a text stream, as `planner solve` does on stderr.

    On a terminal one line is rewritten in place (carriage return, clear to
    end of line), cut to the terminal's width so it never wraps; `close`
    ends it with a newline, so call it before writing anything else. Where
    the stream is not a terminal (a log file, CI) a rewrite would leave
    control characters and a line per event would flood the log, so plain
    lines come instead: one for each plan found, others at most every
    `plain_every` s. Runs shorter than `quiet_for` s show nothing.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        tty: bool | None = None,
        width: int | None = None,
        quiet_for: float = QUIET_SECONDS,
        plain_every: float = PLAIN_EVERY,
    ) -> None:
        self.line = StatusLine(stream, tty=tty, width=width)
        self.quiet_for = quiet_for
        self.plain_every = plain_every
        self._shown = False
        self._last_plain = -math.inf

    @property
    def tty(self) -> bool:
        return self.line.tty

    def __call__(self, event: ProgressEvent) -> None:
        """Show `event` (or not: see the class)."""
        if not self._shown and event.elapsed_s < self.quiet_for:
            return
        if not self.tty:
            due = event.elapsed_s - self._last_plain >= self.plain_every
            if event.stage != ProgressStage.KEPT and not due:
                return
            self._last_plain = event.elapsed_s
        self.line.show(progress_line(event))
        self._shown = True

    def close(self) -> None:
        """End the line shown in place, if any (nothing to do for plain lines)."""
        self.line.close()
