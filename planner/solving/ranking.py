"""Ranked plans (SPEC §4): the best plan, then the best plan unlike every earlier one.

Each plan is found in three lexicographic stages on one persistent model
(formulation eq. 15, `planner.solving.stages`): maximise weighted reach; holding it
within the SPEC tolerance, minimise net spend; holding both, minimise the
number of options (one exact objective instead when the data are integral,
choice 16). On small models, once a rank is proven, each rank's reach stage runs before
the tie-break of the rank before it, which then searches only that plan's neighbourhood,
and with a second core the next rank's reach stage runs beside it on a guess
(`planner.solving.reach_flight`, choice 19); on large models, a rank's tie-break is proven
beside the next rank's reach stage (`planner.solving.tie_break_lane`, choice 15). After a
plan is returned, a no-good cut over the option binaries (eq. 14) makes every later
plan leave out at least `min_plan_difference` of its options.
Cuts refer to plans actually returned, so ties may be broken either way
(SPEC §4) and the list stays well defined. Plans cut short by their share of the
time may come out worse than a later one: they are listed best first at the end
(`planner.solving.plan_order`).

Every plan is checked by `planner.checks.verify` before it is returned; a plan that
fails is an internal error (`PlanVerificationError`), never output.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from planner.checks.verify import PlanVerificationError
from planner.model.common import BuildTimeout, canonical_order, extract_decisions
from planner.model.conditioning import condition, reach_limits
from planner.model.matrix_model import MatrixModel, build_matrix_model
from planner.plan import (
    Plan,
    PlanSet,
    Progress,
    ProgressEvent,
    ProgressStage,
    RunStatus,
    reach_gap,
)
from planner.scenario.data import Scenario
from planner.solving.cofinancing import EligiblePairs
from planner.solving.diagnose import (
    NO_REACH_LEAD,
    NOTHING_REACHED,
    Diagnosis,
    decision_conflicts,
    diagnose_infeasibility,
)
from planner.solving.lp_start import expected_lp_seconds
from planner.solving.model_rows import ExtraRow, neighbourhood_row, no_good_row
from planner.solving.plan_maker import (
    PROCESS_MIN_LIMIT_S,
    PROCESS_OPTIONS,
    PlanMaker,
    PlanMakingProcess,
)
from planner.solving.plan_making import PlanOrder, order_of
from planner.solving.plan_order import in_spec_order, with_replacement
from planner.solving.race import cores_available
from planner.solving.reach_flight import ReachFlight, options_of
from planner.solving.result import REL_TOL, SolveResult, Termination, tolerance
from planner.solving.solver import MatrixSolver, SolveScope
from planner.solving.stages import (
    RINS_MIN_NONZEROS,
    SolverTroubleError,
    Stages,
    StageWatch,
    objective_tolerance,
    reach_stage,
    start_layout,
    tie_break,
    tie_break_reader,
    user_reach,
)
from planner.solving.start_hint import hinted_start
from planner.solving.tie_break_lane import TieBreakLane

if TYPE_CHECKING:  # the Pyomo reference path is imported only when asked for
    from planner.model.pyomo_model import PlanModel
    from planner.solving.pyomo_solver import PersistentSolver

#: Least time between two progress events within a rank (seconds).
PROGRESS_INTERVAL = 0.5


#: Which model builder and HiGHS hand-off `rank_plans` uses: "highs" (numpy arrays
#: passed to highspy directly, `planner.model.matrix_model`) or "pyomo" (the reference
#: formulation of `planner.model.pyomo_model` through Pyomo's persistent HiGHS interface).
Backend = Literal["highs", "pyomo"]

#: A rank whose bound on weighted reach is below this share of the weighted-reach
#: objective's largest term is solved again on a model narrowed to it (`_narrowed`):
#: far below what HiGHS's tolerances tell apart at the model's scale.
NARROW_BELOW = 1e-6

#: Share of the time limit kept back from the solver for unwinding and verification.
SOLVE_RESERVE = 0.04

#: Time kept back per option and Coverage row for turning the last solution into a
#: verified plan (co-financing LP, recomputation, checks): measured 1.3 s for 50,000
#: options and 200,000 Coverage rows, plus up to `MAX_GRACE` of waiting for HiGHS to
#: stop; 3.5 s is kept there (a solve given up at the deadline still runs on the
#: other core meanwhile). Twice that left XL runs ending 2.2 s early, idle.
VERIFY_SECONDS_PER_ROW = 1.4e-5

#: `PlanSet.timings` keys: seconds in reach stages and in tie-breaks on the main solver.
REACH_TIMING = "reach stages"
TIE_BREAK_TIMING = "tie-breaks"
#: Seconds the main solver waited for a tie-break running beside (the rest overlapped).
LANE_WAIT_TIMING = "tie-breaks beside, waited for"

#: Solutions of earlier reach stages kept as candidate starts of later ranks.
POOL_KEPT = 256

#: A later rank on a large model searches only when its share holds this many root LPs
#: (`_root_out_of_reach`); else it answers with its start.
ROOT_LPS_PER_SEARCH = 2.0

#: Seconds kept, on models with neighbourhood rounds, for each rank after plan 1 (the repair
#: of the last plan into a start, its refill, its verification), plus as many per nonzero:
#: measured with the model's layout kept across ranks (`GreedyLayout`) and the last plan's
#: co-financing kept by its repair, L (229k nonzeros) 0.35 s each, XL (1.14M) 1.3-2.0 s
#: on a quiet machine and 3.3 s in the benchmark's pipeline on a loaded one (its plan's
#: verification 1.1 s): L 0.9 s and XL 3.3 s are kept.
LATER_RANK_S = 0.3
LATER_RANK_S_PER_NONZERO = 2.6e-6
#: At most this share of the time left is kept for the later ranks: plan 1 is the plan
#: most read, and XL's later ranks would otherwise take all but its greedy plan's time
#: (XL: plan 1's gap is its LP bound's either way, 0.99 %).
LATER_RANKS_MOST = 0.6

#: Longest wait for HiGHS to notice the deadline before its solve is given up.
MAX_GRACE = 1.0

#: Seconds the last of many unproven ranks leaves for replacing the weakest plan
#: (`_replace_weakest`), at most `REPLACING_MOST` of its share: M's 24 single drops of the
#: best plan take 0.35-0.6 s and the plan made of the best 0.1 s more, while HiGHS, told
#: to stop at the share's end, leaves only ~0.5 s of each second kept back. With 1.5 s
#: (at most 0.3 of the share) one plan was replaced and the next weakest, the last rank's
#: (9,272.6, 0.101 %), stayed for want of time; with 3 s two are, and every plan ends
#: within 0.1 % once a plan near 9,276 was found.
REPLACING_S = 3.0
REPLACING_MOST = 0.5


def rank_plans(
    scenario: Scenario,
    *,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.monotonic,
    started: float | None = None,
    after: float = 0.0,
    backend: Backend = "highs",
    threads: int | None = None,
    start: Collection[str] = (),
) -> PlanSet:
    """Up to `settings.plans` ranked plans for `scenario`, within `settings.time_limit_s`.

    `started` is the `clock()` instant the user's run began (for the command
    line: before the workbook was read), so the limit covers the whole run;
    by default the run begins now. `after` is the time the caller still needs
    once this returns (writing the outputs); it is kept back from the solves,
    up to a quarter of the limit. `backend` picks the model builder: the
    direct numpy/highspy path by default (build and hand-off in a fraction of a
    second at 50k options), or "pyomo", the readable reference formulation.

    `threads` is how many cores this call may use. With 1, HiGHS alone on one
    core. With 2 or more, CBC may race HiGHS on solves that last, where a CBC
    binary exists (`planner.solving.race`), and a rank's tie-break may run beside
    the next rank's reach stage (`planner.solving.tie_break_lane`); HiGHS itself
    always runs one thread (`planner.solving.highs_instance.HIGHS_THREADS`). None
    means the cores this process may run on; callers that already run one
    solve per core (sweeps, parallel workers) pass 1. Whatever `threads` is,
    the plans are the same when the solves end within the limit.

    `start` names options of a related plan (the previous point of a frontier):
    rank 1's reach stage starts from the best feasible plan made of them
    (`planner.solving.start_hint`; the direct backend only). A hint, never a
    constraint: proven plans are those of a call without it, and a solve cut
    short still answers with at least that start's weighted reach.

    Nothing of the call reaches beyond it: a stop (`stop_all_solves`) ends
    the solves of the calls running then, not later ones, and the threads of
    solves given up at the deadline are waited for, until the deadline,
    before this returns (one still inside HiGHS then ends at HiGHS's next
    interrupt check).

    `progress`, if given, is called with a `ProgressEvent` as each rank
    begins, every `PROGRESS_INTERVAL` s or so while HiGHS works on it (best
    weighted reach so far, bound, gap) and as each plan is kept; always from
    the thread that called this, never from HiGHS's own (`SolveScope.tick_with`).
    If it raises, it is not called again (a `RuntimeWarning` says so) and the
    plans are those of a run without it.

    Infeasible scenarios come back with status `infeasible` and a diagnosis;
    running out of time before any plan gives `no_solution`. Raises
    `PlanVerificationError` or `SolverTroubleError` only for internal faults,
    and `ValueError` for a `threads` that is not a whole number of at least 1.
    """
    cores = _cores(threads)
    return _Ranking(
        scenario,
        progress=progress,
        clock=clock,
        started=started,
        after=after,
        cores=cores,
        hint=tuple(start),
    ).run(backend)


def _cores(threads: int | None) -> int:
    """How many cores a call may use: `threads`, or by default what this process may use."""
    if threads is None:
        return cores_available()
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a whole number of at least 1 or None, not {threads!r}")
    return threads


#: After an error or interrupt, how long the call still waits for its solves to end.
STOP_WAIT = 5.0


class _Ranking:
    """One call of `rank_plans`: its limits, its solvers, and the plans kept so far.

    The call reads as its steps: `run` builds the model and solver (`_build`),
    ranks (`_rank_all`: per rank, `_reach` with `_settle_lane`, `_verdict`, then
    `_overlap` or `_tie_break`, each plan checked by `_keep`), ends every solve
    it started (`_release`) and reports (`_final`).
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        progress: Progress | None,
        clock: Callable[[], float],
        started: float | None,
        after: float,
        cores: int,
        hint: tuple[str, ...] = (),
    ) -> None:
        self.scenario = scenario = canonical_order(scenario)  # any row order, same plans
        self.hint = hint
        """Options of a related plan: rank 1's reach stage starts from them."""
        self.settings = settings = scenario.settings
        self.progress = progress
        self.clock = clock
        self.entered = clock()
        self.start = self.entered if started is None else started
        limit = settings.time_limit_s
        self.deadline = self.start + limit - min(max(0.0, after), 0.25 * limit)
        # HiGHS notices an interrupt only between steps (measured: up to ~0.3 s late on
        # 5k options) and then needs time to unwind; verification follows. Solves
        # therefore stop a little early so the whole run keeps within the limit.
        size = len(scenario.options) + len(scenario.coverage)
        reserve = max(0.05, SOLVE_RESERVE * limit, VERIFY_SECONDS_PER_ROW * size)
        self.solve_deadline = self.deadline - min(reserve, 0.25 * limit)
        # Past solve_deadline the watchdog waits up to half the reserve (at most
        # MAX_GRACE) more for HiGHS, then stops waiting; the rest is for
        # verification and unwinding.
        self.grace = min(MAX_GRACE, 0.5 * (self.deadline - self.solve_deadline))
        self.cores = cores
        self.wanted = settings.plans
        self.d = settings.min_plan_difference
        self.timings: dict[str, float] = {}
        self.scope = SolveScope()
        """This call's stop signal and given-up threads, shared by all its solvers."""
        self.plans: list[Plan] = []
        """The plans made and checked so far, in the order kept (`_take`)."""
        self.orders: list[PlanOrder] = []
        """What each rank kept decided, in the order kept: known before its plan is made
        (`maker`), so the ranks after it read their cuts and starts from it."""
        self.maker: PlanMaker | None = None
        """Where kept ranks' plans are made and checked (`_plan_maker`)."""
        self.failure: PlanVerificationError | None = None
        """A plan's failed check, noticed while a solve ran: raised at the next step."""
        self.estimated_cofinancing: list[int] = []
        """Ranks whose co-financing amounts are the solve's own (`max_cofinancing`)."""
        self.stop_reason = ""
        self.timed_out = False
        self.lane: TieBreakLane | None = None
        self.rank_deadline: float | None = None
        """When the share of the rank being found ends (`_share_time`)."""
        self.unsearched = False
        """Whether the rank being found answers with its start, without a search
        (`_root_out_of_reach`): then its tie-break is not searched either."""
        self.pool: list[np.ndarray] = []
        """Solutions of earlier reach stages, starts for later ranks (`_gather_solutions`)."""
        self.pool_of: dict[int, list[np.ndarray]] = {}
        """The same solutions by the rank whose reach stage passed through them (`_chain`)."""
        self._early = False
        """Whether rank 2's flight may be launched while rank 1 is solved (`_fly_early`)."""
        self.flights: dict[int, ReachFlight] = {}
        """Reach stages of ranks not yet kept, each on its own solver (`_chain`)."""
        self.flight_starts: dict[int, np.ndarray] = {}
        """Rank -> the start its flight solved from (`_prior`)."""
        self.solutions: dict[int, np.ndarray] = {}
        """Rank (as found) -> the solve's vector of its plan, on the model held now."""
        self.pending: tuple[str, ...] | None = None
        """Options of the last rank while its tie-break runs in `lane` (already cut)."""
        self.pending_reach: SolveResult | None = None
        """The reach stage the lane's tie-break holds, while it runs."""
        self.ceiling = sum(m.weight * m.addressable for m in scenario.markets)
        self.watch = StageWatch()
        """How the stage running now stands (set by the stages, read by `_tick`)."""
        self.watching: dict[str, Any] = {"watch": self.watch} if progress else {}
        """The stages' keyword arguments: a watch only when someone listens."""
        self.showing = 0
        """The rank progress events within a rank speak of."""
        self.next_progress = -math.inf
        """The `clock()` instant before which `_tick` reports nothing."""

    # -- the call ---------------------------------------------------------------

    def run(self, backend: Backend) -> PlanSet:
        """The whole call: build, rank, end every solve, report."""
        returned = False
        self.scope.open()
        self.scope.tick_with(self._on_tick)
        try:
            outcome = self._run(backend)
            returned = True
            return outcome
        finally:
            self._release(returned)

    def _run(self, backend: Backend) -> PlanSet:
        if decision_conflicts(self.scenario):
            diagnosis = self._diagnose()
            return self._result(RunStatus.INFEASIBLE, diagnosis.summary, diagnosis.text)
        try:
            self._build(backend)
        except BuildTimeout as exc:
            self.timings["build"] = self.clock() - self.entered
            return self._result(
                RunStatus.NO_SOLUTION,
                f"No plan was found within the time limit of {self.settings.time_limit_s:g} s: "
                f"{exc}.",
            )
        self.timings["build"] = self.clock() - self.entered
        early = self._rank_all()
        if early is not None:
            return early
        self._take_all()
        self._replace_weakest()
        return self._final()

    def _build(self, backend: Backend) -> None:
        """The model and the solver holding it, within the solve deadline."""
        settings = self.settings
        self.pm: PlanModel | MatrixModel
        self.solver: PersistentSolver | MatrixSolver
        if backend == "pyomo":
            from planner.model.pyomo_model import build_model
            from planner.solving.pyomo_solver import PersistentSolver

            self.pm = build_model(self.scenario, deadline=self.solve_deadline)
            self.solver = PersistentSolver(
                self.pm,
                deadline=self.solve_deadline,
                mip_gap=settings.mip_gap,
                grace=self.grace,
                scope=self.scope,
            )
        else:
            # In numbers HiGHS can take: limits that can never bind dropped, the rest in scale.
            self.pm = condition(build_matrix_model(self.scenario, deadline=self.solve_deadline))
            self.solver = self._matrix_solver(self.pm)
        self.must = {o for o, d in self.pm.option_decisions.items() if d == "must"}
        self.maker = self._plan_maker()
        self.overlap = self.cores >= 2 and self.wanted > 1 and isinstance(self.solver, MatrixSolver)
        self._early = (
            self.overlap
            and isinstance(self.solver, MatrixSolver)
            and not self.solver.large
            and not self._searched()
        )
        """Whether a rank's tie-break may run in the lane beside the next reach stage."""

    def _plan_maker(self) -> PlanMaker:
        """Where the kept ranks' plans are made: by a second process for several plans of a
        large model with a core to spare (`planner.solving.plan_maker`), else here."""
        pm = self.pm
        eligible = EligiblePairs.of_model(pm) if isinstance(pm, MatrixModel) else None
        if (
            isinstance(pm, MatrixModel)
            and self.cores >= 2
            and self.wanted >= 2
            and len(pm.scenario.options) >= PROCESS_OPTIONS
            and self.settings.time_limit_s >= PROCESS_MIN_LIMIT_S
        ):
            return PlanMakingProcess(pm.scenario, eligible)
        return PlanMaker(pm.scenario, eligible)

    def _matrix_solver(self, mm: MatrixModel) -> MatrixSolver:
        """HiGHS holding `mm` for this call (its deadline, gap, cores and scope)."""
        solver = MatrixSolver(
            mm,
            deadline=self.solve_deadline,
            mip_gap=self.settings.mip_gap,
            grace=self.grace,
            race=self.cores >= 2,
            scope=self.scope,
        )
        solver.spare_core_taken = lambda: (
            (self.lane is not None and self.lane.busy)
            or any(flight.busy for flight in self.flights.values())
        )
        # Where CBC does not race (above M), the second core is HiGHS's while the start
        # search runs on the first (`planner.solving.beside_search`).
        solver.search_beside = self.cores >= 2 and solver.large and not solver.race
        return solver

    def _release(self, returned: bool) -> None:
        """End every solve this call started and wait for their threads, bounded.

        After a normal return the wait lasts at most until the run's deadline;
        after an error or interrupt at most `STOP_WAIT` more. A thread still
        inside HiGHS then ends on its own at HiGHS's next interrupt check.
        """
        self.scope.tick_with(None)
        if self.maker is not None:
            self.maker.close()
        if self.lane is not None:
            self.lane.close()  # an error or early return leaves no tie-break running
        self._cancel_flights()
        left = max(0.0, self.deadline - self.clock())
        if not returned:
            left = min(left, STOP_WAIT)
        self.scope.end(until=time.monotonic() + left)

    # -- ranks ------------------------------------------------------------------

    def _rank_all(self) -> PlanSet | None:
        """Rank after rank until enough plans, no more, or no more time; an infeasible
        scenario's answer comes back at once, otherwise None (then `_final` reports)."""
        k: int | None = 1
        while k is not None and k <= self.wanted:
            step = self._rank(k)
            if isinstance(step, PlanSet):
                return step
            k = step
        return None

    def _rank(self, k: int) -> PlanSet | int | None:
        """Rank k (and, once its reach stage is proven on a small model, the ranks after it:
        `_chain`). The next rank to find, None when ranking ends, or the answer for an
        infeasible scenario."""
        self.showing = k
        if self.pending is None:  # else rank k-1 is still being settled: it comes first
            self._report(ProgressStage.BEGIN)
        if self.pending is None and self._short_plan():
            return None
        if self.pending is None and self._out_of_time():
            return None
        self._share_time(k)
        first = self._reach(k)
        if first is None:
            return None
        self._gather_solutions(first, k)
        verdict = self._verdict(k, first)
        if isinstance(verdict, PlanSet):
            return verdict
        if not verdict:
            return None
        if self._chaining(k, first):
            return self._chain(k, first)
        self._cancel_flights()  # one launched early (`_fly_early`) is not wanted
        if self._overlap(k, first):
            return k + 1
        if not self._tie_break(k, first):
            return None
        return k + 1

    def _out_of_time(self) -> bool:
        """Whether the run is stopped or past its solve deadline, so no rank may begin (a
        refused solve would still answer with its start, a plan found without a search)."""
        if self.clock() < self.solve_deadline and not self.scope.stop.is_set():
            return False
        self.timed_out = True
        self.stop_reason = self._time_limit_reason()
        return True

    def _gather_solutions(
        self,
        answer: SolveResult,
        rank: int,
        solver: PersistentSolver | MatrixSolver | None = None,
    ) -> None:
        """Keep the plans the rank's reach stage passed through, and its answer: later ranks
        start from the best of them that meets their cuts, and the next rank's repair of
        the last plan keeps that answer's co-financing (`stages.best_start`). Only the reach
        stage's, and only the one whose answer is used (not a stage solved again after a
        wrong speculation): so the pool, and with it every start, is the same whether
        tie-breaks run beside the next rank (two cores) or after it (one)."""
        solver = self.solver if solver is None else solver
        if isinstance(solver, MatrixSolver):
            found = list(solver.last_solutions())
            if answer.has_solution:
                found.append(np.asarray(answer.columns(), dtype=np.float64))
            self.pool.extend(found)
            del self.pool[:-POOL_KEPT]
            self.pool_of[rank] = found

    def _share_time(self, k: int) -> None:
        """Give rank k its share of the time left: an equal part for each rank still to
        find, k included (SPEC §4). Its solves stop at the share's end once they hold a
        plan, which is then kept with its gaps, so the ranks after it still get their
        turn; time a rank leaves unused goes to those after it. The last rank has all
        that is left, less the time kept for replacing the weakest plan (`_replacing`)."""
        left = self.wanted - k + 1
        now = self.clock()
        share = None if left <= 1 else now + (self.solve_deadline - now) / left
        if share is None and self._replacing():  # the last rank leaves time for it
            kept_back = min(REPLACING_S, REPLACING_MOST * (self.solve_deadline - now))
            share = self.solve_deadline - kept_back
        self.rank_deadline = share
        self.solver.rank_deadline = share
        self.solver.heuristics_end = None
        self.solver.improve_until = None
        if k == 1 and self._searched():
            self._plan_one_search(now)
        self.unsearched = k > 1 and self._searched() and self._root_out_of_reach(now)
        self.solver.start_only = self.unsearched

    def _plan_one_search(self, now: float) -> None:
        """Plan 1's start search on models with neighbourhood rounds: the whole time a
        one-plan run gives it, less the time each later rank asked for is expected to
        take (`LATER_RANK_S`, at most `LATER_RANKS_MOST` of the time left); the start
        found is then improved by swaps (`improved_by_swaps`: to that end with later
        ranks; alone, in what the LP-guided search leaves, before HiGHS's own search).

        Why: the later ranks of such models answer with their start, each in about a
        second (`_root_out_of_reach`), and each start is the last plan less an option,
        refilled: a swap. Without swaps on plan 1 those ranks climbed above it (L: plan
        10 reached 0.34 % more than plan 1), and without the time kept for them the last
        ranks were not found."""
        later = self.wanted - 1
        assert isinstance(self.pm, MatrixModel)
        per_rank = LATER_RANK_S + LATER_RANK_S_PER_NONZERO * len(self.pm.row_value)
        left = self.solve_deadline - now
        end = self.solve_deadline - min(later * per_rank, LATER_RANKS_MOST * left)
        if later and end - now < per_rank:  # too short for both: equal shares
            return
        self.solver.heuristics_end = end  # the search itself ends at SEARCH_SHARE of it
        self.solver.improve_until = end

    def _root_out_of_reach(self, now: float) -> bool:
        """Whether the rank's share ends before HiGHS could solve the root LP twice over
        (`ROOT_LPS_PER_SEARCH` × `expected_lp_seconds`): a search cut off there only
        hands back its start. On models with neighbourhood rounds (L and up) later ranks
        then answer with their start — the best plan of the pool, or the last plan
        repaired, that meets every cut — at once, with the previous rank's bound (L, 10
        plans: each later rank's HiGHS solve, 2–4 s, returned its start unchanged, and
        the last ranks found no time)."""
        end = self.rank_deadline if self.rank_deadline is not None else self.solve_deadline
        assert isinstance(self.pm, MatrixModel)
        return end - now < ROOT_LPS_PER_SEARCH * expected_lp_seconds(self.pm)

    def _searched(self) -> bool:
        """Whether plan 1's start comes from the LP-guided search with neighbourhood rounds
        (models of `RINS_MIN_NONZEROS` and more, L and up): that search needs the whole
        time a one-plan run gives it, and plan 1 of many then gets it too (L, 10 plans:
        plan 1 0.53 % from its bound, as alone, against 3.9 % within a tenth of the time;
        its later ranks start from it). Below, HiGHS's own search within the share does
        better (M: plan 1 0.15 % within a tenth, 0.88 % after the search's whole time)."""
        pm = self.pm
        return isinstance(pm, MatrixModel) and len(pm.row_value) >= RINS_MIN_NONZEROS

    def _clocked(self, name: str, began: float) -> None:
        """Add the time since `began` to the timing `name` (where a run's time goes)."""
        self.timings[name] = self.timings.get(name, 0.0) + self.clock() - began

    def _reach(self, k: int) -> SolveResult | None:
        """Rank k's reach stage, with rank k-1's tie-break settled (if it ran in the lane);
        None when ranking stops there."""
        began = self.clock()
        waited = self.timings.get(LANE_WAIT_TIMING, 0.0)
        try:
            return self._reach_settled(k)
        finally:  # the wait for the lane's tie-break is its own timing
            self._clocked(REACH_TIMING, began)
            self.timings[REACH_TIMING] -= self.timings.get(LANE_WAIT_TIMING, 0.0) - waited

    def _reach_settled(self, k: int) -> SolveResult | None:
        first = reach_stage(self.pm, self.solver, **self._reach_options())
        if self.pending is None:
            return first
        speculated = self.pending
        options = self._settle_lane(k - 1)
        if self.timed_out:
            self.stop_reason = self._time_limit_reason()
            return None
        if set(options) != set(speculated):
            # The tie-break chose other options: cut those, and find rank k again.
            assert isinstance(self.solver, MatrixSolver)
            self.solver.drop_last_cut()
            self._cut(options)
            if self._short_plan():
                return None
            first = reach_stage(self.pm, self.solver, **self._reach_options())
        return self._narrowed(first)

    def _narrowed(self, first: SolveResult) -> SolveResult:
        """Rank k's reach stage again on a model conditioned for the plans left, when its
        bound is below what HiGHS can tell apart at the model's present scale.

        Why: with one market weighing 1e20 (or reaching 1e15) among ordinary ones,
        the objective is scaled for the plans that reach it; once those are returned,
        the rest differ by less than HiGHS's tolerances at that scale, and an empty
        plan would look as good as a real one. Every plan left has weighted reach at
        most the stage's bound B, so each market's reach is bounded by B / weight
        (`planner.model.conditioning.reach_limits`): the model is rebuilt with those
        bounds, conditioned anew, given the cuts of the plans returned, and solved
        again. Only when some market can still be reached within B (else every plan
        left has weighted reach 0, as the stage says).
        """
        most = self._narrowing_bound(first)
        if most is None:
            return first
        raw = build_matrix_model(self.scenario, deadline=self.solve_deadline)
        if not (reach_limits(raw, most) > 0).any():
            return first  # no market can be reached within the bound: reach 0 stands
        narrowed = condition(raw, reach_at_most=most)
        solver = self._matrix_solver(narrowed)
        if self.lane is not None:
            self.lane.close()
            self.lane = None
        self._take_all()  # the plans of the old model, made by its maker
        assert self.maker is not None
        self.maker.close()
        self.pm, self.solver = narrowed, solver
        self.maker = PlanMaker(narrowed.scenario, EligiblePairs.of_model(narrowed))
        self.maker.last_bound = self.plans[-1].bound if self.plans else None
        self.pool = []  # solutions of the old model, in its units
        self.pool_of, self.flight_starts = {}, {}
        self._cancel_flights()
        self.solutions = {}
        solver.rank_deadline = self.rank_deadline
        for order in self.orders:
            self._cut(order.options)
        return reach_stage(self.pm, self.solver, **self._reach_options())

    def _narrowing_bound(self, first: SolveResult) -> float | None:
        """The bound (in the scenario's units) a narrowed model would hold when rank k's reach
        stage is one `_narrowed` may solve again, else None."""
        pm = self.pm
        if not isinstance(pm, MatrixModel) or pm.scaling is None or first.lexicographic:
            return None
        if first.bound is None or self.pending is not None:
            return None
        most = user_reach(pm, first.bound + 2 * self.solver.abs_gap + REL_TOL * abs(first.bound))
        assert most is not None
        scale = np.abs(pm.objectives["weighted_reach"]) * np.abs(pm.col_upper)
        largest = user_reach(pm, float(scale[np.isfinite(scale)].max(initial=0.0)))
        assert largest is not None
        if most >= NARROW_BELOW * largest or most <= 0:
            return None
        return most

    def _reach_options(self) -> dict[str, Any]:
        """`reach_stage`'s keyword arguments: the watch when someone listens, and a hint:
        while rank 1 is sought the caller's (later ranks are cut off from plan 1, which it
        most likely is); after, the last plan found (`_start_options`), which the start repairs
        by leaving out what its cut asks at the least loss of reach
        (`planner.solving.start_hint`), a strong first plan when a rank's share of the time
        ends before its proof, and most often the rank's optimum (S: 6 of 9 ranks), so
        HiGHS skips its search for a first plan (`near`)."""
        options: dict[str, Any] = dict(self.watching)
        if self.pool:
            options["pool"] = tuple(self.pool)
        last = self.pending or (self.orders[-1].options if self.orders else None)
        if last is not None:
            options["hint"] = tuple(self.pending or self._start_options())
            options["near"] = True
        elif self.hint:
            options["hint"] = self.hint
        return options

    def _start_options(self) -> tuple[str, ...]:
        """The options of the kept plan the next rank starts from (less an option,
        refilled): the last, or, when the last was cut short by its share, the one with the
        most weighted reach by the model's own objective (the last of those within SPEC's
        tolerance of it), read before the plan is made (`PlanOrder.model_reach`).

        Why: from the last plan, ranks cut short lost reach rank after rank (M: 9,267.6
        for plan 1 down to 9,250.2 for plan 10), while the best plan less one option,
        refilled, meets the cuts of every plan made so and serves each later rank. A
        proven last plan stays the start: the next rank's best plan is most often near
        it (S: rank 2's start is its optimum)."""
        best = self.orders[-1]
        if best.proven:
            return best.options
        for order in reversed(self.orders):
            if order.model_reach > best.model_reach + tolerance(best.model_reach):
                best = order
        return best.options

    def _settle_lane(self, rank: int) -> tuple[str, ...]:
        """Wait for the lane's tie-break of `rank` and keep its plan; its options."""
        assert self.lane is not None and self.pending_reach is not None
        shown = self.showing
        self.showing = rank
        self.watch.show(tie_break_reader(self.pm, self.pending_reach))
        began = self.clock()
        stages = self.lane.result(tick=self._tick)
        self._clocked(LANE_WAIT_TIMING, began)
        self.pending, self.pending_reach = None, None
        self.watch.show(None)  # the next stage says how it stands
        options = self._keep(rank, stages, self.lane.interrupted)
        self.showing = shown
        return options

    def _verdict(self, k: int, first: SolveResult) -> PlanSet | bool:
        """What rank k's reach stage means: go on (True), stop ranking (False), or, on rank 1,
        the answer for an infeasible scenario. Solver faults are raised."""
        if first.termination in (Termination.UNBOUNDED, Termination.NUMERICAL):
            raise SolverTroubleError(
                f"HiGHS reported {first.termination} while looking for plan {k}: {first.message}"
            )
        if first.termination == Termination.INFEASIBLE:
            if k == 1:
                diagnosis = self._diagnose()
                return self._result(RunStatus.INFEASIBLE, diagnosis.summary, diagnosis.text)
            self.stop_reason = (
                f"no further plan meets every limit while leaving out at least {self.d} "
                "option(s) of each earlier plan"
            )
            return False
        if not first.has_solution:
            self.timed_out = True
            self.stop_reason = self._time_limit_reason()
            return False
        zero = objective_tolerance(self.pm, "weighted_reach", 0.0)
        if first.incumbent is not None and first.incumbent <= zero:
            if first.termination == Termination.OPTIMAL or (
                first.bound is not None and first.bound <= zero
            ):
                if k == 1:
                    # The diagnosis leads with SPEC's phrase (NOTHING_REACHED), then why.
                    diagnosis = self._diagnose(nothing_reached=True)
                    return self._result(RunStatus.INFEASIBLE, diagnosis.summary, diagnosis.text)
                self.stop_reason = "every further plan has weighted reach 0"
            else:
                self.timed_out = True
                self.stop_reason = (
                    f"{self._time_limit_reason()} before a plan with positive weighted "
                    "reach was found"
                )
            return False
        return True

    def _overlap(self, k: int, first: SolveResult) -> bool:
        """Hand rank k's tie-break to the lane and cut its speculated options, if worthwhile.

        Only for a proven reach stage of a two-stage rank with more ranks to
        come, and only when the cut leaves a next plan possible.
        """
        if not (
            self.overlap
            and k < self.wanted
            and first.termination == Termination.OPTIMAL
            and not first.lexicographic
        ):
            return False
        assert isinstance(self.pm, MatrixModel) and isinstance(self.solver, MatrixSolver)
        options = _speculated_options(self.pm, first)
        if len(set(options) - self.must) < self.d:
            return False
        if self.lane is None:
            self.lane = TieBreakLane(
                self.pm,
                deadline=self.solve_deadline,
                mip_gap=self.settings.mip_gap,
                grace=self.grace,
                scope=self.scope,
            )
        self.lane.start(first, self.solver.extra_rows(), self.rank_deadline)
        self._cut(options)
        self.pending, self.pending_reach = options, first
        return True

    # -- ranks solved ahead (formulation choice 19) -----------------------------

    def _chaining(self, k: int, first: SolveResult) -> bool:
        """Whether ranks k, k+1, ... go on in `_chain`: a proven reach stage of a small model
        on the direct backend (whose later ranks search, `_searched`) with more ranks to
        come, not one `_narrowed` would solve again."""
        return (
            isinstance(self.pm, MatrixModel)
            and isinstance(self.solver, MatrixSolver)
            and not self.solver.large
            and not self._searched()
            and k < self.wanted
            and first.termination == Termination.OPTIMAL
            and self.pending is None
            and self._narrowing_bound(first) is None
        )

    def _chain(self, k: int, first: SolveResult) -> int | None:
        """Ranks k, k+1, ... from rank k's proven reach stage `first`, each rank's reach stage
        solved before the tie-break of the rank before it, and, with a second core, the next
        rank's beside it. The next rank to find the usual way (when a reach stage ends
        unproven), or None when ranking ends.

        Why: rank k's tie-break searches every plan of rank k's reach, and once rank k+1's
        reach stage, under rank k's cut, has proven that every plan meeting the cut reaches
        less, those plans are rank k's plan and the plans that leave out fewer of its
        options than the cut asks (`neighbourhood_row`): a search of milliseconds where the
        whole tie-break took 0.3-1.2 s at S, the same answer. And each rank's reach stage
        starts from its start, most often its own plan (S: 5-6 ranks of 9), so with two cores
        rank k+2 is solved beside rank k+1 on that guess, and kept only when it held
        (`planner.solving.reach_flight`). On one core the ranks are solved in the same
        order, one at a time, on the same solvers from the same starts: the same plans.
        """
        while True:
            options = _speculated_options(self._matrix_model(), first)
            short = len(set(options) - self.must) < self.d  # no plan can follow it
            stopped = not short and self._out_of_time()  # rank k is kept, no rank after it
            following: ReachFlight | None = None
            after: SolveResult | None = None
            if not (short or stopped):
                before = (*self._kept_options(), _key(options))
                prior, guessed = self._prior(k, options, first)
                following = self._fly(k + 1, before, prior, guessed)
                if self.cores >= 2:
                    self._fly_ahead(k + 2, before, following)
                after = self._await(k + 1, following)
            kept = self._keep(k, self._chain_tie_break(k, first, after), self.solver.interrupted)
            self._cut(kept)
            if stopped:
                self.timed_out = True
                self.stop_reason = self._time_limit_reason()
                return None
            if self.timed_out:
                if k < self.wanted:
                    self.stop_reason = self._time_limit_reason()
                return None
            if k == self.wanted or short or self._short_plan():
                return None
            assert following is not None and after is not None
            if _key(kept) != _key(options):  # the tie-break chose other options
                following = self._fly(k + 1, self._kept_options(), self.solutions.get(k), False)
                after = self._await(k + 1, following)
            self._gather_solutions(after, k + 1, following.solver)
            k += 1
            self.showing = k
            self._report(ProgressStage.BEGIN)
            verdict = self._verdict(k, after)
            if isinstance(verdict, PlanSet) or not verdict:  # a PlanSet only ever for rank 1
                return None
            if after.termination != Termination.OPTIMAL or self._narrowing_bound(after):
                self._cancel_flights()  # rank k goes on the usual way, on the main solver
                if not self._tie_break(k, self._narrowed(after)):
                    return None
                return k + 1
            first = after

    def _matrix_model(self) -> MatrixModel:
        assert isinstance(self.pm, MatrixModel)
        return self.pm

    def _kept_options(self) -> tuple[tuple[str, ...], ...]:
        """The options of every plan kept, in the order found (each sorted)."""
        return tuple(_key(order.options) for order in self.orders)

    def _prior(
        self, k: int, options: tuple[str, ...], first: SolveResult
    ) -> tuple[np.ndarray, bool]:
        """Rank k's plan as a vector with exactly `options`, for the next rank's start to
        keep its co-financing, and whether rank k ended on its start: then that start (the
        vector a flight launched on that guess was given), else its reach stage's answer."""
        start = self.flight_starts.get(k)
        if start is not None and _key(options_of(self._matrix_model(), start)) == _key(options):
            return start, True
        return first.columns(), False

    def _fly(
        self,
        rank: int,
        before: tuple[tuple[str, ...], ...],
        prior: np.ndarray | None,
        guessed: bool,
        passed: Sequence[np.ndarray] | None = None,
    ) -> ReachFlight:
        """The flight of `rank` after plans with options `before`: the one made already, when
        it was made on that assumption and from the hint and pool a flight made now would
        have, else a new one (the one made before is cancelled).

        Its start comes from the last of `before` (the hint) and a pool: `prior`, that plan's
        vector, and the solutions the earlier ranks' reach stages passed through. When the
        rank before ended on its start (`guessed`), as a flight launched beside it guessed,
        the pool is what that flight had: the solutions of ranks up to `rank` - 2. Else it
        has those of rank `rank` - 1 too (often the best start there is: S, rank 1 passes
        through plan 2). One rule on one core and two: the same starts, the same plans.
        `passed`: the solutions rank `rank` - 1 passed through so far, its answer last, for a
        flight launched while that rank is still solved (`_guess_again`)."""
        lag = 2 if guessed else 1
        pool = [v for r in sorted(self.pool_of) if r <= rank - lag for v in self.pool_of[r]]
        pool = [*pool, *(passed or ())][-POOL_KEPT:] + ([] if prior is None else [prior])
        held = self.flights.get(rank)
        if held is not None and held.after == before and held.made_from(before[-1], pool):
            return held
        if held is not None:
            held.cancel()
        pm = self._matrix_model()
        assert isinstance(self.solver, MatrixSolver)
        cuts = [row for row in (self._cut_row(options) for options in before) if row is not None]
        flight = ReachFlight(
            pm,
            after=before,
            cuts=cuts,
            hint=before[-1],
            pool=pool,
            deadline=self.solve_deadline,
            mip_gap=self.settings.mip_gap,
            grace=self.grace,
            scope=self.scope,
            layout=start_layout(pm, self.solver),
        )
        self.flights[rank] = flight
        return flight

    def _fly_ahead(
        self, rank: int, before: tuple[tuple[str, ...], ...], following: ReachFlight
    ) -> None:
        """Launch `following` and, beside it, the flight of `rank` on the guess that
        `following` ends on its start."""
        if not following.launched:
            following.launch()
        guess = following.start_options
        if rank > self.wanted + 1 or guess is None or len(set(guess) - self.must) < self.d:
            return
        ahead = self._fly(rank, (*before, _key(guess)), following.start, True)
        if not ahead.launched:
            ahead.launch()

    def _await(self, rank: int, flight: ReachFlight) -> SolveResult:
        """Rank `rank`'s reach stage from its flight, within the rank's share of the time; the
        rank after the last asked for is only the last one's proof, within its share."""
        if rank <= self.wanted:
            self._share_time(rank)
            flight.solver.rank_deadline = self.rank_deadline
        else:  # a proof only: the last rank's whole tie-break keeps half the time left
            now = self.clock()
            flight.solver.rank_deadline = now + 0.5 * max(0.0, self.solve_deadline - now)
        shown = self.showing
        self.showing = min(rank, self.wanted)
        self.watch.show(flight.progress)
        began = self.clock()

        def tick() -> None:
            self._tick()
            self._guess_again(rank, flight)

        try:
            return flight.result(tick=tick)
        finally:
            self.watch.show(None)
            self.showing = shown
            self._clocked(REACH_TIMING, began)
            if self.flights.get(rank) is flight:
                del self.flights[rank]
            if flight.start is not None:
                self.flight_starts[rank] = flight.start

    def _fly_early(self) -> None:
        """While rank 1's reach stage runs on the main solver, with two cores and more plans
        asked for on a small model: rank 2's flight, launched (and launched again) on the
        guess that rank 1 ends on the plan it has found so far, as `_guess_again` does for
        later ranks. Why: rank 1's solve finds its plan well before its proof ends (S: at 0.7
        s of 1.0 s), time rank 2's solve can use."""
        if self.orders or self.showing != 1 or not self._early:
            return
        assert isinstance(self.solver, MatrixSolver)
        found = self._found_so_far(self.solver)
        if found is None:
            return
        guess, passed = found
        early = self._fly(2, (guess,), passed[-1], False, [*passed, passed[-1]])
        if not early.launched:
            early.launch()

    def _guess_again(self, rank: int, flight: ReachFlight) -> None:
        """While rank `rank`'s flight runs: once it has found a plan other than the one the
        flight beside it guessed (its start), launch that one again on the guess of the plan
        found, as it would be made were that plan the rank's answer (its pool with the
        solutions passed through so far, `_fly`). Why: a rank's solve mostly finds its plan
        early and then proves it (S: the start guess was wrong in 4 ranks of 9)."""
        ahead = self.flights.get(rank + 1)
        if ahead is None or not ahead.launched:
            return
        found = self._found_so_far(flight.solver)
        if found is None:
            return
        guess, passed = found
        if guess == ahead.after[-1] and not ahead.midway:
            return  # the start guessed is the plan found: the flight stands as launched
        before = (*ahead.after[:-1], guess)
        again = self._fly(rank + 1, before, passed[-1], False, [*passed, passed[-1]])
        again.midway = True
        if not again.launched:
            again.launch()

    def _found_so_far(
        self, solver: MatrixSolver
    ) -> tuple[tuple[str, ...], list[np.ndarray]] | None:
        """The options of the plan `solver`'s running solve holds now and the solutions it
        passed through, that plan last (a flight guessing it is made from them, `_fly`; a
        plan of the same options with other amounts is another start); None when it holds
        none yet, while HiGHS is reporting a new one, or when no plan could follow it."""
        live = solver.live_numbers()
        if live is None or live.solution is None:
            return None
        passed = list(solver.last_solutions())
        if not passed or not np.array_equal(passed[-1], live.solution):
            return None  # HiGHS is reporting a new plan just now: the next tick sees it whole
        guess = _key(options_of(self._matrix_model(), live.solution))
        if len(set(guess) - self.must) < self.d:
            return None
        return guess, passed

    def _chain_tie_break(self, k: int, first: SolveResult, after: SolveResult | None) -> Stages:
        """Rank k's tie-break on the main solver: among the plans of the reach stage's
        neighbourhood alone when `after`, rank k+1's reach stage under the cut of `first`'s
        options, proved that every other plan reaches less."""
        began = self.clock()
        within = None
        if after is not None and self._reaches_less(first, after):
            pm = self._matrix_model()
            index = pm.option_index()
            chosen = sorted(index[o] for o in _speculated_options(pm, first))
            within = neighbourhood_row(pm, chosen, self.d)
        options: dict[str, Any] = dict(self.watching)
        if within is not None:
            options["within"] = within
        else:  # the whole tie-break: an equal part of the time left, as a rank of its own
            now = self.clock()
            self.solver.rank_deadline = now + (self.solve_deadline - now) / (self.wanted - k + 1)
        try:
            return tie_break(self.pm, self.solver, first, **options)
        finally:
            self._clocked(TIE_BREAK_TIMING, began)

    def _reaches_less(self, first: SolveResult, after: SolveResult) -> bool:
        """Whether `after` proved every plan it could find reaches less than `first` by more
        than the SPEC tolerance (so none ties with it)."""
        if after.termination == Termination.INFEASIBLE:
            return True
        if after.termination != Termination.OPTIMAL or first.incumbent is None:
            return False
        tops = [v for v in (after.bound, after.incumbent) if v is not None]
        if not tops:
            return False
        v1 = first.incumbent
        return max(tops) < v1 - objective_tolerance(self.pm, "weighted_reach", v1)

    def _cut_row(self, options: tuple[str, ...]) -> ExtraRow | None:
        """The no-good cut of a plan with `options` (as `_add_no_good_cut` adds it)."""
        pm = self._matrix_model()
        index = pm.option_index()
        chosen = sorted(index[o] for o in options)
        return no_good_row(pm, chosen, len(chosen) - self.d) if chosen else None

    def _cancel_flights(self) -> None:
        for flight in self.flights.values():
            flight.cancel()
        self.flights.clear()

    def _tie_break(self, k: int, first: SolveResult) -> bool:
        """Rank k's tie-break on the main solver; keep its plan and cut it. Whether to go on."""
        began = self.clock()
        if self.unsearched:  # its start is its plan: a search would end at its start too
            stages = Stages(first, first, False)
        else:
            stages = tie_break(self.pm, self.solver, first, **self.watching)
        self._clocked(TIE_BREAK_TIMING, began)
        self._cut(self._keep(k, stages, self.solver.interrupted))
        if self.timed_out:
            if k < self.wanted:
                self.stop_reason = self._time_limit_reason()
            return False
        return True

    def _keep(self, rank: int, stages: Stages, interrupted: bool) -> tuple[str, ...]:
        """Keep rank `rank`: its order handed to the maker, which makes and checks its plan
        (here at once, or beside the next ranks); note whether the run is out of time after
        it. The plan's options, which the ranks after it are cut from."""
        self._raise_failure()
        columns = None
        if isinstance(self.pm, MatrixModel) and stages.best.has_solution:
            columns = self.solutions[rank] = stages.best.columns()
        order = order_of(
            self.pm, rank, stages, deadline=self.deadline, after_last=True, columns=columns
        )
        self.orders.append(order)
        assert self.maker is not None
        self.maker.submit(order)
        self._take(self.maker.ready())
        ran_out = stages.best.termination == Termination.TIME_LIMIT or interrupted
        # A rank stopped at the end of its share is not the run out of time: the next goes on.
        out = self.clock() >= self.solve_deadline or self.scope.stop.is_set()
        self.timed_out = ran_out and out
        return order.options

    def _take(self, made: Sequence[tuple[Plan, bool]]) -> None:
        """Record plans the maker has made and checked, in the order kept, and report each."""
        for plan, most in made:
            self.plans.append(plan)
            if not most:
                self.estimated_cofinancing.append(plan.rank)
            self._report(ProgressStage.KEPT, plan.rank, plan.weighted_reach, plan.bound, plan.gap)

    def _take_all(self) -> None:
        """Every plan kept, made and checked (waited for when made beside)."""
        self._raise_failure()
        if self.maker is not None:
            self._take(self.maker.take_all())

    def _take_ready(self) -> None:
        """The plans made beside so far, while a solve runs (a failed check is raised at
        the next step of the ranking, not from within the wait)."""
        if self.maker is None or self.failure is not None:
            return
        try:
            self._take(self.maker.ready())
        except PlanVerificationError as exc:
            self.failure = exc

    def _raise_failure(self) -> None:
        if self.failure is not None:
            raise self.failure

    # -- the weakest plan replaced -----------------------------------------------

    def _replacing(self) -> bool:
        """Whether the weakest plan may be replaced after the last rank: several plans on
        the direct backend, the last kept cut short (so the ranks' searches end unproven)."""
        return (
            self.wanted >= 2
            and isinstance(self.pm, MatrixModel)
            and bool(self.orders)
            and not self.orders[-1].proven
        )

    def _replace_weakest(self) -> None:
        """While the time left allows: the unproven plan reaching least (of those found
        after every proven one) gives way to the best plan's best single drop, refilled,
        that leaves out enough of every plan, when that reaches more
        (`planner.solving.plan_order.with_replacement`).

        Why: the plan rank 1 finds in its share (M: 9,267.6, 0.15 % from its bound) stays
        one of the plans however well the later ranks do around a better plan found
        after it (9,276.6); after the last rank, that plan's best single drop meeting
        every plan's cut still reached 9,274.5. The plans after the one replaced take
        its bound (valid without its cut), the least change that keeps every gap honest.
        """
        if not self._replacing() or len(self.plans) < self.wanted:
            return
        pm, solver = self.pm, self.solver
        assert isinstance(pm, MatrixModel) and isinstance(solver, MatrixSolver)
        while not self.scope.stop.is_set() and self.clock() < self.solve_deadline:
            # A plan found before a proven one stays: the proof would not survive its cut.
            replaceable = [k for k, plan in enumerate(self.plans) if not self._proven_after(k)]
            if not replaceable:
                return
            best = max(range(len(self.plans)), key=lambda k: self.plans[k].weighted_reach)
            weakest = min(replaceable, key=lambda k: (self.plans[k].weighted_reach, -k))
            start = self.solutions.get(self.plans[best].rank)
            reach = self.plans[weakest].weighted_reach
            if start is None or self.plans[best].weighted_reach <= reach + tolerance(reach):
                return  # every plan reaches as much (XL: plan 1 less options of no reach)
            found = self._best_drop(pm, solver, best, weakest, start)
            if found is None:
                return
            plan, most, values = found
            if plan.weighted_reach <= reach + tolerance(reach):
                return
            self._swap_in(weakest, plan, most, values)

    def _proven_after(self, k: int) -> bool:
        """Whether plan `k` (as found) or any plan found after it is proven."""
        return any(plan.proven_optimal for plan in self.plans[k:])

    def _best_drop(
        self, pm: MatrixModel, solver: MatrixSolver, best: int, weakest: int, start: np.ndarray
    ) -> tuple[Plan, bool, np.ndarray] | None:
        """The best plan's best single drop, refilled, meeting the cut of every plan, as a
        verified plan with the weakest plan's bound; whether its co-financing is the most
        possible; its vector. None when there is none, or no time."""
        # The weakest plan's cut too: without it, its own plan came back (M: 9,272.586).
        index = pm.option_index()
        cuts = [
            no_good_row(pm, [index[o] for o in plan.options], len(plan.options) - self.d)
            for plan in self.plans
        ]
        left = self.solve_deadline - self.clock()
        values = hinted_start(
            pm,
            cuts,
            self.plans[best].options,
            deadline=time.monotonic() + left,
            refill=True,
            layout=start_layout(pm, solver),
            prior=start,
        )
        if values is None or self.clock() >= self.solve_deadline:
            return None
        assert self.maker is not None
        self.maker.submit(
            _order_of_values(
                pm,
                len(self.plans),
                values,
                deadline=self.deadline,
                earlier_bound=self.plans[weakest].bound,
            )
        )
        ((plan, most),) = self.maker.take_all()
        return plan, most, values

    def _swap_in(self, weakest: int, plan: Plan, most: bool, values: np.ndarray) -> None:
        """Put `plan` (made of `values`) in place of the plan at `weakest`, as found last;
        the ranks found after that plan move up one, as do their records."""
        removed = weakest + 1
        self.plans = with_replacement(self.plans, weakest, plan)
        moved = {r - (r > removed): v for r, v in self.solutions.items() if r != removed}
        self.solutions = {**moved, len(self.plans): values}
        estimated = [r - (r > removed) for r in self.estimated_cofinancing if r != removed]
        self.estimated_cofinancing = estimated + ([] if most else [len(self.plans)])

    # -- progress ---------------------------------------------------------------

    def _on_tick(self) -> None:
        """While a solve of the main solver runs (`SolveScope.tick_with`): progress, and
        rank 2's reach stage launched early (`_fly_early`)."""
        self._tick()
        self._fly_early()

    def _tick(self) -> None:
        """While a solve of this call runs: the plans made beside recorded, and how the rank
        stands reported, at most every `PROGRESS_INTERVAL` s. Called by the thread waiting
        for HiGHS (this call's own, `SolveScope.tick_with`), never by HiGHS's thread."""
        self._take_ready()
        if self.progress is None or self.clock() < self.next_progress:
            return
        try:
            seen = self.watch.now()
        except Exception as exc:  # a progress report must never end the run
            self._progress_failed(exc)
            return
        if seen is None:
            return
        self._report(ProgressStage(seen.stage), None, seen.weighted_reach, seen.bound)

    def _report(
        self,
        stage: ProgressStage,
        rank: int | None = None,
        reach: float | None = None,
        bound: float | None = None,
        gap: float | None = None,
    ) -> None:
        """Hand the caller's `progress` one event. If it raises, the run goes on unchanged
        without it (a `RuntimeWarning` says so): a display must not cost the plans."""
        progress = self.progress
        if progress is None:
            return
        now = self.clock()
        if bound is not None:
            bound = min(bound, self.ceiling)  # as a plan's bound (SPEC §4)
        if gap is None and reach is not None and bound is not None:
            gap = reach_gap(reach, bound)
        event = ProgressEvent(
            rank=self.showing if rank is None else rank,
            plans_asked=self.wanted,
            stage=stage,
            elapsed_s=now - self.start,
            weighted_reach=reach,
            bound=bound,
            gap=gap,
            plans_kept=len(self.plans),
        )
        self.next_progress = now + PROGRESS_INTERVAL
        try:
            progress(event)
        except Exception as exc:
            self._progress_failed(exc)

    def _progress_failed(self, exc: Exception) -> None:
        self.progress = None
        warnings.warn(
            f"the progress callback raised {type(exc).__name__}: {exc}; it is not called "
            "again in this run, which goes on unchanged",
            RuntimeWarning,
            stacklevel=2,
        )

    def _cut(self, options: tuple[str, ...]) -> None:
        _add_no_good_cut(self.pm, self.solver, options, self.d)

    def _short_plan(self) -> bool:
        """Whether a returned plan has too few options that are not `must` to leave out
        `d` of them (then no further plan exists; the reason is noted)."""
        short = [p for p in self.orders if len(set(p.options) - self.must) < self.d]
        if short:
            self.stop_reason = (
                f"plan {short[0].rank} has fewer than {self.d} options that are not `must`, "
                f"so no plan can leave out {self.d} of them"
            )
        return bool(short)

    def _time_limit_reason(self) -> str:
        """Why the solves ended early: the time limit, or a stop (`stop_all_solves`)."""
        if self.scope.stop.is_set():
            return "the run was stopped"
        return f"the time limit of {self.settings.time_limit_s:g} s was reached"

    def _diagnose(self, nothing_reached: bool = False) -> Diagnosis:
        return diagnose_infeasibility(
            self.scenario,
            deadline=self.solve_deadline,
            nothing_reached=nothing_reached,
            scope=self.scope,
        )

    # -- the answer -------------------------------------------------------------

    def _final(self) -> PlanSet:
        """The plans kept, with the status and message SPEC §4-§5 ask for."""
        plans, wanted = self.plans, self.wanted
        if not plans:
            if self.timed_out:
                return self._result(
                    RunStatus.NO_SOLUTION,
                    f"No plan was found within the time limit of {self.settings.time_limit_s:g} s.",
                )
            return self._result(
                RunStatus.INFEASIBLE, f"Infeasible: {NOTHING_REACHED}.", NO_REACH_LEAD
            )
        plans, estimated = self._listed_best_first()
        sentences = []
        if len(plans) < wanted:
            sentences.append(
                f"Only {len(plans)} of the {wanted} plans asked for "
                f"{'was' if len(plans) == 1 else 'were'} returned: {self.stop_reason}."
            )
        unproven = [p.rank for p in plans if not p.proven_optimal]
        if unproven:
            ranks = ", ".join(str(r) for r in unproven)
            within = (
                "the time limit"
                if wanted == 1
                else f"their share of the time limit (shared among the {wanted} plans asked for)"
            )
            sentences.append(
                f"Plan(s) {ranks} not proven optimal within {within}; "
                "bound shows how much better a plan could be."
            )
        if estimated:
            ranks = ", ".join(str(r) for r in estimated)
            sentences.append(
                f"Plan(s) {ranks}: the co-financing amounts are the solver's own, as the "
                "co-financing could not be re-optimised within the time limit; net spend "
                "may be slightly above the least possible for those options and offers."
            )
        # SPEC §5: `optimal` when every plan is proven. Time running out only makes a run
        # `feasible` when it cost plans (a proof may land at the deadline itself).
        short_of_time = self.timed_out and len(plans) < wanted
        status = RunStatus.FEASIBLE if (unproven or short_of_time) else RunStatus.OPTIMAL
        return self._result(status, " ".join(sentences), plans=plans)

    def _listed_best_first(self) -> tuple[list[Plan], list[int]]:
        """The plans kept, best first (`planner.solving.plan_order`), and the ranks, in that
        list, of those whose co-financing amounts are the solve's own."""
        listed = in_spec_order(self.plans, self.d)
        rank_of = {p.options: p.rank for p in listed}  # each plan's options are its own
        found = {p.rank: rank_of[p.options] for p in self.plans}
        return listed, sorted(found[r] for r in self.estimated_cofinancing)

    def _result(
        self,
        status: RunStatus,
        message: str = "",
        diagnosis: str | None = None,
        *,
        plans: list[Plan] | None = None,
    ) -> PlanSet:
        self.timings["total"] = self.clock() - self.start
        return PlanSet(
            scenario=self.scenario.name,
            status=status,
            max_weighted_reach=sum(m.weight * m.addressable for m in self.scenario.markets),
            plans=tuple(plans or ()),
            message=message,
            diagnosis=diagnosis,
            timings=self.timings,
        )


