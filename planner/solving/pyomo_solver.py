"""Solving a `PlanModel` with HiGHS through Pyomo's persistent interface (the reference path).

Why persistent: ranked plans add one no-good cut per plan and re-solve; the
persistent interface hands only the new rows to HiGHS instead of rebuilding.
Deadlines, interrupts, options and infeasibility confirmation are shared with
the direct path (`planner.solving.solver._HighsRun`). Imported only when the Pyomo
backend is asked for: importing Pyomo costs half a second.
"""

from __future__ import annotations

import io
import logging
import math
import time
from collections.abc import Sequence

import pyomo.environ as pyo
from pyomo.contrib.solver.common.factory import SolverFactory
from pyomo.contrib.solver.common.results import TerminationCondition

from planner.model.common import check_deadline
from planner.model.pyomo_model import PlanModel
from planner.solving.highs_instance import HIGHS_THREADS
from planner.solving.result import SolveResult, Termination, finite_or_none
from planner.solving.solver import SolveScope, _Abandoned, _HighsRun

#: Constraints handed to HiGHS between two deadline checks during `set_instance`.
HANDOFF_CHUNK = 2000


class _HideInterruptWarning(logging.Filter):
    """Pyomo logs HiGHS's user-interrupt status as unhandled; for us it is the deadline."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "kInterrupt" not in record.getMessage()


logging.getLogger("pyomo.contrib.solver.solvers.highs").addFilter(_HideInterruptWarning())


class PersistentSolver(_HighsRun):
    """One HiGHS instance bound to one `PlanModel` for a whole run.

    `deadline` is a `time.monotonic()` instant after which every solve stops,
    both through HiGHS's own time_limit and through the interrupt callback.

    Presolve is off by default. Measured on random SPEC-like models: HiGHS's
    MIP presolve spent 13 s of a 17 s solve on 5k options (0.6 s in all without
    it; 10k options: root LP at 4 s, proven optimal at 28 s), and presolve is
    the one phase no interrupt callback reaches, so it also broke the time
    limit. The model builder already drops fixed and redundant rows.

    Deadlines (measured on random SPEC-like models, highspy 1.16): during MIP
    root processing only the MIP interrupt callback fires (simplex and IPM
    interrupt callbacks never fire inside the MIP), and not between root cut
    rounds, whose LP re-solves take seconds on 10k options; HiGHS's own
    `time_limit` is not checked there either. So:

    - the hand-off to HiGHS (`set_instance`, seconds on 10k options) goes in
      chunks of `HANDOFF_CHUNK` constraints with a deadline check between
      them, raising `BuildTimeout` past `deadline`;
    - HiGHS runs in a worker thread (highspy releases the GIL) while this
      thread waits until `deadline + grace`. Past it the callback interrupts
      at its next chance, and if HiGHS has not returned `UNWIND_WAIT` later the
      solve is abandoned: it answers TIME_LIMIT without a solution, this
      instance refuses further solves, and the worker thread ends on its own
      at HiGHS's next interrupt check. Stage rows and cuts added after that
      stay in the Pyomo model: Pyomo hands changes to HiGHS only when it
      solves, which is refused, so the given-up instance is never touched.
    """

    def __init__(
        self,
        plan_model: PlanModel,
        *,
        deadline: float,
        mip_gap: float = 0.0,
        presolve: str = "off",
        grace: float = 0.0,
        scope: SolveScope | None = None,
    ) -> None:
        super().__init__(
            deadline=deadline, mip_gap=mip_gap, presolve=presolve, grace=grace, scope=scope
        )
        self.plan_model = plan_model
        self._opt = SolverFactory("highs")
        self._opt.config.raise_exception_on_nonoptimal_result = False
        self._opt.config.load_solutions = False
        self._opt.add_constraints = self._add_constraints_in_chunks
        self._opt._solve = self._solve_with_watchdog
        check_deadline(deadline, "handing the model to HiGHS")
        self._opt.set_instance(plan_model.model)
        self._highs = self._opt._solver_model  # the highspy object: only for callbacks
        self._watch(self._highs)

    def _add_constraints_in_chunks(self, cons) -> None:
        """Pyomo's `add_constraints` in chunks, checking the deadline between them."""
        add = type(self._opt).add_constraints
        for start in range(0, len(cons), HANDOFF_CHUNK):
            check_deadline(self.deadline, "handing the model to HiGHS")
            add(self._opt, cons[start : start + HANDOFF_CHUNK])

    def _solve_with_watchdog(self):
        """Pyomo's HiGHS `_solve`, with `run()` in a worker thread this thread can stop waiting for.

        Options are set as Pyomo would (every option in `solver_options`); the
        process-wide stdout capture Pyomo wraps around `run()` is left out, as
        HiGHS prints nothing with `output_flag` off and an abandoned solve must
        not keep the terminal captured.
        """
        opt = self._opt
        config = opt._active_config
        highs = opt._solver_model
        if config.threads is not None:
            highs.setOptionValue("threads", config.threads)
        for key, value in config.solver_options.items():
            highs.setOptionValue(key, value)
        self._run_watched(highs)
        return opt._postsolve(io.StringIO())

    def use_objective(self, name: str) -> None:
        """Activate one of `weighted_reach`, `net_spend`, `option_count` (SPEC §3 order)."""
        m = self.plan_model.model
        for objective in ("weighted_reach", "net_spend", "option_count"):
            component = getattr(m, objective)
            if objective == name:
                component.activate()
            else:
                component.deactivate()

    def hold(self, objective: str, limit: float) -> None:
        """Stage row (eq. 15): keep `objective` at least (maximised) or at most `limit`."""
        expr = getattr(self.plan_model, objective)
        tie_break = self.plan_model.model.tie_break
        tie_break.add(expr >= limit if objective == "weighted_reach" else expr <= limit)

    def clear_stage_rows(self) -> None:
        """Drop the previous rank's stage rows before the next rank's first stage."""
        for con in self.plan_model.model.tie_break.values():
            con.deactivate()

    def add_no_good_cut(self, option_columns: Sequence[int], rhs: float) -> None:
        """Eq. (14): Σ_{o∈S} x_o ≤ rhs over the given option indices."""
        m = self.plan_model.model
        m.no_good.add(sum(m.x[i] for i in option_columns) <= rhs)

    def _solve_once(self, presolve: str) -> SolveResult:
        start = time.monotonic()
        refused = self._refuse()
        if refused is not None:
            return refused
        remaining = self.deadline - start
        self.interrupted = False
        self._opt.config.solver_options = self._options(presolve, remaining)
        self._opt.config.threads = HIGHS_THREADS
        try:
            results = self._opt.solve(self.plan_model.model)
        except _Abandoned:
            seconds = time.monotonic() - start
            return SolveResult(Termination.TIME_LIMIT, None, None, seconds, message="abandoned")
        seconds = time.monotonic() - start
        tc = results.termination_condition
        if tc == TerminationCondition.convergenceCriteriaSatisfied:
            termination = Termination.OPTIMAL
        elif tc == TerminationCondition.maxTimeLimit or self.interrupted:
            termination = Termination.TIME_LIMIT
        elif tc == TerminationCondition.provenInfeasible:
            termination = Termination.INFEASIBLE
        elif tc in (TerminationCondition.infeasibleOrUnbounded, TerminationCondition.unbounded):
            # Presolve cannot tell these apart; the caller's second solve with
            # presolve off decides, and both infeasible and unbounded are
            # confirmed before anyone acts on them.
            termination = Termination.UNBOUNDED
        else:
            termination = Termination.NUMERICAL
        incumbent = results.incumbent_objective
        bound = results.objective_bound
        if incumbent is None or not math.isfinite(incumbent):
            return SolveResult(termination, None, finite_or_none(bound), seconds, message=str(tc))
        values = results.solution_loader.get_vars()
        m = self.plan_model.model

        def read(var: pyo.Var) -> tuple[float, ...]:
            # A variable in no row or objective never reaches HiGHS: its value
            # is its lower bound (1 for `must`, else 0).
            return tuple(float(values.get(v, v.lb or 0.0)) for v in var.values())

        return SolveResult(
            termination,
            float(incumbent),
            finite_or_none(bound),
            seconds,
            x=read(m.x),
            y=read(m.y),
            z=read(m.z),
            u=read(m.u),
            message=str(tc),
        )
