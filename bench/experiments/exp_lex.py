"""Lever: the three lexicographic stages of one rank (reach, net spend, count).

Variants, each on the same fresh model (product formulation), plan 1:
  cold3     product: three cold MIP solves, stage rows W ≥ v1 − tol, N ≤ v2 + tol
  warm3     the same, stage 2 and 3 started from the previous stage's solution (setSolution)
  wtd+warm3 stage 1 maximises W − ε·N (ε = tol(W_lb)/(2·budget): keeps W within tol/2 of
            the reach optimum, prefers cheap plans), then warm stages 2 and 3 as warm3
  warm2m    stage 1 plain; one merged warm stage: min N + ε2·count (ε2 = tol(N_ub)/(n+1))
  wtd+2m    weighted stage 1 then the merged warm stage
Every variant's final (W, N, count) is compared with cold3 (SPEC tolerance).
Instances: S seeds 1 (cached), 2, 3; median of --reps solves per variant.

Usage: python bench/experiments/exp_lex.py [--reps 3] [--opts '{"presolve":"on"}'] [--size S]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hmodel import arm_deadline, build, load, median, run, set_options, synthetic


def tol(v: float) -> float:
    return 1e-6 * max(1.0, abs(v))


def evaluate(hm, col):
    return float(hm.reach @ col), float(hm.net @ col), round(hm.count @ col)


def warm(hm, col) -> None:
    idx = np.arange(hm.n, dtype=np.int32)
    hm.h.setSolution(hm.n, idx, np.asarray(col, float))


def lex(sc, variant: str, opts: dict, limit: float) -> dict:
    hm = build(sc)
    set_options(hm.h, **opts)
    start = arm_deadline(hm.h, limit)
    times = []
    budget = sc.settings.budget
    # stage 1
    if variant.startswith("wtd"):
        # W_lb: 1 (safe without any incumbent); tol(W*) >= tol(1)
        eps = tol(1.0) / (2.0 * max(budget, 1.0))
        hm.set_objective(hm.reach - eps * hm.net, True)
    start()
    r1 = run(hm.h)
    times.append(r1["seconds"])
    col = np.array(hm.h.getSolution().col_value)
    proven = r1["optimal"]
    W, N, C = evaluate(hm, col)
    if variant.startswith("wtd"):
        # the reach optimum is at most W + eps*budget (<= W + tol/2) above this plan's reach
        pass
    idx, val = hm.objective_row(hm.reach)
    hm.add_row((idx, val), W - tol(W), np.inf)
    use_warm = variant != "cold3"
    if variant.endswith("2m"):
        eps2 = tol(budget) / (hm.n_x + 1)
        hm.set_objective(hm.net + eps2 * hm.count, False)
        if use_warm:
            warm(hm, col)
        start()
        r2 = run(hm.h)
        times.append(r2["seconds"])
        proven = proven and r2["optimal"]
        col = np.array(hm.h.getSolution().col_value)
    else:
        hm.set_objective(hm.net, False)
        if use_warm:
            warm(hm, col)
        start()
        r2 = run(hm.h)
        times.append(r2["seconds"])
        col = np.array(hm.h.getSolution().col_value)
        _, N2, _ = evaluate(hm, col)
        idx, val = hm.objective_row(hm.net)
        hm.add_row((idx, val), -np.inf, N2 + tol(N2))
        hm.set_objective(hm.count, False)
        if use_warm:
            warm(hm, col)
        start()
        r3 = run(hm.h)
        times.append(r3["seconds"])
        proven = proven and r2["optimal"] and r3["optimal"]
        col = np.array(hm.h.getSolution().col_value)
    W, N, C = evaluate(hm, col)
    return {"total_s": sum(times), "stages_s": times, "proven": proven, "W": W, "N": N, "count": C}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--limit", type=float, default=60.0)
    ap.add_argument("--opts", default="{}")
    ap.add_argument("--size", default="S")
    ap.add_argument("--variants", default="cold3,warm3,wtd+warm3,warm2m,wtd+2m")
    a = ap.parse_args()
    opts = json.loads(a.opts)
    if a.size == "S":
        instances = [("S-s1", load("S")), ("S-s2", synthetic("S", 2)), ("S-s3", synthetic("S", 3))]
    else:
        instances = [(f"{a.size}-s1", load(a.size))]
    out = []
    for inst, sc in instances:
        ref = None
        for v in a.variants.split(","):
            runs = [lex(sc, v, opts, a.limit) for _ in range(a.reps)]
            tot = [r["total_s"] for r in runs]
            r = runs[0]
            if ref is None:
                ref = r
            same = (
                abs(r["W"] - ref["W"]) <= tol(ref["W"])
                and abs(r["N"] - ref["N"]) <= tol(ref["N"])
                and r["count"] == ref["count"]
            )
            rec = {
                "instance": inst,
                "variant": v,
                "opts": opts,
                "median_s": median(tot),
                "stages_s": [
                    median([x["stages_s"][i] for x in runs]) for i in range(len(r["stages_s"]))
                ],
                "proven": r["proven"],
                "W": r["W"],
                "N": r["N"],
                "count": r["count"],
                "same_as_cold3": same,
            }
            out.append(rec)
            print(json.dumps(rec), flush=True)
    tag = "_".join(f"{k}{v}" for k, v in opts.items()) or "product"
    Path(__file__).with_name(f"results_lex_{a.size}_{tag}.json").write_text(
        json.dumps(out, indent=1)
    )


if __name__ == "__main__":
    main()
