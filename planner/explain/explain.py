"""Explanations of plan 1 (SPEC §6), as intervals that always hold the true value.

The steps, each a plain call:
1. the questions (`planner.explain.questions`): for each option of plan 1 (not `must`)
   the best reach without it, for each option that could be chosen and is not the best
   reach with it, for each limit the best reach with it loosened, for each offer taken
   the best reach without it;
2. what is known without a solve: the exclusive reach of each option (closed form), and
   bounds on every question's best reach from the returned plans, plan 1 less an option
   or plus one (checked independently) and plan 1's own bound; many questions are
   answered here (an option whose exclusive reach is 0 has marginal value 0);
3. one engine task per question still open (`answer_held`): the best weighted reach of
   the question's variant on the worker's held model of the scenario
   (`planner.api.reach_chain`: one model and one HiGHS instance per worker, each
   question a change of bounds or coefficients, the reach stage alone, proven to SPEC's
   tolerance, its plan checked independently), or where the model cannot be held a
   cold `planner.solve(variant, plans=1, threads=1, start=...)` (`answer_question`);
   warm-started from plan 1 as the change allows, cheapest questions first; a
   replacement question first gets a short solve (`FIRST_SHARE_S`), and a proof later
   (without an option, without an offer, a limit loosened, with an option), within
   `explain_time_s`; every plan a task finds that meets the original scenario's limits
   narrows the other questions too; a task cut short by its time share is run again,
   from the best plan it found, while time remains;
4. the `explain` document: each answer's interval turned into the explanation's
   (R − B or B − R); what is unfinished keeps its widest valid interval, and the
   message says which.
"""

from __future__ import annotations

import functools
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import planner.api as api
from planner.checks.screening import screen_options
from planner.checks.verify import ScenarioIndex
from planner.engine import BatchStatus, Pool, PoolOptions, Task
from planner.engine.task import NOT_RUN
from planner.engine.worker_memo import WorkerMemo
from planner.explain.questions import (
    PROBE_REACH,
    Kind,
    Question,
    exclusive_reach,
    feasible_reach,
    limits_of,
    tolerance,
    with_probe,
)
from planner.plan import CoFinancing, Plan
from planner.reports.plans_json import clean_number
from planner.scenario.data import Scenario

#: Default loosening of each limit, as a share of its value (`--explain-step`).
STEP_SHARE = 0.1
#: Most solves of one question (the first and re-runs from its best plan found).
MOST_ATTEMPTS = 3
#: A question cut short is solved again only with at least this many times its last share.
RETRY_GROWTH = 1.5
#: The least time share of one solve (seconds): less would rarely find any plan.
MIN_SHARE_S = 1.0
#: A replacement question's first solve: at most `FIRST_SHARE_S` seconds, ended once
#: proven within `FIRST_GAP` of its value; proven exactly later, while time remains,
#: from the best plan found. Why: S has 131 of them and a proof takes 1.2 s a question
#: there, more than the time left after plan 1's own questions; a quarter second each
#: (a plan containing the option, and HiGHS's root bound) narrowed 30 of them from a
#: total width of 25,300 to 1,300 (measured: 0.1 s left 3,100 and two without a plan;
#: 0.5 s, 1,100), so every one is narrowed first.
FIRST_GAP = 1e-2
FIRST_SHARE_S = 0.25
#: Questions named in an unfinished explanation's message, at most.
NAMED = 8

ORDER = {"marginal": 0, "offer": 1, "limit": 2, "replacement": 3}
#: Which questions share the time first (`time_share`): plan 1's own, then the rest.
TIER = {"marginal": 0, "offer": 0, "limit": 0, "replacement": 1}
WORDS = {
    "marginal": "marginal value of",
    "replacement": "replacement cost of",
    "limit": "gain from loosening",
    "offer": "value of offer",
}


