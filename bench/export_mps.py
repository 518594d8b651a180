"""Export the product's own model (reach stage of plan 1) as an MPS file.

Builds the model exactly as `planner.solving.ranking.rank_plans` does by default
(`planner.model.matrix_model.build_matrix_model`, handed to HiGHS by
`planner.solving.solver.MatrixSolver` in one `passModel` call) and writes what that
HiGHS instance holds (`MatrixSolver.write_model`), with the formulation's row
and column names, and beside it (`options_path(OUT)`) the HiGHS options that
instance would solve the reach stage with (they depend on the model's size):
the floor baseline then solves exactly the matrix the product solves, the way
the product solves it.

Usage: python bench/export_mps.py SCENARIO.pickle OUT.mps   (prints one JSON line)
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, load_pickled_scenario

#: Options of a single run, not of the product's setting: the floor sets its own deadline.
PER_RUN = ("time_limit", "output_flag")


def options_path(mps: Path) -> Path:
    """Where the product's HiGHS options for the model in `mps` are written."""
    return mps.with_suffix(".options.json")


def main() -> None:
    pickle_path, out = sys.argv[1], Path(sys.argv[2])
    from planner.model.common import canonical_order
    from planner.model.matrix_model import build_matrix_model
    from planner.solving.solver import MatrixSolver

    scenario = canonical_order(load_pickled_scenario(pickle_path, plans=1, time_limit=60.0))
    t0 = time.perf_counter()
    mm = build_matrix_model(scenario)
    build_s = time.perf_counter() - t0
    solver = MatrixSolver(mm, deadline=time.monotonic() + 3600.0)
    solver.use_objective("weighted_reach")
    solver.write_model(out)
    options = {
        name: value
        for name, value in solver._options(solver.presolve, 0.0).items()
        if name not in PER_RUN
    }
    options_path(out).write_text(json.dumps(options, indent=1) + "\n", encoding="utf-8")
    emit(
        {
            "what": "export",
            "how": "matrix-model-highs-instance",
            "build_s": build_s,
            "bytes": out.stat().st_size,
            "options": options,
        }
    )


if __name__ == "__main__":
    main()
