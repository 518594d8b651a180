"""The lexicographic stages of one rank (formulation eq. 15), on a solver holding the model.

A rank is a reach stage (maximise weighted reach) and a tie-break (holding
reach within the SPEC tolerance: least net spend, then fewest options). The
two are separate functions so the tie-break of one rank can run on a second
solver while the next rank's reach stage runs (`planner.solving.tie_break_lane`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from planner.model.matrix_model import MatrixModel
from planner.solving.beside_search import BesideSolve
from planner.solving.greedy_layout import GreedyLayout, layout_for
from planner.solving.lp_start import expected_lp_seconds, lp_guided_start
from planner.solving.model_rows import ExtraRow, all_rows, binaries_rounded, feasible_under
from planner.solving.result import REL_TOL, SolveResult, Termination
from planner.solving.solver import MIP_ABS_GAP, LiveNumbers, MatrixSolver
from planner.solving.start_hint import DROPS_TRIED, hinted_start, improved_by_swaps
from planner.solving.start_plan import greedy_start

if TYPE_CHECKING:
    from planner.model.pyomo_model import PlanModel
    from planner.solving.pyomo_solver import PersistentSolver


class SolverTroubleError(RuntimeError):
    """HiGHS reported numerical trouble or an unbounded model: an internal error, not a plan."""


@dataclass
class Stages:
    """What the stages of one rank found: the last stage's answer, the reach stage's
    (its bound is the plan's), and whether every stage was proven."""

    best: SolveResult
    reach: SolveResult
    proven: bool
    spend_floor: float | None = None
    """The least net spend proven possible at the held reach (model units), when the
    tie-break stage ran; equal to the found net spend when that stage was proven."""
    spend_proven: bool = False
    """Whether the net-spend tie-break was proven (SPEC §4 `spend_gap` 0)."""


@dataclass(frozen=True, slots=True)
class StageProgress:
    """How the stage running now stands, in weighted reach (the scenario's units)."""

    stage: str
    """"reach" or "tie-break" (`planner.plan.ProgressStage`)."""
    weighted_reach: float | None
    """The best weighted reach found so far (on a tie-break: the reach stage's)."""
    bound: float | None
    """An upper bound on weighted reach (on a tie-break: the reach stage's)."""


class StageWatch:
    """Where a rank's stages say how they stand while they run, for progress reports.

    Why here: only the stage knows what the objective HiGHS holds means (weighted
    reach, the one exact lexicographic objective, or net spend on a tie-break),
    so it hands the watch a reader that turns the solver's live numbers into
    weighted reach. `now` is called by the thread waiting for HiGHS, never by
    HiGHS's own thread.
    """

    def __init__(self) -> None:
        self._read: Callable[[], StageProgress | None] | None = None

    def show(self, read: Callable[[], StageProgress | None] | None) -> None:
        """From now on `now` answers with `read()` (None: no stage is running)."""
        self._read = read

    def now(self) -> StageProgress | None:
        """How the stage running now stands, or None between stages."""
        read = self._read
        return None if read is None else read()


def _reach_reader(
    pm: PlanModel | MatrixModel,
    solver: PersistentSolver | MatrixSolver | BesideSolve,
    weights: LexicographicWeights | None,
    lp_bound: float | None,
) -> Callable[[], StageProgress]:
    """The reach stage's live numbers as weighted reach: directly when HiGHS maximises
    weighted reach; under the one exact objective F (choice 16) the incumbent's own
    weighted reach and the bound on W that F's dual bound implies (as `_as_reach`);
    in the scenario's units either way (`user_reach`: the model's may be scaled)."""

    def read() -> StageProgress:
        live = solver.live_numbers()
        best, bound = _live_reach(pm, live, weights) if live is not None else (None, None)
        if lp_bound is not None:
            bound = lp_bound if bound is None else min(bound, lp_bound)
        if best is not None and bound is not None:
            bound = max(bound, best)
        return StageProgress("reach", user_reach(pm, best), user_reach(pm, bound))

    return read


def _live_reach(
    pm: PlanModel | MatrixModel, live: LiveNumbers, weights: LexicographicWeights | None
) -> tuple[float | None, float | None]:
    if weights is None:
        return live.objective, live.bound
    assert isinstance(pm, MatrixModel)
    best = None
    if live.solution is not None and live.objective is not None:
        best = float(pm.objectives["weighted_reach"] @ live.solution)
    bound = None if live.bound is None else _reach_bound(weights, live.bound, best)
    return best, bound


def tie_break_reader(
    pm: PlanModel | MatrixModel, reach: SolveResult
) -> Callable[[], StageProgress]:
    """A tie-break's progress: it holds the reach stage's weighted reach, so the numbers
    are that stage's, in the scenario's units (HiGHS's own objective is net spend)."""
    held = StageProgress("tie-break", user_reach(pm, reach.incumbent), user_reach(pm, reach.bound))
    return lambda: held


def reach_stage(
    pm: PlanModel | MatrixModel,
    solver: PersistentSolver | MatrixSolver,
    *,
    watch: StageWatch | None = None,
    hint: Collection[str] = (),
    pool: Sequence[np.ndarray] = (),
    near: bool = False,
    neighbour: bool = False,
) -> SolveResult:
    """Stage 1: the most weighted reach the solver's model (with its cuts) allows.

    On large models the direct backend starts from the best of the greedy and
    LP-guided plans (`best_start`); `hint`, options of a related plan, adds a
    start made of them on models of any size (`planner.solving.start_hint`), and
    `pool`, solutions found by earlier solves of the same model, those that still
    meet every row. `near`: the start made of them is most likely the stage's optimum
    (a later rank's: `MatrixSolver.from_related_plan`). `neighbour`: `hint` is the plan of
    a neighbouring budget (a frontier chain's previous point): its best single drop,
    refilled, is tried as a start, and the stage runs as from a near plan. `watch`, if
    given, can tell how the stage stands while it runs. Where the solver allows it
    (`search_beside`: a large model, two cores, no CBC race), HiGHS's solve runs beside
    the start search rather than after it (`planner.solving.beside_search`, formulation
    choice 20).
    """
    solver.clear_stage_rows()
    weights = None
    if isinstance(solver, MatrixSolver) and isinstance(pm, MatrixModel):
        weights = lexicographic_weights(pm, solver.mip_gap)
    if weights is not None:
        assert isinstance(solver, MatrixSolver)
        solver.use_lexicographic(weights.reach, weights.spend)
    else:
        solver.use_objective("weighted_reach")
    lp_bound = None
    beside = None
    if isinstance(solver, MatrixSolver) and solver.search_beside and not solver.start_only:
        beside = BesideSolve(solver)
    if watch is not None:
        watch.show(_reach_reader(pm, solver if beside is None else beside, weights, None))
    if isinstance(solver, MatrixSolver) and isinstance(pm, MatrixModel):
        start, lp_bound = best_start(pm, solver, hint, pool, beside=beside, neighbour=neighbour)
        if beside is not None and not beside.begun:
            beside = None  # the search ended before a solve was worth launching beside it
        if beside is None and start is not None:
            solver.set_start(start)
        if beside is None and (hint or len(pool)):
            solver.from_related_plan(near=near or neighbour)
    if watch is not None:
        watch.show(_reach_reader(pm, solver if beside is None else beside, weights, lp_bound))
    result = solver.solve() if beside is None else beside.result(start)
    if weights is not None:
        assert isinstance(pm, MatrixModel)
        result = _as_reach(pm, result, weights)
    return within_lp_bound(result, lp_bound)


def within_lp_bound(result: SolveResult, lp_bound: float | None) -> SolveResult:
    """`result` with the LP relaxation's bound where it is the tighter one (or the only one).

    On large models HiGHS may stop before its own root LP ends (no bound at
    all) or report a bound no better than the LP's, which the LP-guided search
    has already solved under the same rows.
    """
    if lp_bound is None or result.incumbent is None or result.termination == Termination.OPTIMAL:
        return result
    bound = lp_bound if result.bound is None else min(result.bound, lp_bound)
    return replace(result, bound=max(bound, result.incumbent))


#: Solve each rank as one integral objective when the data make that exact (choice 16).
INTEGRAL_LEXICOGRAPHIC = True

#: Largest objective value the one-objective form may reach: integers stay exact in
#: doubles far beyond it, and HiGHS's tolerances stay far below one unit.
LEXICOGRAPHIC_MAX = 2.0**43

#: Weighted reach and net spend must stay below this for integers to be distinct under
#: the SPEC tolerance 1e-6·max(1, |value|).
SPEC_DISTINCT_BELOW = 1e6


@dataclass(frozen=True)
class LexicographicWeights:
    """F = reach·W − spend·N − option count orders plans exactly as SPEC §3 (choice 16)."""

    reach: float
    spend: float
    net_spend_ceiling: float
    options_ceiling: float


def _integral(values: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(values))) and bool(np.array_equal(values, np.round(values)))


