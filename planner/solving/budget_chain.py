"""Plan 1 of one scenario at many budgets on one model and one HiGHS instance.

Why: the reach–budget frontier (SPEC §8, `planner.whatif.frontier`) solves the same
scenario again and again with only the budget changed. A cold `planner.solve` per
budget builds, conditions and hands over the model each time and lets HiGHS restart
its search after the root; a chain keeps the model and the instance and moves only
the budget row's upper side (`changeRowBounds`), then solves the same lexicographic
stages as `rank_plans` (`planner.solving.stages`: the reach stage from the caller's
start, then the tie-break) and verifies the plan the same way
(`planner.checks.verify.check_plan`, on a scenario whose budget is the point's).

What may differ between budgets besides the budget row: nothing for a model in
scale, but `planner.model.conditioning` may fix options or drop the budget's side
where numbers are out of scale, and those reductions depend on the budget. So every
point builds and conditions the model for its own budget (milliseconds at S) and
uses the chain only when that model equals the one HiGHS holds in every array but
the budget row's upper side; otherwise the chain starts afresh from the new model.
A model conditioned with non-trivial scaling, where the ranking may narrow a model
mid-run (`rank_plans`' `_narrowed`), is not chained at all: such a point is a cold
`rank_plans` call, as before.

Measured (bench/README.md §14): at S, HiGHS's restart after root reductions doubles
the reach stage of these small models (0.19 → 0.09 s per stage on the frontier's
budgets, same optima), so a chain's solver runs without it; rebuilding is cheap
(4 ms), so the saving is the restart, not the build.

Every answer is a function of the scenario, the budget and the start alone: the
instance's solution and basis are cleared before each point, so a chain that jumps
between budgets (a worker serving several slices) answers as a fresh one would.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from planner.model.common import BuildTimeout, canonical_order
from planner.model.conditioning import condition
from planner.model.matrix_model import MatrixModel, build_matrix_model
from planner.plan import Plan, RunStatus
from planner.scenario.data import Scenario
from planner.solving.diagnose import decision_conflicts
from planner.solving.ranking import SOLVE_RESERVE, _make_verified_plan, rank_plans
from planner.solving.result import REL_TOL, SolveResult, Termination
from planner.solving.solver import MatrixSolver
from planner.solving.stages import SolverTroubleError, objective_tolerance, reach_stage, tie_break

#: Longest wait for HiGHS to notice a point's deadline before its solve is given up.
GRACE = 0.5


@dataclass(frozen=True)
class ChainPoint:
    """Plan 1 at one budget: `status` as SPEC §5 has it for a run of one plan, and the
    verified plan (None when infeasible, of reach 0, or out of time before any plan)."""

    budget: float
    status: RunStatus
    plan: Plan | None
    repeats: bool = False
    """The reach stage proved that no plan within this budget reaches more than the
    `reach_known` the caller gave (a lower budget's proven point): the optimum here is
    that point again, so no plan is made for it (`status` is then optimal)."""

    @property
    def proven(self) -> bool:
        """Whether this point is settled: a proven plan, or proven that none exists."""
        if self.repeats:
            return True
        if self.plan is None:
            return self.status == RunStatus.INFEASIBLE
        return self.plan.proven_optimal


def budget_below(budget: float, net_spend: float) -> float:
    """The budget of the next solve down a chain: just below the point's net spend.

    Plans spending within SPEC's tolerance of s count as spending s, so they are
    dominated by the point (s, r) and the next point spends less than
    s − 1e-6·max(1, |s|). Never above the budget just solved (a net spend may pass
    it within the tolerance), so every step goes down.
    """
    spent = min(net_spend, budget)
    return spent - REL_TOL * max(1.0, abs(spent))


class _ChainSolver(MatrixSolver):
    """`MatrixSolver` without HiGHS's restart after root reductions, and with its presolve
    on the merged tie-break, each answer of which is checked.

    Restart: measured on S's frontier budgets, it rebuilds the search on a model a
    tenth smaller and costs more than it saves (reach stage 0.19 → 0.09 s, the same
    optima); the merged tie-break already runs without it. Nor HiGHS's feasibility-jump
    heuristic: a chain's solves start from the previous plan, and without it a walk
    of S's frontier took 2.1 s of CPU instead of 2.36 (a primal heuristic: no proof
    depends on it).

    Presolve on the tie-break: `planner.solving.stages` runs the merged tie-break
    without presolve because HiGHS 1.16, given a start, proved that start optimal
    although a plan of fewer options existed (`tests/solving/test_magnitudes.py`, seed
    2144). The cause, measured on that scenario: with presolve, HiGHS reports the
    optimum of the presolved model (22.000002) but returns the start's columns, whose
    objective is 22.000004: the start's value is taken without the cost of the columns
    presolve removed. So a tie-break here runs with presolve (2.5x faster at S) and its
    answer stands only when its reported objective is its own columns' objective to
    1e-9 relative (far below every gap, far above rounding); otherwise the stage is
    solved again without presolve, from the same start, as `stages` would have
    solved it (`misled` counts those).

    Both only on models that `MatrixSolver` counts as small (up to
    `SMALL_MODEL_NONZEROS`, where it runs presolve itself): there they were measured;
    on larger models presolve cannot be interrupted and grows fast (formulation
    choice 9), and the restart was not measured."""

    misled = 0

    def _options(self, presolve: str, remaining: float) -> dict[str, bool | float | str | int]:
        options = super()._options(presolve, remaining)
        if not self.large:
            options["mip_allow_restart"] = False
            options["mip_heuristic_run_feasibility_jump"] = False
        return options

    def _solve_once(self, presolve: str) -> SolveResult:
        if self.large or self._maximise or presolve != "off":
            return super()._solve_once(presolve)
        start = self._start
        first = super()._solve_once("on")
        if not first.has_solution or first.incumbent is None or self._own_value(first):
            return first
        self.misled += 1
        self._start = start
        self.highs.clearSolver()
        return super()._solve_once("off")

    def _own_value(self, result: SolveResult) -> bool:
        """Whether HiGHS's reported objective is that of the columns it returned."""
        assert result.incumbent is not None
        own = float(self._cost @ result.columns()) + self._offset
        return abs(own - result.incumbent) <= 1e-9 * max(1.0, abs(result.incumbent))


