"""A second solver that proves one rank's tie-break while the next rank's reach stage runs.

Why: on small models every rank is two proofs of similar length, the reach
stage and the tie-break (1.3-3.5 s each at 200 options, bench/README.md), and
HiGHS runs each on one core. The next rank needs only the plan's *options*
for its no-good cut, and the tie-break almost never changes them: on the
benchmark's 200-option scenario it kept the reach stage's options in 10 ranks
of 10 and only re-chose co-financing (a cheaper way to pay for the same
plan). So `rank_plans` cuts the reach stage's options at once and starts the
next reach stage, while this lane proves the tie-break on its own copy of the
model in a thread (highspy releases the GIL while it solves). When the
tie-break ends on other options, the cut is replaced and the next reach stage
is solved again: the plans are those of the sequential order whichever
finishes first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from planner.model.matrix_model import MatrixModel
from planner.solving.model_rows import ExtraRow
from planner.solving.result import SolveResult
from planner.solving.solver import UNWIND_WAIT, MatrixSolver, SolveScope, join_ticking
from planner.solving.stages import Stages, tie_break

#: How long `TieBreakLane.close` waits for the lane's thread: its solve is given up
#: `UNWIND_WAIT` after the interrupt; the rest is room for a loaded machine.
CLOSE_WAIT = 20 * UNWIND_WAIT + 0.5


class TieBreakLane:
    """One HiGHS instance on the same matrix as the main solver, for tie-breaks only.

    It holds the model, the no-good cuts of the plans returned so far (handed
    over by `start`, in the main solver's order) and one stage row; it is built
    on first use, so runs that never overlap two stages never pay for it.
    `scope` is the call's (`SolveScope`): a stop of the call stops the lane too.
    """

    def __init__(
        self,
        model: MatrixModel,
        *,
        deadline: float,
        mip_gap: float,
        grace: float,
        scope: SolveScope | None = None,
    ) -> None:
        self.model = model
        self._solver = MatrixSolver(
            model, deadline=deadline, mip_gap=mip_gap, grace=grace, scope=scope
        )
        self._thread: threading.Thread | None = None
        self._outcome: Stages | BaseException | None = None

    @property
    def busy(self) -> bool:
        """Whether a tie-break is running now (its core is taken)."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def interrupted(self) -> bool:
        """Whether the last tie-break was stopped by the run's deadline."""
        return self._solver.interrupted

    def start(
        self, reach: SolveResult, cuts: Sequence[ExtraRow], rank_deadline: float | None = None
    ) -> None:
        """Begin the tie-break after `reach`, found under exactly `cuts` (no stage rows);
        `rank_deadline` ends its rank's share of the time limit (`_HighsRun.rank_deadline`)."""
        if self._thread is not None:
            raise RuntimeError("the lane is still busy with the previous tie-break")
        solver = self._solver
        solver.rank_deadline = rank_deadline
        solver.clear_stage_rows()
        held = len(solver.extra_rows())
        for number, row in enumerate(cuts[held:], start=held + 1):
            solver.add_row(row, f"no_good({number})")
        self._outcome = None
        self._thread = threading.Thread(
            target=self._work, args=(reach,), name="tie-break-lane", daemon=True
        )
        self._thread.start()

    def _work(self, reach: SolveResult) -> None:
        try:
            self._outcome = tie_break(self.model, self._solver, reach)
        except BaseException as exc:  # handed to the caller by `result`
            self._outcome = exc

    def close(self, wait: float = CLOSE_WAIT) -> bool:
        """Stop a tie-break still running (the run ended without waiting for it); wait `wait` s.

        Its solver's deadline is moved to now, so HiGHS is interrupted at its
        next check and the lane's watchdog gives the solve up after
        `UNWIND_WAIT` (its thread is then the call's to wait for, `SolveScope`):
        the lane's thread itself ends well within `CLOSE_WAIT`. True when it
        has ended.
        """
        self._solver.deadline = 0.0
        thread = self._thread
        if thread is None:
            return True
        thread.join(wait)
        if thread.is_alive():
            return False
        self._thread = None
        return True

    def result(self, tick: Callable[[], None] | None = None) -> Stages:
        """Wait for the tie-break and return its stages (its errors are raised here).

        The wait is bounded: the lane's solver has the run's deadline and gives
        up a solve that overstays it, like the main solver. `tick`, if given, is
        called every `TICK_SECONDS` meanwhile, from this (the waiting) thread:
        the run's progress reports go on while it waits.
        """
        thread = self._thread
        if thread is None:
            raise RuntimeError("no tie-break was started")
        join_ticking(thread, tick)
        self._thread = None
        outcome, self._outcome = self._outcome, None
        if isinstance(outcome, BaseException):
            raise outcome
        assert outcome is not None
        return outcome
