"""Solving the model with HiGHS: the direct `MatrixSolver` and what every solver shares.

(`planner.solving.pyomo_solver.PersistentSolver` solves the Pyomo reference model the same way.)

Why our own interrupt: HiGHS checks its `time_limit` between phases, not inside
the root LP, so a large model could overrun the user's limit several times
over (SOLVER-NOTES). A highspy callback on the simplex, IPM and MIP interrupt
events stops the run once the run-wide deadline passes.

Every solve answers with a typed `SolveResult`; nothing here raises on a
non-optimal outcome, and an infeasible answer is only reported as such after a
second solve with presolve off agrees (HiGHS has had false-infeasible bugs).

Nothing here is process-wide but what HiGHS itself makes so: a solve's
deadline, stop signal and given-up threads belong to the call that made its
solver (`SolveScope`), HiGHS always runs with `HIGHS_THREADS`, and instances
print nothing without touching the process's stdout or stderr
(`planner.solving.highs_instance`). The only module state is the list of threads
inside HiGHS and of calls running, now, which `stop_all_solves` and the exit
hook need.
"""

from __future__ import annotations

import atexit
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import highspy
import numpy as np

from planner.model.common import check_deadline
from planner.model.conditioning import condition, out_of_scale
from planner.model.matrix_model import OBJECTIVES, MatrixModel
from planner.solving.greedy_layout import GreedyLayout
from planner.solving.highs_instance import HIGHS_THREADS, quiet_highs
from planner.solving.model_rows import ExtraRow, feasible, no_good_row
from planner.solving.race import StageRace, rival_worthwhile
from planner.solving.result import (
    FALLBACK_TOL,
    SolveResult,
    Termination,
    finite_or_none,
    tolerance,
)

#: HiGHS's absolute MIP gap for every stage unless a stage needs a finer one.
MIP_ABS_GAP = 1e-7

#: A presolved tie-break's reported objective must equal its own columns' to this,
#: relative: far below every gap, far above rounding (`MatrixSolver._solve_once`).
OWN_VALUE_TOL = 1e-9

#: Largest model (nonzeros of the constraint matrix) the direct backend solves with
#: HiGHS's presolve on and its RINS/RENS sub-MIP heuristics off; larger models keep
#: presolve off (it cannot be interrupted) and the sub-MIPs on. See `MatrixSolver`.
SMALL_MODEL_NONZEROS = 20_000

#: After the watchdog gives up on a solve, how long it still waits for HiGHS to unwind.
UNWIND_WAIT = 0.05

#: How often the thread waiting for HiGHS looks after the second solver.
TICK_SECONDS = 0.02


def join_ticking(thread: threading.Thread, tick: Callable[[], None] | None) -> None:
    """Wait for `thread` (a second solver's), calling `tick` every `TICK_SECONDS` meanwhile
    from this thread: the run's progress and its other solvers are looked after while it
    waits (`tie_break_lane`, `reach_flight`)."""
    while thread.is_alive():
        thread.join(None if tick is None else TICK_SECONDS)
        if tick is not None and thread.is_alive():
            tick()


#: At interpreter exit, how long in all to wait for HiGHS solves still running in threads
#: (each stopped first, so it ends at HiGHS's next interrupt check: within seconds).
EXIT_WAIT = 30.0


class SolveScope:
    """What the solves of one call share: a stop signal and the threads given up on.

    Why per call: a stop (Ctrl-C, SIGTERM, a caller's cancel) must end the
    solves of the call it is meant for and never a later call in the same
    process (a worker process runs many); and a solve given up at the deadline
    leaves its thread inside HiGHS until HiGHS's next interrupt check, so the
    call that gave it up waits for it, bounded, before it returns (`end`),
    rather than leaving threads to pile up under the next call. Every solver of
    one call (main solver, tie-break lane, start-plan helpers) is given the
    same scope; a solver made without one has a scope of its own.

    A call `open`s its scope while it runs, so that `stop_all_solves` reaches
    it even between two solves; `end` closes it.
    """

    def __init__(self) -> None:
        self.stop = threading.Event()
        """Set: every solve of this call stops at HiGHS's next interrupt check, and
        no further solve starts."""
        self._given_up: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._ticker: tuple[threading.Thread, Callable[[], None]] | None = None

    def tick_with(self, ticker: Callable[[], None] | None) -> None:
        """Have `ticker` called every `TICK_SECONDS` while a solve of this call runs.

        Only from the thread that calls this (the call's own), while it waits
        for HiGHS: never from HiGHS's thread, nor from a second solver's lane
        thread. That is how a caller's progress reaches the caller during a
        long solve (also the start plan's sub-solves) without user code ever
        running inside HiGHS or concurrently with itself. None stops it.
        """
        self._ticker = None if ticker is None else (threading.current_thread(), ticker)

    def tick(self) -> None:
        """Call the ticker, if one is set and this is the thread that set it."""
        ticker = self._ticker
        if ticker is not None and ticker[0] is threading.current_thread():
            ticker[1]()

    def open(self) -> None:
        """Count this scope's call among those running now (`stop_all_solves` stops them)."""
        with _registry_lock:
            _open_scopes.add(self)

    def give_up(self, worker: threading.Thread) -> None:
        """Note a worker thread no longer waited for (it is still inside HiGHS)."""
        with self._lock:
            self._given_up = [t for t in self._given_up if t.is_alive()]
            self._given_up.append(worker)
        _note_given_up(worker)

    def running(self) -> list[threading.Thread]:
        """The threads given up on that are still inside HiGHS."""
        with self._lock:
            return [t for t in self._given_up if t.is_alive()]

    def end(self, until: float) -> bool:
        """Stop every solve of this call and wait until `until` for the threads given up on.

        `until` is a `time.monotonic()` instant (the call's own deadline). True
        when no thread of this call is left inside HiGHS; a thread still there
        ends on its own at HiGHS's next interrupt check.
        """
        self.stop.set()
        with _registry_lock:
            _open_scopes.discard(self)
        for worker in self.running():
            worker.join(max(0.0, until - time.monotonic()))
        return not self.running()


_registry_lock = threading.Lock()
_inside_highs: dict[threading.Thread, tuple[SolveScope, bool]] = {}
"""Threads inside `highs.run()` right now, with their call's scope and whether their
solve was given up. Each removes itself when HiGHS returns, so this never grows."""
_open_scopes: set[SolveScope] = set()
"""The scopes of the calls running now (`SolveScope.open` to `SolveScope.end`)."""


