"""Lever: HiGHS options on the product's formulation, reach stage of plan 1.

S: instances seed 1 (the cached benchmark scenario) and synthetic seeds 2, 3;
3 solves each per variant (HiGHS is deterministic at threads=1, so repeats only
measure timing noise), median reported. M: one time-limited solve per variant
(gap at the limit). One thread, sequential.

Usage: python bench/experiments/exp_options.py [--size S|M] [--limit 60] [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hmodel import arm_deadline, build, load, median, run, set_options, synthetic

VARIANTS = {
    "product (presolve off)": {},
    "presolve on": {"presolve": "on"},
    "heur 0": {"mip_heuristic_effort": 0.0},
    "heur 0.3": {"mip_heuristic_effort": 0.3},
    "no sub-MIP (rins/rens off)": {
        "mip_heuristic_run_rins": False,
        "mip_heuristic_run_rens": False,
    },
    "presolve on + no sub-MIP": {
        "presolve": "on",
        "mip_heuristic_run_rins": False,
        "mip_heuristic_run_rens": False,
    },
    "rel gap 1e-6 (SPEC tol)": {"mip_rel_gap": 1e-6},
    "symmetry off": {"mip_detect_symmetry": False},
    "no node cuts": {"mip_allow_cut_separation_at_nodes": False},
    "no restart": {"mip_allow_restart": False},
    "primal simplex": {"simplex_strategy": 4},
    "small cut pool": {"mip_pool_soft_limit": 1000, "mip_pool_age_limit": 10},
    "presolve on + no sub-MIP + no restart": {
        "presolve": "on",
        "mip_heuristic_run_rins": False,
        "mip_heuristic_run_rens": False,
        "mip_allow_restart": False,
    },
    "no sub-MIP + no restart": {
        "mip_heuristic_run_rins": False,
        "mip_heuristic_run_rens": False,
        "mip_allow_restart": False,
    },
    # formulation levers (product options): key "_build" goes to hmodel.build
    "form: no cofinance_option rows": {"_build": {"cofin": "none"}},
    "form: all cofinance_option rows": {"_build": {"cofin": "all"}},
    "form: reach coef capped at addressable": {"_build": {"reach_cap": True}},
}
M_VARIANTS = [
    "product (presolve off)",
    "presolve on + no sub-MIP",
    "form: no cofinance_option rows",
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="S")
    ap.add_argument("--limit", type=float, default=60.0)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--variants", default="")
    a = ap.parse_args()
    if a.size == "S":
        instances = [("S-s1", load("S")), ("S-s2", synthetic("S", 2)), ("S-s3", synthetic("S", 3))]
        names = list(VARIANTS)
    else:
        instances = [(f"{a.size}-s1", load(a.size))]
        names = M_VARIANTS
        a.reps = 1
    if a.variants:
        names = [n for n in names if any(v in n for v in a.variants.split(","))]
    out = []
    for inst, sc in instances:
        for name in names:
            times, last = [], None
            for _ in range(a.reps):
                opts = dict(VARIANTS[name])
                hm = build(sc, **opts.pop("_build", {}))
                set_options(hm.h, **opts)
                start = arm_deadline(hm.h, a.limit)
                start()
                r = run(hm.h)
                times.append(r["seconds"])
                last = r
            rec = {
                "instance": inst,
                "variant": name,
                "median_s": median(times),
                "times": times,
                "optimal": last["optimal"],
                "obj": last["obj"],
                "bound": last["bound"],
                "gap": last["gap"],
                "nodes": last["nodes"],
            }
            out.append(rec)
            print(json.dumps(rec), flush=True)
    Path(__file__).with_name(f"results_options_{a.size}.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
