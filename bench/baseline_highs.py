"""Baseline (b): default HiGHS on the straightforward formulation, and (c) the floor.

(b) `straight`: SPEC §3 built directly with highspy from `bench/straight.py`
    (every row as written, no tightening), solved with HiGHS's default options
    (presolve on, default threads) except: `mip_rel_gap` = the scenario's
    `mip_gap` (0, as the product proves optimality; HiGHS's default 1e-4 would
    stop short of the proven result we compare), `time_limit`, quiet output.
    Plan 1 in SPEC's three lexicographic stages (reach, then net spend, then
    option count), the run-wide deadline shared by the stages.

(c) `floor`: HiGHS alone on the product's own model exported as MPS (by
    `bench/export_mps.py`): time `Highs.readModel(mps)` and `run()` with the
    options the product would use on that model, exported beside it (presolve,
    sub-MIP heuristics and first LP by size; one thread, gap 0, seed 0). Reach
    stage only: this is the floor under everything the product adds.

Both honour the time limit with an interrupt callback as well as `time_limit`
(HiGHS does not check `time_limit` inside the root LP). Prints one JSON line.

Usage: python bench/baseline_highs.py straight SCENARIO.pickle --time-limit S
       python bench/baseline_highs.py floor MODEL.mps --time-limit S
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

T_START = time.perf_counter()
sys.path.insert(0, str(Path(__file__).resolve().parent))
import highspy  # noqa: E402
import numpy as np  # noqa: E402
from common import emit, load_pickled_scenario  # noqa: E402
from export_mps import options_path  # noqa: E402


def quiet_highs() -> highspy.Highs:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    return h


def arm_deadline(h: highspy.Highs, deadline: float) -> None:
    def interrupt(event) -> None:
        if time.monotonic() >= deadline:
            event.interrupt()

    for event in (h.cbSimplexInterrupt, h.cbIpmInterrupt, h.cbMipInterrupt):
        event.subscribe(interrupt)


def run_stage(h: highspy.Highs, deadline: float) -> dict:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return {"status": "time_limit", "objective": None, "bound": None, "seconds": 0.0}
    h.setOptionValue("time_limit", max(remaining, 1e-3))
    t0 = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - t0
    status = h.getModelStatus()
    info = h.getInfo()
    has_sol = info.primal_solution_status == 2  # kSolutionStatusFeasible
    obj = float(info.objective_function_value) if has_sol else None
    bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else None
    name = {
        highspy.HighsModelStatus.kOptimal: "optimal",
        highspy.HighsModelStatus.kTimeLimit: "time_limit",
        highspy.HighsModelStatus.kInterrupt: "time_limit",
        highspy.HighsModelStatus.kInfeasible: "infeasible",
    }.get(status, str(status))
    return {"status": name, "objective": obj, "bound": bound, "seconds": seconds}


def straight(pickle_path: str, time_limit: float) -> None:
    import straight as sf

    scenario = load_pickled_scenario(pickle_path, plans=1, time_limit=time_limit)
    start = time.monotonic()
    deadline = start + time_limit
    t0 = time.perf_counter()
    lm = sf.build(scenario)
    h = quiet_highs()
    n = len(lm.names)
    h.addVars(n, np.array(lm.lb, dtype=float), np.array([min(u, highspy.kHighsInf) for u in lm.ub]))
    ints = np.array([j for j in range(n) if lm.integer[j]], dtype=np.int32)
    h.changeColsIntegrality(
        len(ints), ints, np.full(len(ints), highspy.HighsVarType.kInteger, dtype=np.uint8)
    )
    starts, index, value, lower, upper = [], [], [], [], []
    for _name, row, lo, hi in lm.rows:
        starts.append(len(index))
        index.extend(row.keys())
        value.extend(row.values())
        lower.append(-highspy.kHighsInf if lo == -math.inf else lo)
        upper.append(highspy.kHighsInf if hi == math.inf else hi)
    h.addRows(
        len(lm.rows),
        np.array(lower, dtype=float),
        np.array(upper, dtype=float),
        len(index),
        np.array(starts, dtype=np.int32),
        np.array(index, dtype=np.int32),
        np.array(value, dtype=float),
    )

    def set_objective(coefs: dict[int, float], maximise: bool) -> None:
        cost = np.zeros(n)
        for j, v in coefs.items():
            cost[j] = v
        h.changeColsCost(n, np.arange(n, dtype=np.int32), cost)
        h.changeObjectiveSense(
            highspy.ObjSense.kMaximize if maximise else highspy.ObjSense.kMinimize
        )

    def add_row(coefs: dict[int, float], lo: float, hi: float) -> None:
        idx = np.array(list(coefs), dtype=np.int32)
        h.addRow(lo, hi, len(idx), idx, np.array(list(coefs.values()), dtype=float))

    h.setOptionValue("mip_rel_gap", scenario.settings.mip_gap)
    arm_deadline(h, deadline)
    build_s = time.perf_counter() - t0

    stages = []
    set_objective(lm.reach, True)
    reach = run_stage(h, deadline)
    stages.append(reach)
    proven = reach["status"] == "optimal"
    if reach["objective"] is not None:
        v1 = reach["objective"]
        add_row(lm.reach, v1 - sf.tolerance(v1), highspy.kHighsInf)
        set_objective(lm.net_spend, False)
        spend = run_stage(h, deadline)
        stages.append(spend)
        proven = proven and spend["status"] == "optimal"
        if spend["objective"] is not None:
            v2 = spend["objective"]
            add_row(lm.net_spend, -highspy.kHighsInf, v2 + sf.tolerance(v2))
            set_objective(lm.count, False)
            count = run_stage(h, deadline)
            stages.append(count)
            proven = proven and count["status"] == "optimal"
        else:
            proven = False
    total = time.perf_counter() - t0
    emit(
        {
            "what": "highs_straight",
            "rows": len(lm.rows),
            "cols": n,
            "build_s": build_s,
            "reach_stage_s": reach["seconds"],
            "solve_s": sum(st["seconds"] for st in stages),
            "total_s": total,
            "plan1_reach": reach["objective"],
            "plan1_bound": reach["bound"],
            "reach_proven": reach["status"] == "optimal",
            "proven": proven,
            "stages": stages,
        }
    )


def floor(mps_path: str, time_limit: float) -> None:
    t0 = time.perf_counter()
    h = quiet_highs()
    h.readModel(mps_path)
    read_s = time.perf_counter() - t0
    options = json.loads(options_path(Path(mps_path)).read_text(encoding="utf-8"))
    for name, value in options.items():
        if h.setOptionValue(name, value) != highspy.HighsStatus.kOk:
            raise SystemExit(f"HiGHS refused option {name} = {value!r}")
    deadline = time.monotonic() + time_limit
    arm_deadline(h, deadline)
    reach = run_stage(h, deadline)
    emit(
        {
            "what": "highs_floor",
            "read_s": read_s,
            "reach_stage_s": reach["seconds"],
            "total_s": read_s + reach["seconds"],
            "plan1_reach": reach["objective"],
            "plan1_bound": reach["bound"],
            "reach_proven": reach["status"] == "optimal",
            "proven": reach["status"] == "optimal",
            "stages": [reach],
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("straight", "floor"))
    parser.add_argument("path")
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args()
    if args.mode == "straight":
        straight(args.path, args.time_limit)
    else:
        floor(args.path, args.time_limit)


if __name__ == "__main__":
    main()