def explain_plan(
    result: api.Result,
    *,
    time_s: float | None = None,
    step_share: float = STEP_SHARE,
    pool: PoolOptions | None = None,
    progress: Callable[[BatchStatus], None] | None = None,
) -> dict[str, Any]:
    """The `explain` document of plan 1 of `result` (SPEC §6; plans.json `plans[0].explain`).

    `time_s`: seconds for all of it (default the scenario's `explain_time_s`; 0 gives
    the bounds known without a solve, and starts no worker);
    `step_share`: how far each limit is loosened, as a share of its value; `pool`:
    where the re-solves run (default local processes, one per core); `progress` hears
    how the batch of re-solves stands. Raises ValueError when `result` has no plan.
    """
    if not result.plans:
        raise ValueError("there is no plan to explain")
    if not step_share > 0:
        raise ValueError(f"the step share must be greater than 0, not {step_share!r}")
    begun = time.monotonic()
    scenario = result.scenario
    seconds = scenario.settings.explain_time_s if time_s is None else time_s
    deadline = time.time() + seconds
    plan = result.plans[0]
    reach = plan.weighted_reach
    exact_top = plan.proven_optimal and scenario.settings.mip_gap == 0
    top = reach if exact_top else max(plan.bound, reach)

    questions = _questions(result, plan, top, step_share)
    limits = {q.subject: q for q in questions if q.kind == "limit"}
    _bounds_without_solve(result, plan, questions)
    open_ = sorted(
        (q for q in questions if not _answered(q)), key=lambda q: (ORDER[q.kind], q.subject)
    )
    solves = 0
    if open_ and time.time() < deadline:
        solves = _resolve(scenario, open_, questions, pool or PoolOptions(), deadline, progress)

    limit_rows = []
    for lim in limits_of(scenario, plan, step_share):
        q = limits[lim.name]
        limit_rows.append(
            {
                "limit": lim.name,
                "value": clean_number(lim.value),
                "used": clean_number(lim.used),
                "slack": clean_number(lim.slack),
                "step": clean_number(lim.step),
                "gain": _interval(q.lo - reach, q.hi - reach),
            }
        )
    unfinished = [q for q in questions if not _answered(q)]
    complete = not unfinished
    if complete:
        message = f"Every explanation is exact ({len(questions)} questions, {solves} re-solves)."
    else:
        named = "; ".join(f"{WORDS[q.kind]} {q.subject}{_why(q)}" for q in unfinished[:NAMED])
        more = f"; and {len(unfinished) - NAMED} more" if len(unfinished) > NAMED else ""
        message = (
            f"{len(unfinished)} of {len(questions)} explanations are not exact within "
            f"explain_time_s = {seconds:g} s and keep their widest valid interval: "
            f"{named}{more}."
        )
    by_kind: dict[str, dict[str, Question]] = {}
    for q in questions:
        by_kind.setdefault(q.kind, {})[q.subject] = q
    return {
        "time_s": round(time.monotonic() - begun, 3),
        "complete": complete,
        "message": message,
        "step_share": step_share,
        "solves": solves,
        "marginal_value": {
            o: _interval(reach - q.hi, reach - q.lo)
            for o, q in sorted(by_kind.get("marginal", {}).items())
        },
        "exclusive_reach": {
            o: _interval(value, value)
            for o, value in sorted(exclusive_reach(scenario, plan).items())
        },
        "replacement_cost": {
            o: _replacement(q, reach) for o, q in sorted(by_kind.get("replacement", {}).items())
        },
        "limits": limit_rows,
        "offers": {
            c: _interval(reach - q.hi, reach - q.lo)
            for c, q in sorted(by_kind.get("offer", {}).items())
        },
    }


def _questions(result: api.Result, plan: Plan, top: float, step_share: float) -> list[Question]:
    scenario = result.scenario
    chosen = set(plan.options)
    must = {o.option_id for o in scenario.options if o.decision == "must"}
    out: list[Question] = []
    for o in plan.options:
        if o in must:
            continue
        rest = tuple(x for x in plan.options if x != o)
        out.append(Question("marginal", o, scenario.with_decisions(never=[o]), rest, 0.0, top))
    screened = {s.option_id for s in screen_options(scenario)}
    for option in scenario.options:
        o = option.option_id
        if o in chosen or o in screened or option.decision == "never":
            continue
        out.append(
            Question(
                "replacement",
                o,
                with_probe(scenario, o),
                (*plan.options, o),
                0.0,
                top,
                shift=PROBE_REACH,
            )
        )
    for lim in limits_of(scenario, plan, step_share):
        ceiling = result.planset.max_weighted_reach
        q = Question(
            "limit",
            lim.name,
            lim.loosened or scenario,
            plan.options,
            plan.weighted_reach,
            ceiling if lim.loosened is not None else plan.weighted_reach,
            restricts=False,
        )
        q.narrow()
        out.append(q)
    forced = {c.offer_id for c in scenario.offers if c.decision == "must"}
    for c in plan.offers:
        variant = scenario.with_decisions(never=[c])
        out.append(Question("offer", c, variant, plan.options, 0.0, top, restricts=c not in forced))
    for q in out:
        q.narrow()
    return out


