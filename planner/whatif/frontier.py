"""`planner frontier`: the exact reach–budget frontier of one scenario (SPEC §8).

Every non-dominated pair (net spend, weighted reach) over the feasible plans with
net spend at most B and positive reach, each with its plan, found by repeated
lexicographic solves (models/formulation.md, "The reach–budget frontier"):

1. The §3 optimum at budget b (plan 1: most weighted reach, then least net
   spend, then fewest options) is a frontier point (s, r): no plan of spend at
   most s reaches more, none of reach r spends less.
2. The next point down is the optimum at b = s − 1e-6·max(1, |s|): every plan
   of spend below s but within SPEC's tolerance of it counts as spending s, and
   so is dominated by (s, r). A chain of such solves, each warm-started from
   the previous plan, walks the frontier down. A worker makes every solve on
   its budget chain (`planner.api.budget_chain`: one model and one HiGHS
   instance per scenario, only the budget moved), which gives the plan a cold
   `planner.solve` at that budget gives.
3. [0, B] is cut into `SLICES` slices, a fixed number whatever runs them, so
   the answer is the same on one process, many or a cluster. Each slice is a
   chain from its top down to its bottom: a point at or below the bottom ends
   it (the slice below finds that point from its own top), as do reach 0 and
   an infeasible scenario; so does a solve told the slice below's proven first
   reach whose reach stage shows nothing within its budget reaches more (that
   point again, `repeats`, found without a tie-break). Chains run in parallel
   as engine tasks, one solve per task, the next asked for when the previous
   returns; task keys are the slice and the budget, so `--resume` replays a
   chain from the journal. The pool is handed only as many solves as it runs
   at once, the most urgent first (`planner.whatif.frontier_queue`): each
   chain's first solve, then the highest budget, so no chain waits behind
   solves queued after it started and ends the command alone.
4. Points are merged: duplicates (equal within SPEC's tolerance) and
   dominated points removed, in ascending net spend.

`--points N` and the time limit end it early (`complete: false`); a point whose
solve was not proven keeps `proven_optimal: false` (its plan is still feasible
and verified, but another plan may dominate it).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import planner.api as api
from planner.engine import BatchStatus, Outcome, Pool, PoolOptions, Task
from planner.engine.task import NOT_RUN
from planner.engine.worker_memo import WorkerMemo
from planner.errors import InputError, Problem
from planner.reports.plans_json import clean_number
from planner.whatif.frontier_queue import Step, Waiting

if TYPE_CHECKING:
    from planner.scenario.data import Scenario
    from planner.solving.budget_chain import BudgetChain
    from planner.workbook.variants import Workbook

SCHEMA = "partnership-frontier/1"

#: The journal's name in the output folder (hidden: the engine's record, not a result).
JOURNAL = ".frontier-journal.jsonl"

#: Slices of [0, B], each a chain of solves. Fixed, so that the tasks, and with them
#: the answer, are the same whatever the number of workers.
SLICES = 8

#: SPEC §3: values within REL_TOL × max(1, |value|) of each other count as equal.
REL_TOL = 1e-6


def run_frontier(
    workbook: Workbook,
    *,
    scenario: str | None,
    sets: Sequence[tuple[str, str]],
    max_budget: float | None,
    points: int | None,
    time_limit: float | None,
    out: Path,
    pool: PoolOptions,
    progress: Callable[[BatchStatus], None] | None,
) -> dict[str, Any]:
    """The frontier.json document of `scenario` (with `sets` applied) up to `max_budget`
    (default: its budget setting), at most `points` points, within `time_limit` seconds
    for the whole command (default: its `time_limit_s` setting).

    Raises `InputError` with every problem before any solve; `EngineError` when the
    engine cannot run. The journal lives in `out`, so a rerun with `pool.resume`
    replays the solves already made.
    """
    begun = time.time()
    problems: list[Problem] = []
    base: Scenario | None = None
    try:
        base = workbook.load(scenario, list(sets), origin="--set")
    except InputError as exc:
        problems += exc.problems
    problems += check_arguments(max_budget, points, time_limit)
    if problems or base is None:
        raise InputError(problems)
    limit = base.settings.time_limit_s if time_limit is None else time_limit
    top = base.settings.budget if max_budget is None else float(max_budget)
    out.mkdir(parents=True, exist_ok=True)
    document = frontier_of(
        base,
        max_budget=top,
        points=points,
        deadline=begun + limit,
        pool=pool,
        journal=out / JOURNAL,
        fingerprint=fingerprint(workbook.sha256, scenario, sets, top),
        progress=progress,
    )
    return {
        **document,
        "fixed": dict(sets),
        "workbook": str(workbook.path),
        "sha256": workbook.sha256,
    }


def check_arguments(
    max_budget: float | None, points: int | None, time_limit: float | None
) -> list[Problem]:
    """Problems with the command's own options, located as typed."""
    problems = []
    if max_budget is not None and not (_is_number(max_budget) and 0 <= max_budget < math.inf):
        problems.append(Problem("--max-budget", None, None, max_budget, "a number of at least 0"))
    if points is not None and (
        isinstance(points, bool) or not isinstance(points, int) or points < 1
    ):
        problems.append(Problem("--points", None, None, points, "a whole number of at least 1"))
    if time_limit is not None and not (_is_number(time_limit) and 0 < time_limit < math.inf):
        problems.append(Problem("--time-limit", None, None, time_limit, "a number above 0"))
    return problems


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value)