def lexicographic_weights(mm: MatrixModel, mip_gap: float) -> LexicographicWeights | None:
    """Weights that make reach, then net spend, then count one exact objective, or None.

    When every plan's weighted reach W and least net spend N are integers
    below 10⁶ (so distinct values never tie under the SPEC tolerance), with
    n options choosable and N ≤ N̄: spend = n + 1, reach = spend·(N̄ + 1)
    make F = reach·W − spend·N − count drop by at least 1 whenever W drops by
    1, whatever N and count do, and likewise for N at equal W. Integral W
    needs integral weights and integral coefficients and bounds in every row
    that holds u (reach, full stack); integral least N needs integral costs
    and fees and an integral co-financing flow (rows holding z other than the
    budget, and the bounds of z). Only with `mip_gap` 0: a relative gap on F
    is not a gap on each stage.
    """
    if not INTEGRAL_LEXICOGRAPHIC or mip_gap > 0:
        return None
    reach_vec, spend_vec = mm.objectives["weighted_reach"], mm.objectives["net_spend"]
    if not (_integral(reach_vec) and _integral(spend_vec)):
        return None
    tail = mm.z_start  # z and u columns come last
    lower, upper = mm.col_lower[tail:], mm.col_upper[tail:]
    if not (_integral(lower) and _integral(upper)):
        return None
    row_of = np.repeat(np.arange(mm.n_rows), np.diff(mm.row_start))
    rows = np.unique(row_of[mm.row_index >= tail])
    budget = mm.block("budget")
    rows = rows[(rows < budget.start) | (rows >= budget.stop)]
    if not _integral(mm.row_value[np.isin(row_of, rows)]):
        return None
    for side in (mm.row_lower[rows], mm.row_upper[rows]):
        if not _integral(side[np.isfinite(side)]):
            return None
    reach_ceiling = float(np.maximum(reach_vec, 0.0) @ mm.col_upper)
    spend_ceiling = float(np.maximum(spend_vec, 0.0) @ mm.col_upper)
    options = float(mm.objectives["option_count"] @ mm.col_upper)
    if max(reach_ceiling, spend_ceiling) >= SPEC_DISTINCT_BELOW:
        return None
    spend = options + 1.0
    reach = spend * (spend_ceiling + 1.0)
    if reach * reach_ceiling > LEXICOGRAPHIC_MAX:
        return None
    return LexicographicWeights(reach, spend, spend_ceiling, options)