def _note_given_up(worker: threading.Thread) -> None:
    with _registry_lock:
        if worker in _inside_highs:
            _inside_highs[worker] = (_inside_highs[worker][0], True)


def abandoned_solves_running() -> bool:
    """True while a HiGHS solve given up at the deadline is still unwinding in its thread.

    Such a thread ends at HiGHS's next interrupt check. The process waits for
    it at exit, up to `EXIT_WAIT` (a thread inside HiGHS at interpreter
    shutdown aborts the process); a caller that has written its outputs may
    instead flush and `os._exit(status)` when this is true.
    """
    with _registry_lock:
        return any(given_up and t.is_alive() for t, (_, given_up) in _inside_highs.items())


def stop_all_solves(wait: float = 5.0) -> None:
    """Interrupt every HiGHS solve running in this process now and wait up to `wait` s in all.

    For a process that is ending on Ctrl-C or SIGTERM: a thread still inside
    HiGHS when the interpreter shuts down aborts the process ("terminate
    called without an active exception"). The calls running now are stopped
    (their scope's `stop`: the solves they are in, and any they would start);
    calls that start later run normally.
    """
    with _registry_lock:
        running = dict(_inside_highs)
        scopes = {scope for scope, _ in running.values()} | _open_scopes
    for scope in scopes:
        scope.stop.set()
    end = time.monotonic() + wait
    for worker in running:
        worker.join(max(0.0, end - time.monotonic()))


@atexit.register
def _end_solves_at_exit() -> None:
    stop_all_solves(wait=EXIT_WAIT)


@dataclass(slots=True)
class _Checks:
    """The checks of one solve beside a search, to tell how long its next round may take.

    HiGHS's first dual bound is its LP relaxation's; before, it reports its opening
    one (none, or the columns' bounds'). From then on, the next round is expected to
    last the longest time between two checks so far, and at least `round_lps` times
    the root LP's own time (a check may follow another closely: L's and XL's rounds
    of root cuts took 3-4 times their root LP beside the search)."""

    began: float
    opening_bound: float
    last: float
    root_lp_s: float | None = None
    longest: float = 0.0

    def next_round(self, now: float, bound: float, round_lps: float) -> float | None:
        """How long the round after the check made `now` may take; None before the root
        LP is solved."""
        if self.root_lp_s is not None:
            self.longest = max(self.longest, now - self.last)
        elif bound != self.opening_bound:
            self.root_lp_s = now - self.began
        self.last = now
        return None if self.root_lp_s is None else max(round_lps * self.root_lp_s, self.longest)


class _Abandoned(Exception):
    """Raised inside Pyomo's solve when the watchdog stopped waiting for HiGHS."""


@dataclass(frozen=True, slots=True)
class LiveNumbers:
    """What HiGHS has reported so far in a solve still running (`_HighsRun.live_numbers`), in the
    terms of the objective it holds; None where it has reported nothing yet."""

    objective: float | None
    """The incumbent's objective value."""
    bound: float | None
    """The dual bound."""
    solution: np.ndarray | None
    """The incumbent's columns (x, y, z, u), where the solver keeps them (`MatrixSolver`)."""


#: Improving solutions of one solve a solver keeps (`MatrixSolver.last_solutions`).
POOL_SIZE = 64


def _finite(value: float) -> float | None:
    """A number HiGHS reported, or None for its infinities ("none yet")."""
    number = float(value)
    return number if math.isfinite(number) and abs(number) < highspy.kHighsInf else None