class BudgetChain:
    """Solves plan 1 of `scenario` at budgets one after another (`solve_at`), or down a
    whole range (`walk`), on one model and one HiGHS instance where that is exact."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = canonical_order(scenario)
        self.conflicts = bool(decision_conflicts(self.scenario))
        """Decisions and rules contradict each other: infeasible at every budget."""
        self.model: MatrixModel | None = None
        self.solver: _ChainSolver | None = None
        self.rebuilt = 0
        """How many times the model was handed to a new HiGHS instance (for tests)."""

    # -- one point ---------------------------------------------------------------

    def solve_at(
        self,
        budget: float,
        *,
        start: Sequence[str] = (),
        time_limit: float | None = None,
        reach_known: float | None = None,
    ) -> ChainPoint:
        """Plan 1 at `budget` (most weighted reach, then least net spend, then fewest
        options), started from the options `start`, within `time_limit` seconds
        (default: the scenario's `time_limit_s`).

        The same plans and figures as `rank_plans` of the scenario with that budget
        and one plan: a proven point is the §3 optimum; one cut short by time keeps
        `proven_optimal` false (its plan is feasible and verified) or has no plan
        (`no_solution`). Raises `SolverTroubleError` on HiGHS's numerical trouble.

        `reach_known` is the weighted reach of a proven point at a lower budget (so the
        optimum here reaches at least that much). When the reach stage proves that no
        plan within `budget` reaches more, within SPEC's tolerance, the optimum here is
        that point again: the tie-break is skipped and the answer says so (`repeats`).
        Why: a frontier chain's last step into the range of the chain below would
        otherwise solve that chain's first point a second time.
        """
        began = time.monotonic()
        limit = self.scenario.settings.time_limit_s if time_limit is None else time_limit
        variant = self.scenario.with_settings(budget=budget)
        if self.conflicts:
            return ChainPoint(budget, RunStatus.INFEASIBLE, None)
        deadline = began + limit
        solve_deadline = deadline - min(max(0.05, SOLVE_RESERVE * limit), 0.25 * limit)
        try:
            model = condition(build_matrix_model(variant, deadline=solve_deadline))
        except BuildTimeout:
            return ChainPoint(budget, RunStatus.NO_SOLUTION, None)
        if not _unit_scaling(model):
            return self._cold(variant, start, limit, began)
        solver = self._holding(model)
        solver.deadline = solve_deadline
        solver.grace = min(GRACE, 0.5 * (deadline - solve_deadline))
        solver.rank_deadline = None
        solver.highs.clearSolver()  # the answer may not depend on earlier points
        try:
            return self._stages(model, solver, budget, start, deadline, reach_known)
        finally:
            if solver.abandoned is not None:  # its thread may still be inside HiGHS
                self.model, self.solver = None, None
                solver.scope.end(until=deadline)

    def _holding(self, model: MatrixModel) -> _ChainSolver:
        """The chain's solver, holding `model` with the columns no plan within its budget
        can take held at 0 (`unaffordable`): the instance HiGHS holds already, its budget
        row and column bounds moved, when `model` differs from the last one in the budget
        row's upper side only; else a new instance."""
        held, solver = self.model, self.solver
        if held is None or solver is None or not _same_but_budget(held, model):
            solver = _ChainSolver(model, deadline=math.inf, mip_gap=model.settings.mip_gap)
            self.solver = solver
            self.rebuilt += 1
        else:
            rows = model.block("budget")
            for row in range(rows.start, rows.stop):
                solver.highs.changeRowBounds(row, model.row_lower[row], model.row_upper[row])
        self.model = model
        # What HiGHS holds now: the last point's bounds (a new instance: the model's own).
        holds = solver.model.col_upper
        upper = model.col_upper.copy()
        upper[unaffordable(model)] = 0.0
        moved = np.flatnonzero(upper != holds).astype(np.int32)
        if len(moved):
            solver.highs.changeColsBounds(len(moved), moved, model.col_lower[moved], upper[moved])
        solver.model = replace(model, col_upper=upper)
        return solver

    def _stages(
        self,
        model: MatrixModel,
        solver: _ChainSolver,
        budget: float,
        start: Sequence[str],
        deadline: float,
        reach_known: float | None,
    ) -> ChainPoint:
        first = reach_stage(model, solver, hint=tuple(start))
        verdict = _verdict(model, first)
        if verdict is not None:
            return ChainPoint(budget, verdict, None)
        if reach_known is not None and _no_more_than(model, first, reach_known):
            return ChainPoint(budget, RunStatus.OPTIMAL, None, repeats=True)
        stages = tie_break(model, solver, first)
        plan, _most = _make_verified_plan(model, 1, stages, deadline=deadline)
        status = RunStatus.OPTIMAL if stages.proven else RunStatus.FEASIBLE
        return ChainPoint(budget, status, plan)

    def _cold(
        self, variant: Scenario, start: Sequence[str], limit: float, began: float
    ) -> ChainPoint:
        """A point the chain cannot hold: `rank_plans` of one plan, as a cold solve."""
        one = variant.with_settings(plans=1, time_limit_s=limit)
        planset = rank_plans(one, started=began, threads=1, start=tuple(start))
        plan = planset.plans[0] if planset.plans else None
        return ChainPoint(variant.settings.budget, planset.status, plan)

    # -- a whole chain -------------------------------------------------------------

    def walk(self, top: float, bottom: float = 0.0, *, deadline: float | None = None) -> ChainWalk:
        """Plan 1 at `top`, then just below each point's net spend (`budget_below`), until
        a point at or below `bottom`, reach 0 or infeasibility (`ended` "end"), or until
        `deadline` (a `time.monotonic()` instant; `ended` "time": the points found stand,
        each proven or marked not). Each solve is started from the previous plan."""
        points: list[ChainPoint] = []
        budget = top
        start: tuple[str, ...] = ()
        while True:
            left = math.inf if deadline is None else deadline - time.monotonic()
            if left <= 0:
                return ChainWalk(tuple(points), "time")
            point = self.solve_at(
                budget, start=start, time_limit=None if math.isinf(left) else left
            )
            points.append(point)
            if point.plan is None:
                ended = "end" if point.status == RunStatus.INFEASIBLE else "time"
                return ChainWalk(tuple(points), ended)
            if not point.plan.proven_optimal:
                return ChainWalk(tuple(points), "time")
            budget = budget_below(budget, point.plan.net_spend)
            start = point.plan.options
            if budget < 0 or (bottom > 0 and budget <= bottom):
                return ChainWalk(tuple(points), "end")


@dataclass(frozen=True)
class ChainWalk:
    """The points of one walk down a budget range, and why it stopped: "end" (the range
    is walked) or "time" (cut short: later points unknown, the last may be unproven)."""

    points: tuple[ChainPoint, ...]
    ended: str


def _verdict(model: MatrixModel, first: SolveResult) -> RunStatus | None:
    """What the reach stage means for the point: None (go on to the tie-break), or the
    status of a point without a plan. As `rank_plans` reads rank 1's reach stage."""
    if first.termination in (Termination.UNBOUNDED, Termination.NUMERICAL):
        raise SolverTroubleError(f"HiGHS reported {first.termination}: {first.message}")
    if first.termination == Termination.INFEASIBLE:
        return RunStatus.INFEASIBLE
    if not first.has_solution:
        return RunStatus.NO_SOLUTION
    zero = objective_tolerance(model, "weighted_reach", 0.0)
    if first.incumbent is not None and first.incumbent <= zero:
        proven = first.termination == Termination.OPTIMAL or (
            first.bound is not None and first.bound <= zero
        )
        return RunStatus.INFEASIBLE if proven else RunStatus.NO_SOLUTION
    return None


def unaffordable(model: MatrixModel) -> np.ndarray:
    """Per column: an option or offer that no plan within the model's budget can take.

    Exact: with every cost and fee at least 0, a plan's net spend is at least, for each
    of its options o, o's cost less the most co-financing o can get (the bounds of its
    amounts z, at most the share σ of its cost, row 5), and at least the fee of each
    offer it takes; an option or offer above the budget on its own (with a margin far
    above rounding) is in no plan. HiGHS's presolve finds the same, but the merged
    tie-break runs without presolve (`planner.solving.stages`), and at a small budget
    most options are such columns: held at 0 they leave HiGHS a smaller problem.
    Nothing is marked when some cost or fee is negative; `must` columns never are (the
    budget row keeps such a point infeasible, as it should).
    """
    marked = np.zeros(model.n_cols, dtype=bool)
    rows = model.block("budget")
    if rows.stop - rows.start != 1:
        return marked
    budget = float(model.row_upper[rows.start])
    spend = model.objectives["net_spend"]
    x, z = slice(model.x_start, model.y_start), model.z_start
    if not math.isfinite(budget) or bool((spend[:z] < 0).any()):
        return marked
    share = min(1.0, max(0.0, float(model.settings.max_cofinance_share)))
    paid = np.bincount(model.pair_option, weights=model.col_upper[z : model.u_start], minlength=z)[
        : model.y_start
    ]
    least = spend[:z].copy()
    least[x] = spend[x] - np.minimum(share * spend[x], paid)
    margin = 1e-9 * max(1.0, abs(budget))
    marked[:z] = (least > budget + margin) & (model.col_lower[:z] < 0.5)
    return marked


def _no_more_than(model: MatrixModel, first: SolveResult, reach: float) -> bool:
    """Whether a proven reach stage shows every plan reaching at most `reach` (plus SPEC's
    tolerance): its dual bound, an upper bound on every plan's weighted reach, says so."""
    if first.termination != Termination.OPTIMAL:
        return False
    bound = first.bound if first.bound is not None else first.incumbent
    if bound is None:
        return False
    return bound <= reach + objective_tolerance(model, "weighted_reach", reach)


def _unit_scaling(model: MatrixModel) -> bool:
    """Whether conditioning left every column, row and objective in the scenario's units."""
    scaling = model.scaling
    if scaling is None:
        return True
    return (
        bool(np.all(scaling.columns == 1.0))
        and bool(np.all(scaling.rows == 1.0))
        and all(factor == 1.0 for factor in scaling.objectives.values())
    )


def _same_but_budget(held: MatrixModel, model: MatrixModel) -> bool:
    """Whether `model` is `held` with at most the budget row's upper side changed."""
    if held.blocks != model.blocks or held.option_ids != model.option_ids:
        return False
    rows = model.block("budget")
    other = np.ones(model.n_rows, dtype=bool)
    other[rows.start : rows.stop] = False
    same = (
        np.array_equal(held.col_lower, model.col_lower)
        and np.array_equal(held.col_upper, model.col_upper)
        and np.array_equal(held.integrality, model.integrality)
        and np.array_equal(held.row_start, model.row_start)
        and np.array_equal(held.row_index, model.row_index)
        and np.array_equal(held.row_value, model.row_value)
        and np.array_equal(held.row_lower, model.row_lower)
        and np.array_equal(held.row_upper[other], model.row_upper[other])
        and held.objectives.keys() == model.objectives.keys()
        and all(np.array_equal(held.objectives[k], model.objectives[k]) for k in held.objectives)
    )
    return bool(same)