def _as_reach(mm: MatrixModel, result: SolveResult, weights: LexicographicWeights) -> SolveResult:
    """A one-objective answer in the reach stage's terms: W and a bound on W."""
    if not result.has_solution:
        return replace(result, bound=None, lexicographic=True)
    reach = float(mm.objectives["weighted_reach"] @ result.columns())
    if result.termination == Termination.OPTIMAL:
        bound: float | None = reach
    elif result.bound is not None:
        bound = _reach_bound(weights, result.bound, reach)
    else:
        bound = None
    return replace(result, incumbent=reach, bound=bound, lexicographic=True)


def _reach_bound(weights: LexicographicWeights, f_bound: float, reach: float | None) -> float:
    """The bound on weighted reach W that a dual bound F̂ on the one exact objective implies,
    never below the incumbent's own `reach`."""
    # Every plan has F ≥ reach·W − spend·N̄ − n, so W ≤ (F̂ + spend·N̄ + n) / reach.
    ceiling = weights.spend * weights.net_spend_ceiling + weights.options_ceiling
    bound = float(math.floor((f_bound + ceiling) / weights.reach + 1e-9))
    return bound if reach is None else max(reach, bound)


def tie_break(
    pm: PlanModel | MatrixModel,
    solver: PersistentSolver | MatrixSolver,
    reach: SolveResult,
    *,
    watch: StageWatch | None = None,
    within: ExtraRow | None = None,
) -> Stages:
    """Stages 2 and 3 after `reach`: least net spend, then fewest options.

    `solver` must hold the model and the cuts `reach` was found under (the
    solver that found it, or a second one given the same rows). The direct
    backend merges the two stages into one warm-started solve
    (`_merged_tie_break`); the Pyomo reference keeps two separate cold stages.
    Each later stage holds the earlier objective at its found value within the
    SPEC tolerance; if a later stage runs out of time, the earlier stage's
    solution stands (it satisfies every constraint) and the plan is unproven.
    `watch`, if given, can tell how the rank stands meanwhile (its reach).

    `within` (direct backend only): a row every plan of the stage meets besides, which
    changes nothing but the work: the neighbourhood of the reach stage's plan (the plans
    that leave out fewer of its options than its cut asks), once the next rank has proven
    that every plan meeting the cut reaches less (`neighbourhood_row`).
    """
    if watch is not None:
        watch.show(tie_break_reader(pm, reach))
    best = reach
    proven = reach.termination == Termination.OPTIMAL
    if reach.lexicographic:  # one objective held the whole order (choice 16)
        return Stages(best, reach, proven, spend_proven=proven)
    zero = objective_tolerance(pm, "weighted_reach", 0.0)
    if not reach.has_solution or reach.incumbent is None or reach.incumbent <= zero:
        return Stages(best, reach, proven)
    v1 = reach.incumbent
    solver.clear_stage_rows()
    solver.hold("weighted_reach", v1 - objective_tolerance(pm, "weighted_reach", v1))
    if isinstance(solver, MatrixSolver) and isinstance(pm, MatrixModel):
        if within is not None:
            solver.add_row(within, "tie_break(neighbourhood)")
        return _merged_tie_break(pm, solver, reach, proven)
    solver.use_objective("net_spend")
    spend = solver.solve()
    if spend.termination in (Termination.UNBOUNDED, Termination.NUMERICAL):
        raise SolverTroubleError(f"HiGHS reported {spend.termination}: {spend.message}")
    if not spend.has_solution or spend.incumbent is None:
        # Infeasible here would be a solver fault (plan 1's stage solution is feasible).
        if spend.termination == Termination.INFEASIBLE:
            raise SolverTroubleError("the net-spend stage was infeasible at its own optimum")
        return Stages(best, reach, False)
    best = spend
    spent = spend.termination == Termination.OPTIMAL
    floor_found = spend.incumbent if spent else spend.bound
    proven = proven and spent
    v2 = spend.incumbent
    solver.hold("net_spend", v2 + objective_tolerance(pm, "net_spend", v2))
    solver.use_objective("option_count")
    count = solver.solve()
    if count.termination in (Termination.UNBOUNDED, Termination.NUMERICAL):
        raise SolverTroubleError(f"HiGHS reported {count.termination}: {count.message}")
    if count.has_solution:
        best = count
        proven = proven and count.termination == Termination.OPTIMAL
    else:
        if count.termination == Termination.INFEASIBLE:
            raise SolverTroubleError("the option-count stage was infeasible at its own optimum")
        proven = False
    return Stages(best, reach, proven, spend_floor=floor_found, spend_proven=spent)