def _order_of_values(
    mm: MatrixModel,
    rank: int,
    values: np.ndarray,
    *,
    deadline: float,
    earlier_bound: float,
) -> PlanOrder:
    """The order of a plan made of `values`, a vector of `mm` meeting every row (a start
    heuristic's plan), unproven, with `earlier_bound` as its bound (`make_ordered`)."""
    n_y, n_z, n_u = mm.y_start, mm.z_start, mm.u_start
    made = SolveResult(
        Termination.TIME_LIMIT,
        float(mm.objectives["weighted_reach"] @ values),
        None,
        0.0,
        x=tuple(values[:n_y].tolist()),
        y=tuple(values[n_y:n_z].tolist()),
        z=tuple(values[n_z:n_u].tolist()),
        u=tuple(values[n_u:].tolist()),
    )
    return order_of(
        mm,
        rank,
        Stages(made, made, False),
        deadline=deadline,
        earlier_bound=earlier_bound,
        columns=values,
    )


def _speculated_options(pm: MatrixModel, reach: SolveResult) -> tuple[str, ...]:
    """The options rank k will most likely have: those of its reach stage.

    The tie-break only lowers net spend and the option count at the same
    reach, which it almost always does by re-choosing co-financing, not options
    (`planner.solving.tie_break_lane`); when it does change them, the caller re-solves.
    """
    return extract_decisions(pm, list(reach.x), list(reach.y), list(reach.z))[0]


def _key(options: Collection[str]) -> tuple[str, ...]:
    """Options in one order, to tell two plans' options equal."""
    return tuple(sorted(options))


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
