"""Ranked plans (SPEC §4): the best plan, then the best plan unlike every earlier one.

Each plan is found in three lexicographic stages on one persistent model
(formulation eq. 15, `planner.solve.stages`): maximise weighted reach; holding it
within the SPEC tolerance, minimise net spend; holding both, minimise the
number of options (one exact objective instead when the data are integral,
choice 16). With a second core, a rank's tie-break is proven beside the next
rank's reach stage (`planner.solve.tie_break_lane`, choice 15). After a plan is
returned, a no-good cut over the option binaries (eq. 14) makes every later
plan leave out at least `min_plan_difference` of its options.
Cuts refer to plans actually returned, so ties may be broken either way
(SPEC §4) and the list stays well defined.

Every plan is checked by `planner.checks.verify` before it is returned; a plan that
fails is an internal error (`PlanVerificationError`), never output.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

import numpy as np

from planner.checks.verify import PlanVerificationError, check_plan, make_plan
from planner.model.common import BuildTimeout, canonical_order, extract_decisions
from planner.model.matrix_model import MatrixModel, build_matrix_model
from planner.plan import CoFinancing, Plan, PlanSet, RunStatus
from planner.scenario.data import Scenario
from planner.solve.diagnose import NOTHING_REACHED, decision_conflicts, diagnose_infeasibility
from planner.solve.race import cores_available
from planner.solve.result import SolveResult, Termination, tolerance
from planner.solve.solver import MatrixSolver, max_cofinancing
from planner.solve.stages import SolverTroubleError, Stages, reach_stage, tie_break
from planner.solve.tie_break_lane import TieBreakLane

if TYPE_CHECKING:  # the Pyomo reference path is imported only when asked for
    from planner.model.pyomo_model import PlanModel
    from planner.solve.pyomo_solver import PersistentSolver

#: progress(plan_k, plans_asked, elapsed_s, gap_or_None): plain values, no terminal code.
Progress = Callable[[int, int, float, float | None], None]


#: Which model builder and HiGHS hand-off `rank_plans` uses: "highs" (numpy arrays
#: passed to highspy directly, `planner.model.matrix_model`) or "pyomo" (the reference
#: formulation of `planner.model.pyomo_model` through Pyomo's persistent HiGHS interface).
Backend = Literal["highs", "pyomo"]

#: Share of the time limit kept back from the solver for unwinding and verification.
SOLVE_RESERVE = 0.04

#: Time kept back per option and Coverage row for turning the last solution into a
#: verified plan (co-financing LP, recomputation, checks): measured 1.3 s for 50,000
#: options and 200,000 Coverage rows, plus up to `MAX_GRACE` of waiting for HiGHS to
#: stop; 3.5 s is kept there (a solve given up at the deadline still runs on the
#: other core meanwhile). Twice that left XL runs ending 2.2 s early, idle.
VERIFY_SECONDS_PER_ROW = 1.4e-5

#: Longest wait for HiGHS to notice the deadline before its solve is given up.
MAX_GRACE = 1.0


def rank_plans(
    scenario: Scenario,
    *,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.monotonic,
    started: float | None = None,
    after: float = 0.0,
    backend: Backend = "highs",
    race: bool = True,
) -> PlanSet:
    """Up to `settings.plans` ranked plans for `scenario`, within `settings.time_limit_s`.

    `started` is the `clock()` instant the user's run began (for the command
    line: before the workbook was read), so the limit covers the whole run;
    by default the run begins now. `after` is the time the caller still needs
    once this returns (writing the outputs); it is kept back from the solves,
    up to a quarter of the limit. `backend` picks the model builder: the
    direct numpy/highspy path by default (build and hand-off in a fraction of a
    second at 50k options), or "pyomo", the readable reference formulation.
    `race` lets CBC run beside HiGHS on solves that last, where a second core
    and a CBC binary exist (`planner.solve.race.rival_worthwhile`); callers that
    already run one solve per core (sweeps) turn it off.

    Infeasible scenarios come back with status `infeasible` and a diagnosis;
    running out of time before any plan gives `no_solution`. Raises
    `PlanVerificationError` or `SolverTroubleError` only for internal faults.
    """
    scenario = canonical_order(scenario)  # same data in any row order, same plans
    settings = scenario.settings
    entered = clock()
    start = entered if started is None else started
    deadline = start + settings.time_limit_s - min(max(0.0, after), 0.25 * settings.time_limit_s)
    # HiGHS notices an interrupt only between steps (measured: up to ~0.3 s late on
    # 5k options) and then needs time to unwind; verification follows. Solves
    # therefore stop a little early so the whole run keeps within the limit.
    size = len(scenario.options) + len(scenario.coverage)
    reserve = max(0.05, SOLVE_RESERVE * settings.time_limit_s, VERIFY_SECONDS_PER_ROW * size)
    solve_deadline = deadline - min(reserve, 0.25 * settings.time_limit_s)
    max_reach = sum(m.weight * m.addressable for m in scenario.markets)
    timings: dict[str, float] = {}

    def result(status: RunStatus, plans: list[Plan], message: str = "", diagnosis=None) -> PlanSet:
        timings["total"] = clock() - start
        return PlanSet(
            scenario=scenario.name,
            status=status,
            max_weighted_reach=max_reach,
            plans=tuple(plans),
            message=message,
            diagnosis=diagnosis,
            timings=timings,
        )

    if decision_conflicts(scenario):
        diagnosis = diagnose_infeasibility(scenario, deadline=solve_deadline)
        return result(RunStatus.INFEASIBLE, [], diagnosis.text, diagnosis.text)

    try:
        # Past solve_deadline the watchdog waits up to half the reserve (at most
        # MAX_GRACE) more for HiGHS, then stops waiting; the rest is for
        # verification and unwinding.
        grace = min(MAX_GRACE, 0.5 * (deadline - solve_deadline))
        pm: PlanModel | MatrixModel
        solver: PersistentSolver | MatrixSolver
        if backend == "pyomo":
            from planner.model.pyomo_model import build_model
            from planner.solve.pyomo_solver import PersistentSolver

            pm = build_model(scenario, deadline=solve_deadline)
            solver = PersistentSolver(
                pm, deadline=solve_deadline, mip_gap=settings.mip_gap, grace=grace
            )
        else:
            pm = build_matrix_model(scenario, deadline=solve_deadline)
            solver = MatrixSolver(
                pm, deadline=solve_deadline, mip_gap=settings.mip_gap, grace=grace, race=race
            )
    except BuildTimeout as exc:
        timings["build"] = clock() - entered
        return result(
            RunStatus.NO_SOLUTION,
            [],
            f"No plan was found within the time limit of {settings.time_limit_s:g} s: {exc}.",
        )
    timings["build"] = clock() - entered
    must = {o for o, d in pm.option_decisions.items() if d == "must"}
    d = settings.min_plan_difference
    wanted = settings.plans
    plans: list[Plan] = []
    warm: np.ndarray | None = None
    """A feasible plan for the next rank's reach stage (the last plan, repaired)."""
    stop_reason = ""
    timed_out = False
    overlap = (
        OVERLAP_TIE_BREAKS
        and race
        and wanted > 1
        and not WARM_START_RANKS
        and isinstance(solver, MatrixSolver)
        and cores_available() >= 2
    )
    lane: TieBreakLane | None = None
    pending: tuple[str, ...] | None = None
    """Options of the last rank while its tie-break runs in `lane` (already cut)."""
    if isinstance(solver, MatrixSolver):
        solver.spare_core_taken = lambda: lane is not None and lane.busy

    def short_plan() -> str:
        short = [p for p in plans if len(set(p.options) - must) < d]
        if not short:
            return ""
        return (
            f"plan {short[0].rank} has fewer than {d} options that are not `must`, "
            f"so no plan can leave out {d} of them"
        )

    def keep(rank: int, stages: Stages, interrupted: bool) -> tuple[Plan, bool]:
        """Verify and record plan `rank`; and whether the run is out of time after it."""
        plan = _make_verified_plan(pm, rank, stages)
        plans.append(plan)
        if progress:
            progress(rank, wanted, clock() - start, plan.gap)
        ran_out = stages.best.termination == Termination.TIME_LIMIT or interrupted
        return plan, ran_out and clock() >= solve_deadline

    try:
        for k in range(1, wanted + 1):
            if progress and pending is None:
                progress(k, wanted, clock() - start, None)
            if pending is None and (stop_reason := short_plan()):
                break
            first = reach_stage(pm, solver, warm)
            if pending is not None:
                assert lane is not None and isinstance(solver, MatrixSolver)
                stages = lane.result()
                plan, timed_out = keep(k - 1, stages, lane.interrupted)
                speculated, pending = pending, None
                if timed_out:
                    stop_reason = f"the time limit of {settings.time_limit_s:g} s was reached"
                    break
                if set(plan.options) != set(speculated):
                    # The tie-break chose other options: cut those, and find rank k again.
                    solver.drop_last_cut()
                    _add_no_good_cut(pm, solver, plan.options, d)
                    if stop_reason := short_plan():
                        break
                    first = reach_stage(pm, solver, warm)
            if first.termination in (Termination.UNBOUNDED, Termination.NUMERICAL):
                raise SolverTroubleError(
                    f"HiGHS reported {first.termination} while looking for plan {k}: "
                    f"{first.message}"
                )
            if first.termination == Termination.INFEASIBLE:
                if k == 1:
                    diagnosis = diagnose_infeasibility(scenario, deadline=solve_deadline)
                    return result(RunStatus.INFEASIBLE, [], diagnosis.summary, diagnosis.text)
                stop_reason = (
                    f"no further plan meets every limit while leaving out at least {d} option(s) "
                    "of each earlier plan"
                )
                break
            if not first.has_solution:
                timed_out = True
                stop_reason = f"the time limit of {settings.time_limit_s:g} s was reached"
                break
            if first.incumbent is not None and first.incumbent <= tolerance(0.0):
                if first.termination == Termination.OPTIMAL or (
                    first.bound is not None and first.bound <= tolerance(0.0)
                ):
                    if k == 1:
                        # `diagnosis` stays the bare SPEC phrase; the change that
                        # would buy a plan goes into the message.
                        diagnosis = diagnose_infeasibility(
                            scenario, deadline=solve_deadline, nothing_reached=True
                        )
                        return result(RunStatus.INFEASIBLE, [], diagnosis.text, NOTHING_REACHED)
                    stop_reason = "every further plan has weighted reach 0"
                else:
                    timed_out = True
                    stop_reason = (
                        f"the time limit of {settings.time_limit_s:g} s was reached before a plan "
                        "with positive weighted reach was found"
                    )
                break
            if (
                overlap
                and k < wanted
                and first.termination == Termination.OPTIMAL
                and not first.lexicographic
            ):
                assert isinstance(pm, MatrixModel) and isinstance(solver, MatrixSolver)
                options = _speculated_options(pm, first)
                if len(set(options) - must) >= d:
                    if lane is None:
                        lane = TieBreakLane(
                            pm, deadline=solve_deadline, mip_gap=settings.mip_gap, grace=grace
                        )
                    lane.start(first, solver.extra_rows())
                    _add_no_good_cut(pm, solver, options, d)
                    pending = options
                    continue
            stages = tie_break(pm, solver, first)
            plan, timed_out = keep(k, stages, solver.interrupted)
            _add_no_good_cut(pm, solver, plan.options, d)
            if (
                WARM_START_RANKS
                and isinstance(pm, MatrixModel)
                and stages.best.has_solution
                and clock() < solve_deadline
            ):
                warm = repaired_start(pm, stages.best.columns(), d)
            if timed_out:
                if k < wanted:
                    stop_reason = f"the time limit of {settings.time_limit_s:g} s was reached"
                break
    finally:
        if lane is not None:
            lane.close()  # an error or early return leaves no solve running

    if not plans:
        if timed_out:
            return result(
                RunStatus.NO_SOLUTION,
                [],
                f"No plan was found within the time limit of {settings.time_limit_s:g} s.",
            )
        return result(RunStatus.INFEASIBLE, [], NOTHING_REACHED, NOTHING_REACHED)
    message = ""
    if len(plans) < wanted:
        message = (
            f"Only {len(plans)} of the {wanted} plans asked for "
            f"{'was' if len(plans) == 1 else 'were'} returned: {stop_reason}."
        )
    unproven = [p.rank for p in plans if not p.proven_optimal]
    if unproven:
        ranks = ", ".join(str(r) for r in unproven)
        message = (message + " " if message else "") + (
            f"Plan(s) {ranks} not proven optimal within the time limit; "
            "bound shows how much better a plan could be."
        )
    # SPEC §5: `optimal` when every plan is proven. Time running out only makes a run
    # `feasible` when it cost plans (a proof may land at the deadline itself).
    short_of_time = timed_out and len(plans) < wanted
    status = RunStatus.FEASIBLE if (unproven or short_of_time) else RunStatus.OPTIMAL
    return result(status, plans, message)