def objective_tolerance(pm: PlanModel | MatrixModel, name: str, value: float) -> float:
    """SPEC §3's tolerance on a value of objective `name` of `pm`, in the model's units.

    1e-6·max(1, |value|) for a model in the scenario's units; for a conditioned
    model (`planner.model.conditioning`) the floor is that of its `Scaling`:
    SPEC's own where the objective was scaled down, the model's 1 where it was
    scaled up (weights or money so small that SPEC's absolute floor would call
    every plan equal), so tolerances act on the scenario's own scale.
    """
    scaling = pm.scaling if isinstance(pm, MatrixModel) else None
    floor = 1.0 if scaling is None else scaling.tolerance_floor(name)
    return REL_TOL * max(floor, abs(value))


def user_reach(pm: PlanModel | MatrixModel, value: float | None) -> float | None:
    """A weighted reach of `pm` (a reach stage's value or bound) in the scenario's units."""
    if value is None or not isinstance(pm, MatrixModel) or pm.scaling is None:
        return value
    return pm.scaling.user_objective("weighted_reach", value)


def user_amounts(pm: PlanModel | MatrixModel, result: SolveResult) -> list[float]:
    """A solution's co-financing amounts (z) in the scenario's units."""
    if not isinstance(pm, MatrixModel) or pm.scaling is None:
        return list(result.z)
    z = pm.scaling.columns[pm.z_start : pm.u_start] * np.asarray(result.z, dtype=np.float64)
    return z.tolist()


