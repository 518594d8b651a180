"""A large model's reach stage: HiGHS's solve on one core, the start search on the other.

Why: on large models (L, XL) the product's own start search (greedy plan,
LP-guided neighbourhood rounds, swaps; `planner.solving.stages.best_start`) took
a quarter to a third of a run before HiGHS's solve began, while the second core
had nothing to do (CBC races only up to M). Here HiGHS's solve
starts as soon as the greedy plan is known, in a thread of its own, and runs as
long as the search does; each better plan the search finds is offered to it
(HiGHS takes it at its next query: after its root LP, after each cut round,
before each dive), and the stage answers with the better of the two.

HiGHS's thread needs Python only for its callbacks, which a MIP solve makes seldom
at these sizes (measured: 4-5 interrupt checks in 30 s at L), so a
search holding the GIL costs it nothing measurable (L, 30 s: the same incumbent
and bound with a search beside it as alone). An LP solved with an interrupt check
on every IPM step is another matter (L's relaxation: 3 s alone, 18 s beside a
Python search), which is why the search's own LP runs in the search's thread.

The solve runs on a twin of the stage's solver (the same model, rows and
objective in a HiGHS instance of its own), never on the solver itself: at XL,
HiGHS's root phase ran 26-48 s past its time limit without an interrupt check,
and a solve given up then leaves its instance unusable until it returns. The
twin alone is given up; the stage's solver takes over the record of its solve
(`MatrixSolver.adopt`) and serves the ranks after it. So that a round of root
cuts with no limit check (L 18 s, XL 45 s) does not outlive the solve, the twin
stops after its root LP when its next check is expected after its end
(`ROUND_LPS`): the search goes on alone. Formulation choice 20; measured in
bench/README.md §24-§25.
"""

from __future__ import annotations

import threading

import numpy as np

from planner.model.common import BuildTimeout
from planner.solving.result import SolveResult, Termination
from planner.solving.solver import LiveNumbers, MatrixSolver, join_ticking

#: How many times its root LP's own time HiGHS's next round of root cuts is expected to take
#: at least, with no limit checked within it (`MatrixSolver.next_solve_beside`): measured
#: beside the search, L 4.8 s then rounds of 17.8-17.9 s (3.7x), XL 15 s then 44-48 s (3x).
#: A solve whose next round would end after its own end stops at the check before it.
ROUND_LPS = 4.0


class BesideSolve:
    """The solve of one reach stage, run beside its start search once `begin` is called."""

    def __init__(self, solver: MatrixSolver) -> None:
        self.solver = solver
        """The stage's solver: what the twin holds, and who takes over its record."""
        self._twin: MatrixSolver | None = None
        self._offered: np.ndarray | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._outcome: SolveResult | BaseException | None = None
        self._answer: np.ndarray | None = None
        """The columns of the solve's answer, once it has returned with one."""

    @property
    def begun(self) -> bool:
        """Whether the solve was launched (`begin`)."""
        return self._thread is not None

    @property
    def ended(self) -> bool:
        """Whether the solve has returned (a proof ends it before the search's time)."""
        return self._thread is not None and not self._thread.is_alive()

    @property
    def proven(self) -> bool:
        """Whether the solve has returned with a proof: nothing is left to search for. A solve
        stopped after its root LP (`ROUND_LPS`) has ended without one."""
        outcome = self._outcome
        return (
            self.ended
            and isinstance(outcome, SolveResult)
            and outcome.termination == Termination.OPTIMAL
        )

    def begin(self, start: np.ndarray | None, until: float) -> None:
        """Launch the solve from `start` (if any), to end at `until`; the twin is made in the
        solve's thread (XL: half a second the search need not wait for)."""
        if self._thread is not None:
            raise RuntimeError("this solve was already begun")
        self._thread = threading.Thread(
            target=self._work, args=(start, until), name="reach-beside", daemon=True
        )
        self._thread.start()

    def _work(self, start: np.ndarray | None, until: float) -> None:
        try:
            twin = self.solver.twin()
            if start is not None:
                twin.set_start(start)
            twin.next_solve_beside(until, round_lps=ROUND_LPS)
            with self._lock:
                self._twin = twin
                if self._offered is not None:
                    twin.offer(self._offered)
            outcome = twin.solve()
            self._answer = outcome.columns() if outcome.has_solution else None
            self._outcome = outcome
        except BuildTimeout:  # the deadline passed before HiGHS could take the model
            self._outcome = SolveResult(Termination.TIME_LIMIT, None, None, 0.0)
        except BaseException as exc:  # handed to the caller by `result`
            self._outcome = exc

    def offer(self, values: np.ndarray) -> None:
        """A better plan the search found (meeting every row): the solve takes it at its next
        query for one."""
        with self._lock:
            if values is self._offered:
                return
            self._offered = values
            if self._twin is not None:
                self._twin.offer(values)

    def live_numbers(self) -> LiveNumbers | None:
        """What the solve has reported so far (`MatrixSolver.live_numbers`), for progress. Once
        it has returned (stopped after its root LP while the search goes on), its answer,
        or the search's plan offered since when that is better."""
        twin = self._twin
        if twin is None:
            return None
        outcome = self._outcome
        if not isinstance(outcome, SolveResult):
            return twin.live_numbers()
        best, values = outcome.incumbent, self._answer
        offered = self._offered
        if offered is not None:
            value = twin.objective_at(offered)
            if best is None or twin.better(value, best):
                best, values = value, offered
        return LiveNumbers(best, outcome.bound, values)

    def found(self) -> np.ndarray | None:
        """The last plan HiGHS found in this solve so far (meeting every row it holds), or
        the answer it returned."""
        if isinstance(self._outcome, SolveResult):
            return self._answer
        twin = self._twin
        numbers = None if twin is None else twin.live_numbers()
        return None if numbers is None else numbers.solution

    def result(self, searched: np.ndarray | None) -> SolveResult:
        """The stage's answer: the solve's, or the search's last plan `searched` when that is
        better and the solve was cut short. Waited for (the run's progress ticking meanwhile
        in this thread; the twin's own watch gives the solve up at its end); the solve's
        errors are raised here. The stage's solver then holds the solve's record."""
        thread = self._thread
        assert thread is not None, "begin first"
        join_ticking(thread, self.solver.scope.tick)
        outcome = self._outcome
        if isinstance(outcome, BaseException):
            raise outcome
        assert outcome is not None
        self.solver.adopt(self._twin)
        return self.solver.at_least(outcome, searched)
