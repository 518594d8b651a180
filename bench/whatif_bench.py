"""What-if benchmark: many solves on local workers and on a Dask cluster, and the frontier.

Every figure is a median over --runs, and every ratio is against a baseline measured
in the same run on the same machine (these machines are shared and noisy):

  sweep     a 16-point budget sweep of the S instance (plan 1 per point, proven),
            with 1 and with 2 local workers: speed-up = t(1) / t(2)
  dask      the same sweep through a Dask cluster of 2 single-threaded worker
            processes on 127.0.0.1 (already running, as a team's cluster would be),
            its workers started as README recommends
            (`planner.engine.cluster.RECOMMENDED_WORKER_ENV`):
            ratio = t(dask) / t(2 local workers); its start-up is reported apart.
            A second cluster with Dask's default worker settings is timed the same
            way and reported beside it (no target).
            While one configuration is timed the clusters not in use are paused
            (SIGSTOP): idle, a cluster still takes about a tenth of a core
            (heartbeats, the workers' profilers), which fell on the two cores the
            2-worker sweep needs and not on the spare core of the 1-worker one; a
            team's cluster runs on machines of its own
  frontier  the exact frontier of S up to a share of its budget, 2 local workers,
            against one cold lexicographic solve per frontier point, one after
            another (what a planner without the command would do), as many passes
            as frontiers, alternated with them: speed-up = median t(cold, all
            points) / median t(frontier); the cold answers must agree

Usage: python bench/whatif_bench.py [--size S] [--runs 3] [--frontier-share 0.1] [--quick]
Writes bench/results/whatif.json and whatif.md (or quick-whatif.* with --quick).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, ROOT, ensure_instance, same_value

from planner.engine.cluster import RECOMMENDED_WORKER_ENV

#: Issue targets the verdicts compare with (the issue on performance, "many solves").
TARGETS = {"sweep_speedup": 1.8, "dask_ratio": 1.10, "frontier_speedup": 3.0}


def log(text: str) -> None:
    print(text, flush=True)


def timed_sweep(workbook: Any, budgets: list[float], pool: Any) -> tuple[float, dict]:
    """Wall seconds of one whole sweep (worker start-up included, as the command has it)."""
    from planner.whatif.sweep import run_sweep

    values = ",".join(f"{b:g}" for b in budgets)
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        document = run_sweep(
            workbook,
            scenario=None,
            sets=[],
            varies=[("budget", values)],
            time_limit=600,
            out=Path(out),
            pool=pool,
            progress=None,
        )
        return time.perf_counter() - t0, document


def timed_frontier(workbook: Any, max_budget: float, pool: Any) -> tuple[float, dict]:
    from planner.whatif.frontier import run_frontier

    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        document = run_frontier(
            workbook,
            scenario=None,
            sets=[],
            max_budget=max_budget,
            points=None,
            time_limit=1800,
            out=Path(out),
            pool=pool,
            progress=None,
        )
        return time.perf_counter() - t0, document


def cold_points(workbook: Any, document: dict) -> tuple[float, list[str]]:
    """One cold lexicographic solve per frontier point, one after another; disagreements."""
    import planner

    base = workbook.load()
    wrong = []
    t0 = time.perf_counter()
    for point in document["points"]:
        variant = base.with_settings(budget=point["net_spend"])
        result = planner.solve(variant, plans=1, time_limit=600, threads=1)
        got = result.plans[0].weighted_reach if result.plans else 0.0
        if not same_value(got, point["weighted_reach"]):
            wrong.append(
                f"budget {point['net_spend']:g}: cold {got:g} vs {point['weighted_reach']:g}"
            )
    return time.perf_counter() - t0, wrong


def _cold_run(workbook: Any, frontier_doc: dict, result: dict) -> float:
    """One pass of cold solves over the frontier's points, its disagreements recorded once."""
    seconds, wrong = cold_points(workbook, frontier_doc)
    result["mismatches"] += [w for w in wrong if w not in result["mismatches"]]
    log(f"  cold lexicographic solve per point: {seconds:6.2f} s")
    return seconds


def sweep_points(document: dict) -> list[tuple]:
    return [
        (p["settings"], p["status"], p["weighted_reach"], p["options"]) for p in document["points"]
    ]


