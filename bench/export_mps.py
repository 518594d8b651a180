"""Export the product's own model (reach stage of plan 1) as an MPS file.

The planner exposes no export, so this builds the model with the product's
`planner.model.build_model` and hands it to HiGHS through the same Pyomo
interface the product uses (`pyomo.contrib.solver` 'highs', `set_instance`),
then asks that highspy object to write what it holds: the floor baseline then
solves exactly the matrix the product hands to HiGHS. If that interface
changes, it falls back to Pyomo's own MPS writer.

Usage: python bench/export_mps.py SCENARIO.pickle OUT.mps   (prints one JSON line)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, load_pickled_scenario


def main() -> None:
    pickle_path, out = sys.argv[1], Path(sys.argv[2])
    from planner.model import build_model, canonical_order

    scenario = canonical_order(load_pickled_scenario(pickle_path, plans=1, time_limit=60.0))
    t0 = time.perf_counter()
    pm = build_model(scenario)
    build_s = time.perf_counter() - t0
    how = "pyomo-highs-instance"
    try:
        from pyomo.contrib.solver.common.factory import SolverFactory

        opt = SolverFactory("highs")
        opt.set_instance(pm.model)
        status = opt._solver_model.writeModel(str(out))
        if str(status).endswith("kError"):
            raise RuntimeError(status)
    except Exception:
        how = "pyomo-mps-writer"
        pm.model.write(str(out), format="mps")
    emit({"what": "export", "how": how, "build_s": build_s, "bytes": out.stat().st_size})


if __name__ == "__main__":
    main()
