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
  exposes no per-solve solver time);
- rank: the rest of `rank_plans` (stage bookkeeping, loading solutions,
  co-financing LP set-up, in-rank verification, no-good cuts);
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

_HIGHS = {"seconds": 0.0, "calls": 0}
_RUNNING: dict[int, float] = {}
"""Start time of every HiGHS run still in progress (a run given up at the deadline
never returns; its time up to the moment of measuring is HiGHS's too)."""
_BUSY_SINCE: list[float] = []
"""When the current stretch with at least one HiGHS run in progress began."""
_LOCK = threading.Lock()


def _highs_seconds() -> float:
    """Wall time so far with at least one HiGHS run in progress.

    Runs overlap when the product proves a tie-break beside the next reach
    stage (two threads): summing them would count those seconds twice, and
    the run's share outside HiGHS would come out negative.
    """
    with _LOCK:
        now = time.perf_counter()
        return _HIGHS["seconds"] + sum(now - t0 for t0 in _BUSY_SINCE)


def _install_highs_timer() -> None:
    import highspy

    original = highspy.Highs.run

    def timed_run(self, *args, **kwargs):
        with _LOCK:
            t0 = time.perf_counter()
            _RUNNING[id(self)] = t0
            if len(_RUNNING) == 1:
                _BUSY_SINCE.append(t0)
        try:
            return original(self, *args, **kwargs)
        finally:
            with _LOCK:
                del _RUNNING[id(self)]
                _HIGHS["calls"] += 1
                if not _RUNNING:
                    _HIGHS["seconds"] += time.perf_counter() - _BUSY_SINCE.pop()

    highspy.Highs.run = timed_run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("workbook", type=Path)
    parser.add_argument("--plans", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args()

    t0 = time.perf_counter()
    run_started = time.monotonic()  # as the command line: the limit covers the imports too
    _install_highs_timer()
    import planner.solving.solver  # noqa: F401  (HiGHS)
    from planner.checks.precheck import check_before_solve
    from planner.checks.verify import check_plan
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

    highs_before = _highs_seconds()
    t0 = time.perf_counter()
    planset = rank_plans(
        scenario, progress=progress, started=run_started, after=expected_write_seconds(scenario)
    )
    rank_total = time.perf_counter() - t0
    highs = _highs_seconds() - highs_before
    build = float(planset.timings.get("build", 0.0))
    times["build"] = build
    times["highs"] = highs
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
    for plan in planset.plans:
        problems.extend(check_plan(planset_scenario(scenario), plan))
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
            "highs_calls": _HIGHS["calls"],
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
