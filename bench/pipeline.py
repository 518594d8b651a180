"""Worker: one run of the product pipeline (`planner solve`) in this fresh process.

Stages, each timed around the product's public functions:

- import: importing the planner modules a `planner solve` run needs (HiGHS; not Pyomo);
- read: `planner.workbook.reader.read_workbook`;
- validate: `planner.workbook.validation.check_workbook` +
  `planner.checks.precheck.check_before_solve`;
- build: `rank_plans`' own `timings["build"]` (model build + hand-off to HiGHS);
- highs: HiGHS's own time, the wall time with at least one `Highs.run()` call in
  progress in the process (overlapping runs counted once; a wrapper around
  `highspy.Highs.run`, installed before the product is imported; the product
  exposes no per-solve solver time). A run the product gives up on counts until
  then only: its thread may stay inside HiGHS for seconds after (XL: 26-48 s past a
  beside solve's end), its answer wanted by nobody;
- search: the product's own search for plans outside HiGHS's runs (`stages.best_start`:
  the greedy plan, the LP-guided search's own steps, the repair and refill of the last
  plan for a later rank, swaps; and after the last rank, the weakest plan's
  replacement by the best plan's best single drop, refilled: `ranking.hinted_start`),
  the wall time with it in progress and no HiGHS run;
- rank: the rest of `rank_plans` (stage bookkeeping, loading solutions,
  co-financing LP set-up, in-rank verification, no-good cuts; the search too);
- verify: `planner.checks.verify.check_plan` on every returned plan, run again here
  (the product also verifies inside `rank_plans`; this figure is its cost);
- write: `planner.reports.outputs.write_outputs` into a temporary folder.

`e2e` = import + read + validate + rank_plans total + write: what `planner solve` does
(the extra verify is reported but not added). Prints one JSON line.

Usage: python bench/pipeline.py WORKBOOK --plans K --time-limit S
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import threading
import time
from pathlib import Path

T_START = time.perf_counter()

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit  # noqa: E402


class _Busy:
    """Wall time with at least one of some overlapping activities in progress.

    Runs overlap when the product proves a tie-break beside the next reach stage (two
    threads), and its start search runs HiGHS inside it (LP relaxations, sub-MIPs):
    summing them would count those seconds twice, and the run's share outside them
    would come out negative. An activity given up at the deadline never ends; its
    time up to the moment of measuring counts.
    """

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        self.active = 0
        self.since = 0.0

    def enter(self) -> None:
        with _LOCK:
            if self.active == 0:
                self.since = time.perf_counter()
            self.active += 1

    def leave(self) -> None:
        with _LOCK:
            self.active -= 1
            self.calls += 1
            if self.active == 0:
                self.seconds += time.perf_counter() - self.since

    def so_far(self) -> float:
        with _LOCK:
            extra = time.perf_counter() - self.since if self.active else 0.0
            return self.seconds + extra


_LOCK = threading.Lock()
_HIGHS = _Busy()
"""HiGHS's own time: `Highs.run()` in progress."""
_WORKING = _Busy()
"""HiGHS's time or the product's own search in progress (`stages.best_start`: the
greedy, the LP-guided search, the repair of the last plan, swaps; the weakest plan's
replacement after the last rank)."""


_RUNNING: dict[threading.Thread, tuple[_Busy, ...]] = {}
"""HiGHS runs in progress and still counted, by the thread inside them."""


def _timed(busy: tuple[_Busy, ...], original):
    def timed(*args, **kwargs):
        for b in busy:
            b.enter()
        try:
            return original(*args, **kwargs)
        finally:
            for b in busy:
                b.leave()

    return timed


def _timed_run(busy: tuple[_Busy, ...], original):
    """`_timed` for `Highs.run`, which may be given up while it runs (`_stop_counting`)."""

    def timed(*args, **kwargs):
        for b in busy:
            b.enter()
        me = threading.current_thread()
        with _LOCK:
            _RUNNING[me] = busy
        try:
            return original(*args, **kwargs)
        finally:
            _stop_counting(me)

    return timed


def _stop_counting(thread: threading.Thread) -> None:
    """A HiGHS run ends, or is given up (its answer no longer wanted): counted no more."""
    with _LOCK:
        busy = _RUNNING.pop(thread, ())
    for b in busy:
        b.leave()