def _bounds_without_solve(result: api.Result, plan: Plan, questions: list[Question]) -> None:
    """Narrow every question from plans known to meet every limit (see the module's list)."""
    scenario = result.scenario
    index = ScenarioIndex(scenario)  # every plan below is one of this scenario's
    for q in questions:
        if q.kind == "marginal":
            rest = [x for x in plan.options if x != q.subject]
            found = feasible_reach(scenario, rest, plan.offers, plan.cofinancing, index=index)
            if found is not None:
                q.narrow(lo=found)
                q.best = tuple(rest)
        elif q.kind == "replacement":
            more = [*plan.options, q.subject]
            found = feasible_reach(scenario, more, plan.offers, plan.cofinancing, index=index)
            if found is not None:
                q.feasible = True
                q.narrow(lo=found)
                q.best = tuple(sorted(more))
        elif q.kind == "offer":
            others = [c for c in plan.offers if c != q.subject]
            found = feasible_reach(scenario, plan.options, others, plan.cofinancing, index=index)
            if found is not None:
                q.narrow(lo=found)
    for p in result.plans:
        _learn(questions, frozenset(p.options), frozenset(p.offers), p.weighted_reach)
    for q in questions:
        _settle(q)


def _learn(
    questions: list[Question], options: frozenset[str], offers: frozenset[str], reach: float
) -> None:
    """A plan meeting every limit of the scenario bounds the questions it answers from below."""
    for q in questions:
        if q.kind == "marginal" and q.subject not in options:
            if reach > q.lo:
                q.best = tuple(sorted(options))
            q.narrow(lo=reach)
        elif q.kind == "replacement" and q.subject in options:
            q.feasible = True
            if reach > q.lo:
                q.best = tuple(sorted(options))
            q.narrow(lo=reach)
        elif q.kind == "offer" and q.subject not in offers:
            q.narrow(lo=reach)


def _settle(q: Question) -> None:
    """Bounds within SPEC's tolerance of each other are the same value: exact."""
    if not q.exact and q.hi - q.lo <= tolerance(q.hi):
        q.narrow(hi=q.lo)


def _answered(q: Question) -> bool:
    if q.kind == "replacement":
        return q.feasible is False or (q.feasible is True and q.exact)
    return q.exact


def answer_question(
    variant: Scenario, start: tuple[str, ...], most: float, seconds: float
) -> dict[str, Any]:
    """The engine task of one question: plan 1 of `variant` within `seconds` (at most `most`),
    on one thread, warm-started from `start`. Module-level, so it pickles to any worker."""
    seconds = min(seconds, most)
    limit = None if math.isinf(seconds) else max(seconds, 1e-3)
    result = api.solve(variant, plans=1, time_limit=limit, threads=1, start=list(start))
    status = str(result.status)
    if result.plans:
        p = result.plans[0]
        return {
            "status": status,
            "reach": p.weighted_reach,
            "bound": p.bound,
            "proven": p.proven_optimal,
            "options": list(p.options),
            "offers": list(p.offers),
        }
    return {"status": status, "reach": None, "bound": None, "proven": status == "infeasible"}


#: The held models this process keeps: a worker may serve a few explanations.
_CHAINS: WorkerMemo[Scenario, Any] = WorkerMemo(kept=2)


def _chain_for(scenario: Scenario) -> Any:
    """This process's `planner.api.reach_chain` of `scenario`."""
    return _CHAINS.get(scenario, lambda: api.reach_chain(scenario))


