"""Where kept ranks' plans are made and checked: here, at once (`PlanMaker`), or by a
second process while the next ranks are solved (`PlanMakingProcess`).

Why a second process: at 50,000 options each plan costs 0.11-0.13 s to make and check
(the co-financing LP, every figure recomputed, the independent check), and ten plans
1.3-1.7 s of a 33-s run in which the later ranks leave the second core mostly idle (1.15
cores busy). A thread would not do: those ranks' start search holds the interpreter's
lock, and the check waits for the same lock (bench/README.md §29). The process gets the
scenario once, as a pickle written by a thread of this process while plan 1 is solved
(0.8 s at 50,000 options, in time plan 1's share bounds anyway), builds its own index,
and then makes each plan from its `PlanOrder` in the order given: the same code on the
same data, so the same plans as here. It is a fresh interpreter (`subprocess`), never a
fork: this process has solver threads whose locks a fork would copy mid-use.

If the process cannot start, ends, fails or hangs, the plans it has not answered are made
here (`PlanMaker`'s way), so a run gets the same plans, or the same error, either way.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import IO, Any

import numpy as np

from planner.checks.scenario_index import kept_index
from planner.checks.verify import PlanVerificationError, ScenarioIndex
from planner.interpreter import start_child
from planner.plan import Plan
from planner.scenario.data import Scenario
from planner.solving.cofinancing import EligiblePairs
from planner.solving.plan_making import PlanOrder, make_ordered

#: Options from which a run of several plans on two cores or more has them made by a
#: second process: starting it and handing it the scenario cost ~1 core-second at 50,000
#: options, against 0.11-0.13 s saved per plan. Not measured at 10,000 options (L), whose
#: later ranks take about 0.35 s each in all (`ranking.LATER_RANK_S`): the saving there
#: would be small against the noise.
PROCESS_OPTIONS = 20_000

#: Nor below this time limit (seconds): the process needs 1.5-2 s of its own core to be
#: ready at 50,000 options (imports, the scenario, its index), time a short run would
#: spend waiting for it rather than making the plans here.
PROCESS_MIN_LIMIT_S = 20.0

#: How long past an order's deadline (the run's) the second process may take to answer it
#: before the plan is made here instead: about eight times a plan's 0.13 s at 50,000
#: options, so a hung process costs the run at most this beyond its limit.
ANSWER_WAIT_S = 1.0

_CHILD = "from planner.solving.plan_maker import main; main()"
_log = logging.getLogger(__name__)

Made = tuple[Plan, bool]
"""A plan made and checked, and whether its co-financing amounts are the most possible."""


class PlanMaker:
    """Makes each plan ordered here, at once, in the order given: the previous plan's bound
    bounds an order that comes `after_last` (`make_ordered`)."""

    def __init__(self, scenario: Scenario, eligible: EligiblePairs | None = None) -> None:
        self.scenario = scenario
        self.eligible = eligible
        self.index: ScenarioIndex | None = None
        self.last_bound: float | None = None
        self._made: list[Made] = []

    def submit(self, order: PlanOrder) -> None:
        """Make `order`'s plan (here: now; its errors are raised here)."""
        self._made.append(self._make(order))

    def ready(self) -> list[Made]:
        """The plans made and not yet taken, in the order given (never waits)."""
        made, self._made = self._made, []
        return made

    def take_all(self) -> list[Made]:
        """Every plan ordered and not yet taken, in the order given (waits for them)."""
        return self.ready()

    def close(self) -> None:
        """Nothing runs beside: nothing to end."""

    def _make(self, order: PlanOrder) -> Made:
        self.index = kept_index(self.index, self.scenario)
        earlier = self.last_bound if order.after_last else order.earlier_bound
        plan, most = make_ordered(
            self.scenario, order, earlier_bound=earlier, index=self.index, eligible=self.eligible
        )
        self.last_bound = plan.bound
        return plan, most


