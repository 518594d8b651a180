"""CBC beside HiGHS on one stage solve: when CBC starts, what its proof means, and
which answer the stage gives (models/formulation.md, choice 14).

Why a race: on knapsack-like models CBC's cuts close the bound much faster than
HiGHS's, and HiGHS runs single-threaded, so on a second core CBC costs no wall
time (`planner.solving.cbc_rival` runs CBC and reads its files).

Why this answer rule: a proof by CBC ends the stage at HiGHS's *first* solution
within the proven gap, not at CBC's own solution. HiGHS's search is
deterministic, so where several plans tie, the plan returned does not depend
on which process finished first. CBC's own plan is the answer only when it is
provably the only plan of its value (`integral` objectives: a second CBC run,
the `checker`, finds no other), so any solver would have returned it, or when
HiGHS found none that good before the deadline.

`planner.solving.solver.MatrixSolver` makes one `StageRace` per racing solve, reports
HiGHS's improving solutions to it from HiGHS's thread (`solution_found`), calls
`tick` from the waiting thread, interrupts HiGHS once `stop_highs` is set, and
asks `settle` for the stage's answer.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import highspy
import numpy as np

from planner.model.matrix_model import MatrixModel
from planner.solving.cbc_rival import CbcRival, RivalAnswer, cbc_command
from planner.solving.highs_instance import quiet_highs
from planner.solving.model_rows import ExtraRow, feasible
from planner.solving.result import FALLBACK_TOL, SolveResult, Termination, finite_or_none

#: Largest model (nonzeros) on which CBC races HiGHS: up to M-sized models (50k).
#: Above it CBC's preprocessing alone can outlast the limit (bench/README.md).
RACE_MAX_NONZEROS = 100_000

#: A solve that HiGHS has not finished after this long gets CBC beside it. Most
#: solves of small scenarios end sooner, and then never pay for a second process.
RACE_AFTER = 0.3

#: CBC's own time limit ends it this long before the solve's deadline, so that it
#: still writes the best solution it has.
RIVAL_EARLY = 0.2

#: Builds the stage's answer from a full column vector (`MatrixSolver._result`).
AsResult = Callable[[Termination, float, float | None, float, np.ndarray, str], SolveResult]


def cores_available() -> int:
    """Cores this process may run on (its affinity, not the machine's count): what a call
    that does not say how many cores it may use (`rank_plans(threads=None)`) takes."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def rival_worthwhile(model: MatrixModel) -> bool:
    """Whether racing CBC beside HiGHS can pay on this model.

    It needs a CBC binary, integer columns, and a model small enough that
    CBC's preprocessing ends well within a run (`RACE_MAX_NONZEROS`). The
    second core it also needs (HiGHS runs single-threaded) is the caller's to
    give: `rank_plans(threads=...)`.
    """
    return (
        bool((model.integrality == 1).any())
        and len(model.row_value) <= RACE_MAX_NONZEROS
        and cbc_command() is not None
    )


@dataclass(eq=False)
class StageRace:
    """The second solver on one HiGHS solve, from its start to its answer."""

    model: MatrixModel
    extra_rows: Sequence[ExtraRow]
    """The rows added after the model (stage rows, cuts): CBC's answer must meet them too."""
    lp: highspy.HighsLp
    """HiGHS's model as the solve starts (what CBC is given)."""
    cost: np.ndarray
    offset: float
    maximise: bool
    started: float
    deadline: float
    grace: float
    mip_gap: float
    abs_gap: float
    as_result: AsResult
    spare_core_taken: Callable[[], bool] = lambda: False
    """Whether other work of this run uses the second core now (CBC then waits)."""
    integral: bool = False
    """Every plan's best objective value is an integer (the one exact objective of
    choice 16): then CBC's plan can be proven the only optimum (`checker`)."""
    rival: CbcRival | None = None
    checker: CbcRival | None = None
    """CBC on the model without CBC's optimal plan, cut off below its value: proves
    that plan the only optimum, or finds another."""
    unique: bool = False
    """CBC's proven plan is the only plan of its value (any solver would return it)."""
    proof: tuple[float, np.ndarray] | None = None
    """CBC's proven optimum (value, checked solution), once known."""
    band: float | None = None
    """A HiGHS solution at least (maximising) or at most this good is proven by CBC."""
    improving: list[tuple[float, np.ndarray]] = field(default_factory=list)
    """HiGHS's improving solutions since the solve began (a start it accepts comes
    first), in order, as (value, vector)."""
    stop_highs: bool = False
    """Set once HiGHS holds a solution CBC has proven: HiGHS may stop."""
    unavailable: bool = False
    """CBC could not be started on this machine (no second process): HiGHS alone."""

    def solution_found(self, values: np.ndarray) -> None:
        """From HiGHS's thread: one more improving solution (kept from the solve's start,
        since CBC's proof may come after HiGHS found the solution it proves)."""
        value = float(self.cost @ values) + self.offset
        self.improving.append((value, values))
        if self.band is not None and self._in_band(value):
            self.stop_highs = True

    def tick(self) -> None:
        """Between waits for HiGHS: start CBC once the solve lasts, then watch for its proof."""
        if self.unavailable:
            return
        now = time.monotonic()
        if self.rival is None:
            left = self.deadline - now - RIVAL_EARLY
            command = cbc_command()
            if now - self.started < RACE_AFTER or left < RACE_AFTER or command is None:
                return
            if self.spare_core_taken():
                return  # a tie-break runs there (tie_break_lane); CBC may start later
            try:
                self.rival = CbcRival(
                    self.lp,
                    command=command,
                    maximise=self.maximise,
                    seconds=left,
                    rel_gap=self.mip_gap,
                    abs_gap=self.abs_gap,
                )
            except OSError:
                self.unavailable = True
            return
        if self.proof is not None:
            self._check_uniqueness()
            return
        if not self.rival.done():
            return
        proof = self._checked(self.rival.answer())
        if proof is None or not proof[2]:
            return
        value, values, _ = proof
        self.proof = (value, values)
        margin = self._margin(value)
        self.band = value - margin if self.maximise else value + margin
        if any(self._in_band(v) for v, _ in list(self.improving)):
            self.stop_highs = True
        elif self.integral:
            self._start_checker(value, values)

    def _start_checker(self, value: float, values: np.ndarray) -> None:
        """CBC again, on the model with a no-good cut over every binary of CBC's plan and
        the cutoff value ∓ 0.5: with integral plan values, "infeasible" means no other
        plan reaches `value` (a cutoff, not a row: a row at this scale is beyond the
        solvers' tolerances, bench/README.md, Findings §12)."""
        left = self.deadline - time.monotonic() - RIVAL_EARLY
        command = cbc_command()
        if command is None or left < RACE_AFTER:
            return
        binary = np.flatnonzero(self.model.integrality == 1).astype(np.int32)
        chosen = np.round(values[binary]) > 0.5
        copy = quiet_highs()
        copy.passModel(self.lp)
        # Σ_{chosen} (1 − b) + Σ_{others} b ≥ 1: any binary vector but this one.
        coefs = np.where(chosen, -1.0, 1.0)
        copy.addRow(1.0 - float(chosen.sum()), highspy.kHighsInf, len(binary), binary, coefs)
        try:
            self.checker = CbcRival(
                copy.getLp(),
                command=command,
                maximise=self.maximise,
                seconds=left,
                rel_gap=0.0,
                abs_gap=self.abs_gap,
                cutoff=value - 0.5 if self.maximise else value + 0.5,
            )
        except OSError:
            self.checker = None

    def _check_uniqueness(self) -> None:
        checker = self.checker
        if checker is None or self.unique or not checker.done():
            return
        answer = checker.answer()
        if answer is not None and answer.infeasible:
            self.unique = True
            self.stop_highs = True

    def settle(self, result: SolveResult) -> SolveResult:
        """The stage's answer once HiGHS has returned `result`.

        A proof by CBC makes HiGHS's first solution within the proven gap the
        answer (see the module's docstring; CBC's own solution only when HiGHS
        found none that good before the deadline). Without a proof, the better
        solution and the tighter bound of the two are the answer.
        """
        rival = self.rival
        if rival is None:
            return result
        seconds = time.monotonic() - self.started
        if self.stop_highs and self.proof is not None:
            proven = self._proof_bound(self.proof[0])
            found = next(((v, x) for v, x in self.improving if self._in_band(v)), None)
            if found is not None:
                value, values = found
                message = "optimal: HiGHS's solution, proven optimal by CBC"
                return self.as_result(Termination.OPTIMAL, value, proven, seconds, values, message)
            # Only `unique` stops HiGHS without such a solution: CBC's plan is the only one.
            value, values = self.proof
            message = "optimal: proven by CBC, the only plan of that value"
            return self.as_result(Termination.OPTIMAL, value, proven, seconds, values, message)
        if result.termination != Termination.TIME_LIMIT:
            return result
        answer: RivalAnswer | None = None
        checked: tuple[float, np.ndarray, bool] | None = None
        if self.proof is None:
            answer = rival.stop(wait=max(0.0, self.deadline + self.grace - time.monotonic()))
            checked = self._checked(answer)
            if checked is not None and checked[2]:
                self.proof = (checked[0], checked[1])
        if self.proof is not None:
            value, values = self.proof
            message = "optimal: proven by CBC"
            proven = self._proof_bound(value)
            return self.as_result(Termination.OPTIMAL, value, proven, seconds, values, message)
        bound = result.bound
        if answer is not None and answer.bound is not None:
            theirs = answer.bound + self.offset
            if bound is None or self._better(bound, theirs):
                bound = theirs
        if checked is not None and (
            result.incumbent is None or self._better(checked[0], result.incumbent)
        ):
            message = f"{result.message}; CBC's solution was better"
            return self.as_result(
                result.termination, checked[0], bound, seconds, checked[1], message
            )
        return replace(result, bound=finite_or_none(bound))

    def end(self) -> None:
        """Stop CBC if it still runs (and remove its files)."""
        for run in (self.rival, self.checker):
            if run is not None:
                run.stop()

    def _checked(self, answer: RivalAnswer | None) -> tuple[float, np.ndarray, bool] | None:
        """CBC's solution (value, vector, proven) if it meets every row, else None."""
        if answer is None or answer.values is None:
            return None
        if not feasible(self.model, self.extra_rows, answer.values, tol=FALLBACK_TOL):
            return None
        return float(self.cost @ answer.values) + self.offset, answer.values, answer.proven

    def _margin(self, value: float) -> float:
        """How far CBC's proven value may be from the optimum (its absolute and relative gaps)."""
        return self.abs_gap + self.mip_gap * max(1.0, abs(value))

    def _in_band(self, value: float) -> bool:
        assert self.band is not None
        return value >= self.band if self.maximise else value <= self.band

    def _proof_bound(self, value: float) -> float:
        """The bound CBC's proof of `value` gives: no solution is better than this."""
        margin = self._margin(value)
        return value + margin if self.maximise else value - margin

    def _better(self, a: float, b: float) -> bool:
        return a > b if self.maximise else a < b
