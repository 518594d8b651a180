"""Ranked plans as plain data: what the solver decided and what it is worth.

Every number on a `Plan` is recomputed from the scenario data and the plan's
decisions (options, offers, co-financing amounts) by `planner.checks.verify`, never
read off the solver, so a tolerance inside the solve cannot leak into a report
(SPEC §3). Reports (`plans.json`, `plans.xlsx`, the terminal table) are built
from these objects alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple


class RunStatus(StrEnum):
    """SPEC §5 `status` of a whole run."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    NO_SOLUTION = "no_solution"


class CoFinancing(NamedTuple):
    """One amount an offer finances of one option.

    A named tuple, not a frozen dataclass: a large plan holds 16,000 of them (XL; ten
    plans' 160,000 made in 0.07-0.13 s against 0.10-0.25 s), and tuples of plain values
    drop out of the cycle collector's sight, which otherwise walks every one again on
    each full collection for the rest of the run.
    """

    offer_id: str
    option_id: str
    amount: float


@dataclass(frozen=True, slots=True)
class MarketReach:
    market_id: str
    reach: float
    """min(addressable, Σ reach·x) when every required layer is supplied, else 0."""
    missing_layers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Plan:
    rank: int
    options: tuple[str, ...]
    """Chosen option ids in code-point order."""
    offers: tuple[str, ...]
    cofinancing: tuple[CoFinancing, ...]
    weighted_reach: float
    net_spend: float
    gross_spend: float
    cofinanced: float
    fees: float
    average_trust: float | None
    foreign_share: float | None
    markets: tuple[MarketReach, ...]
    bound: float
    """Upper bound on weighted reach for this rank, given the earlier plans."""
    proven_optimal: bool
    gap: float | None = None
    """Relative gap of the reach stage when not proven optimal, else 0."""
    spend_gap: float | None = None
    """SPEC §4: relative gap of net spend to the least net spend proven possible at this
    weighted reach (0 when the tie-break was proven, None when it was not run)."""


@dataclass(frozen=True, slots=True)
class PlanSet:
    """The outcome of ranking one scenario."""

    scenario: str
    status: RunStatus
    max_weighted_reach: float
    plans: tuple[Plan, ...]
    message: str = ""
    diagnosis: str | None = None
    """For infeasible runs: which limits conflict and the smallest change that helps."""
    timings: dict[str, float] = field(default_factory=dict, compare=False)


class ProgressStage(StrEnum):
    """What a `ProgressEvent` reports about the rank it names."""

    BEGIN = "begin"
    """The rank begins: no numbers yet."""
    REACH = "reach"
    """Its reach stage is being solved: the best weighted reach and bound so far."""
    TIE_BREAK = "tie-break"
    """Its weighted reach is found; least net spend, then fewest options, are being
    proven at that reach. The numbers are the reach stage's."""
    KEPT = "kept"
    """The plan was verified and kept: its own weighted reach, bound and gap."""


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """How a run stands, as plain values for any front end (`planner.solve(progress=...)`).

    Why plain values: a terminal, a notebook widget and a web service each show
    progress their own way, and an event may cross a process boundary.
    Numbers are in the scenario's weighted-reach units; None when not known yet.
    """

    rank: int
    """The plan being looked for (or, for `KEPT`, the plan kept), from 1."""
    plans_asked: int
    stage: ProgressStage
    elapsed_s: float
    """Seconds since the run began (for the command line: since it started)."""
    weighted_reach: float | None = None
    """The best weighted reach found so far for this rank (the plan's own once kept)."""
    bound: float | None = None
    """An upper bound on weighted reach for this rank, given the earlier plans."""
    gap: float | None = None
    """(bound − weighted_reach) / max(1, |weighted_reach|), as a plan's `gap`."""
    plans_kept: int = 0
    """Plans verified and kept so far in this run."""


#: progress(event): called with a `ProgressEvent` (plain values, so any front end can
#: show them) as each rank begins, about every half second while it is solved (best
#: weighted reach so far, bound, gap), and as each plan is kept. Always from the thread
#: that called the solve, never from HiGHS's own; it should return quickly (the solve
#: waits for it). If it raises, it is not called again and the run goes on unchanged
#: (a `RuntimeWarning` says so).
Progress = Callable[["ProgressEvent"], None]


def reach_gap(weighted_reach: float, bound: float) -> float:
    """SPEC §4: (bound − weighted_reach) / max(1, |bound|), never below 0."""
    return max(0.0, bound - weighted_reach) / max(1.0, abs(bound))


def spend_gap(net_spend: float, least: float) -> float:
    """SPEC §4 `spend_gap`: (net spend − least proven possible) / max(1, |least|), ≥ 0."""
    return max(0.0, net_spend - least) / max(1.0, abs(least))