def answer_held(
    scenario: Scenario,
    kind: Kind,
    subject: str,
    variant: Scenario,
    start: tuple[str, ...],
    most: float,
    seconds: float,
    gap: float | None = None,
) -> dict[str, Any]:
    """The engine task of one question on this process's held model of `scenario`: the
    same document as `answer_question` (the best weighted reach of `variant`, plus the
    probe's `PROBE_REACH` for a replacement question), within `seconds` (at most `most`),
    proven to the relative `gap` (default: to SPEC's tolerance); "proven" only when its
    bound and its plan's reach are one value by SPEC's tolerance.

    Why: a cold solve per question builds, conditions and hands over the model, and
    HiGHS restarts after its root; on the held model a question is the variant's bounds
    and coefficients moved, and only its reach is wanted (no tie-break). A replacement
    question is asked as "with the option forced in" (no probe market: the held model's
    layout is the scenario's); infeasible then means no plan contains it. The plan the
    solve found is checked independently (`feasible_reach`) before it narrows anything;
    one that fails the check keeps only the solve's bound. A variant whose model cannot
    be held (not in the scenario's units) is solved cold (`answer_question`).
    Module-level, so it pickles to any worker.
    """
    seconds = min(seconds, most)
    limit = None if math.isinf(seconds) else max(seconds, 1e-3)
    asked = scenario.with_decisions(must=[subject]) if kind == "replacement" else variant
    answer = _chain_for(scenario).best_reach(asked, start=start, time_limit=limit, gap=gap)
    if answer is None:
        return answer_question(variant, start, most, seconds)
    shift = PROBE_REACH if kind == "replacement" else 0.0
    if answer.termination == "infeasible":
        return {"status": "infeasible", "reach": None, "bound": None, "proven": True}
    bound = None if answer.bound is None else answer.bound + shift
    found = None
    if answer.reach is not None and _keeps_to(kind, subject, answer.options, answer.offers):
        cofinancing = [CoFinancing(c, o, a) for c, o, a in answer.cofinancing]
        found = feasible_reach(asked, answer.options, answer.offers, cofinancing)
    if found is None or abs(found - float(answer.reach or 0.0)) > tolerance(found):
        return {"status": "no_solution", "reach": None, "bound": bound, "proven": False}
    top = math.inf if bound is None else max(found + shift, bound)
    proven = answer.termination == "optimal" and top - (found + shift) <= tolerance(top)
    return {
        "status": "optimal" if proven else "feasible",
        "reach": found + shift,
        "bound": top,
        "proven": proven,
        "options": list(answer.options),
        "offers": list(answer.offers),
    }


def _keeps_to(kind: Kind, subject: str, options: Sequence[str], offers: Sequence[str]) -> bool:
    """Whether a plan found for a question of `kind` about `subject` is one it asks about."""
    if kind == "marginal":
        return subject not in options
    if kind == "replacement":
        return subject in options
    if kind == "offer":
        return subject not in offers
    return True


def _resolve(
    scenario: Scenario,
    open_: list[Question],
    questions: list[Question],
    options: PoolOptions,
    deadline: float,
    progress: Callable[[BatchStatus], None] | None,
) -> int:
    """Run the open questions through the engine until each is answered or time is up;
    returns how many solves ran.

    Questions are handed to the pool a few at a time, in order, so one answered meanwhile
    by another's plan is never solved; each gets a fair share of the time left
    (`time_share`: plan 1's own questions first), and one cut short goes back to the end
    of its tier, to be solved again from its best plan with the larger share that is left
    once the others are done, while that share is larger than before.
    """
    waiting = deque(open_)
    running: dict[str, Question] = {}
    given: dict[str, float] = {}  # the share of each question's last solve
    rough: set[str] = set()  # questions whose last solve stopped at `FIRST_GAP`
    solves = 0
    with Pool(
        workers=options.workers,
        scheduler=options.scheduler,
        deadline=deadline,
        progress=progress,
    ) as pool:

        def fill() -> None:
            while waiting and len(running) < pool.slots:
                left = deadline - time.time()
                if left <= 0:
                    return
                q = waiting.popleft()
                if _answered(q):
                    continue
                share = time_share(q, [*waiting, *running.values()], left, pool.slots)
                if q.key in given and q.key not in rough and share < RETRY_GROWTH * given[q.key]:
                    continue  # no more time than last time: it would end the same way
                given[q.key] = share
                gap = None
                if _first_rough(scenario, q):
                    gap, share = FIRST_GAP, min(share, FIRST_SHARE_S)
                    rough.add(q.key)
                else:
                    rough.discard(q.key)
                running[_submit(pool, scenario, q, share, gap)] = q

        fill()
        for outcome in pool.outcomes():
            q = running.pop(outcome.key)
            if outcome.value is None:
                failed = outcome.error != NOT_RUN
                q.note = f" (failed: {outcome.error})" if failed else " (not solved in time)"
            else:
                solves += 1
                _take(q, outcome.value, questions)
                if not _answered(q):
                    q.note = (
                        " (only its first, short solve ran)"
                        if q.key in rough
                        else " (its solve was cut short by its time share)"
                    )
                    if q.attempts < MOST_ATTEMPTS:  # last of its tier, before later tiers
                        later = (i for i, w in enumerate(waiting) if TIER[w.kind] > TIER[q.kind])
                        waiting.insert(next(later, len(waiting)), q)
            fill()
    for q in waiting:
        if not _answered(q) and not q.note:
            q.note = " (not solved in time)"
    return solves


