"""Lever: ranked plans (SPEC §4, min_plan_difference 1), reach stage of plans 1..K.

Variants (same instance, same run, one thread):
  cold      each plan a cold solve after its no-good cut (the product's pattern)
  warm      plan k started from plan k−1 repaired (drop the chosen option whose loss of
            weighted reach is smallest; offers kept where still feasible; u recomputed)
  warm+cap  warm plus the valid row W ≤ W_{k−1} + tol (plan k cannot beat plan k−1)
  greedy1   plan 1 started from the greedy plan (heuristics.greedy), then as cold
Options: --opts JSON applied on top of the product's; the tie-break stages are
measured separately (exp_lex.py), so times here are reach stages only.

Usage: python bench/experiments/exp_ranked.py [--plans 10] [--opts '{...}'] [--variants cold,warm]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from heuristics import feasible, full_col, greedy
from hmodel import arm_deadline, build, load, run, set_options, synthetic


def tol(v):
    return 1e-6 * max(1.0, abs(v))


def repair(hm, col):
    """Drop one chosen option (least reach lost) so the plan leaves the last no-good cut.

    Keeps the previous offers and co-financing except the dropped option's amounts;
    an offer whose matching spend then fails is dropped with its amounts.
    """
    n_x, n_y, n_z = hm.n_x, hm.n_y, hm.n_z
    x = col[:n_x].copy()
    y0 = np.round(col[n_x : n_x + n_y])
    z0 = col[n_x + n_y : n_x + n_y + n_z].copy()
    by_option, _cpos = hm.data["by_option"], hm.data["cpos"]
    chosen = [i for i in range(n_x) if x[i] > 0.5 and hm.data["lb"][i] < 0.5]
    best = None
    for i in chosen:
        x2 = x.copy()
        x2[i] = 0
        z2 = z0.copy()
        for zc in by_option.get(i, []):
            z2[zc - n_x - n_y] = 0.0
        for y2 in (y0, np.zeros(n_y)):
            zz = z2 if y2 is y0 else np.zeros(n_z)
            c = full_col(hm, x2, y2, zz)
            if feasible(hm, c):
                w = float(hm.reach @ c)
                if best is None or w > best[0]:
                    best = (w, c)
                break
    return best


def ranked(sc, variant, plans, opts, limit):
    hm = build(sc)
    set_options(hm.h, **opts)
    start = arm_deadline(hm.h, limit)
    out = []
    prev = None
    ridx, rval = hm.objective_row(hm.reach)
    for k in range(plans):
        warm_w = None
        if variant == "greedy1" and k == 0:
            x = greedy(hm)
            c = full_col(hm, x, np.zeros(hm.n_y), np.zeros(hm.n_z))
            hm.h.setSolution(hm.n, np.arange(hm.n, dtype=np.int32), c)
            warm_w = float(hm.reach @ c)
        if variant.startswith("warm") and prev is not None:
            rep = repair(hm, prev)
            if variant == "warm+cap":
                hm.add_row((ridx, rval), -np.inf, out[-1]["obj"] + tol(out[-1]["obj"]))
            if rep is not None:
                warm_w = rep[0]
                hm.h.setSolution(hm.n, np.arange(hm.n, dtype=np.int32), rep[1])
        start()
        r = run(hm.h)
        r["warm_w"] = warm_w
        out.append(r)
        if r["obj"] is None:
            break
        prev = np.array(hm.h.getSolution().col_value)
        chosen = np.nonzero(prev[: hm.n_x] > 0.5)[0].astype(np.int32)
        hm.add_row(
            (chosen, np.ones(len(chosen))), -np.inf, len(chosen) - sc.settings.min_plan_difference
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--plans", type=int, default=10)
    ap.add_argument("--limit", type=float, default=60.0)
    ap.add_argument("--opts", default="{}")
    ap.add_argument("--size", default="S")
    ap.add_argument("--seeds", default="1")
    ap.add_argument("--variants", default="cold,warm,warm+cap,greedy1")
    a = ap.parse_args()
    opts = json.loads(a.opts)
    res = []
    for seed in a.seeds.split(","):
        sc = load(a.size) if seed == "1" else synthetic(a.size, int(seed))
        for v in a.variants.split(","):
            rs = ranked(sc, v, a.plans, opts, a.limit)
            rec = {
                "instance": f"{a.size}-s{seed}",
                "variant": v,
                "opts": opts,
                "total_s": sum(r["seconds"] for r in rs),
                "plans": len(rs),
                "proven": sum(r["optimal"] for r in rs),
                "per_plan_s": [round(r["seconds"], 2) for r in rs],
                "objs": [r["obj"] for r in rs],
                "warm_w": [r["warm_w"] for r in rs],
            }
            res.append(rec)
            print(json.dumps(rec), flush=True)
    tag = "_".join(f"{k}{v}" for k, v in opts.items()) or "product"
    Path(__file__).with_name(f"results_ranked_{a.size}_{tag}.json").write_text(
        json.dumps(res, indent=1)
    )


if __name__ == "__main__":
    main()
