"""Explanations benchmark: how much of plan 1's explanation is exact within its time.

Plan 1 of the instance is solved (not timed here), then explained (SPEC §6) with
`explain_time_s` = --time seconds on --workers local processes, --runs times. Each run
reports its seconds and re-solves and, per kind of question (marginal value of each
chosen option, replacement cost of each option left out, the gain of each limit, the
value of each offer), how many are exact and the total width of the intervals left
open — the figure to drive down. The issue's target: every chosen option's marginal
value and every limit's gain exact within 60 s at S.

Usage: python bench/explain_bench.py [--size S] [--time 60] [--workers 2] [--runs 3]
Writes bench/results/explain.json and explain.md (quick-explain.* with --quick).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, ensure_instance

KINDS = ("marginal_value", "replacement_cost", "limits", "offers")


def log(text: str) -> None:
    print(text, flush=True)


def intervals(explain: dict[str, Any], kind: str) -> list[tuple[float, float] | None]:
    """The kind's intervals as (low, high); None for a replacement cost known to be null
    (no feasible plan holds the option: an exact answer)."""
    if kind == "limits":
        return [(row["gain"]["low"], row["gain"]["high"]) for row in explain["limits"]]
    found: list[tuple[float, float] | None] = []
    for value in explain[kind].values():
        if value is None:
            found.append(None)
        else:
            found.append((value["low"], value["high"]))
    return found


def open_width(interval: tuple[float, float] | None) -> float:
    if interval is None:
        return 0.0
    low, high = interval
    return high - low if high != float("inf") else float("inf")


def summarise(explain: dict[str, Any]) -> dict[str, Any]:
    """Per kind: questions, exact ones, total width of the open intervals."""
    out: dict[str, Any] = {}
    for kind in KINDS:
        found = intervals(explain, kind)
        widths = [open_width(i) for i in found]
        maybe = explain[kind].get("maybe_null", False) if isinstance(explain[kind], dict) else 0
        out[kind] = {
            "questions": len(found),
            "exact": sum(1 for w in widths if w <= 1e-9),
            "open_width": sum(widths),
            "maybe_null": bool(maybe),
        }
    return out


def one_run(size: str, seconds: float, workers: int) -> dict[str, Any]:
    import planner
    from planner.engine import PoolOptions
    from planner.explain import explain_plan

    scenario = planner.load(ensure_instance(size))
    result = planner.solve(scenario, plans=1)
    if not result.plans:
        raise SystemExit(f"{size}: no plan 1 to explain ({result.status})")
    t0 = time.perf_counter()
    explain = explain_plan(result, time_s=seconds, pool=PoolOptions(workers=workers))
    wall = time.perf_counter() - t0
    kinds = summarise(explain)
    target = (
        kinds["marginal_value"]["exact"] == kinds["marginal_value"]["questions"]
        and kinds["limits"]["exact"] == kinds["limits"]["questions"]
    )
    return {
        "seconds": wall,
        "solves": explain["solves"],
        "complete": explain["complete"],
        "kinds": kinds,
        "target_met": target,
        "proven_plan_1": result.plans[0].proven_optimal,
    }


def table(size: str, seconds: float, workers: int, runs: list[dict[str, Any]]) -> str:
    lines = [
        f"Explanations of plan 1, {size}, explain_time_s = {seconds:g}, {workers} workers, "
        f"{len(runs)} run(s); medians.",
        "",
        "| kind | questions | exact (median) | open width (median) |",
        "|---|---|---|---|",
    ]
    for kind in KINDS:
        exact = statistics.median(r["kinds"][kind]["exact"] for r in runs)
        width = statistics.median(r["kinds"][kind]["open_width"] for r in runs)
        questions = runs[0]["kinds"][kind]["questions"]
        lines.append(f"| {kind} | {questions} | {exact:g} | {width:.4g} |")
    seconds_med = statistics.median(r["seconds"] for r in runs)
    solves = statistics.median(r["solves"] for r in runs)
    met = sum(r["target_met"] for r in runs)
    lines += [
        "",
        f"Time {seconds_med:.1f} s, {solves:g} re-solves; target (every chosen option's "
        f"marginal value and every limit's gain exact) met in {met} of {len(runs)} run(s).",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="S")
    parser.add_argument("--time", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one run of 15 s")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.time = 1, 15.0
    runs = []
    for k in range(args.runs):
        log(f"run {k + 1}/{args.runs}: {args.size}, explain_time_s = {args.time:g}")
        runs.append(one_run(args.size, args.time, args.workers))
        log(f"  {runs[-1]['seconds']:.1f} s, {runs[-1]['solves']} re-solves")
    report = table(args.size, args.time, args.workers, runs)
    log(report)
    stem = RESULTS / ("quick-explain" if args.quick else "explain")
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    document = {"when": stamp, "size": args.size, "time_s": args.time, "runs": runs}
    stem.with_suffix(".json").write_text(json.dumps(document, indent=2) + "\n")
    stem.with_suffix(".md").write_text(f"Run {stamp}\n\n{report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
