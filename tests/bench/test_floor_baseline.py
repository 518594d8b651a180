"""The benchmark's floor baseline: HiGHS alone on the product's exported model, solved
with the options the product would use on it (bench/export_mps.py, then
bench/baseline_highs.py floor)."""

from __future__ import annotations

import importlib.util
import json
import pickle
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from planner.solving.ranking import rank_plans

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _random_scenario(n_options: int, n_markets: int, seed: int):
    """bench/synthetic.py's generator, loaded by path (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_synthetic", BENCH / "synthetic.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.random_scenario(n_options, n_markets, seed=seed)


def _worker(*args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, check=True, cwd=BENCH.parent
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_floor_solves_the_exported_model_with_the_products_options(tmp_path: Path) -> None:
    scenario = _random_scenario(40, 10, seed=3)
    pkl = tmp_path / "small.scenario.pickle"
    pkl.write_bytes(pickle.dumps(scenario))
    mps = tmp_path / "small.product.mps"

    exported = _worker("bench/export_mps.py", str(pkl), str(mps))
    written = json.loads(mps.with_suffix(".options.json").read_text(encoding="utf-8"))
    assert exported["options"] == written
    # A small model: the product's size rule turns presolve on and RINS/RENS off.
    assert written["presolve"] == "on"
    assert written["mip_heuristic_run_rins"] is False
    assert written["mip_heuristic_run_rens"] is False
    assert "time_limit" not in written

    floor = _worker("bench/baseline_highs.py", "floor", str(mps), "--time-limit", "20")
    assert floor["proven"]
    settings = replace(scenario.settings, plans=1, time_limit_s=20.0)
    plan = rank_plans(replace(scenario, settings=settings)).plans[0]
    assert abs(floor["plan1_reach"] - plan.weighted_reach) <= 1e-6 * max(1.0, plan.weighted_reach)