class _HighsRun:
    """What both backends share: deadline, interrupt callback, watchdog thread, options,
    and the rule that infeasibility is only reported once a second solve agrees.

    Subclasses hand the model to a `highspy.Highs` object (`self._highs`), call
    `_watch(self._highs)` once, and implement `_solve_once(presolve)`.
    """

    _highs: highspy.Highs

    def __init__(
        self,
        *,
        deadline: float,
        mip_gap: float,
        presolve: str,
        grace: float,
        scope: SolveScope | None = None,
    ) -> None:
        self.grace = grace
        self.scope = SolveScope() if scope is None else scope
        """The call this solver belongs to: its stop signal, its threads given up on."""
        self.abandoned: threading.Thread | None = None
        """The worker thread of a solve given up at the deadline, if any. From then on the
        HiGHS instance is never touched again (`_live`): that thread may still be inside
        it, and a HiGHS instance is not safe to use from two threads at once."""
        self.presolve = presolve
        self.deadline = deadline
        self.heuristics_end: float | None = None
        """When a reach stage's start heuristics must end, if not at `share_end()`: plan 1
        of many gets the whole time for them, as a run of one plan does."""
        self.rank_deadline: float | None = None
        """The rank's share of the time limit ends here (SPEC §4): a MIP solve holding a
        solution is stopped then, one without goes on to `deadline`. None: no share."""
        self.improve_until: float | None = None
        """When set, a reach stage's start on a large model is improved by swaps until then
        (`planner.solving.start_hint.improved_by_swaps`): plan 1 of many (see
        `planner.solving.ranking`)."""
        self.start_only = False
        """Whether the next solve (only) answers with its start (`set_start`) without a
        search: a later rank of a large model whose share ends before HiGHS could finish
        its root (see `planner.solving.ranking`). Without a start it searches as usual."""
        self._run_until: float | None = None
        """When the solve running now ends, whatever the rank's share (`_beside_until` of
        the solve that took it); None: at the share, or the deadline."""
        self.mip_gap = mip_gap
        self.interrupted = False
        self.interrupted_at: float | None = None
        self.abs_gap = MIP_ABS_GAP
        """`mip_abs_gap` of the next solves (the merged tie-break stage lowers it)."""
        self.sub_mips = True
        """Whether HiGHS may run its RINS/RENS sub-MIP heuristics (off for small models)."""
        self.restart = True
        """Whether HiGHS may restart its MIP solve after root reductions (`mip_allow_restart`;
        off for the merged tie-break, `MatrixSolver.use_tie_break`)."""
        self.root_heuristic = True
        """Whether HiGHS runs its root reduced-cost heuristic
        (`mip_heuristic_run_root_reduced_cost`), a search for a first good plan: off on
        small models for the merged tie-break and for a later rank's reach stage
        (`MatrixSolver.from_related_plan`)."""
        self.root_lp = "choose"
        """HiGHS's `mip_lp_solver`: how the MIP's first LP is solved."""
        self.lp_solver = "choose"
        """HiGHS's `solver` for models without integer columns (never set it for a MIP:
        HiGHS would then solve the relaxation)."""
        self._last_reported: tuple[float | None, float | None] | None = None
        """(incumbent objective, dual bound) HiGHS last reported in the solve running now,
        None between solves. Written by HiGHS's thread, one tuple at a time."""
        self.cancelled = False
        """Whether nobody wants this solver's answers any more (`cancel`)."""

    def share_end(self) -> float:
        """When the stage running now should end: its rank's share, else the deadline.
        What the stage's own heuristics divide among themselves."""
        if self.rank_deadline is None:
            return self.deadline
        return min(self.deadline, self.rank_deadline)

    def _watch(self, highs: highspy.Highs) -> None:
        """Subscribe the deadline check to every interrupt event HiGHS offers."""
        for event in (highs.cbSimplexInterrupt, highs.cbIpmInterrupt, highs.cbMipInterrupt):
            event.subscribe(self._interrupt_at_deadline)

    def cancel(self) -> None:
        """Stop the solve running now, if any, and refuse every later one: its answer is
        no longer wanted (a rank solved beside another on a guess that proved wrong,
        `planner.solving.reach_flight`). Safe from any thread."""
        self.cancelled = True

    def _interrupt_at_deadline(self, event) -> None:
        """HiGHS callback: stop as soon as the run-wide deadline has passed, the call was
        stopped or cancelled (`cancel`), or nobody waits for this solve any more (given
        up on Ctrl-C)."""
        holding = False
        if event.callback_type == highspy.cb.HighsCallbackType.kCallbackMipInterrupt:
            out = event.data_out
            self._note_reported(out.mip_primal_bound, out.mip_dual_bound)
            holding = _finite(out.mip_primal_bound) is not None
        now = time.monotonic()
        share = self.rank_deadline if self._run_until is None else self._run_until
        share_over = holding and share is not None and now >= share
        if (
            now >= self.deadline
            or share_over
            or self.cancelled
            or self.scope.stop.is_set()
            or self.abandoned is not None
            or self._ends_early(event)
        ):
            if not self.interrupted:
                self.interrupted_at = now
            self.interrupted = True
            event.interrupt()
        else:
            # HiGHS keeps the flag between runs: an interrupt that ended the last
            # run would otherwise end the next one at its first check.
            event.interrupt(False)

    def _ends_early(self, event) -> bool:
        """Whether the solve should stop at this check for a reason of its own (none here)."""
        return False

    def _note_reported(self, objective: float, bound: float) -> None:
        """Record HiGHS's incumbent objective and dual bound (from its own thread): numbers
        only, read by the waiting thread through `live_numbers`. A value HiGHS does not have
        (yet) leaves the last one it reported."""
        last = self._last_reported
        if last is None or self.abandoned is not None:
            return
        found, proven = _finite(objective), _finite(bound)
        self._last_reported = (
            last[0] if found is None else found,
            last[1] if proven is None else proven,
        )

    def live_numbers(self) -> LiveNumbers | None:
        """What HiGHS has reported so far in the solve running now, in its objective's terms
        (offset included), or None between solves. For progress reports: read from the
        waiting thread while HiGHS runs."""
        numbers = self._last_reported
        return None if numbers is None else LiveNumbers(numbers[0], numbers[1], None)

    def _run_watched(self, highs: highspy.Highs, tick: Callable[[], None] | None = None) -> None:
        """`highs.run()` in a worker thread that this thread stops waiting for at the deadline.

        Waits until `deadline + grace` (read afresh every `TICK_SECONDS`, so a
        deadline moved earlier or a stop of the call takes effect at once); then
        the callback interrupts at its next chance, and if HiGHS has not
        returned `UNWIND_WAIT` later the solve is abandoned (`_Abandoned` is
        raised, the worker ends on its own). While it waits, `tick` (if given)
        is called every `TICK_SECONDS` (the race with a second solver is run
        from here, never from HiGHS's own thread), and so is the call's own
        ticker (`SolveScope.tick_with`: its progress reports).
        """
        done = threading.Event()
        scope = self.scope

        def ticks() -> None:
            if tick is not None:
                tick()
            scope.tick()

        def work() -> None:
            me = threading.current_thread()
            with _registry_lock:
                _inside_highs[me] = (scope, False)
            try:
                highs.run()
            finally:
                with _registry_lock:
                    _inside_highs.pop(me, None)
                done.set()

        worker = threading.Thread(target=work, name="highs-solve", daemon=True)
        self._last_reported = (None, None)
        worker.start()
        try:
            ticks()
            while not done.wait(max(0.0, min(TICK_SECONDS, self._wait_limit() - time.monotonic()))):
                if time.monotonic() >= self._wait_limit():
                    self.interrupted = True
                    if not done.wait(UNWIND_WAIT):
                        raise _Abandoned
                    break
                ticks()
        except BaseException:  # given up at the deadline, or Ctrl-C while waiting
            if not done.is_set():
                self.abandoned = worker
                scope.give_up(worker)
            raise
        finally:
            self._last_reported = None

    def _wait_limit(self) -> float:
        """Until when `_run_watched` waits for HiGHS: `deadline + grace`, or now once the
        call was stopped."""
        if self.scope.stop.is_set():
            return -math.inf
        end = self.deadline if self._run_until is None else min(self.deadline, self._run_until)
        return end + self.grace

    def _live(self) -> highspy.Highs | None:
        """The HiGHS instance to edit, or None once a solve on it was given up.

        Edits after that (stage rows, cuts, objectives, starts) are kept in this
        object's own records only, so a start or fallback can still be checked
        against them, but HiGHS itself is never called again: the given-up
        thread may still be inside it. Waiting for that thread instead could
        take seconds (HiGHS checks interrupts only between steps), and the run
        is at its deadline anyway: every later solve is refused (`_refuse`).
        """
        return self._highs if self.abandoned is None else None

    def wait_given_up(self, until: float) -> bool:
        """Wait until `until` (a `time.monotonic()` instant) for a given-up solve's thread.

        True when no thread of this solver is inside HiGHS any more. For
        helpers whose solve ends before the work they prepare: a given-up
        thread would otherwise keep a core busy under it.
        """
        worker = self.abandoned
        if worker is None:
            return True
        worker.join(max(0.0, until - time.monotonic()))
        return not worker.is_alive()

    def _options(self, presolve: str, remaining: float) -> dict[str, bool | float | str | int]:
        """Every option this code relies on, set afresh at every solve."""
        return {
            "presolve": presolve,
            "time_limit": max(remaining, 1e-3),
            "mip_rel_gap": self.mip_gap,
            "mip_abs_gap": self.abs_gap,
            "random_seed": 0,
            "output_flag": False,
            "threads": HIGHS_THREADS,
            "mip_feasibility_tolerance": 1e-7,
            "primal_feasibility_tolerance": 1e-8,
            "mip_heuristic_run_rins": self.sub_mips,
            "mip_heuristic_run_rens": self.sub_mips,
            "mip_allow_restart": self.restart,
            "mip_heuristic_run_root_reduced_cost": self.root_heuristic,
            "mip_lp_solver": self.root_lp,
            "solver": self.lp_solver,
        }

    def _refuse(self) -> SolveResult | None:
        """The answer without a solve when the deadline has passed, the call was stopped
        or a solve was abandoned."""
        if self.deadline - time.monotonic() <= 0 or self.scope.stop.is_set() or self.cancelled:
            self.interrupted = True
            return SolveResult(Termination.TIME_LIMIT, None, None, 0.0)
        if self.abandoned is not None:
            self.interrupted = True
            return SolveResult(Termination.TIME_LIMIT, None, None, 0.0, message="abandoned")
        return None

    def _solve_once(self, presolve: str) -> SolveResult:
        raise NotImplementedError

    def solve(self) -> SolveResult:
        """Solve with the active objective; confirm infeasibility before reporting it.

        A first answer of infeasible (or infeasible-or-unbounded, which HiGHS's
        presolve cannot split) is re-checked with the other presolve setting. Only a second
        proof of infeasibility is reported as INFEASIBLE; a disagreement is
        NUMERICAL trouble, never a plan and never a diagnosis.
        """
        first = self._solve_once(self.presolve)
        if first.termination not in (Termination.INFEASIBLE, Termination.UNBOUNDED):
            return first
        second = self._solve_once("on" if self.presolve == "off" else "off")
        seconds = first.seconds + second.seconds
        if second.termination in (Termination.OPTIMAL, Termination.TIME_LIMIT):
            return second  # the first answer was wrong; trust the one with a solution
        undecided = "infeasibleOrUnbounded"
        if second.termination == Termination.INFEASIBLE or (
            first.termination == Termination.INFEASIBLE and undecided in second.message
        ):
            return SolveResult(Termination.INFEASIBLE, None, None, seconds, message="confirmed")
        if first.termination == second.termination == Termination.UNBOUNDED:
            return SolveResult(Termination.UNBOUNDED, None, None, seconds, message=second.message)
        return SolveResult(
            Termination.NUMERICAL,
            None,
            None,
            seconds,
            message=(
                f"HiGHS disagreed with itself: {first.message} with presolve, "
                f"{second.message} without"
            ),
        )