def repaired_start(mm: MatrixModel, columns: np.ndarray, drop: int) -> np.ndarray | None:
    """A feasible start for the next rank: the last plan with `drop` options left out.

    Options are tried in order of the weighted reach they alone supply (least
    first), never a `must` one; offers stay taken, the dropped options' co-financing
    goes to 0 (so net spend only falls and every offer cap and share still holds),
    and reach u_m falls to what the remaining options supply. The candidate is
    checked against every model row (eq. 1-13); rules or limits the drop would
    break (requires, matching spend, average trust, shares) make the next
    candidate be tried. The earlier plans' cuts hold because options only leave.
    None when no candidate passes within a few tries (HiGHS then starts cold).
    """
    col = columns.copy()
    x = col[mm.x_start : mm.y_start]
    chosen = np.flatnonzero((x > 0.5) & (mm.col_lower[mm.x_start : mm.y_start] < 0.5))
    if len(chosen) < drop:
        return None
    weight = mm.objectives["weighted_reach"][mm.u_start :]
    reach_rows = mm.block("reach")
    value = np.zeros(len(x))
    for r in range(reach_rows.start, reach_rows.stop):
        cols, vals = mm.row(r)
        market = cols[cols >= mm.u_start] - mm.u_start
        opts = cols < mm.y_start
        if len(market):
            value[cols[opts]] += weight[market[0]] * -vals[opts]
    order = chosen[np.argsort(value[chosen], kind="stable")]
    pair_option = mm.pair_option
    row_of = np.repeat(np.arange(mm.n_rows), np.diff(mm.row_start))
    for first in range(min(len(order) - drop + 1, _REPAIR_TRIES)):
        out = col.copy()
        gone = order[first : first + drop]
        out[mm.x_start + gone] = 0.0
        out[mm.z_start + np.flatnonzero(np.isin(pair_option, gone))] = 0.0
        activity = _row_activity(mm, row_of, out)
        excess = np.maximum(activity - mm.row_upper, 0.0)
        for name in ("reach", "full_stack"):
            block = mm.block(name)
            for row in (np.flatnonzero(excess[block.start : block.stop]) + block.start).tolist():
                cols, _vals = mm.row(row)
                u_col = int(cols[cols >= mm.u_start][0])
                out[u_col] = max(0.0, out[u_col] - excess[row])
                excess[row] = 0.0
        activity = _row_activity(mm, row_of, out)
        scale = np.maximum(1.0, np.abs(np.concatenate([mm.row_lower, mm.row_upper])))
        tol = 1e-7 * scale
        n = mm.n_rows
        if (activity <= mm.row_upper + tol[n:]).all() and (
            activity >= mm.row_lower - tol[:n]
        ).all():
            return out
    return None