def best_start(
    mm: MatrixModel,
    solver: MatrixSolver,
    hint: Collection[str] = (),
    pool: Sequence[np.ndarray] = (),
    *,
    beside: BesideSolve | None = None,
    neighbour: bool = False,
) -> tuple[np.ndarray | None, float | None]:
    """The start for a reach stage and, when the LP relaxation was solved, its bound.

    On large models HiGHS may spend the whole time limit in its root LP and
    cut rounds (measured: 10,000 options, 60 s, no plan); the start is then
    what the run reports, so it is always built there: the better by weighted
    reach of a greedy plan (`planner.solving.start_plan`, within `GREEDY_SHARE`
    of the remaining time) and, when the LP relaxation is cheap enough, the
    LP-guided search (`planner.solving.lp_start`) from it. Small models find
    better plans than these within a second on their own; a `hint` (options of
    a related plan) is made a start there too, as it may already be optimal or
    nearly (`planner.solving.start_hint`, within `GREEDY_SHARE` of the time).

    `beside`, on a large model: the stage's solve is begun from the greedy plan and runs
    while the rest of the search does, on the other core; each better plan found is
    offered to it, and the swaps go on from HiGHS's plan where that is better
    (`planner.solving.beside_search`). `neighbour`: the hint is a neighbouring budget's
    plan, which may fail the model's own rows (`hinted_start`'s `any_row`).
    """
    began = time.monotonic()
    found = _still_feasible(mm, solver.extra_rows(), pool)
    end = solver.heuristics_end or solver.share_end()  # the rank's share (SPEC §4)
    if hint:
        now = time.monotonic()
        floor = HINT_FLOOR_S * (HINT_FLOOR_ANSWERING if solver.start_only else 1.0)
        least = min(now + floor, solver.deadline)
        share = end if solver.start_only else now + GREEDY_SHARE * (end - now)
        hinted = hinted_start(
            mm,
            solver.extra_rows(),
            hint,
            deadline=max(share, least),
            refill=True,
            layout=start_layout(mm, solver),
            prior=_with_options(mm, pool, hint),
            # A rank answering with its start (L, XL) has its share for the repair alone: with
            # the drops too, XL returned 7-9 of 10 plans (each fill costs ~0.1 s there).
            drops=0 if solver.start_only else DROPS_TRIED,
            any_row=neighbour,
        )
        if hinted is not None:
            found.append(hinted)
    reach = mm.objectives["weighted_reach"]
    if not solver.large or (solver.start_only and found):
        return (max(found, key=lambda v: float(reach @ v)) if found else None), None
    now = time.monotonic()
    greedy = greedy_start(
        mm,
        solver.extra_rows(),
        deadline=solver.deadline,
        stop_by=now + GREEDY_SHARE * (end - now),
        layout=start_layout(mm, solver),
    )
    if greedy is not None:
        found.append(greedy)
    if beside is not None:
        # Begun from the greedy plan: begun without a start (offered at HiGHS's first query
        # after its root LP), HiGHS's root heuristics found nothing better at XL by plan 1's
        # end in 10 plans, where from the greedy plan they found a plan 0.4 % above it.
        until = max(solver.share_end(), end, solver.improve_until or end)
        beside.begin(_most_reach(mm, found), until=min(until, solver.deadline))
    lp_bound = None
    now = time.monotonic()
    remaining = end - now
    # Plan 1 of many decides as a one-plan run would: the time kept for the later ranks
    # must not cost it the LP (L: 9.5 % from its bound without, 0.4 % with).
    decided_on = solver.deadline - now if solver.improve_until is not None else remaining
    if expected_lp_seconds(mm) <= LP_START_SHARE * decided_on:
        rounds = len(mm.row_value) >= RINS_MIN_NONZEROS
        guided = lp_guided_start(
            mm,
            solver.extra_rows(),
            lp_deadline=now + 2 * LP_START_SHARE * remaining,
            rens_deadline=now + SUB_MIP_SHARE * remaining,
            deadline=now + (SEARCH_SHARE if rounds else SUB_MIP_SHARE) * remaining,
            known=found,
            rounds=rounds,
            scope=solver.scope,
            on_found=None if beside is None else beside.offer,
        )
        if guided is not None:
            lp_bound = guided.lp_bound
            if guided.values is not None:
                found.append(guided.values)
    if beside is not None:
        if beside.proven:  # nothing left to search for
            return _most_reach(mm, found), lp_bound
        highs_found = beside.found()
        if highs_found is not None:
            found.append(highs_found)
    best = _most_reach(mm, found)
    if best is None:
        return None, lp_bound
    if solver.improve_until is not None:
        swap_end = solver.improve_until
        if solver.rank_deadline is None and beside is None:
            # A one-plan run: swaps get what the LP-guided search leaves (L: after its
            # rounds, to the end); without that search (XL) HiGHS's own search from
            # the start gets the rest, after a fifth for swaps (XL: 0.60 % from its
            # bound by HiGHS alone, 0.43 % so; L: 0.54 -> 0.30 %).
            now = time.monotonic()
            swap_end = min(swap_end, now + (1 - SEARCH_SHARE) * (end - began))
        best = improved_by_swaps(
            mm,
            solver.extra_rows(),
            best,
            deadline=swap_end,
            layout=start_layout(mm, solver),
            on_found=None if beside is None else beside.offer,
            latest=None if beside is None else beside.found,
        )
    return best, lp_bound