_STATUS_WORDS = {
    highspy.HighsModelStatus.kOptimal: "optimal",
    highspy.HighsModelStatus.kInfeasible: "provenInfeasible",
    highspy.HighsModelStatus.kUnboundedOrInfeasible: "infeasibleOrUnbounded",
    highspy.HighsModelStatus.kUnbounded: "unbounded",
    highspy.HighsModelStatus.kTimeLimit: "maxTimeLimit",
    highspy.HighsModelStatus.kInterrupt: "interrupted",
}


class MatrixSolver(_HighsRun):
    """One HiGHS instance holding a `MatrixModel` for a whole run: the direct backend.

    Why: the matrix goes to HiGHS in one `passModel` call (0.1-0.4 s at 50k
    options where Pyomo's build and hand-off took 25-33 s), and later changes
    are small in-place edits: `use_objective` swaps the cost vector
    (`changeColsCost`), `hold` appends a stage row, `clear_stage_rows` deletes
    them (`deleteRows`), `add_no_good_cut` appends a cut. Deadline, interrupt
    callback, watchdog thread, options and the confirmation of infeasibility
    are those of `PersistentSolver` (shared in `_HighsRun`).

    Rows added after the model keep names (`tie_break(...)`, `no_good(k)`), so
    `row_name` and `write_model` speak the formulation's language.

    Once a solve is given up at the deadline (`abandoned`), every edit is kept
    in this object's records only and HiGHS is never called again (`_live`).

    A model in the scenario's own units whose numbers HiGHS could not take is
    handed over with `planner.model.conditioning`'s exact reductions and row
    scaling (the ranking hands over a model already conditioned).

    `race`: whether CBC may run beside HiGHS on solves that last, where a CBC
    binary exists and the model suits it (`planner.solving.race.rival_worthwhile`);
    the caller decides whether a second core is there for it. `scope`: the call
    this solver belongs to (`SolveScope`).
    """

    def __init__(
        self,
        model: MatrixModel,
        *,
        deadline: float,
        mip_gap: float = 0.0,
        presolve: str | None = None,
        grace: float = 0.0,
        race: bool = False,
        scope: SolveScope | None = None,
    ) -> None:
        if model.scaling is None and out_of_scale(model):
            # A model built here in the scenario's own units (the diagnosis's copies):
            # the exact reductions and row scaling that keep every value's meaning.
            model = condition(model, units=False)
        small = len(model.row_value) <= SMALL_MODEL_NONZEROS
        if presolve is None:
            presolve = "on" if small else "off"
        super().__init__(
            deadline=deadline, mip_gap=mip_gap, presolve=presolve, grace=grace, scope=scope
        )
        self.sub_mips = not small
        self.large = not small
        """Above `SMALL_MODEL_NONZEROS`: presolve off, sub-MIPs on, root LP by interior point."""
        self.root_lp = "choose" if small else "ipx"
        self.model = model
        self.start_layout: GreedyLayout | None = None
        """The model's rows laid out for start heuristics, once (`planner.solving.stages`):
        each later rank's start reads them with only its cuts added."""
        check_deadline(deadline, "handing the model to HiGHS")
        self._highs = quiet_highs()
        status = self._highs.passModel(
            model.n_cols,
            model.n_rows,
            len(model.row_value),
            int(highspy.MatrixFormat.kRowwise),
            int(highspy.ObjSense.kMaximize),
            0.0,
            model.objectives["weighted_reach"],
            model.col_lower,
            model.col_upper,
            model.row_lower,
            model.row_upper,
            model.row_start[:-1].astype(np.int32),
            model.row_index,
            model.row_value,
            model.integrality,
        )
        if status == highspy.HighsStatus.kError:
            raise RuntimeError("HiGHS refused the model")
        check_deadline(deadline, "handing the model to HiGHS")
        self._all_cols = np.arange(model.n_cols, dtype=np.int32)
        self._extra: list[str] = []
        """Names of the rows added after the model (stage rows and cuts), in row order."""
        self._extra_rows: list[ExtraRow] = []
        """The rows themselves, in the same order (for checking a solution without HiGHS)."""
        self._cuts = 0
        self._cost = model.objectives["weighted_reach"].copy()
        """The objective HiGHS holds now (to check its reported value against its solution)."""
        self._offset = 0.0
        self._maximise = True
        self._start: np.ndarray | None = None
        self._seen: np.ndarray | None = None
        """The last improving solution HiGHS reported during the current solve."""
        self._seen_bound: float | None = None
        """The last dual bound HiGHS reported during the current solve."""
        self._found: deque[np.ndarray] = deque(maxlen=POOL_SIZE)
        """The improving solutions HiGHS reported in the last solve (`last_solutions`)."""
        self.race = race and rival_worthwhile(model)
        """Whether CBC runs beside HiGHS on solves that last (`planner.solving.race`)."""
        self._racing_stage = True
        """Only reach stages race: on tie-break stages CBC never finished first (S: 10 of
        10; mknapcb1 problem 0: 8-20 s against HiGHS's 4-7 s), so there it only takes
        the second core."""
        self._race: StageRace | None = None
        """The current solve's race, while one runs."""
        self._integral = False
        """The objective's best value is an integer for every plan (`use_lexicographic`)."""
        self.spare_core_taken: Callable[[], bool] = lambda: False
        """Whether other work of this run uses the second core now (CBC then waits)."""
        self.search_beside = False
        """Whether a reach stage's start search on this (large) model runs beside HiGHS's
        solve, each on a core of its own (`planner.solving.beside_search`): the caller's
        to give, as it owns the cores."""
        self._beside_until: float | None = None
        self._offered: np.ndarray | None = None
        """The best plan the search beside the solve running now has found (`offer`)."""
        self._given: np.ndarray | None = None
        """The offered plan last handed to HiGHS."""
        self._round_lps = 0.0
        """Of the solve running beside a search: how many times its root LP's time a round of
        root cuts is expected to take (`next_solve_beside`); 0 for other solves."""
        self._checks: _Checks | None = None
        """When the solve running beside a search was checked, and what it reported."""
        self._watch(self._highs)
        self._highs.cbMipImprovingSolution.subscribe(self._keep_improving_solution)

    @property
    def highs(self) -> highspy.Highs:
        """The underlying highspy object (for inspection and tests)."""
        return self._highs

    def extra_rows(self) -> tuple[ExtraRow, ...]:
        """The rows added after the model (stage rows and no-good cuts), in row order."""
        return tuple(self._extra_rows)

    def last_solutions(self) -> tuple[np.ndarray, ...]:
        """The improving solutions HiGHS reported in the last solve (at most `POOL_SIZE`,
        the latest), each meeting every row HiGHS then held. Why: the search for one
        rank passes through plans that are often the best of the next (S: rank 1's
        first incumbent is plan 2), which may start from them (`ranking`)."""
        return tuple(self._found)

    def twin(self) -> MatrixSolver:
        """A solver of its own holding what this one holds now (the model, the rows added
        after it, the objective, the settings), for a solve in another thread that may be
        given up without touching this one (`planner.solving.beside_search`)."""
        twin = MatrixSolver(
            self.model,
            deadline=self.deadline,
            mip_gap=self.mip_gap,
            presolve=self.presolve,
            grace=self.grace,
            scope=self.scope,
        )
        for name, row in zip(self._extra, self._extra_rows, strict=True):
            twin.add_row(row, name)
        twin._set_objective(
            self._cost.copy(),
            maximise=self._maximise,
            racing=False,
            restart=self.restart,
            integral=self._integral,
        )
        twin.set_objective_offset(self._offset)
        for setting in ("rank_deadline", "abs_gap", "sub_mips", "root_heuristic", "root_lp"):
            setattr(twin, setting, getattr(self, setting))
        return twin

    def adopt(self, twin: MatrixSolver | None) -> None:
        """Take the record of `twin`'s last solve as this solver's own: the solutions it
        passed through (`last_solutions`, and the last, which `at_least` weighs), its last
        bound and whether it was interrupted. None: no solve ran (the deadline came first),
        and none of this solver's own earlier solves may stand for it."""
        self._found = deque(() if twin is None else twin.last_solutions(), maxlen=POOL_SIZE)
        self._seen = None if twin is None else twin._seen
        self._seen_bound = None if twin is None else twin._seen_bound
        self.interrupted = True if twin is None else twin.interrupted
        self.interrupted_at = None if twin is None else twin.interrupted_at

    def next_solve_beside(self, until: float, round_lps: float = 0.0) -> None:
        """The next solve (only) runs beside a start search in another thread: it ends at
        `until` by HiGHS's own time limit (within the deadline), whatever the rank's share,
        and takes the plans that search `offer`s.

        With `round_lps`, the solve also stops at a check after its root LP when the next
        check is expected after `until`: HiGHS checks no limit within a round of root cuts
        (measured: L 18 s, XL 44-48 s past a 20 s limit), so whatever it does then could
        not reach the search before the end, and its thread would outlive the solve. The
        next round is expected to take the longest time between two checks so far, and at
        least `round_lps` times the root LP's own (bench/README.md section 25)."""
        self._beside_until = until
        self._round_lps = round_lps
        self._offered = self._given = None

    def offer(self, values: np.ndarray) -> None:
        """A plan (meeting every row) found by the search beside the solve running now:
        HiGHS takes it at its next query for one (after its root LP, after each cut
        round, before each dive) and keeps it if it is better than its own. Safe from
        any thread: one reference is replaced."""
        self._offered = np.array(values, dtype=np.float64)

    def at_least(self, result: SolveResult, values: np.ndarray | None) -> SolveResult:
        """`result`, or, when it was cut short and `values` (a plan found beside it) meets
        every row and is better on the objective held, `values` with `result`'s bound."""
        return self._with_fallback(result, values)

    def _give_offered(self, event) -> None:
        """HiGHS callback: hand it the newest offered plan, once."""
        offered = self._offered
        if offered is None or offered is self._given:
            return
        self._given = offered
        event.data_in.setSolution(offered)

    def _keep_improving_solution(self, event) -> None:
        """HiGHS callback: remember each better solution, so an abandoned solve still has one.

        Not after the solve was given up: the solver's later answers must not
        depend on when the given-up thread last reported."""
        if self.abandoned is not None:
            return
        out = event.data_out
        self._seen = np.array(out.mip_solution, dtype=float)
        self._found.append(self._seen)
        self._note_bound(out)
        self._note_reported(out.objective_function_value, out.mip_dual_bound)
        race = self._race
        if race is not None:
            race.solution_found(self._seen)

    def live_numbers(self) -> LiveNumbers | None:
        """As `_HighsRun.live_numbers`, with the last improving solution HiGHS reported."""
        numbers = super().live_numbers()
        if numbers is None:
            return None
        return LiveNumbers(numbers.objective, numbers.bound, self._seen)

    def _note_bound(self, out) -> None:
        bound = float(out.mip_dual_bound)
        if math.isfinite(bound) and abs(bound) < highspy.kHighsInf:
            self._seen_bound = bound

    def _interrupt_at_deadline(self, event) -> None:
        if event.callback_type == highspy.cb.HighsCallbackType.kCallbackMipInterrupt:
            self._note_bound(event.data_out)
        race = self._race
        if race is not None and race.stop_highs:
            event.interrupt()
            return
        super()._interrupt_at_deadline(event)

    def _ends_early(self, event) -> bool:
        """Whether a solve beside a search is past its root LP and its next check is expected
        after its end (`next_solve_beside`)."""
        if event.callback_type != highspy.cb.HighsCallbackType.kCallbackMipInterrupt:
            return False
        if self._round_lps <= 0.0 or self._run_until is None:
            return False
        out = event.data_out
        now = time.monotonic()
        if self._checks is None:
            self._checks = _Checks(began=now, opening_bound=float(out.mip_dual_bound), last=now)
            return False
        next_round = self._checks.next_round(now, float(out.mip_dual_bound), self._round_lps)
        return next_round is not None and self._run_until - now < next_round

    def _set_objective(
        self,
        cost: np.ndarray,
        *,
        maximise: bool,
        racing: bool,
        restart: bool = True,
        integral: bool = False,
    ) -> None:
        """Hand HiGHS a cost vector and sense; `racing`: whether CBC may race this stage;
        `restart`: whether HiGHS may restart after its root (and, on small models, run its
        root heuristic: `from_related_plan`); `integral`: every plan's best value is an
        integer (the race may then prove CBC's plan the only optimum)."""
        self._integral = integral
        self._cost = cost
        self._maximise = maximise
        self._racing_stage = racing
        self.restart = restart
        self.root_heuristic = restart or self.large
        highs = self._live()
        if highs is not None:
            highs.changeColsCost(self.model.n_cols, self._all_cols, cost)
            highs.changeObjectiveSense(
                highspy.ObjSense.kMaximize if maximise else highspy.ObjSense.kMinimize
            )

    def from_related_plan(self, *, near: bool = False) -> None:
        """The next solves start from a related plan (a later rank, a frontier point): on
        small models without HiGHS's restart after its root and, when the start is `near`
        (most likely the optimum itself: a later rank's), without its root reduced-cost
        heuristic either.

        Why: from a related plan the restart throws away a search already close to the
        end (S, 10 plans, one thread: reach stages 11.6 -> 6.1 s, the same plans). The
        heuristic searches for a first good plan: from a later rank's start, mostly its
        optimum, it finds nothing better (S, ranks 2-10 solved alone from the product's
        starts: 7.07 -> 6.5 s; 10 plans 5 % faster). From a frontier point's start repaired
        by dropping what the budget asks (77 % of the optimum, median) it was what found
        the way (S's frontier 9-11 -> 13-14 s without it); from that plan's best single
        drop, refilled (98 %), frontier points run without it (`reach_stage`'s
        `neighbour`; S, chains of 70 points: 13.6 -> 10.7 s with both). From no start at
        all HiGHS is 2-3x slower without it. The merged
        tie-break, which always starts from its reach stage's plan, never runs it
        (`use_tie_break`). Large models keep both: neither was measured there."""
        if not self.large:
            self.restart = False
            self.root_heuristic = not near

    def use_objective(self, name: str) -> None:
        """Make `weighted_reach`, `net_spend` or `option_count` the objective (SPEC §3 order)."""
        self._set_objective(
            self.model.objectives[name].copy(),
            maximise=OBJECTIVES[name],
            racing=name == "weighted_reach",
        )

    def set_objective_offset(self, offset: float) -> None:
        """A constant added to the objective (the elastic diagnosis model uses one)."""
        self._offset = float(offset)
        highs = self._live()
        if highs is not None:
            highs.changeObjectiveOffset(self._offset)

    def use_lexicographic(self, reach_weight: float, spend_weight: float) -> None:
        """Maximise reach_weight·W − spend_weight·N − option count (formulation choice 16)."""
        objectives = self.model.objectives
        cost = (
            reach_weight * objectives["weighted_reach"]
            - spend_weight * objectives["net_spend"]
            - objectives["option_count"]
        )
        self._set_objective(cost, maximise=True, racing=True, integral=True)

    def use_tie_break(self, epsilon: float, scale: float = 1.0) -> None:
        """Minimise `scale` · (net spend + `epsilon` · option count) (formulation eq. 15,
        merged stage); `scale` only lifts a tiny ε above HiGHS's tolerances
        (`planner.solving.stages.tie_break_scale`).

        Without HiGHS's restart: after the root, reductions under the held reach
        row trigger a restart that discards the root's work; without it the S
        tie-breaks took 1.2-1.3 s instead of 2.7 s (bench/README.md)."""
        objectives = self.model.objectives
        cost = scale * (objectives["net_spend"] + epsilon * objectives["option_count"])
        self._set_objective(cost, maximise=False, racing=False, restart=False)

    def set_start(self, values: Sequence[float] | np.ndarray) -> None:
        """Offer a full column vector (x, y, z, u) as the next solve's starting incumbent.

        HiGHS checks it against the model as it is then (stage rows, cuts) and
        uses it only if it is feasible; the offer holds for the next `run()`.
        A start that meets every row is also this solver's answer when HiGHS
        ends the solve with nothing better (say, abandoned in its root LP).
        """
        col = np.array(values, dtype=np.float64)
        if col.shape != (self.model.n_cols,):
            raise ValueError("a start needs one value per column")
        self._start = col
        highs = self._live()
        if highs is not None:
            highs.setSolution(self.model.n_cols, self._all_cols, col)

    def hold(self, objective: str, limit: float) -> None:
        """Stage row (eq. 15): keep `objective` at least (maximised) or at most `limit`."""
        vector = self.model.objectives[objective]
        cols = np.flatnonzero(vector).astype(np.int32)
        lower, upper = (limit, np.inf) if OBJECTIVES[objective] else (-np.inf, limit)
        self._append_row(
            ExtraRow(cols, vector[cols].copy(), lower, upper), f"tie_break({objective})"
        )

    def clear_stage_rows(self) -> None:
        """Delete the previous rank's stage rows (cuts stay)."""
        base = self.model.n_rows
        stage = [base + k for k, name in enumerate(self._extra) if name.startswith("tie_break")]
        if stage:
            highs = self._live()
            if highs is not None:
                highs.deleteRows(len(stage), np.array(stage, dtype=np.int32))
            keep = [not name.startswith("tie_break") for name in self._extra]
            self._extra = [name for name, k in zip(self._extra, keep, strict=True) if k]
            self._extra_rows = [row for row, k in zip(self._extra_rows, keep, strict=True) if k]

    def add_row(self, row: ExtraRow, name: str) -> None:
        """Append a row given as data (a cut or stage row of another solver on the same model)."""
        self._append_row(row, name)

    def add_no_good_cut(self, option_columns: Sequence[int], rhs: float) -> None:
        """Eq. (14): Σ_{o∈S} x_o ≤ rhs over the given option indices (x columns)."""
        self._cuts += 1
        self._append_row(no_good_row(self.model, option_columns, rhs), f"no_good({self._cuts})")

    def _append_row(self, row: ExtraRow, name: str) -> None:
        """Record a row added after the model, and hand it to HiGHS while that is safe."""
        highs = self._live()
        if highs is not None:
            cols = np.asarray(row.cols, dtype=np.int32)
            vals = np.asarray(row.vals, dtype=float)
            highs.addRow(row.lower, row.upper, len(cols), cols, vals)
        self._extra.append(name)
        self._extra_rows.append(row)

    def drop_last_cut(self) -> None:
        """Delete the last no-good cut (one added for a plan the tie-break then changed)."""
        last = max(k for k, name in enumerate(self._extra) if name.startswith("no_good"))
        highs = self._live()
        if highs is not None:
            highs.deleteRows(1, np.array([self.model.n_rows + last], dtype=np.int32))
        del self._extra[last], self._extra_rows[last]
        self._cuts -= 1

    def row_name(self, row: int) -> str:
        """The name of row `row` of what HiGHS holds now (model rows, stage rows, cuts)."""
        if row < self.model.n_rows:
            return self.model.row_name(row)
        return self._extra[row - self.model.n_rows]

    def write_model(self, path: str | os.PathLike[str]) -> None:
        """Write exactly what HiGHS holds now (objective, stage rows, cuts) as MPS or LP.

        The format follows the suffix (`.mps`, `.lp`). Names are attached to a
        copy, so the solving instance never pays for them. Refused once a solve
        on it was given up (its thread may still be inside HiGHS).
        """
        highs = self._live()
        if highs is None:
            raise RuntimeError("a solve on this model was given up; HiGHS cannot be read now")
        lp = highs.getLp()
        lp.col_names_ = self.model.col_names()
        lp.row_names_ = self.model.row_names() + self._extra
        writer = quiet_highs()
        writer.passModel(lp)
        if writer.writeModel(str(path)) == highspy.HighsStatus.kError:
            raise RuntimeError(f"HiGHS could not write {path}")

    def _solve_once(self, presolve: str) -> SolveResult:
        """One HiGHS run (`_checked_run`); a minimising stage of a small model asked for
        without presolve is first run with it, and that answer stands only when its
        reported objective is its own columns' to `OWN_VALUE_TOL` relative.

        Why: the merged tie-break (`planner.solving.stages`) asks for no presolve because
        HiGHS 1.16, given a start, proved that start optimal although a plan of fewer
        options existed (`tests/solving/test_magnitudes.py`, seed 2144). The cause,
        measured on that scenario: with presolve, HiGHS reports the optimum of the
        presolved model (22.000002) but returns the start's columns, whose objective is
        22.000004: the start's value is taken without the cost of the columns presolve
        removed. Presolve makes the tie-break 2.5x faster at S, so it runs, and an
        answer that fails the check is solved again without presolve from the same start.
        Only on models counted as small (up to
        `SMALL_MODEL_NONZEROS`, where presolve is on for every other stage): on larger
        models presolve cannot be interrupted and grows fast (formulation choice 9).
        """
        if self.large or self._maximise or presolve != "off":
            return self._checked_run(presolve)
        start = self._start
        first = self._checked_run("on")
        if not first.has_solution or first.incumbent is None or self._own_value(first):
            return first
        self._start = start
        self.highs.clearSolver()
        return self._checked_run("off")

    def _own_value(self, result: SolveResult) -> bool:
        """Whether HiGHS's reported objective is that of the columns it returned, to
        `OWN_VALUE_TOL` relative (`_consistent` allows the wider `tolerance`)."""
        assert result.incumbent is not None
        gap = abs(self._objective_of(result) - result.incumbent)
        return gap <= OWN_VALUE_TOL * max(1.0, abs(result.incumbent))

    def _objective_of(self, result: SolveResult) -> float:
        """The active objective at the columns `result` holds, recomputed here."""
        return self.objective_at(result.columns())

    def _checked_run(self, presolve: str) -> SolveResult:
        """One HiGHS run, checked: its reported objective must be its solution's.

        HiGHS 1.16, given a start, once reported as optimal an objective its
        own solution did not have (`tests/solving/test_fast_ranking.py`); such an
        answer is re-solved once without the start, and reported as numerical
        trouble if it persists. When HiGHS ends without a solution (deadline,
        abandoned root LP), the best of its last improving solution and the
        offered start that meets every row is the answer.
        """
        started = time.monotonic()
        start, self._start = self._start, None
        self._seen, self._seen_bound = None, None
        self._found.clear()
        refused = self._refuse()
        if refused is not None:
            return self._with_fallback(refused, start)
        start_only, self.start_only = self.start_only, False  # the next solve only
        if start_only and start is not None:
            unsearched = SolveResult(Termination.TIME_LIMIT, None, None, 0.0, message="start only")
            return self._with_fallback(unsearched, start)
        result = self._run_beside(presolve, started)
        if result.has_solution and not self._consistent(result):
            if start is not None and self.deadline > time.monotonic() and self.abandoned is None:
                self._highs.clearSolver()
                self._seen, self._seen_bound = None, None
                self._found.clear()
                result = self._run_once(presolve, started)
                start = None
            if result.has_solution and not self._consistent(result):
                return SolveResult(
                    Termination.NUMERICAL,
                    None,
                    None,
                    result.seconds,
                    message=(
                        f"HiGHS reported objective {result.incumbent} for a solution "
                        f"whose objective is {self._objective_of(result)}"
                    ),
                )
        return self._with_fallback(result, start)

    def _run_beside(self, presolve: str, started: float) -> SolveResult:
        """`_run_once`, until `_beside_until` and taking offered plans when the solve was
        asked to run beside a search (`next_solve_beside`)."""
        until, self._beside_until = self._beside_until, None
        if until is None:
            return self._run_once(presolve, started)
        self._run_until = until
        self._checks = None
        self._highs.cbMipUserSolution.subscribe(self._give_offered)
        try:
            return self._run_once(presolve, started)
        finally:
            self._run_until = None
            self._round_lps = 0.0
            if self.abandoned is None:
                self._highs.cbMipUserSolution.unsubscribe(self._give_offered)

    def _consistent(self, result: SolveResult) -> bool:
        assert result.incumbent is not None
        return abs(self._objective_of(result) - result.incumbent) <= tolerance(result.incumbent)

    def _with_fallback(self, result: SolveResult, start: np.ndarray | None) -> SolveResult:
        """`result`, or when it was cut short, the best known vector that meets every row
        if it is better: a solve stopped early answers at least as well as its start (HiGHS
        may set a start aside and stop, at a rank's share, on a plan of its own)."""
        if result.termination != Termination.TIME_LIMIT:
            return result
        best: tuple[float, np.ndarray] | None = None
        if result.has_solution:
            assert result.incumbent is not None
            best = (result.incumbent, np.asarray(result.columns(), dtype=np.float64))
        for values in (self._seen, start):
            if values is None or not feasible(
                self.model, self._extra_rows, values, tol=FALLBACK_TOL
            ):
                continue
            value = self.objective_at(values)
            if best is None or self.better(value, best[0]):
                best = (value, values)
        if best is None or (result.has_solution and best[0] == result.incumbent):
            return result
        bound = self._seen_bound if result.bound is None else result.bound
        return self._result(
            result.termination, best[0], bound, result.seconds, best[1], result.message
        )

    def _run_once(self, presolve: str, started: float) -> SolveResult:
        self.interrupted = False
        highs = self._highs
        end = self.deadline if self._run_until is None else min(self.deadline, self._run_until)
        for key, value in self._options(presolve, end - started).items():
            highs.setOptionValue(key, value)
        race = self._race = self._new_race(started) if self.race and self._racing_stage else None
        try:
            try:
                self._run_watched(highs, None if race is None else race.tick)
            except _Abandoned:
                seconds = time.monotonic() - started
                result = SolveResult(
                    Termination.TIME_LIMIT, None, self._seen_bound, seconds, message="abandoned"
                )
            else:
                result = self._highs_result(started)
            return result if race is None else race.settle(result)
        finally:
            self._race = None
            if race is not None:
                race.end()
                self.race = not race.unavailable  # no second process here: HiGHS alone

    def _new_race(self, started: float) -> StageRace:
        return StageRace(
            model=self.model,
            extra_rows=tuple(self._extra_rows),
            lp=self._highs.getLp(),
            cost=self._cost,
            offset=self._offset,
            maximise=self._maximise,
            started=started,
            # CBC keeps to the rank's share too: HiGHS waits for its answer when it stops.
            deadline=min(self.deadline, self.rank_deadline or math.inf),
            grace=self.grace,
            mip_gap=self.mip_gap,
            abs_gap=self.abs_gap,
            as_result=self._result,
            spare_core_taken=self.spare_core_taken,
            integral=self._integral,
        )

    def _highs_result(self, started: float) -> SolveResult:
        """What HiGHS's last run found, as a `SolveResult`."""
        highs = self._highs
        seconds = time.monotonic() - started
        status = highs.getModelStatus()
        message = f"{_STATUS_WORDS.get(status, 'unknown')}: {highs.modelStatusToString(status)}"
        if status == highspy.HighsModelStatus.kOptimal:
            termination = Termination.OPTIMAL
        elif status == highspy.HighsModelStatus.kTimeLimit or self.interrupted:
            termination = Termination.TIME_LIMIT
        elif status == highspy.HighsModelStatus.kInfeasible:
            termination = Termination.INFEASIBLE
        elif status in (
            highspy.HighsModelStatus.kUnboundedOrInfeasible,
            highspy.HighsModelStatus.kUnbounded,
        ):
            termination = Termination.UNBOUNDED  # confirmed or refuted by `solve`
        else:
            termination = Termination.NUMERICAL
        info = highs.getInfo()
        has_solution = info.primal_solution_status == 2
        if info.mip_node_count == -1:  # solved as an LP (no integer columns)
            bound = (
                info.objective_function_value
                if has_solution and termination == Termination.OPTIMAL
                else None
            )
        else:
            bound = info.mip_dual_bound
        incumbent = info.objective_function_value if has_solution else None
        if incumbent is None or not math.isfinite(incumbent):
            return SolveResult(termination, None, finite_or_none(bound), seconds, message=message)
        values = np.asarray(highs.getSolution().col_value, dtype=np.float64)
        return self._result(termination, float(incumbent), bound, seconds, values, message)

    def better(self, a: float, b: float) -> bool:
        """Whether objective value `a` is better than `b` for the objective held."""
        return a > b if self._maximise else a < b

    def objective_at(self, values: np.ndarray) -> float:
        """The objective held, at the columns `values` (its offset included)."""
        return float(self._cost @ values) + self._offset

    def _result(
        self,
        termination: Termination,
        incumbent: float,
        bound: float | None,
        seconds: float,
        values: np.ndarray,
        message: str,
    ) -> SolveResult:
        mm = self.model
        vector = np.array(values, dtype=np.float64)  # a copy of its own, never changed
        vector.flags.writeable = False
        return SolveResult(
            termination,
            incumbent,
            finite_or_none(bound),
            seconds,
            x=tuple(values[mm.x_start : mm.y_start].tolist()),
            y=tuple(values[mm.y_start : mm.z_start].tolist()),
            z=tuple(values[mm.z_start : mm.u_start].tolist()),
            u=tuple(values[mm.u_start :].tolist()),
            message=message,
            vector=vector,
        )