#: Start each rank from the previous plan repaired (`repaired_start`)? Off. With such a
#: start HiGHS 1.16 once reported a reach its own solution did not have (30.999969
#: claimed, 26.999969 in the columns); `MatrixSolver` now catches that and re-solves
#: without the start (tests/test_fast_ranking.py), but re-measured the warm start is
#: slower: S, 10 plans, 53 s cold against 58.6 s warm (bench/README.md). The
#: tie-break stage still starts from the reach stage's own solution.
WARM_START_RANKS = False

#: Prove rank k's tie-break on a second core while rank k+1's reach stage runs
#: (`planner.solve.tie_break_lane`), where `race` allows a second core and more than one
#: plan is asked for.
OVERLAP_TIE_BREAKS = True

#: How many drop candidates `repaired_start` checks before giving up.
_REPAIR_TRIES = 25


def _row_activity(mm: MatrixModel, row_of: np.ndarray, col: np.ndarray) -> np.ndarray:
    """A·col for the model's CSR rows (`row_of`: the row of every nonzero)."""
    return np.bincount(row_of, weights=mm.row_value * col[mm.row_index], minlength=mm.n_rows)


def _make_verified_plan(pm: PlanModel | MatrixModel, rank: int, stages: Stages) -> Plan:
    """Turn the last stage's solution into a checked `Plan` with recomputed figures."""
    best = stages.best
    options, offers, _ = extract_decisions(pm, list(best.x), list(best.y), list(best.z))
    amounts = max_cofinancing(pm.scenario, options, offers)
    cofinancing = [CoFinancing(c, o, a) for c, o, a in amounts]
    reach = stages.reach
    # Without a proven bound the ceiling Σ weight·addressable is still a valid one.
    ceiling = sum(m.weight * m.addressable for m in pm.scenario.markets)
    bound = min(reach.bound, ceiling) if reach.bound is not None else ceiling
    gap = reach.gap
    if gap is None and reach.incumbent is not None:  # no dual bound yet: gap to the ceiling
        gap = max(0.0, bound - reach.incumbent) / max(1.0, abs(reach.incumbent))
    plan = make_plan(
        pm.scenario,
        rank,
        options,
        offers,
        cofinancing,
        bound=bound,
        proven_optimal=stages.proven,
        gap=0.0 if stages.proven else gap,
    )
    problems = check_plan(pm.scenario, plan)
    if problems:
        raise PlanVerificationError(
            f"plan {rank} failed independent verification: " + "; ".join(problems[:5])
        )
    return plan


def _speculated_options(pm: MatrixModel, reach: SolveResult) -> tuple[str, ...]:
    """The options rank k will most likely have: those of its reach stage.

    The tie-break only lowers net spend and the option count at the same
    reach, which it almost always does by re-choosing co-financing, not options
    (`planner.solve.tie_break_lane`); when it does change them, the caller re-solves.
    """
    return extract_decisions(pm, list(reach.x), list(reach.y), list(reach.z))[0]


def _add_no_good_cut(
    pm: PlanModel | MatrixModel,
    solver: PersistentSolver | MatrixSolver,
    options: tuple[str, ...],
    d: int,
) -> None:
    """Formulation eq. (14): Σ_{o∈S}(1 − x_o) ≥ d for the options S of a returned plan."""
    index = pm.option_index()
    chosen = sorted(index[o] for o in options)
    if not chosen:
        return
    solver.add_no_good_cut(chosen, len(chosen) - d)