def _most_reach(mm: MatrixModel, found: Sequence[np.ndarray]) -> np.ndarray | None:
    """The plan of `found` with the most weighted reach (the first of equals), if any."""
    reach = mm.objectives["weighted_reach"]
    return max(found, key=lambda v: float(reach @ v)) if len(found) else None


def start_layout(mm: MatrixModel, solver: MatrixSolver) -> GreedyLayout:
    """`mm`'s rows laid out for the start heuristics, kept by `solver` for its later
    stages; built only when a heuristic needs it (small models without a hint never do,
    and the frontier's and explanations' many quick solves would pay for it each time)."""
    solver.start_layout = layout_for(mm, solver.start_layout)
    return solver.start_layout


def _with_options(
    mm: MatrixModel, pool: Sequence[np.ndarray], options: Collection[str]
) -> np.ndarray | None:
    """The latest vector of `pool` whose chosen options are exactly `options`, if any: the
    plan a hint comes from, whose co-financing its repair keeps (`hinted_start`)."""
    index = mm.option_index()
    wanted = np.zeros(mm.y_start, dtype=bool)
    wanted[[index[o] for o in options if o in index]] = True
    for values in reversed(pool):
        if values.shape == (mm.n_cols,) and np.array_equal(values[: mm.y_start] > 0.5, wanted):
            return values
    return None


