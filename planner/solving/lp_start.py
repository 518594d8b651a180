"""A start plan from the LP relaxation: solve it, fix what it decides, search around it.

Why: on large models HiGHS spends the time limit in root cut rounds that do
not move its bound (measured: 10,000 options, ~50 s, bound = LP bound), so the
plan a run reports is whatever its heuristics found right after the root LP
(4 % below the bound there). HiGHS runs its own neighbourhood searches (RENS,
RINS) only after those cut rounds end, so they are done here:

1. the LP relaxation, by interior point (`ipx`: 3.9 s at 10,000 options where
   dual simplex takes 16 s); its optimum is also a bound on weighted reach;
2. RENS: every binary the relaxation sets to 0 or 1 fixed there, the rest
   solved as a sub-MIP;
3. RINS rounds: every binary on which the best plan so far agrees with the
   rounded relaxation fixed to that value, the few hundred others solved as a
   sub-MIP started from the plan, a round at a time, while rounds improve it.

Measured at 10,000 options (LP bound 37,142): RENS alone 36,428-36,584 (gap
1.5-2.0 %); RENS then four 6-s RINS rounds 36,942 (0.54 %). Every sub-MIP runs
through `MatrixSolver` on the model's own rows (and the rank's cuts), so its
plan meets every row of the full model; the same deadline and watchdog hold.

A helper solve given up at its own (early) deadline would go on using a core
under the solve it prepares, until HiGHS's next interrupt check; so the search
waits for such a thread before its next step, though never past its own end
(`deadline`). Each helper belongs to the caller's call (`scope`), which waits
for any thread still left when the call ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from planner.model.common import BuildTimeout
from planner.model.matrix_model import MatrixModel
from planner.solving.model_rows import ExtraRow
from planner.solving.result import Termination, tolerance
from planner.solving.solver import MatrixSolver, SolveScope

#: A binary the relaxation sets within this of 0 or 1 is fixed there in the RENS sub-MIP.
FIX_TOL = 1e-6

#: Interior-point LP seconds per nonzero, measured: 3.9 s at 229,198 nonzeros
#: (10,000 options), 13.3 s at 1,143,950 (50,000 options); the larger rate is kept.
LP_SECONDS_PER_NONZERO = 1.7e-5

#: Seconds one RENS or RINS sub-MIP may take, per nonzero of the model, and at least
#: `ROUND_MIN_SECONDS`: 6 s at 10,000 options (270,730 nonzeros), where each round's
#: improvement came within its first 6 s (10-s rounds found the same plans).
ROUND_SECONDS_PER_NONZERO = 2.2e-5
ROUND_MIN_SECONDS = 2.0


def expected_lp_seconds(mm: MatrixModel) -> float:
    """How long the LP relaxation is expected to take (to decide whether to try)."""
    return LP_SECONDS_PER_NONZERO * len(mm.row_value)


def round_seconds(mm: MatrixModel) -> float:
    """How long one neighbourhood sub-MIP may run on this model."""
    return max(ROUND_MIN_SECONDS, ROUND_SECONDS_PER_NONZERO * len(mm.row_value))


@dataclass(frozen=True)
class GuidedStart:
    """What the LP-guided search found: its best plan, if any, and the LP bound."""

    values: np.ndarray | None
    """A full column vector meeting every row of the model and the extra rows, or None."""
    lp_bound: float
    """The LP relaxation's optimum: no plan under these rows has more weighted reach."""