class DaskCluster:
    """A scheduler and two single-threaded workers, separate processes on 127.0.0.1,
    the workers started with `worker_env` added to this process's environment."""

    def __init__(self, worker_env: dict[str, str] | None = None) -> None:
        self.worker_env = dict(worker_env or {})

    def __enter__(self) -> str:
        self.folder = tempfile.TemporaryDirectory()
        file = Path(self.folder.name) / "scheduler.json"
        t0 = time.perf_counter()
        common = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": ROOT}
        self.procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "distributed.cli.dask_scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--no-dashboard",
                    "--scheduler-file",
                    str(file),
                ],
                **common,
            )
        ]
        while not file.exists():
            if time.perf_counter() - t0 > 60:
                raise RuntimeError("the Dask scheduler did not start within 60 s")
            time.sleep(0.1)
        self.procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "distributed.cli.dask_worker",
                    "--scheduler-file",
                    str(file),
                    "--nworkers",
                    "2",
                    "--nthreads",
                    "1",
                    "--host",
                    "127.0.0.1",
                    "--no-dashboard",
                    "--memory-limit",
                    "0",
                ],
                env={**os.environ, **self.worker_env},
                **common,
            )
        )
        from distributed import Client

        with Client(scheduler_file=str(file), timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
        self.startup_s = time.perf_counter() - t0
        return json.loads(file.read_text())["address"]

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """The scheduler, the workers and their nannies stopped (SIGSTOP) meanwhile.

        All of them stop and resume together, so none sees another miss a heartbeat
        beyond what the pause's length explains (far below the scheduler's minutes
        before it drops a silent worker).
        """
        processes = []
        for proc in self.procs:
            parent = psutil.Process(proc.pid)
            processes += [parent, *parent.children(recursive=True)]
        for process in processes:
            process.suspend()
        try:
            yield
        finally:
            for process in processes:
                process.resume()

    def __exit__(self, *exc: object) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.folder.cleanup()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="S")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--points", type=int, default=16, help="budgets in the sweep")
    parser.add_argument(
        "--frontier-share",
        type=float,
        default=0.1,
        help="the frontier is computed up to this share of the budget setting",
    )
    parser.add_argument("--quick", action="store_true", help="1 run, 8 points, share 0.05")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.points, args.frontier_share = 1, 8, 0.05

    from planner.engine import PoolOptions
    from planner.workbook.variants import open_workbook

    workbook = open_workbook(ensure_instance(args.size, log=log))
    budget = workbook.load().settings.budget
    budgets = [round(budget * (k + 1) / args.points, 6) for k in range(args.points)]
    log(f"== what-if on {args.size}: {args.points}-point budget sweep up to {budget:g}")
    result: dict[str, Any] = {
        "benchmark": "whatif",
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "size": args.size,
        "runs": args.runs,
        "cpus": os.cpu_count(),
        "points": args.points,
        "mismatches": [],
    }
    times: dict[str, list[float]] = {
        "local1": [],
        "local2": [],
        "dask": [],
        "dask_defaults": [],
        "frontier": [],
    }
    reference = None
    clusters = {"dask": DaskCluster(RECOMMENDED_WORKER_ENV), "dask_defaults": DaskCluster()}
    with contextlib.ExitStack() as up:
        addresses = {name: up.enter_context(cluster) for name, cluster in clusters.items()}
        result["dask_cluster_start_s"] = clusters["dask"].startup_s
        result["dask_startup_s"] = _startup(addresses["dask"])
        for run in range(args.runs):
            # Alternate the order so a slower stretch of a shared machine hits each alike.
            order = ("local1", "local2", "dask", "dask_defaults")
            for which in order if run % 2 == 0 else order[::-1]:
                with contextlib.ExitStack() as paused:
                    for name, cluster in clusters.items():
                        if name != which:
                            paused.enter_context(cluster.paused())
                    pool = (
                        PoolOptions(scheduler=addresses[which])
                        if which in addresses
                        else PoolOptions(workers=1 if which == "local1" else 2)
                    )
                    seconds, document = timed_sweep(workbook, budgets, pool)
                times[which].append(seconds)
                points = sweep_points(document)
                reference = reference or points
                if points != reference:
                    result["mismatches"].append(f"sweep on {which} differs from the first sweep")
                log(f"  sweep {which:>13}: {seconds:6.2f} s")
    frontier_doc: dict = {}
    cold: list[float] = []
    for run in range(args.runs):
        # The baseline as often as the frontier and alternated with it (a single cold
        # pass made the ratio swing with whatever else ran on the machine in its minute).
        if run % 2 == 1 and frontier_doc:
            cold.append(_cold_run(workbook, frontier_doc, result))
        seconds, frontier_doc = timed_frontier(
            workbook, budget * args.frontier_share, PoolOptions(workers=2)
        )
        times["frontier"].append(seconds)
        log(f"  frontier: {seconds:6.2f} s, {len(frontier_doc['points'])} points")
        if run % 2 == 0:
            cold.append(_cold_run(workbook, frontier_doc, result))
    cold_s = statistics.median(cold)
    med = {k: statistics.median(v) for k, v in times.items() if v}
    result["times_s"] = times
    result["median_s"] = med
    result["frontier_points"] = len(frontier_doc["points"])
    result["frontier_complete"] = frontier_doc["complete"]
    result["cold_per_point_s"] = cold_s
    result["cold_runs_s"] = cold
    result["ratios"] = {
        "sweep_speedup": med["local1"] / med["local2"],
        "dask_ratio": med["dask"] / med["local2"],
        "dask_defaults_ratio": med["dask_defaults"] / med["local2"],
        "frontier_speedup": cold_s / med["frontier"],
    }
    result["verdicts"] = {
        "sweep_speedup": result["ratios"]["sweep_speedup"] >= TARGETS["sweep_speedup"],
        "dask_ratio": result["ratios"]["dask_ratio"] <= TARGETS["dask_ratio"],
        "frontier_speedup": result["ratios"]["frontier_speedup"] >= TARGETS["frontier_speedup"],
    }
    stem = RESULTS / ("quick-whatif" if args.quick else "whatif")
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    text = table(result)
    stem.with_suffix(".md").write_text(text, encoding="utf-8")
    log(text)
    for problem in result["mismatches"]:
        log("!! " + problem)
    return 1 if result["mismatches"] else 0


