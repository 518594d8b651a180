"""Shared pieces of the benchmark suite: cached instances and the worker protocol.

Every measured run happens in a fresh subprocess (`run_worker`) that prints one
JSON object on its last stdout line. A worker that overruns its hard timeout is
killed and reported as such, so one stuck solver never stalls the suite.
"""

from __future__ import annotations

import json
import os
import pickle
import resource
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / "cache"
RESULTS = HERE / "results"
PYTHON = sys.executable
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from synthetic import GENERATOR_VERSION, SIZES, random_scenario  # noqa: E402

SEED = 1
#: SPEC §3 tolerance: two objective values within 1e-6 * max(1, |v|) are equal.
REL_TOL = 1e-6


def instance_key(size: str, seed: int = SEED) -> str:
    n_options, n_markets = SIZES[size]
    return f"{size}-{n_options}x{n_markets}-s{seed}-g{GENERATOR_VERSION}"


def workbook_path(size: str, seed: int = SEED) -> Path:
    return CACHE / f"{instance_key(size, seed)}.xlsx"


def scenario_pickle_path(size: str, seed: int = SEED) -> Path:
    """Where the read scenario is cached; its name holds the shape of the scenario's
    classes, so a pickle of an older shape (a setting added since) is never loaded."""
    return CACHE / f"{instance_key(size, seed)}.{_scenario_shape()}.scenario.pickle"


def _scenario_shape() -> str:
    """A digest of the field names of the scenario's data classes."""
    import dataclasses
    import hashlib

    from planner.scenario import data

    names = []
    for cls in vars(data).values():
        if isinstance(cls, type) and dataclasses.is_dataclass(cls):
            names.append(cls.__name__ + ":" + ",".join(f.name for f in dataclasses.fields(cls)))
    return hashlib.sha256("|".join(sorted(names)).encode()).hexdigest()[:8]


def ensure_instance(size: str, seed: int = SEED, log=print) -> Path:
    """Generate the seeded workbook for `size` once; also cache the Scenario read from it.

    The pickle is the scenario *as read back from the workbook* (so baselines see
    exactly the data the product sees) and lets baseline workers skip reading.
    """
    from planner.workbook.validation import load_scenario
    from planner.workbook.writer import write_scenario

    CACHE.mkdir(parents=True, exist_ok=True)
    path = workbook_path(size, seed)
    if not path.exists():
        n_options, n_markets = SIZES[size]
        log(f"  generating {path.name} (once, cached) ...")
        t0 = time.perf_counter()
        tmp = path.with_suffix(".tmp.xlsx")
        write_scenario(tmp, random_scenario(n_options, n_markets, seed=seed))
        os.replace(tmp, path)
        log(f"  generated in {time.perf_counter() - t0:.1f} s")
    pkl = scenario_pickle_path(size, seed)
    if not pkl.exists() or pkl.stat().st_mtime < path.stat().st_mtime:
        scenario = load_scenario(path)
        tmp = pkl.with_suffix(".tmp")
        tmp.write_bytes(pickle.dumps(scenario, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, pkl)
    return path


def load_pickled_scenario(path: str | Path, plans: int, time_limit: float):
    """The cached Scenario with the benchmark's `plans` and `time_limit_s`."""
    scenario = pickle.loads(Path(path).read_bytes())
    settings = replace(scenario.settings, plans=plans, time_limit_s=time_limit)
    return replace(scenario, settings=settings)


def peak_rss_mb() -> float:
    """Peak resident set of this process in MB (Linux reports ru_maxrss in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def emit(payload: dict) -> None:
    """Worker side: the result, as the last line of stdout."""
    payload.setdefault("peak_mb", peak_rss_mb())
    sys.stdout.write("\n" + json.dumps(payload) + "\n")
    sys.stdout.flush()


def run_worker(args: list[str], timeout: float, env: dict | None = None) -> dict:
    """Run `python bench/<worker> args` in a fresh process; its JSON result or an error record."""
    cmd = [PYTHON, *args]
    full_env = dict(os.environ)
    full_env.setdefault("PYTHONHASHSEED", "0")
    if env:
        full_env.update(env)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=full_env
        )
    except subprocess.TimeoutExpired:
        return {
            "ok": False,
            "error": f"killed after {timeout:.0f} s (hard timeout)",
            "wall_s": time.perf_counter() - t0,
        }
    wall = time.perf_counter() - t0
    lines = [ln for ln in proc.stdout.strip().splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {
            "ok": False,
            "error": f"exit {proc.returncode}: " + " | ".join(tail),
            "wall_s": wall,
        }
    out = json.loads(lines[-1])
    out.setdefault("ok", True)
    out["wall_s"] = wall
    return out


def same_value(a: float | None, b: float | None, rel: float = REL_TOL) -> bool | None:
    """Agree within `rel` relative (SPEC §3 style); None when either is missing."""
    if a is None or b is None:
        return None
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))