def _install_timers() -> None:
    """Before the product is imported: HiGHS's runs and the start search, timed. A run
    the product gives up on (`solver._note_given_up`: at a deadline, or a solve beside
    the start search that overran its end) counts only until then: the thread may stay
    inside HiGHS for seconds, doing nothing anyone waits for."""
    import highspy

    highspy.Highs.run = _timed_run((_HIGHS, _WORKING), highspy.Highs.run)
    import planner.solving.solver as solver
    import planner.solving.stages as stages

    stages.best_start = _timed((_WORKING,), stages.best_start)
    import planner.solving.ranking as ranking

    # The weakest plan's replacement after the last rank searches as a later rank's start
    # does (XL, 10 plans: ~6 s of it were counted as neither HiGHS nor search).
    ranking.hinted_start = _timed((_WORKING,), ranking.hinted_start)
    note_given_up = solver._note_given_up

    def given_up(worker: threading.Thread) -> None:
        _stop_counting(worker)
        note_given_up(worker)

    solver._note_given_up = given_up


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("workbook", type=Path)
    parser.add_argument("--plans", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args()

    t0 = time.perf_counter()
    run_started = time.monotonic()  # as the command line: the limit covers the imports too
    _install_timers()
    import planner.solving.solver  # noqa: F401  (HiGHS)
    from planner.checks.precheck import check_before_solve
    from planner.checks.verify import ScenarioIndex, check_plan
    from planner.plan import ProgressEvent
    from planner.reports.outputs import expected_write_seconds, write_outputs
    from planner.reports.plans_xlsx import RunInfo
    from planner.solving.ranking import rank_plans
    from planner.workbook.reader import read_workbook
    from planner.workbook.validation import check_workbook, without_cyclic_gc

    times: dict[str, float] = {"import": time.perf_counter() - t0}

    # As the command line: the cycle collector paused while the
    # workbook becomes objects, and the time limit covering imports to write.
    with without_cyclic_gc():
        t0 = time.perf_counter()
        raw = read_workbook(args.workbook)
        times["read"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        overrides = [("plans", str(args.plans)), ("time_limit_s", repr(args.time_limit))]
        scenario = check_workbook(raw, None, overrides)
        times["validate"] = time.perf_counter() - t0
    del raw
    gc.freeze()  # as the command line does once the scenario is loaded
    t0 = time.perf_counter()
    found = check_before_solve(scenario)
    times["validate"] += time.perf_counter() - t0

    events: list[tuple[int, float, float | None]] = []

    def progress(event: ProgressEvent) -> None:
        if event.stage in ("begin", "kept"):  # not the updates within a rank
            events.append((event.rank, event.elapsed_s, event.gap))

    highs_before, working_before = _HIGHS.so_far(), _WORKING.so_far()
    t0 = time.perf_counter()
    planset = rank_plans(
        scenario, progress=progress, started=run_started, after=expected_write_seconds(scenario)
    )
    rank_total = time.perf_counter() - t0
    highs = _HIGHS.so_far() - highs_before
    search = _WORKING.so_far() - working_before - highs
    build = float(planset.timings.get("build", 0.0))
    times["build"] = build
    times["highs"] = highs
    times["search"] = search
    times["rank"] = max(0.0, rank_total - build - highs)
    times["rank_total"] = rank_total
    # Where rank_plans' time went, by stage (SPEC §3's order): reach stages, tie-breaks
    # (on the main solver, and waited for when they ran beside the next reach stage).
    times["reach"] = float(planset.timings.get("reach stages", 0.0))
    times["tie_break"] = float(planset.timings.get("tie-breaks", 0.0)) + float(
        planset.timings.get("tie-breaks beside, waited for", 0.0)
    )

    t0 = time.perf_counter()
    problems = []
    checked = planset_scenario(scenario)
    index = ScenarioIndex(checked)
    for plan in planset.plans:
        problems.extend(check_plan(checked, plan, index=index))
    times["verify"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-out-") as tmp:
        run = RunInfo(
            workbook=str(args.workbook),
            sha256="",
            scenario=scenario.name,
            status=str(planset.status),
            versions={},
            started="",
            timings=dict(planset.timings),
            command="bench",
        )
        write_outputs(Path(tmp), scenario, planset, found.screened, run)
    times["write"] = time.perf_counter() - t0
    times["e2e"] = times["import"] + times["read"] + times["validate"] + rank_total + times["write"]
    times["process"] = time.perf_counter() - T_START

    # Time at which each plan was returned: the progress call after plan k carries k again.
    plan_times: list[float] = []
    seen: set[int] = set()
    for k, elapsed, _gap in events:
        if k in seen:
            plan_times.append(elapsed)
        seen.add(k)

    first = planset.plans[0] if planset.plans else None
    emit(
        {
            "what": "product",
            "plans_asked": args.plans,
            "time_limit": args.time_limit,
            "status": str(planset.status),
            "message": planset.message,
            "n_plans": len(planset.plans),
            "proven": [p.proven_optimal for p in planset.plans],
            "gaps": [p.gap for p in planset.plans],
            "reach": [p.weighted_reach for p in planset.plans],
            "bounds": [p.bound for p in planset.plans],
            "plan1_reach": first.weighted_reach if first else None,
            "plan1_bound": first.bound if first else None,
            "plan1_gap": (
                (first.bound - first.weighted_reach) / max(1.0, abs(first.weighted_reach))
                if first
                else None
            ),
            "plan1_net_spend": first.net_spend if first else None,
            "plan1_n_options": len(first.options) if first else None,
            "plan_times": plan_times,
            "highs_calls": _HIGHS.calls,
            "verify_problems": problems[:5],
            "times": times,
            "n_options": len(scenario.options),
            "n_coverage": len(scenario.coverage),
        }
    )


def planset_scenario(scenario):
    """Plans refer to the scenario in canonical order, as `rank_plans` builds it."""
    from planner.model.common import canonical_order

    return canonical_order(scenario)


if __name__ == "__main__":
    main()
