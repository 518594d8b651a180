"""OR-Library mknapcb1 (30 problems, 5 x 100) solved by the product and by CBC.

Mapping (as tests/solving/test_known_answers.py does for mknap1): item j is option O_j
of cost r(1,j) reaching only its own market M_j (weight p(j), addressable 1,
reach 1); the first constraint is the budget, the other four are Resources.
The product runs `rank_plans` with plans = 1 (the SPEC §3 order: most profit,
then least cost r(1,·), then fewest items; integral data make that one exact
objective, models/formulation.md choice 16). CBC solves max p·x s.t. r·x ≤ b
directly via PuLP (`cbc`, the baseline the target names) and, for a
like-for-like reading, the product's own one objective over the same x
(`cbc-same-order`: K_W·p·x − K_N·r(1,·)·x − Σx with the product's weights).
Best-known values (all proven optimal for this class): SOURCES.md.

Usage: python bench/mknap.py product|cbc|cbc-same-order [--count 30] [--time-limit 60]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from common import ROOT, emit, same_value
from orlib import knapsack_scenario as orlib_scenario  # shared with the known-answer tests
from orlib import read_mknap

DATA = ROOT.parent / "shared" / "benchdata" / "orlib_mknap" / "mknapcb1.txt"

#: Chu & Beasley best-known values for 5.100-00 .. 5.100-29 (optimal), from SOURCES.md.
BEST_KNOWN = (
    24381,
    24274,
    23551,
    23534,
    23991,
    24613,
    25591,
    23410,
    24216,
    24411,
    42757,
    42545,
    41968,
    45090,
    42218,
    42927,
    42009,
    45020,
    43441,
    44554,
    59822,
    62081,
    59802,
    60479,
    61091,
    58959,
    61538,
    61520,
    59453,
    59965,
)


def problems(path: Path = DATA) -> list[tuple[list[float], list[list[float]], list[float]]]:
    return [(profits, rows, rhs) for profits, rows, rhs, _ in read_mknap(path)]


def knapsack_scenario(profits, rows, rhs, time_limit: float):
    return orlib_scenario(profits, rows, rhs, time_limit)


def run_product(count: int, time_limit: float) -> list[dict]:
    from planner.solving.ranking import rank_plans

    out = []
    for k, (profits, rows, rhs) in enumerate(problems()[:count]):
        scenario = knapsack_scenario(profits, rows, rhs, time_limit)
        t0 = time.perf_counter()
        planset = rank_plans(scenario)
        seconds = time.perf_counter() - t0
        plan = planset.plans[0] if planset.plans else None
        value = plan.weighted_reach if plan else None
        out.append(
            {
                "problem": f"5.100-{k:02d}",
                "seconds": seconds,
                "value": value,
                "proven": bool(plan and plan.proven_optimal),
                "status": str(planset.status),
                "matches_best_known": bool(same_value(value, BEST_KNOWN[k])),
            }
        )
    return out


def run_cbc(count: int, time_limit: float) -> list[dict]:
    from baseline_pulp import solve_knapsack

    out = []
    for k, (profits, rows, rhs) in enumerate(problems()[:count]):
        r = solve_knapsack(profits, rows, rhs, time_limit)
        out.append(
            {
                "problem": f"5.100-{k:02d}",
                "seconds": r["total_s"],
                "value": r["objective"],
                "proven": r["status"] == "optimal",
                "status": r["status"],
                "matches_best_known": bool(same_value(r["objective"], BEST_KNOWN[k])),
            }
        )
    return out


def run_cbc_same_order(count: int, time_limit: float) -> list[dict]:
    """CBC on the order the product must find: the product's own one objective."""
    from baseline_pulp import solve_knapsack

    from planner.model.common import canonical_order
    from planner.model.matrix_model import build_matrix_model
    from planner.solving.stages import lexicographic_weights

    out = []
    for k, (profits, rows, rhs) in enumerate(problems()[:count]):
        scenario = canonical_order(knapsack_scenario(profits, rows, rhs, time_limit))
        weights = lexicographic_weights(build_matrix_model(scenario), 0.0)
        if weights is None:
            raise RuntimeError(f"5.100-{k:02d}: no exact one objective for these data")
        objective = [
            weights.reach * p - weights.spend * c - 1.0
            for p, c in zip(profits, rows[0], strict=True)
        ]
        r = solve_knapsack(objective, rows, rhs, time_limit)
        x = r["values"]
        value = None if x is None else sum(p for p, v in zip(profits, x, strict=True) if v > 0.5)
        out.append(
            {
                "problem": f"5.100-{k:02d}",
                "seconds": r["total_s"],
                "value": value,
                "proven": r["status"] == "optimal",
                "status": r["status"],
                "matches_best_known": bool(same_value(value, BEST_KNOWN[k])),
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("solver", choices=("product", "cbc", "cbc-same-order"))
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args()
    run = {"product": run_product, "cbc": run_cbc, "cbc-same-order": run_cbc_same_order}[
        args.solver
    ]
    results = run(args.count, args.time_limit)
    emit(
        {
            "what": f"mknap_{args.solver}",
            "problems": results,
            "total_s": sum(r["seconds"] for r in results),
            "proven": sum(r["proven"] for r in results),
            "matches": sum(r["matches_best_known"] for r in results),
        }
    )


if __name__ == "__main__":
    main()
