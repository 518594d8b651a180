"""Benchmark: read and validate a very large scenario workbook.

The target (issue: workbook reading) is at most 3 s median for 50,000 options
and 200,000 Coverage rows on a 2-core machine. Timings on shared machines are
noisy, so every figure is a median over repeated runs, and baselines are
measured on the same file in the same run: pandas with the calamine engine
(reading the same sheets, no validation) and, optionally, openpyxl read-only.
Each run is a fresh process, as `planner solve` reads once per process (a
long-lived process reading the same workbook again and again gets slower as
its heap grows, which would flatter nobody).

Usage: python bench/read_bench.py [--runs 5] [--openpyxl]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from synthetic import random_scenario  # noqa: E402

from planner.workbook.validation import load_scenario  # noqa: E402
from planner.workbook.writer import write_scenario  # noqa: E402

SHEETS = (
    "Settings",
    "Markets",
    "Partners",
    "Options",
    "Coverage",
    "Layers",
    "CoFinancing",
    "Resources",
    "Usage",
    "Rules",
)


def xl_workbook(n_options: int = 50_000, n_markets: int = 3_000) -> Path:
    """The XL benchmark workbook, generated once and cached (seeded, so always the same)."""
    path = HERE / "cache" / f"read-{n_options}x{n_markets}.xlsx"
    if not path.exists():
        print(f"generating {path.name} (once) ...", flush=True)
        write_scenario(path, random_scenario(n_options, n_markets, seed=1))
    return path


def median_time(code: str, path: Path, runs: int) -> tuple[float, list[float]]:
    """Median wall time of `code` (which reads PATH) over fresh interpreter processes;
    imports happen before the clock starts."""
    setup, _, body = code.partition("\n---\n")
    script = (
        f"import sys, time\nPATH = sys.argv[1]\n{setup}\n"
        f"start = time.perf_counter()\n{body}\nprint(time.perf_counter() - start)\n"
    )
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True
        )
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times), times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--openpyxl", action="store_true", help="also time openpyxl (slow)")
    args = parser.parse_args()

    path = xl_workbook()
    scenario = load_scenario(path)
    rows = len(scenario.options) + len(scenario.coverage)
    print(
        f"{path.name}: {len(scenario.options):,} options, {len(scenario.coverage):,} "
        f"coverage rows ({rows:,} rows in the two large sheets)"
    )

    results: dict[str, dict[str, object]] = {}
    # As `planner solve` reads: the command owns its process and pauses the collector.
    ours = (
        "from planner.workbook.validation import load_scenario, without_cyclic_gc\n---\n"
        "with without_cyclic_gc():\n    load_scenario(PATH)"
    )
    med, times = median_time(ours, path, args.runs)
    results["planner read + validate"] = {"median_s": med, "runs_s": times}

    pandas_code = (
        f"import pandas as pd\n---\n"
        f"pd.read_excel(PATH, sheet_name={list(SHEETS)!r}, engine='calamine')"
    )
    med, times = median_time(pandas_code, path, args.runs)
    results["pandas+calamine read only (baseline)"] = {"median_s": med, "runs_s": times}

    if args.openpyxl:
        openpyxl_code = (
            "import openpyxl\n---\n"
            "wb = openpyxl.load_workbook(PATH, read_only=True, data_only=True)\n"
            f"for name in {list(SHEETS)!r}:\n"
            "    for _ in wb[name].iter_rows(values_only=True):\n"
            "        pass\n"
        )
        med, times = median_time(openpyxl_code, path, 1)
        results["openpyxl read-only (baseline, 1 run)"] = {"median_s": med, "runs_s": times}

    ours = results["planner read + validate"]["median_s"]
    print(f"\n{'what':<42} {'median s':>9} {'ratio to ours':>14}")
    for name, r in results.items():
        m = float(r["median_s"])  # type: ignore[arg-type]
        print(f"{name:<42} {m:>9.2f} {m / float(ours):>14.2f}")  # type: ignore[arg-type]
    target = 3.0
    verdict = "meets" if float(ours) <= target else "MISSES"  # type: ignore[arg-type]
    print(f"\ntarget: at most {target:.0f} s median -> {verdict}")

    out = HERE / "results"
    out.mkdir(exist_ok=True)
    payload = {
        "benchmark": "read_validate_xl",
        "workbook": path.name,
        "options": len(scenario.options),
        "coverage_rows": len(scenario.coverage),
        "runs": args.runs,
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "results": results,
        "target_s": target,
    }
    (out / "read.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
