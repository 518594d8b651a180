"""Lever: HiGHS options vs CBC on OR-Library mknapcb1 (5 x 100), per problem.

Variants (one solve each per problem; HiGHS threads=1; CBC 1 thread, via PuLP):
  hi-prod     max p·x s.t. A x ≤ b in highspy, the product's options (presolve off, gap 0)
  hi-pre      the same with presolve on
  hi-pre-h    presolve on, mip_heuristic_effort 0.3
  hi-shape    the product's shape (u_j ≤ x_j continuous, objective on u), presolve on
  hi-3stage   hi-pre plus the product's stages 2 and 3 (min cost, min count), warm-started
  cbc         PuLP + CBC (bench/baseline_pulp.solve_knapsack)
Best-known values are checked.

Usage: python bench/experiments/exp_mknap.py [--count 30] [--limit 20] [--variants hi-pre,cbc]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import highspy
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from hmodel import PRODUCT_OPTIONS, arm_deadline, run  # noqa: E402
from mknap import BEST_KNOWN, problems  # noqa: E402


def highs_knap(profits, rows, rhs, limit, opts, shape=False, stages=False):
    t0 = time.perf_counter()
    p = np.array(profits)
    A = np.array(rows)
    n = len(p)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    nc = 2 * n if shape else n
    h.addVars(nc, np.zeros(nc), np.ones(nc))
    h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.full(n, 1, dtype=np.uint8))
    for i in range(A.shape[0]):
        nz = np.nonzero(A[i])[0].astype(np.int32)
        h.addRow(-highspy.kHighsInf, rhs[i], len(nz), nz, A[i][nz].astype(float))
    obj = np.zeros(nc)
    if shape:
        for j in range(n):  # u_j <= 1 * x_j
            h.addRow(
                -highspy.kHighsInf, 0.0, 2, np.array([n + j, j], np.int32), np.array([1.0, -1.0])
            )
        obj[n:] = p
    else:
        obj[:n] = p
    h.changeColsCost(nc, np.arange(nc, dtype=np.int32), obj)
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    for k, v in {**PRODUCT_OPTIONS, **opts}.items():
        h.setOptionValue(k, v)
    start = arm_deadline(h, limit)
    start()
    r = run(h)
    proven = r["optimal"]
    value = r["obj"]
    if stages and r["obj"] is not None:
        col = np.array(h.getSolution().col_value)
        nz = np.nonzero(obj)[0].astype(np.int32)
        h.addRow(value - 1e-6 * max(1, value), highspy.kHighsInf, len(nz), nz, obj[nz])
        for vec in (
            np.concatenate([A[0], np.zeros(nc - n)]),
            np.concatenate([np.ones(n), np.zeros(nc - n)]),
        ):
            h.changeColsCost(nc, np.arange(nc, dtype=np.int32), vec.astype(float))
            h.changeObjectiveSense(highspy.ObjSense.kMinimize)
            h.setSolution(nc, np.arange(nc, dtype=np.int32), col)
            start()
            rs = run(h)
            proven = proven and rs["optimal"]
            col = np.array(h.getSolution().col_value)
            v2 = float(vec @ col)
            nz = np.nonzero(vec)[0].astype(np.int32)
            h.addRow(-highspy.kHighsInf, v2 + 1e-6 * max(1, v2), len(nz), nz, vec[nz].astype(float))
    return {"seconds": time.perf_counter() - t0, "value": value, "proven": proven}


VARIANTS = {
    "hi-prod": dict(opts={}),
    "hi-pre": dict(opts={"presolve": "on"}),
    "hi-pre-h": dict(opts={"presolve": "on", "mip_heuristic_effort": 0.3}),
    "hi-shape": dict(opts={"presolve": "on"}, shape=True),
    "hi-3stage": dict(opts={"presolve": "on"}, stages=True),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=30)
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--limit", type=float, default=20.0)
    ap.add_argument("--variants", default="hi-prod,hi-pre,cbc")
    a = ap.parse_args()
    probs = problems()
    out = []
    for k in range(a.first, min(30, a.first + a.count)):
        profits, rows, rhs = probs[k]
        for v in a.variants.split(","):
            if v == "cbc":
                from baseline_pulp import solve_knapsack

                r0 = solve_knapsack(profits, rows, rhs, a.limit)
                r = {
                    "seconds": r0["total_s"],
                    "value": r0["objective"],
                    "proven": r0["status"] == "optimal",
                }
            else:
                r = highs_knap(profits, rows, rhs, a.limit, **VARIANTS[v])
            r.update(
                problem=f"5.100-{k:02d}",
                variant=v,
                best_known=r["value"] is not None
                and abs(r["value"] - BEST_KNOWN[k]) < 1e-6 * BEST_KNOWN[k],
            )
            out.append(r)
            print(json.dumps(r), flush=True)
    summary = {}
    for v in a.variants.split(","):
        rs = [r for r in out if r["variant"] == v]
        summary[v] = {
            "problems": len(rs),
            "proven": sum(r["proven"] for r in rs),
            "best_known": sum(r["best_known"] for r in rs),
            "total_s": sum(r["seconds"] for r in rs),
            "max_s": max(r["seconds"] for r in rs),
        }
    print(json.dumps(summary, indent=1))
    Path(__file__).with_name(f"results_mknap_{a.first}_{a.count}.json").write_text(
        json.dumps({"runs": out, "summary": summary}, indent=1)
    )


if __name__ == "__main__":
    main()