def _first_rough(scenario: Scenario, q: Question) -> bool:
    """Whether `q`'s next solve is a replacement question's first, short one."""
    return q.kind == "replacement" and not q.attempts and scenario.settings.mip_gap < FIRST_GAP


def time_share(q: Question, others: Sequence[Question], left: float, slots: int) -> float:
    """Seconds for `q`'s next solve: what is left, over the rounds of questions of its
    tier or a tier before it still to solve (`q` included), at least `MIN_SHARE_S`.

    Why tiers: plan 1's priority list (marginal values), the value of its offers and
    the gain of each limit come first (SPEC §6); the many replacement costs get what
    they leave. An equal share for every question would give each too little to prove
    anything at S (186 questions, 60 s, 2 workers: 0.6 s where a proof takes 1-2 s).
    """
    tier = TIER[q.kind]
    ahead = 1 + sum(1 for other in others if TIER[other.kind] <= tier)
    return max(MIN_SHARE_S, left / math.ceil(ahead / slots))


def _submit(
    pool: Pool, scenario: Scenario, q: Question, share: float, gap: float | None = None
) -> str:
    """Hand `q` about `scenario` to the pool for at most `share` seconds, to be proven to
    the relative `gap` (default SPEC's tolerance); returns its task's key."""
    q.attempts += 1
    start = q.best or q.start
    key = q.key if q.attempts == 1 else f"{q.key}#{q.attempts}"
    label = f"{WORDS[q.kind]} {q.subject}"
    task = functools.partial(
        answer_held, scenario, q.kind, q.subject, q.variant, start, share, gap=gap
    )
    pool.submit(Task(key, label, task, imports=api.SOLVE_IMPORTS))
    return key


def _take(q: Question, value: dict[str, Any], questions: list[Question]) -> None:
    """Narrow `q` (and, with a plan meeting the original limits, the others) by one solve."""
    exact = value["status"] == "optimal" and bool(value["proven"])
    if value["reach"] is not None:
        found = float(value["reach"]) - q.shift
        bound = float(value["bound"]) - q.shift
        if q.kind == "replacement":
            q.feasible = True
        if found > q.lo:
            q.best = tuple(value["options"])
        zero_gap = q.variant.settings.mip_gap == 0
        q.narrow(lo=found, hi=found if exact and zero_gap else bound)
        _settle(q)
        if q.restricts:  # the plan meets every limit and decision of the scenario
            _learn(questions, frozenset(value["options"]), frozenset(value["offers"]), found)
            for other in questions:
                _settle(other)
    elif value["bound"] is not None:  # no plan it could rely on, but the solve's bound
        q.narrow(hi=float(value["bound"]) - q.shift)
        _settle(q)
    elif value["status"] == "infeasible":
        if q.kind == "replacement":
            if q.feasible is None:  # a verified plan containing it outweighs the solver
                q.feasible = False
        else:  # no plan of positive weighted reach: the best reach is 0 (SPEC §4)
            q.narrow(hi=max(q.lo, 0.0))
            _settle(q)


def _interval(low: float, high: float) -> dict[str, float | None]:
    return {"low": clean_number(low), "high": clean_number(high)}


def _replacement(q: Question, reach: float) -> dict[str, Any] | None:
    if q.feasible is False:
        return None
    out: dict[str, Any] = _interval(reach - q.hi, reach - q.lo)
    if q.feasible is None:
        out["maybe_null"] = True  # not known whether any plan contains it
    return out


def _why(q: Question) -> str:
    return q.note