class PlanMakingProcess(PlanMaker):
    """`PlanMaker` by a second process: `submit` hands the order over and returns; `ready`
    and `take_all` collect the plans in the order given. What the process has not
    answered when it fails, ends or overruns (`ANSWER_WAIT_S` beyond an order's
    deadline) is made here, in order. A context manager: leaving it ends the process."""

    def __init__(self, scenario: Scenario, eligible: EligiblePairs | None = None) -> None:
        super().__init__(scenario, eligible)
        self._orders: list[PlanOrder] = []
        """Orders handed over and not yet answered, in the order given."""
        self._answers: list[tuple[str, Any]] = []
        self._changed = threading.Condition()
        self._outbox: queue.SimpleQueue[PlanOrder | None] = queue.SimpleQueue()
        self._broken = False
        self.process = self._start()
        if self.process is None:
            self._broken = True
            return
        payload = (scenario, None if eligible is None else (eligible.offer_at, eligible.option_at))
        threading.Thread(
            target=self._write, args=(payload,), name="plan-orders", daemon=True
        ).start()
        threading.Thread(target=self._read, name="plan-answers", daemon=True).start()

    def submit(self, order: PlanOrder) -> None:
        with self._changed:
            self._orders.append(order)
            broken = self._broken
        if not broken:
            self._outbox.put(order)

    def ready(self) -> list[Made]:
        made: list[Made] = []
        with self._changed:
            answered = 0 if self._broken else min(len(self._answers), len(self._orders))
            pairs = list(zip(self._orders[:answered], self._answers[:answered], strict=True))
            del self._orders[:answered], self._answers[:answered]
        for k, (_order, answer) in enumerate(pairs):
            if answer[0] == "error":  # the process's later plans may rest on this one: here
                _log.warning("plans made here: the second process failed: %s", answer[1])
                self._break()
                self.close()
                with self._changed:
                    self._orders[:0] = [o for o, _answer in pairs[k:]]
                break
            made.append(self._outcome(answer))
        with self._changed:
            broken = self._broken
        if broken:  # the process is gone: what it did not answer is made here
            made += [self._make(order) for order in self._unanswered()]
        return made

    def take_all(self) -> list[Made]:
        with self._changed:
            while self._orders and not self._broken:
                if len(self._answers) >= len(self._orders):
                    break
                waiting = self._orders[len(self._answers)]
                left = waiting.deadline + ANSWER_WAIT_S - time.monotonic()
                if left <= 0:
                    _log.warning("plan %d made here: the second process overran", waiting.rank)
                    self._broken = True
                    break
                self._changed.wait(min(left, 1.0))
        return self.ready()

    def close(self) -> None:
        """End the process (its answers are no longer wanted)."""
        self._outbox.put(None)
        process = self.process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def __enter__(self) -> PlanMakingProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _unanswered(self) -> list[PlanOrder]:
        with self._changed:
            orders, self._orders = self._orders, []
            self._answers.clear()
        return orders

    def _outcome(self, answer: tuple[str, Any]) -> Made:
        """The process's answer in this process's terms: the plan, or its failed check
        raised here."""
        kind, value = answer
        if kind == "failed":
            raise PlanVerificationError(value)
        plan, most = value
        self.last_bound = plan.bound
        return plan, most

    def _start(self) -> subprocess.Popen[bytes] | None:
        """The process, or None when it cannot start (plans are then made here)."""
        return start_child(_CHILD, stdout=subprocess.PIPE)

    def _write(self, payload: object) -> None:
        """This process's side of the pipe to the process: the scenario, then each order."""
        assert self.process is not None and self.process.stdin is not None
        pipe = self.process.stdin
        try:
            pickle.dump(payload, pipe, protocol=pickle.HIGHEST_PROTOCOL)
            pipe.flush()
            while (order := self._outbox.get()) is not None:
                pickle.dump(order, pipe, protocol=pickle.HIGHEST_PROTOCOL)
                pipe.flush()
        except (OSError, ValueError, pickle.PicklingError):
            self._break()
        finally:
            with contextlib.suppress(OSError):
                pipe.close()

    def _read(self) -> None:
        """The answers, as they come, until the process ends."""
        assert self.process is not None and self.process.stdout is not None
        try:
            for answer in _answers_on(self.process.stdout):
                with self._changed:
                    if self._broken:  # its orders are made here now
                        return
                    self._answers.append(answer)
                    self._changed.notify_all()
        finally:
            self._break()

    def _break(self) -> None:
        with self._changed:
            self._broken = True
            self._changed.notify_all()


def _answers_on(pipe: IO[bytes]) -> Iterator[tuple[str, Any]]:
    while True:
        try:
            yield pickle.load(pipe)
        except (EOFError, OSError, pickle.UnpicklingError):
            return


def main() -> None:
    """The second process: the scenario (and its eligible pairs) then one order after
    another as pickles on standard input, one answer each on standard output:
    ("made", (plan, most)), ("failed", why its check failed) or ("error", what broke)."""
    # Ctrl-C reaches the whole process group: the ranking decides what it stops, and the
    # plans it still wants are made here. This process ends when its input does.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything else written to standard output cannot mix with the answers
    orders = sys.stdin.buffer
    scenario, pairs = pickle.load(orders)
    eligible = None if pairs is None else EligiblePairs(scenario, *map(np.asarray, pairs))
    maker = PlanMaker(scenario, eligible)
    maker.index = kept_index(None, scenario)
    while True:
        try:
            order = pickle.load(orders)
        except EOFError:
            return
        answer: tuple[str, Any]
        try:
            answer = ("made", maker._make(order))
        except PlanVerificationError as exc:
            answer = ("failed", str(exc))
        except Exception as exc:  # any other fault: the order is made by the ranking
            answer = ("error", f"{type(exc).__name__}: {exc}")
        pickle.dump(answer, answers, protocol=pickle.HIGHEST_PROTOCOL)
        answers.flush()