def fingerprint(
    sha256: str, scenario: str | None, sets: Sequence[tuple[str, str]], max_budget: float
) -> str:
    """What makes a journal this frontier's: the workbook's content, the scenario, the fixed
    settings and B (which sets the slices, and so every task's key)."""
    key = json.dumps(
        {
            "sha256": sha256,
            "scenario": scenario,
            "sets": list(sets),
            "max_budget": repr(float(max_budget)),
            "slices": SLICES,
        },
        sort_keys=True,
    )
    return "frontier:" + hashlib.sha256(key.encode()).hexdigest()


# -- the chains ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Slice:
    """Budgets (bottom, top] of [0, B] walked by one chain (slice 0 goes down to 0)."""

    index: int
    bottom: float
    top: float


def slices_of(max_budget: float, count: int = SLICES) -> list[Slice]:
    """[0, B] in `count` slices, top first; one slice when B is 0 (they would all be [0, 0])."""
    if max_budget <= 0:
        return [Slice(0, 0.0, 0.0)]
    return [
        Slice(i, max_budget * i / count, max_budget * (i + 1) / count)
        for i in reversed(range(count))
    ]


def next_budget(budget: float, net_spend: float) -> float:
    """The budget of the next solve down a chain: just below the point's net spend.

    Plans spending within SPEC's tolerance of s count as spending s, so they are
    dominated by the point (s, r) and the next point spends less than s − 1e-6·max(1, |s|).
    Never above the budget just solved (a net spend may pass it within the tolerance),
    so every step goes down.
    """
    spent = min(net_spend, budget)
    return spent - REL_TOL * max(1.0, abs(spent))


def task_key(part: Slice, budget: float) -> str:
    """A solve's journal key: its slice and its budget, exactly (repr round-trips)."""
    return f"slice {part.index}: budget={budget!r}"


def solve_point(
    variant: Scenario,
    budget: float,
    start: tuple[str, ...],
    seconds: float,
    *,
    reach_known: float | None = None,
    cap: float = math.inf,
) -> dict[str, Any]:
    """The engine task of one solve: plan 1 of `variant` at `budget` within `seconds` (at
    most `cap`: the share of the time limit the frontier gives it, as the pool hands it
    one solve at a time), on one thread, started from `start` (the chain's previous
    plan).

    Module-level, so it pickles to any worker with its (picklable) scenario. The solve
    runs on the worker's chain for `variant` (`planner.api.budget_chain`: one model and
    one HiGHS instance for every budget the worker solves), whose answer depends on the
    scenario, the budget and the start only, so any worker gives the same record.
    Figures are exact (not rounded): the chain's next budget is computed from them.
    `reach_known`: the reach of the slice below's first point, proven; when no plan
    within `budget` reaches more, the record says `repeats` and has no plan.
    """
    seconds = min(seconds, cap)
    limit = None if math.isinf(seconds) else max(seconds, 1e-3)
    point = _chain_for(variant).solve_at(
        budget, start=start, time_limit=limit, reach_known=reach_known
    )
    record: dict[str, Any] = {"budget": budget, "status": str(point.status)}
    if point.repeats:
        record["repeats"] = True
    if point.plan is not None:
        plan = point.plan
        record.update(
            net_spend=plan.net_spend,
            weighted_reach=plan.weighted_reach,
            options=sorted(plan.options),
            offers=sorted(plan.offers),
            proven_optimal=plan.proven_optimal,
        )
    return record


#: The chains this process keeps, keyed by the scenario with its budget set to 0: a
#: worker may serve a few frontiers.
_CHAINS: WorkerMemo[Scenario, BudgetChain] = WorkerMemo(kept=2)


def _chain_for(variant: Scenario) -> BudgetChain:
    """This process's chain for `variant`, its budget setting aside (each solve sets it)."""
    key = replace(variant, settings=replace(variant.settings, budget=0.0))
    return _CHAINS.get(key, lambda: api.budget_chain(variant))