def lp_guided_start(
    mm: MatrixModel,
    extra: Sequence[ExtraRow],
    *,
    lp_deadline: float,
    deadline: float,
    rens_deadline: float | None = None,
    known: Sequence[np.ndarray] = (),
    rounds: bool = True,
    scope: SolveScope | None = None,
    on_found: Callable[[np.ndarray], None] | None = None,
) -> GuidedStart | None:
    """The best plan the LP-guided search finds by `deadline`, with the LP bound; or None.

    The LP relaxation must finish by `lp_deadline` (else None: the time is
    better spent by HiGHS on the full model). RENS stops by `rens_deadline`
    (default `deadline`); RINS rounds start from the better of its plan and the
    `known` plans (each meeting every row) and stop at `deadline`, or once a
    round finds nothing better. All three are `time.monotonic()` instants.
    Without `rounds`, RENS alone runs, until `rens_deadline` (or `deadline`).
    `scope`: the call the helper solves belong to (`SolveScope`). `on_found`, if given, is
    called with each better plan as it is found (a solve beside the search takes it).
    """
    scope = SolveScope() if scope is None else scope
    try:
        relaxed = _relaxation(mm, extra, lp_deadline, scope, wait_until=deadline)
    except BuildTimeout:  # a deadline passed before a solver could take the model
        return None
    if relaxed is None:
        return None
    values, lp_bound = relaxed
    reach = mm.objectives["weighted_reach"]
    binary = (mm.integrality == 1) & (mm.col_upper > 0.5) & (mm.col_lower < 0.5)
    rens_end = deadline if rens_deadline is None else min(rens_deadline, deadline)
    if rounds:
        rens_end = min(rens_end, time.monotonic() + round_seconds(mm))
    plans = list(known)
    rens = _sub_mip(
        mm,
        extra,
        fix_zero=binary & (values < FIX_TOL),
        fix_one=binary & (values > 1.0 - FIX_TOL),
        start=None,
        deadline=rens_end,
        scope=scope,
        wait_until=deadline,
    )
    if rens is not None:
        plans.append(rens)
    best = max(plans, key=lambda v: float(reach @ v), default=None)
    if rens is not None and best is rens and on_found is not None:
        on_found(rens)
    while rounds and best is not None and time.monotonic() < deadline:
        agree = binary & (np.abs(values - best) < 0.5)
        if agree.sum() == binary.sum():
            break  # the plan is the rounded relaxation: no neighbourhood left
        found = _sub_mip(
            mm,
            extra,
            fix_zero=agree & (best < 0.5),
            fix_one=agree & (best >= 0.5),
            start=best,
            deadline=min(deadline, time.monotonic() + round_seconds(mm)),
            scope=scope,
            wait_until=deadline,
        )
        best_reach = float(reach @ best)
        if found is None or float(reach @ found) <= best_reach + tolerance(best_reach):
            break
        best = found
        if on_found is not None:
            on_found(found)
    return GuidedStart(best, lp_bound)


def _relaxation(
    mm: MatrixModel,
    extra: Sequence[ExtraRow],
    lp_deadline: float,
    scope: SolveScope,
    *,
    wait_until: float,
) -> tuple[np.ndarray, float] | None:
    """The LP relaxation's solution and optimum, or None if it did not end optimal in time.

    A given-up LP thread is waited for until `wait_until` (see the module's docstring).
    """
    relaxed_model = replace(mm, integrality=np.zeros_like(mm.integrality))
    lp = MatrixSolver(relaxed_model, deadline=lp_deadline, presolve="on", scope=scope)
    lp.lp_solver = "ipx"
    for row in extra:
        lp.add_row(row, "extra")
    lp.use_objective("weighted_reach")
    relaxed = lp.solve()
    lp.wait_given_up(wait_until)
    if relaxed.termination != Termination.OPTIMAL or relaxed.incumbent is None:
        return None
    return relaxed.columns(), float(relaxed.incumbent)


def _sub_mip(
    mm: MatrixModel,
    extra: Sequence[ExtraRow],
    *,
    fix_zero: np.ndarray,
    fix_one: np.ndarray,
    start: np.ndarray | None,
    deadline: float,
    scope: SolveScope,
    wait_until: float,
) -> np.ndarray | None:
    """The best plan of `mm` with the `fix_zero` columns at 0 and `fix_one` at 1, or None.

    `start` (which must meet the fixings) is offered to HiGHS, so a round never
    answers worse than it began. A given-up sub-MIP thread is waited for until
    `wait_until` (see the module's docstring).
    """
    lower, upper = mm.col_lower.copy(), mm.col_upper.copy()
    upper[fix_zero] = 0.0
    lower[fix_one] = 1.0
    try:
        sub = MatrixSolver(
            replace(mm, col_lower=lower, col_upper=upper),
            deadline=deadline,
            presolve="on",
            scope=scope,
        )
    except BuildTimeout:
        return None
    sub.root_lp = "choose"  # presolve leaves a small model: dual simplex is the faster root
    for row in extra:
        sub.add_row(row, "extra")
    sub.use_objective("weighted_reach")
    if start is not None:
        sub.set_start(start)
    found = sub.solve()
    sub.wait_given_up(wait_until)
    return found.columns() if found.has_solution else None
