"""The frontier's solves waiting for a worker, the most urgent first.

Why: the engine's pool runs what it is given in the order given, and a chain's next
solve is known only when its previous one returns, so it queued behind every solve
asked for meanwhile: the chain with the most points left waited longest, and ended
the command alone on one worker (S, up to 5 % of its budget: one slice holds 9 of the
22 points, and its last six solves ran with the other worker idle). So the frontier
hands the pool only as many solves as it runs at once and keeps the rest here,
ordered by `urgency`: every chain's first solve (it starts the chain, and the chain
above is told its reach), then the highest budget (the slower solves, and where S's
frontier is densest). Only the order changes, never which solves are made or what
they are given but the time, so the document is the same whatever the order.

Measured against splitting a long chain's range into two chains (a deterministic
split after a chain's third or fourth point): each split costs a solve that finds
nothing new and a start from a plan further away, which on S cost more than it saved
on two workers (up to 5 % of the budget, 2 % slower; up to 10 %, 17 % slower).
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from planner.engine import Task
from planner.engine.timeshare import time_share


class Runs(Protocol):
    """What `Waiting` needs of the engine's `Pool`: how many tasks it runs at once, and
    taking one more."""

    @property
    def slots(self) -> int: ...

    def submit(self, task: Task) -> None: ...


@dataclass(frozen=True, slots=True)
class Step:
    """One solve a chain asks for: the budget in its slice, from the options `start`."""

    slice: int
    budget: float
    start: tuple[str, ...]
    first: bool = False
    """At its slice's top: the chain's first solve."""


def urgency(step: Step) -> tuple[bool, float]:
    """Sort key of waiting solves, smallest first: every chain's first solve, then the
    highest budget."""
    return (not step.first, -step.budget)


class Waiting:
    """Solves not yet in the pool, and how many the pool holds (`in_flight`).

    `make` turns a step into its task when it goes to the pool, given the seconds it
    may take at most; `deadline` is the command's `time.time()` instant (or None)."""

    def __init__(
        self, pool: Runs, deadline: float | None, make: Callable[[Step, float], Task]
    ) -> None:
        self._pool = pool
        self._deadline = deadline
        self._make = make
        self._heap: list[tuple[tuple[bool, float], int, Step]] = []
        self._order = itertools.count()
        self.in_flight = 0

    def add(self, steps: list[Step]) -> None:
        """Queue `steps` and hand the pool what it has room for."""
        for step in steps:
            heapq.heappush(self._heap, (urgency(step), next(self._order), step))
        self._fill()

    def landed(self) -> None:
        """One solve came back: its slot is free."""
        self.in_flight -= 1

    def __len__(self) -> int:
        return len(self._heap)

    def _fill(self) -> None:
        """Submit the most urgent steps while the pool has a free slot, each capped at the
        time share it would have had queued in the pool with every step waiting here (the
        pool, seeing one task queued, would hand it all the time left)."""
        while self._heap and self.in_flight < self._pool.slots:
            _, _, step = heapq.heappop(self._heap)
            cap = math.inf
            if self._deadline is not None:
                left = len(self._heap) + 1
                share = time_share(self._deadline, time.time(), left, self._pool.slots)
                cap = 0.0 if share is None else share
            self.in_flight += 1
            self._pool.submit(self._make(step, cap))