@dataclass(frozen=True, slots=True)
class Found:
    """A frontier point as a chain found it (figures exact)."""

    net_spend: float
    weighted_reach: float
    options: tuple[str, ...]
    offers: tuple[str, ...]
    proven_optimal: bool
    slice: int
    step: int

    def preferred(self) -> tuple[bool, int, int]:
        """Of two equal points the one kept: proven first, then the first found in slice
        and step order (so the choice never depends on which worker finished first)."""
        return (not self.proven_optimal, self.slice, self.step)


@dataclass
class _Chain:
    """Where one slice's chain stands."""

    part: Slice
    step: int = 0
    ended: str | None = None
    """Why it stopped: "end" (its natural end) or what cut it short."""


class _Frontier:
    """The chains of one frontier: their tasks, the points found, and why they stopped."""

    def __init__(self, variant: Scenario, max_budget: float) -> None:
        self.variant = variant
        self.chains = {part.index: _Chain(part) for part in slices_of(max_budget)}
        self.found: list[Found] = []
        self.unproven = 0
        self.failures: list[str] = []
        self.not_run = 0
        self.tops: dict[int, float] = {}
        """Slice → the weighted reach of its first point, once that point is proven."""

    def first_steps(self) -> list[Step]:
        """The top of every slice, highest first."""
        return [Step(i, chain.part.top, (), first=True) for i, chain in self.chains.items()]

    def task(self, step: Step, cap: float = math.inf) -> Task:
        """The solve of `step`, made when it goes to a worker (`cap`: its seconds at most).

        It is told the reach of the slice below's first point when that is known and
        proven by then: the optimum at any budget above that slice's top reaches at
        least as much, and where it reaches no more it is that point again, which the
        solve then says without its tie-break (`repeats`). Either way the chain ends
        there with the same points; only the time spent differs. Deciding this at
        dispatch, not when the step is asked for, tells more solves: the slice below
        has had the longest to find its first point."""
        part = self.chains[step.slice].part
        known = self.tops.get(part.index - 1) if part.index > 0 else None
        return Task(
            key=task_key(part, step.budget),
            label=f"budget={step.budget:.10g}",
            run=functools.partial(
                solve_point, self.variant, step.budget, step.start, reach_known=known, cap=cap
            ),
            imports=api.SOLVE_IMPORTS,
        )

    def arrived(self, outcome: Outcome) -> Step | None:
        """Record one solve's outcome; the chain's next step, or None when it ends."""
        chain = self.chains[_slice_of(outcome.key)]
        record = outcome.value
        if record is None:
            if outcome.error == NOT_RUN:
                self.not_run += 1
                chain.ended = "time"
            else:
                self.failures.append(f"{outcome.label}: {outcome.error}")
                chain.ended = "failed"
            return None
        step = chain.step
        chain.step += 1
        if "net_spend" not in record:
            # Infeasible or reach 0 (SPEC §4): no plan here, nor at any lower budget; or
            # the slice below's first point again (`repeats`): the slice below goes on.
            ended = record["status"] == "infeasible" or record.get("repeats", False)
            chain.ended = "end" if ended else "time"
            if step == 0 and record.get("repeats", False):
                self._pass_through(chain.part)
            return None
        point = Found(
            net_spend=float(record["net_spend"]),
            weighted_reach=float(record["weighted_reach"]),
            options=tuple(record["options"]),
            offers=tuple(record["offers"]),
            proven_optimal=bool(record["proven_optimal"]),
            slice=chain.part.index,
            step=step,
        )
        self.found.append(point)
        self.unproven += not point.proven_optimal
        if step == 0 and point.proven_optimal:
            self.tops[chain.part.index] = point.weighted_reach
        budget = float(record["budget"])
        below = next_budget(budget, point.net_spend)
        bottom = chain.part.bottom
        if below < 0 or (chain.part.index > 0 and below <= bottom):
            chain.ended = "end"
            return None
        return Step(chain.part.index, below, point.options)

    def _pass_through(self, part: Slice) -> None:
        """A slice whose first solve repeats the slice below's first point holds no point:
        the slice above is told that point's reach, as the slice below would tell it."""
        reach = self.tops.get(part.index - 1)
        if reach is not None:
            self.tops[part.index] = reach

    def stop(self, why: str) -> None:
        """Mark every chain still running as cut short by `why`."""
        for chain in self.chains.values():
            if chain.ended is None:
                chain.ended = why

    def walking(self, follow: Step | None) -> bool:
        """Whether some chain goes on (`follow`: the next task of the one that just moved)."""
        return follow is not None or any(c.ended is None for c in self.chains.values())

    @property
    def complete(self) -> bool:
        return self.unproven == 0 and all(c.ended == "end" for c in self.chains.values())


