"""Baseline (a): the same SPEC §3 model written in PuLP and solved by CBC.

The formulation is `bench/straight.py` (every SPEC row as written). CBC runs
through `PULP_CBC_CMD` with msg off, one thread, `gapRel` = the scenario's
`mip_gap` (0: proven optimal) and the run-wide time limit shared by plan 1's
three lexicographic stages (reach, then net spend, then option count). CBC's
dual bound is not returned by PuLP, so it is read from CBC's log.

Also used by bench/mknap.py for the OR-Library knapsacks (`solve_knapsack`).

Usage: python bench/baseline_pulp.py SCENARIO.pickle --time-limit S   (one JSON line)
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pulp
from common import emit, load_pickled_scenario


def _cbc_bound(log: str) -> float | None:
    """CBC's best possible objective from its log (in the sense of the original problem)."""
    for pattern in (r"Lower bound:\s*(-?[\d.eE+-]+)", r"best possible\s*(-?[\d.eE+-]+)"):
        found = re.findall(pattern, log)
        if found:
            try:
                return float(found[-1])
            except ValueError:
                continue
    return None


def cbc_solve(prob: pulp.LpProblem, time_limit: float, gap: float) -> dict:
    """Solve `prob` with CBC; status, objective, bound and seconds."""
    if time_limit <= 0:
        return {"status": "time_limit", "objective": None, "bound": None, "seconds": 0.0}
    with tempfile.TemporaryDirectory(prefix="bench-cbc-") as tmp:
        log_path = Path(tmp) / "cbc.log"
        solver = pulp.PULP_CBC_CMD(
            msg=False,
            timeLimit=max(1, math.ceil(time_limit)),  # CBC takes whole seconds
            threads=1,
            gapRel=gap,
            logPath=str(log_path),
        )
        t0 = time.perf_counter()
        prob.solve(solver)
        seconds = time.perf_counter() - t0
        log = log_path.read_text(errors="replace") if log_path.exists() else ""
    has_solution = prob.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
    objective = pulp.value(prob.objective) if has_solution else None
    proven = prob.sol_status == pulp.LpSolutionOptimal and "Optimal solution found" in log
    bound = _cbc_bound(log)
    if bound is not None and prob.sense == pulp.LpMaximize:
        # PuLP hands CBC the negated objective; the log's bound is on that minimised form.
        bound = -bound
    if proven and objective is not None:
        bound = objective
    if proven:
        status = "optimal"
    elif prob.sol_status == pulp.LpSolutionInfeasible or prob.status == pulp.LpStatusInfeasible:
        status = "infeasible"
    else:
        status = "time_limit"
    return {"status": status, "objective": objective, "bound": bound, "seconds": seconds}


def _expr(coefs: dict[int, float], variables: list) -> pulp.LpAffineExpression:
    return pulp.LpAffineExpression([(variables[j], v) for j, v in coefs.items() if v != 0])


def solve_scenario(scenario, time_limit: float) -> dict:
    import straight as sf

    deadline = time.monotonic() + time_limit
    t0 = time.perf_counter()
    lm = sf.build(scenario)
    prob = pulp.LpProblem("plan", pulp.LpMaximize)
    variables = []
    for j in range(len(lm.names)):
        ub = None if lm.ub[j] == math.inf else lm.ub[j]
        cat = (
            pulp.LpBinary
            if lm.integer[j] and lm.lb[j] == 0 and ub == 1
            else (pulp.LpInteger if lm.integer[j] else pulp.LpContinuous)
        )
        var = pulp.LpVariable(f"c{j}", lowBound=lm.lb[j], upBound=ub, cat=cat)
        variables.append(var)
    for i, (_name, row, lo, hi) in enumerate(lm.rows):
        expr = _expr(row, variables)
        if lo == hi:
            prob += pulp.LpConstraint(expr, pulp.LpConstraintEQ, f"r{i}", hi)
        else:
            if hi != math.inf:
                prob += pulp.LpConstraint(expr, pulp.LpConstraintLE, f"r{i}u", hi)
            if lo != -math.inf:
                prob += pulp.LpConstraint(expr, pulp.LpConstraintGE, f"r{i}l", lo)
    prob.setObjective(_expr(lm.reach, variables))
    build_s = time.perf_counter() - t0
    gap = scenario.settings.mip_gap

    stages = []
    reach = cbc_solve(prob, deadline - time.monotonic(), gap)
    stages.append(reach)
    proven = reach["status"] == "optimal"
    if reach["objective"] is not None:
        v1 = reach["objective"]
        prob += pulp.LpConstraint(
            _expr(lm.reach, variables), pulp.LpConstraintGE, "hold_reach", v1 - sf.tolerance(v1)
        )
        prob.sense = pulp.LpMinimize
        prob.setObjective(_expr(lm.net_spend, variables))
        spend = cbc_solve(prob, deadline - time.monotonic(), gap)
        stages.append(spend)
        proven = proven and spend["status"] == "optimal"
        if spend["objective"] is not None:
            v2 = spend["objective"]
            prob += pulp.LpConstraint(
                _expr(lm.net_spend, variables),
                pulp.LpConstraintLE,
                "hold_spend",
                v2 + sf.tolerance(v2),
            )
            prob.setObjective(_expr(lm.count, variables))
            count = cbc_solve(prob, deadline - time.monotonic(), gap)
            stages.append(count)
            proven = proven and count["status"] == "optimal"
        else:
            proven = False
    return {
        "what": "pulp_cbc",
        "rows": len(lm.rows),
        "cols": len(lm.names),
        "build_s": build_s,
        "reach_stage_s": reach["seconds"],
        "solve_s": sum(st["seconds"] for st in stages),
        "total_s": time.perf_counter() - t0,
        "plan1_reach": reach["objective"],
        "plan1_bound": reach["bound"],
        "reach_proven": reach["status"] == "optimal",
        "proven": proven,
        "stages": stages,
    }


def solve_knapsack(profits, rows, rhs, time_limit: float) -> dict:
    """max p·x s.t. rows·x ≤ rhs, x binary, directly in PuLP/CBC (bench/mknap.py).

    `values` in the answer: x as CBC left it (None without a solution)."""
    t0 = time.perf_counter()
    n = len(profits)
    prob = pulp.LpProblem("mknap", pulp.LpMaximize)
    x = [pulp.LpVariable(f"x{j}", cat=pulp.LpBinary) for j in range(n)]
    prob.setObjective(pulp.LpAffineExpression(list(zip(x, profits, strict=True))))
    for i, row in enumerate(rows):
        expr = pulp.LpAffineExpression([(x[j], a) for j, a in enumerate(row) if a])
        prob += pulp.LpConstraint(expr, pulp.LpConstraintLE, f"k{i}", rhs[i])
    result = cbc_solve(prob, time_limit, 0.0)
    result["total_s"] = time.perf_counter() - t0
    result["values"] = [v.value() for v in x] if result["objective"] is not None else None
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("pickle")
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args()
    scenario = load_pickled_scenario(args.pickle, plans=1, time_limit=args.time_limit)
    emit(solve_scenario(scenario, args.time_limit))


if __name__ == "__main__":
    main()
