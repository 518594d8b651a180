"""Many solves of one scenario's variants on one model and one HiGHS instance.

Why: the reach–budget frontier (`planner.solving.budget_chain`) and the explanations of
plan 1 (SPEC §6, `planner.explain`) solve the same scenario again and again with a
little changed: the budget, an option or offer left out or forced in, a limit loosened.
A cold `planner.solve` per change builds, conditions and hands over the model each
time and lets HiGHS restart its search after the root. Here one HiGHS instance is kept
(`HeldModel`) and each variant's model, built and conditioned for it (milliseconds at
S), is handed over as the changes from the model HiGHS holds: column bounds
(`changeColsBounds`), row bounds (`changeRowBounds`) and coefficients (`changeCoeff`).
So HiGHS holds exactly the variant's model, as a cold solve would, and the answer is
the cold solve's; only the rebuild, the hand-over and the restart are saved. A model
whose layout differs (other columns, rows, integrality or objectives) is handed to a
new instance.

`ReachChain` answers "the best weighted reach of this variant" alone (the reach stage,
no tie-break): what an explanation needs (SPEC §6 intervals are of weighted reach).

Every answer is a function of the variant and the start alone: the instance's solution
and basis are cleared before each solve, and the held model is the variant's in every
array, so the order of earlier solves does not matter. Only models conditioned in the
scenario's own units (no scaling, which `planner.model.conditioning` chooses per
model) are held; others get `None` (the caller solves them cold).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from planner.model.common import BuildTimeout, canonical_order, extract_decisions
from planner.model.conditioning import condition
from planner.model.matrix_model import MatrixModel, build_matrix_model
from planner.scenario.data import Scenario
from planner.solving.ranking import SOLVE_RESERVE
from planner.solving.result import Termination
from planner.solving.solver import MatrixSolver
from planner.solving.stages import (
    SolverTroubleError,
    best_start,
    user_amounts,
    within_lp_bound,
)

#: Longest wait for HiGHS to notice a solve's deadline before the solve is given up.
GRACE = 0.5

#: The relative gap to which a `ReachChain` proves a best reach when the scenario asks
#: for 0: half SPEC §3's tolerance (1e-6), so a proven answer's bound and value are one
#: value by SPEC's own rule, and HiGHS stops once no node can lift the reach by more.
REACH_GAP = 5e-7


class ChainSolver(MatrixSolver):
    """`MatrixSolver` without HiGHS's restart after root reductions nor its
    feasibility-jump heuristic.

    Restart: measured on S's frontier budgets, it rebuilds the search on a model a
    tenth smaller and costs more than it saves (reach stage 0.19 → 0.09 s, the same
    optima); the merged tie-break already runs without it. Feasibility jump: a chain's
    solves start from a related plan, and without it a walk of S's frontier took 2.1 s
    of CPU instead of 2.36 (a primal heuristic: no proof depends on it). Both only on
    models that `MatrixSolver` counts as small (up to `SMALL_MODEL_NONZEROS`): there
    they were measured."""

    def _options(self, presolve: str, remaining: float) -> dict[str, bool | float | str | int]:
        options = super()._options(presolve, remaining)
        if not self.large:
            options["mip_allow_restart"] = False
            options["mip_heuristic_run_feasibility_jump"] = False
        return options


class HeldModel:
    """One `ChainSolver` and the model its HiGHS instance holds now."""

    def __init__(self) -> None:
        self.model: MatrixModel | None = None
        self.solver: ChainSolver | None = None
        self.rebuilt = 0
        """How many times a model was handed to a new HiGHS instance (for tests)."""

    def drop(self) -> None:
        """Forget the instance (its solve was abandoned, its thread may still run)."""
        self.model, self.solver = None, None

    def hold(
        self,
        model: MatrixModel,
        *,
        upper: np.ndarray | None = None,
        only_rows: slice | None = None,
    ) -> ChainSolver:
        """The solver, its HiGHS instance holding `model` with column upper bounds `upper`
        (default the model's): the instance held already, with what differs moved, when
        `model` has the held one's layout; else a new instance.

        `only_rows`: when given, the held instance is kept only if `model` differs from
        the held model in those rows' upper sides alone (and column bounds); otherwise
        column bounds, row bounds and coefficients may all differ.
        """
        held, solver = self.model, self.solver
        if held is None or solver is None or not _reusable(held, model, only_rows):
            solver = ChainSolver(model, deadline=math.inf, mip_gap=model.settings.mip_gap)
            self.solver = solver
            self.rebuilt += 1
        else:
            _move_rows(solver, held, model)
        self.model = model
        # What HiGHS holds now: the last solve's bounds (a new instance: the model's own).
        holds = solver.model
        upper = model.col_upper if upper is None else upper
        lower = model.col_lower
        moved = np.flatnonzero((upper != holds.col_upper) | (lower != holds.col_lower))
        moved = moved.astype(np.int32)
        if len(moved):
            solver.highs.changeColsBounds(len(moved), moved, lower[moved], upper[moved])
        solver.model = replace(model, col_upper=upper)
        return solver


def _reusable(held: MatrixModel, model: MatrixModel, only_rows: slice | None) -> bool:
    """Whether the instance holding `held` can be made to hold `model` by moving bounds
    and coefficients (`only_rows`: by moving those rows' upper sides and column bounds)."""
    if (
        held.blocks != model.blocks
        or held.option_ids != model.option_ids
        or held.offer_ids != model.offer_ids
        or held.n_cols != model.n_cols
        or held.n_rows != model.n_rows
        or not np.array_equal(held.integrality, model.integrality)
        or held.objectives.keys() != model.objectives.keys()
        or not all(np.array_equal(held.objectives[k], model.objectives[k]) for k in held.objectives)
    ):
        return False
    if only_rows is None:
        return True
    other = np.ones(model.n_rows, dtype=bool)
    other[only_rows] = False
    same = (
        np.array_equal(held.col_lower, model.col_lower)
        and np.array_equal(held.col_upper, model.col_upper)
        and np.array_equal(held.row_start, model.row_start)
        and np.array_equal(held.row_index, model.row_index)
        and np.array_equal(held.row_value, model.row_value)
        and np.array_equal(held.row_lower, model.row_lower)
        and np.array_equal(held.row_upper[other], model.row_upper[other])
    )
    return bool(same)


def _move_rows(solver: ChainSolver, held: MatrixModel, model: MatrixModel) -> None:
    """Move the bounds and coefficients of every row where `model` differs from `held`."""
    highs = solver.highs
    bounds = (held.row_lower != model.row_lower) | (held.row_upper != model.row_upper)
    for moved in np.flatnonzero(bounds):
        highs.changeRowBounds(int(moved), model.row_lower[moved], model.row_upper[moved])
    for row in _rows_with_other_coefficients(held, model):
        was = _row_entries(held, row)
        now = _row_entries(model, row)
        for col in sorted(was.keys() | now.keys()):
            value = now.get(col, 0.0)
            if was.get(col, 0.0) != value:
                highs.changeCoeff(row, col, value)


def _rows_with_other_coefficients(held: MatrixModel, model: MatrixModel) -> list[int]:
    if np.array_equal(held.row_start, model.row_start) and np.array_equal(
        held.row_index, model.row_index
    ):
        entries = np.flatnonzero(held.row_value != model.row_value)
        if not len(entries):
            return []
        rows = np.searchsorted(model.row_start, entries, side="right") - 1
        return sorted({int(r) for r in rows})
    return [r for r in range(model.n_rows) if _row_entries(held, r) != _row_entries(model, r)]


def _row_entries(model: MatrixModel, row: int) -> dict[int, float]:
    part = slice(int(model.row_start[row]), int(model.row_start[row + 1]))
    return {
        int(c): float(v)
        for c, v in zip(model.row_index[part], model.row_value[part], strict=True)
        if v != 0.0
    }


def unit_scaling(model: MatrixModel) -> bool:
    """Whether conditioning left every column, row and objective in the scenario's units."""
    scaling = model.scaling
    if scaling is None:
        return True
    return (
        bool(np.all(scaling.columns == 1.0))
        and bool(np.all(scaling.rows == 1.0))
        and all(factor == 1.0 for factor in scaling.objectives.values())
    )


@dataclass(frozen=True)
class ReachAnswer:
    """The best weighted reach of one variant, as far as its solve went.

    `termination`: "optimal" (proven to the gap asked), "infeasible" (no plan meets
    the variant's limits and decisions) or "time_limit". `reach` and the plan
    (`options`, `offers`, `cofinancing` as (offer, option, amount)) are the best found
    (None and empty without one); `bound` is an upper bound on every plan's weighted
    reach when one is known. Figures are the model's, in the scenario's units: the
    caller checks the plan independently before relying on it.
    """

    termination: str
    reach: float | None
    bound: float | None
    options: tuple[str, ...] = ()
    offers: tuple[str, ...] = ()
    cofinancing: tuple[tuple[str, str, float], ...] = ()


class ReachChain:
    """The best weighted reach of variants of `scenario`, one after another, on one held
    model (`best_reach`)."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = canonical_order(scenario)
        self.held = HeldModel()

    @property
    def rebuilt(self) -> int:
        """How many times a model was handed to a new HiGHS instance (for tests)."""
        return self.held.rebuilt

    def best_reach(
        self,
        variant: Scenario,
        *,
        start: Sequence[str] = (),
        time_limit: float | None = None,
        gap: float | None = None,
    ) -> ReachAnswer | None:
        """The most weighted reach of a plan meeting `variant`'s limits and decisions,
        started from the options `start`, within `time_limit` seconds (default the
        variant's `time_limit_s`), proven to the relative `gap` (default: the variant's
        `mip_gap`, or `REACH_GAP` when that is 0).

        `variant` is `scenario` with settings, decisions, capacities or caps changed,
        never its options, markets or coverage. None when its model is not in the
        scenario's units (the caller then solves it cold). Raises `SolverTroubleError`
        on HiGHS's numerical trouble.
        """
        began = time.monotonic()
        limit = variant.settings.time_limit_s if time_limit is None else time_limit
        deadline = began + limit
        solve_deadline = deadline - min(max(0.05, SOLVE_RESERVE * limit), 0.25 * limit)
        try:
            model = condition(build_matrix_model(variant, deadline=solve_deadline))
        except BuildTimeout:
            return ReachAnswer("time_limit", None, None)
        if not unit_scaling(model):
            return None
        if bool((model.col_lower > model.col_upper).any()):
            return ReachAnswer("infeasible", None, None)  # a `must` no plan can take
        solver = self.held.hold(model)
        solver.deadline = solve_deadline
        solver.grace = min(GRACE, 0.5 * (deadline - solve_deadline))
        solver.rank_deadline = None
        wanted = model.settings.mip_gap if gap is None else gap
        solver.mip_gap = wanted if wanted > 0 else REACH_GAP
        solver.highs.clearSolver()  # the answer may not depend on earlier solves
        try:
            return self._reach(model, solver, start)
        finally:
            if solver.abandoned is not None:  # its thread may still be inside HiGHS
                self.held.drop()
                solver.scope.end(until=deadline)

    def _reach(self, model: MatrixModel, solver: ChainSolver, start: Sequence[str]) -> ReachAnswer:
        solver.clear_stage_rows()
        solver.use_objective("weighted_reach")
        first, lp_bound = best_start(model, solver, tuple(start), ())
        if first is not None:
            solver.set_start(first)
        result = within_lp_bound(solver.solve(), lp_bound)
        if result.termination in (Termination.UNBOUNDED, Termination.NUMERICAL):
            raise SolverTroubleError(f"HiGHS reported {result.termination}: {result.message}")
        if result.termination == Termination.INFEASIBLE:
            return ReachAnswer("infeasible", None, None)
        proven = result.termination == Termination.OPTIMAL
        bound = result.bound
        if bound is not None and result.incumbent is not None:
            bound = max(bound, result.incumbent)
        if not result.has_solution or result.incumbent is None:
            return ReachAnswer("optimal" if proven else "time_limit", None, bound)
        options, offers, amounts = extract_decisions(
            model, list(result.x), list(result.y), user_amounts(model, result)
        )
        return ReachAnswer(
            "optimal" if proven else "time_limit",
            float(result.incumbent),
            bound,
            options,
            offers,
            amounts,
        )