def _slice_of(key: str) -> int:
    return int(key.split(":", 1)[0].removeprefix("slice "))


def frontier_of(
    variant: Scenario,
    *,
    max_budget: float,
    points: int | None = None,
    deadline: float | None = None,
    pool: PoolOptions | None = None,
    journal: Path | None = None,
    fingerprint: str = "",
    progress: Callable[[BatchStatus], None] | None = None,
) -> dict[str, Any]:
    """The frontier.json document of a validated scenario (without the workbook's facts).

    `deadline` is the `time.time()` instant the command ends; `points` stops it after
    that many points. The library's entry (a notebook's scenario); `run_frontier` is the
    command's.
    """
    frontier = _Frontier(variant, max_budget)
    pool = pool or PoolOptions()
    stopped_at_points = False
    with Pool(
        workers=pool.workers,
        scheduler=pool.scheduler,
        deadline=deadline,
        journal=journal,
        fingerprint=fingerprint,
        resume=pool.resume,
        progress=progress,
    ) as running:
        waiting = Waiting(running, deadline, frontier.task)
        waiting.add(frontier.first_steps())
        for outcome in running.outcomes():
            waiting.landed()
            follow = frontier.arrived(outcome)
            if (
                points is not None
                and frontier.walking(follow)
                and len(merge_points(frontier.found)) >= points
            ):
                stopped_at_points = True
                frontier.stop("points")
                break  # leaving the pool stops the solves still running
            waiting.add([follow] if follow is not None else [])
    merged = merge_points(frontier.found)
    if points is not None and len(merged) > points:
        first = sorted(merged, key=lambda p: (p.step, -p.slice))[:points]
        merged = sorted(first, key=lambda p: p.net_spend)
    complete = frontier.complete and not stopped_at_points
    return {
        "schema": SCHEMA,
        "scenario": variant.name,
        "max_budget": clean_number(max_budget),
        "complete": complete,
        "message": _message(frontier, stopped_at_points, points, len(merged)),
        "points": [point_document(p) for p in merged],
    }


def _message(frontier: _Frontier, stopped_at_points: bool, points: int | None, n: int) -> str:
    """Why the frontier is incomplete, in a sentence or three; empty when it is complete."""
    sentences = []
    if stopped_at_points:
        sentences.append(f"Stopped after {points} point(s), as --points asked.")
    if frontier.not_run or any(c.ended == "time" for c in frontier.chains.values()):
        sentences.append(
            "The time limit ended before every budget range was walked down to its end."
        )
    if frontier.unproven:
        sentences.append(
            f"{frontier.unproven} solve(s) were not proven optimal within the time limit: "
            "their points are feasible plans, but a better plan may dominate them."
        )
    if frontier.failures:
        listed = "; ".join(frontier.failures[:3])
        more = f" (and {len(frontier.failures) - 3} more)" if len(frontier.failures) > 3 else ""
        sentences.append(f"Solves failed: {listed}{more}.")
    if not sentences and n == 0:
        sentences.append("No plan with positive weighted reach fits within the budget range.")
    return " ".join(sentences)


def point_document(point: Found) -> dict[str, Any]:
    """One point of frontier.json."""
    return {
        "net_spend": clean_number(point.net_spend),
        "weighted_reach": clean_number(point.weighted_reach),
        "options": list(point.options),
        "offers": list(point.offers),
        "proven_optimal": point.proven_optimal,
    }


# -- merging ---------------------------------------------------------------------


def _equal(a: float, b: float) -> bool:
    return abs(a - b) <= REL_TOL * max(1.0, abs(a), abs(b))


def merge_points(found: Iterable[Found]) -> list[Found]:
    """The non-dominated points among `found`, one of each equal pair, ascending net spend.

    A point is dominated when another spends no more and reaches no less (SPEC §3's
    tolerance on both) and they are not equal; of equal points the `preferred` one
    stays. One pass over the points in ascending spend (descending reach at equal
    spend) keeps a staircase whose reach rises with spend.
    """
    ordered = sorted(found, key=lambda p: (p.net_spend, -p.weighted_reach, p.preferred()))
    kept: list[Found] = []
    for point in ordered:
        while kept:
            last = kept[-1]
            same_spend = _equal(point.net_spend, last.net_spend)
            if _equal(point.weighted_reach, last.weighted_reach) and same_spend:
                if point.preferred() < last.preferred():
                    kept[-1] = point  # the same point: keep the preferred record
                break
            if point.weighted_reach <= last.weighted_reach or _equal(
                point.weighted_reach, last.weighted_reach
            ):
                break  # spends no less and reaches no more: dominated
            if same_spend:
                kept.pop()  # reaches more at the same spend: `last` is dominated
                continue
            kept.append(point)
            break
        else:
            kept.append(point)
    return kept
