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

The held instance, its solver (`ChainSolver`: no restart, the checked presolved
tie-break) and the moving of bounds are `planner.solving.bound_chain`'s, shared with
the explanations' re-solves; a budget chain keeps an instance only across models that
differ in the budget row's upper side (and the columns `unaffordable` holds at 0).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from planner.checks.scenario_index import ScenarioIndex, kept_index
from planner.model.common import BuildTimeout, canonical_order
from planner.model.conditioning import condition
from planner.model.matrix_model import MatrixModel, build_matrix_model
from planner.plan import Plan, RunStatus
from planner.scenario.data import Scenario
from planner.solving.bound_chain import GRACE, ChainSolver, HeldModel, unit_scaling
from planner.solving.diagnose import decision_conflicts
from planner.solving.plan_making import make_verified_plan
from planner.solving.ranking import SOLVE_RESERVE, rank_plans
from planner.solving.result import REL_TOL, SolveResult, Termination
from planner.solving.stages import SolverTroubleError, objective_tolerance, reach_stage, tie_break


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


#: The chain's solver (`planner.solving.bound_chain.ChainSolver`), under its old name.
_ChainSolver = ChainSolver


class BudgetChain:
    """Solves plan 1 of `scenario` at budgets one after another (`solve_at`), or down a
    whole range (`walk`), on one model and one HiGHS instance where that is exact."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = canonical_order(scenario)
        self.conflicts = bool(decision_conflicts(self.scenario))
        """Decisions and rules contradict each other: infeasible at every budget."""
        self.held = HeldModel()
        self.index: ScenarioIndex | None = None
        """The scenario indexed for checking plans: one for every budget (the variants
        share its rows)."""

    @property
    def model(self) -> MatrixModel | None:
        """The model HiGHS holds now (None before the first point)."""
        return self.held.model

    @property
    def solver(self) -> ChainSolver | None:
        """The chain's solver (None before the first point, or after an abandoned solve)."""
        return self.held.solver

    @property
    def rebuilt(self) -> int:
        """How many times the model was handed to a new HiGHS instance (for tests)."""
        return self.held.rebuilt

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
        if not unit_scaling(model):
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
                self.held.drop()
                solver.scope.end(until=deadline)

    def _holding(self, model: MatrixModel) -> ChainSolver:
        """The chain's solver, holding `model` with the columns no plan within its budget
        can take held at 0 (`unaffordable`): the instance HiGHS holds already, its budget
        row and column bounds moved, when `model` differs from the last one in the budget
        row's upper side only; else a new instance (`planner.solving.bound_chain`)."""
        upper = model.col_upper.copy()
        upper[unaffordable(model)] = 0.0
        rows = model.block("budget")
        return self.held.hold(model, upper=upper, only_rows=slice(rows.start, rows.stop))

    def _stages(
        self,
        model: MatrixModel,
        solver: _ChainSolver,
        budget: float,
        start: Sequence[str],
        deadline: float,
        reach_known: float | None,
    ) -> ChainPoint:
        first = reach_stage(model, solver, hint=tuple(start), neighbour=True)
        verdict = _verdict(model, first)
        if verdict is not None:
            return ChainPoint(budget, verdict, None)
        if reach_known is not None and _no_more_than(model, first, reach_known):
            return ChainPoint(budget, RunStatus.OPTIMAL, None, repeats=True)
        stages = tie_break(model, solver, first)
        self.index = kept_index(self.index, model.scenario)
        plan, _most = make_verified_plan(model, 1, stages, deadline=deadline, index=self.index)
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


#: Old names of what moved to `planner.solving.bound_chain`.
_unit_scaling = unit_scaling
