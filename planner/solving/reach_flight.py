"""A later rank's reach stage on a solver of its own, solved beside the rank before it.

Why: on small models every rank's reach stage is a whole branch and bound
(S: 0.4-1.3 s each, bench/README.md §22), each starting where the one before
ended, so the ranks of a run followed one another on one core while the other
had little to do. The start of rank k+1 is most often rank k+1's own plan (S: 5-6
ranks of 9), so rank k+2 can be solved beside rank k+1 on the guess that rank
k+1 ends on its start: its cut is then the one rank k+2 needs. A flight records
what it assumed (`after`, the options of every plan before it, the last
perhaps a guess); the ranking keeps its answer only when that is what happened,
and cancels it otherwise (`planner.solving.ranking`, formulation choice 19).

Everything a flight does depends only on what it is given (the rows, the hint,
the pool), never on when it runs: a fresh solver holds exactly its rows in their
order, and its start is made from the hint and the pool alone (`made_from`). So
a rank solved inline on one core and the same rank solved beside another on two
are the same HiGHS run and give the same plan. A launched flight makes its start
in its own thread, first (the caller asking for it waits for that alone).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np

from planner.model.common import extract_decisions
from planner.model.matrix_model import MatrixModel
from planner.solving.greedy_layout import GreedyLayout
from planner.solving.model_rows import ExtraRow
from planner.solving.result import SolveResult
from planner.solving.solver import UNWIND_WAIT, MatrixSolver, SolveScope, join_ticking
from planner.solving.stages import StageProgress, StageWatch, best_start, reach_stage


def options_of(mm: MatrixModel, values: np.ndarray) -> tuple[str, ...]:
    """The options chosen in a column vector of `mm`."""
    n_y, n_z, n_u = mm.y_start, mm.z_start, mm.u_start
    return extract_decisions(mm, list(values[:n_y]), list(values[n_y:n_z]), list(values[n_z:n_u]))[
        0
    ]


#: How long `ReachFlight.cancel` waits for the flight's thread: HiGHS stops at its next
#: interrupt check (milliseconds at the sizes flights run at); the rest is for a loaded
#: machine.
CANCEL_WAIT = 20 * UNWIND_WAIT + 0.5


class ReachFlight:
    """One rank's reach stage: a solver holding the model and the cuts of the plans it
    comes `after`, its start, and the thread that solves it (or none, when it is solved
    inline by `result`).

    `hint` and `pool` make the start as for any later rank (`stages.best_start`): the
    next rank's flight can be launched on the guess that this one ends on it
    (`start_options`).
    """

    def __init__(
        self,
        model: MatrixModel,
        *,
        after: tuple[tuple[str, ...], ...],
        cuts: Sequence[ExtraRow],
        hint: tuple[str, ...],
        pool: Sequence[np.ndarray],
        deadline: float,
        mip_gap: float,
        grace: float,
        scope: SolveScope,
        layout: GreedyLayout | None,
    ) -> None:
        self.model = model
        self.after = after
        """The options of every plan this rank comes after, in rank order."""
        self.solver = MatrixSolver(
            model, deadline=deadline, mip_gap=mip_gap, grace=grace, race=False, scope=scope
        )
        self.solver.start_layout = layout
        for number, row in enumerate(cuts, start=1):
            self.solver.add_row(row, f"no_good({number})")
        self.hint = hint
        self.pool = tuple(pool)
        self._start: np.ndarray | None = None
        self._started = threading.Event()
        self.watch = StageWatch()
        """How the stage stands while it runs (read by the waiting thread)."""
        self.midway = False
        """Whether it was launched on a plan the rank before it found midway (the ranking
        launches it again when that rank finds another)."""
        self._thread: threading.Thread | None = None
        self._outcome: SolveResult | BaseException | None = None

    @property
    def start(self) -> np.ndarray | None:
        """The vector the solve starts from, if one was found (made now, or waited for while
        the flight's own thread makes it)."""
        if not self._started.is_set():
            if self._thread is None:
                self._make_start()
            else:
                self._started.wait()
        return self._start

    def _make_start(self) -> None:
        try:
            self._start, _ = best_start(self.model, self.solver, self.hint, self.pool)
        finally:
            self._started.set()

    def made_from(self, hint: tuple[str, ...], pool: Sequence[np.ndarray]) -> bool:
        """Whether this flight's start is made from this hint and pool: then a flight made
        now, with these rows, would be this one."""
        return (
            hint == self.hint
            and len(pool) == len(self.pool)
            and all(np.array_equal(a, b) for a, b in zip(pool, self.pool, strict=True))
        )

    @property
    def start_options(self) -> tuple[str, ...] | None:
        """The options of the start: the guess for this rank's plan."""
        start = self.start
        return None if start is None else options_of(self.model, start)

    @property
    def busy(self) -> bool:
        """Whether its thread runs now (its core is taken)."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def launched(self) -> bool:
        """Whether the solve runs (or ran) in a thread of its own."""
        return self._thread is not None

    def launch(self) -> None:
        """Solve in a thread of its own (highspy releases the GIL while HiGHS runs)."""
        if self._thread is not None or self._outcome is not None:
            raise RuntimeError("this flight was already solved")
        self._thread = threading.Thread(target=self._work, name="reach-flight", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        try:
            if not self._started.is_set():
                self._make_start()
            pool = () if self._start is None else (self._start,)
            self._outcome = reach_stage(
                self.model, self.solver, pool=pool, near=True, watch=self.watch
            )
        except BaseException as exc:  # handed to the caller by `result`
            self._outcome = exc

    def progress(self) -> StageProgress | None:
        """How the stage stands now (None before it began or after it ended)."""
        return self.watch.now()

    def result(self, tick: Callable[[], None] | None = None) -> SolveResult:
        """The reach stage's answer: waited for if launched (calling `tick` every
        `TICK_SECONDS` meanwhile, from this thread), else solved here and now. Its
        errors are raised here. The wait is bounded by the solver's deadline and grace."""
        thread = self._thread
        if thread is None and self._outcome is None:
            self._work()
        elif thread is not None:
            join_ticking(thread, tick)
        outcome = self._outcome
        if isinstance(outcome, BaseException):
            raise outcome
        assert outcome is not None
        return outcome

    def cancel(self, wait: float = CANCEL_WAIT) -> bool:
        """Stop the solve (its guess was wrong, or the run ends) and wait up to `wait` s for
        its thread. True when no thread of it runs any more."""
        self.solver.cancel()
        thread = self._thread
        if thread is None:
            return True
        thread.join(wait)
        return not thread.is_alive()