def _still_feasible(
    mm: MatrixModel, extra: Sequence[ExtraRow], pool: Sequence[np.ndarray]
) -> list[np.ndarray]:
    """The pool's best plan among those that meet every row now (the cuts added since
    they were found exclude some), binaries rounded; [] if none.

    Best in SPEC's order (most weighted reach, within the tolerance; then least net
    spend; then fewest options), the option set itself breaking exact ties: the start
    does not depend on the order the solutions were found in."""
    if not len(pool):
        return []
    rows = all_rows(mm, extra)
    binary = mm.integrality == 1
    reach, spend = mm.objectives["weighted_reach"], mm.objectives["net_spend"]
    usable: dict[bytes, np.ndarray] = {}
    for values in pool:
        rounded = binaries_rounded(mm, values)
        key = rounded[binary].astype(np.int8).tobytes()
        if key not in usable and feasible_under(mm, rows, rounded):
            usable[key] = rounded
    if not usable:
        return []
    most = max(float(reach @ v) for v in usable.values())
    near = [
        (k, v)
        for k, v in usable.items()
        if float(reach @ v) >= most - REL_TOL * max(1.0, abs(most))
    ]

    def order(item: tuple[bytes, np.ndarray]) -> tuple[float, int, bytes]:
        key, values = item
        return (round(float(spend @ values), 9), int(values[binary].sum()), key)

    return [min(near, key=order)[1]]


#: Least time the repair of a related plan into a start may take (seconds), within the
#: run's deadline even past the rank's share: on large models 5 % of a share is too
#: little for it, and a late rank without it answers with the greedy plan (L: 30 %
#: below the repaired one).
HINT_FLOOR_S = 1.0
#: A start that is the rank's answer (`MatrixSolver.start_only`) may take its whole share,
#: and at least this many times `HINT_FLOOR_S`: on a loaded machine one floor was too
#: little at L, and the rank fell back to the greedy plan, 24 % below.
HINT_FLOOR_ANSWERING = 3.0

#: Share of the remaining time the greedy start plan may take on a large model.
GREEDY_SHARE = 0.05

#: The LP-guided start (`planner.solving.lp_start`) is tried when its LP is expected to take
#: at most this share of the remaining time (it may take twice that before it is
#: given up); its RENS sub-MIP ends by `SUB_MIP_SHARE` of the remaining time and
#: its RINS rounds by `SEARCH_SHARE` (HiGHS on the whole model gets the rest).
LP_START_SHARE = 0.1
SUB_MIP_SHARE = 0.45
SEARCH_SHARE = 0.8

#: RINS rounds only on models of at least this many nonzeros (L: 271k; M: 50k). Below
#: it HiGHS's own search on the whole model, with CBC beside it, finds better plans
#: than the rounds (M: rounds converge at 9,213.9, HiGHS reaches 9,272) and needs the
#: time: with rounds until `SEARCH_SHARE`, M at a 20 s limit ended 0.97 % from its
#: bound instead of 0.14 %. There RENS alone runs, until `SUB_MIP_SHARE`.
RINS_MIN_NONZEROS = 150_000


def tie_break_epsilon(net_spend_floor: float, free_options: int, floor: float = 1.0) -> float:
    """Weight ε of the option count in the merged stage min N + ε·Σx (formulation eq. 15).

    With L ≤ N* (a lower bound on the least net spend) and F options free to
    change, two plans' counts differ by at most F, so ε·F < tol(L) ≤ tol(N*):
    the count term can never outweigh a net-spend difference larger than the
    SPEC tolerance. The +2 leaves room for HiGHS's absolute gap of ε/2. `floor`
    is the tolerance's floor in the model's units (`objective_tolerance`).
    """
    return REL_TOL * max(floor, net_spend_floor) / (free_options + 2)