def _startup(address: str) -> float:
    """Seconds to connect to the running cluster and see its two workers."""
    from distributed import Client

    t0 = time.perf_counter()
    with Client(address, timeout=30) as client:
        client.wait_for_workers(2, timeout=30)
    return time.perf_counter() - t0


def table(result: dict) -> str:
    med, ratios, ok = result["median_s"], result["ratios"], result["verdicts"]

    def verdict(name: str) -> str:
        return "met" if ok[name] else "not met"

    return "\n".join(
        [
            f"### What-if ({result['size']}, {result['runs']} run(s), medians, "
            f"{result['cpus']} cores)",
            "",
            "| measure | time | ratio | target | verdict |",
            "|---|---|---|---|---|",
            f"| {result['points']}-point sweep, 1 local worker | {med['local1']:.2f} s | | | |",
            f"| same, 2 local workers | {med['local2']:.2f} s | "
            f"{ratios['sweep_speedup']:.2f}x faster | >= 1.8x | {verdict('sweep_speedup')} |",
            "| same, Dask (2 worker processes, settings as README recommends) | "
            f"{med['dask']:.2f} s | "
            f"{ratios['dask_ratio']:.2f}x the local time | <= 1.10x | {verdict('dask_ratio')} |",
            f"| same, Dask with its default worker settings | {med['dask_defaults']:.2f} s | "
            f"{ratios['dask_defaults_ratio']:.2f}x the local time | | |",
            f"| frontier, {result['frontier_points']} points, 2 workers | "
            f"{med['frontier']:.2f} s | {ratios['frontier_speedup']:.2f}x faster than cold | "
            f">= 3x | {verdict('frontier_speedup')} |",
            f"| one cold solve per frontier point (median of {result['runs']}) | "
            f"{result['cold_per_point_s']:.2f} s | | | |",
            "",
            f"Dask: starting the cluster took {result['dask_cluster_start_s']:.1f} s (not "
            f"counted: a team's cluster is already running); connecting to it "
            f"{result['dask_startup_s']:.2f} s.",
            "",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