#: Smallest weight of one option in the merged tie-break objective that HiGHS is sure to
#: see: ten times its dual feasibility tolerance (1e-7), below which it treats a cost
#: as zero. Measured: with net spend 0, ε = 1e-6 / (F + 2) = 9.1e-8 and HiGHS proved
#: a plan of three options optimal where one of two had the same reach and spend.
VISIBLE_WEIGHT = 1e-6


def tie_break_scale(epsilon: float) -> float:
    """Factor on the whole merged objective that lifts ε to `VISIBLE_WEIGHT` (at least 1).

    Scaling the objective changes no plan's order; it only keeps the option count
    visible when net spends are so small that ε falls below HiGHS's tolerances.
    """
    return max(1.0, VISIBLE_WEIGHT / epsilon)


def _merged_tie_break(
    mm: MatrixModel, solver: MatrixSolver, reach: SolveResult, proven: bool
) -> Stages:
    """Stages 2 and 3 as one solve: min N + ε·Σx, warm-started from the reach stage.

    ε needs a lower bound L on the least net spend N* (`tie_break_epsilon`).
    The first solve guesses L = N_r / 2 (N_r: the reach solution's net spend,
    which is ≥ N*) and certifies the guess afterwards from its own dual bound D:
    every plan has N + ε·Σx ≥ D, so N* ≥ D − ε·n₁ (n₁ options can be chosen).
    If that certified floor is below the guess, one more solve with ε from the
    certified floor follows (warm-started again); it holds by construction.
    """
    lower, upper = mm.col_lower[mm.x_start : mm.y_start], mm.col_upper[mm.x_start : mm.y_start]
    free = int(((lower < 0.5) & (upper > 0.5)).sum())
    choosable = int((upper > 0.5).sum())
    start = reach.columns()
    guess = 0.5 * float(mm.objectives["net_spend"] @ start)
    floor = mm.scaling.tolerance_floor("net_spend") if mm.scaling is not None else 1.0
    best = reach
    # HiGHS 1.16 with presolve on, given a start, has proven that start optimal although
    # a plan with fewer options and the same reach and net spend existed
    # (tests/solving/test_magnitudes.py, seed 2144): the merged stage asks for no presolve,
    # and the solver runs presolve only where it checks the answer (`MatrixSolver`).
    presolve, solver.presolve = solver.presolve, "off"
    try:
        for _attempt in range(2):
            epsilon = tie_break_epsilon(guess, free, floor)
            scale = tie_break_scale(epsilon)
            solver.abs_gap = scale * min(MIP_ABS_GAP, 0.5 * epsilon)
            solver.use_tie_break(epsilon, scale)
            solver.set_start(start)
            merged = solver.solve()
            if merged.termination in (Termination.UNBOUNDED, Termination.NUMERICAL):
                raise SolverTroubleError(f"HiGHS reported {merged.termination}: {merged.message}")
            if not merged.has_solution:
                if merged.termination == Termination.INFEASIBLE:
                    raise SolverTroubleError("the tie-break stage was infeasible at its optimum")
                return Stages(best, reach, False)
            best = merged
            if merged.termination != Termination.OPTIMAL or merged.bound is None:
                # N + ε·Σx ≥ bound for every plan, so N* ≥ bound − ε·n₁ (n₁ choosable).
                lowest = None if merged.bound is None else merged.bound / scale
                floor_found = None if lowest is None else lowest - epsilon * choosable
                return Stages(best, reach, False, spend_floor=floor_found)
            certified = merged.bound / scale - epsilon * choosable
            found = float(mm.objectives["net_spend"] @ merged.columns())
            if tie_break_epsilon(certified, free, floor) >= epsilon:
                return Stages(best, reach, proven, spend_floor=found, spend_proven=True)
            guess, start = certified, merged.columns()
        return Stages(best, reach, proven, spend_floor=found, spend_proven=True)
    finally:
        solver.abs_gap = MIP_ABS_GAP
        solver.presolve = presolve
