"""Write a run's results: plans.json, plans.xlsx and, when infeasible, diagnosis.txt.

All files are first written under temporary names in the output folder and
only then moved into place, one quick rename each, so a reader never finds a
half-written file and a failed run leaves the previous results untouched.
Each file is created by a plain open() (the writers' own), so the kernel gives
it 0o666 less the process's umask, as any file the user saves; the staging
folder's own 0o700 does not carry over to files renamed out of it. The umask is
never set here: setting it, even to read it, races with other threads creating
files.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from planner.checks.screening import Screened
from planner.plan import PlanSet
from planner.reports.plans_json import plans_document
from planner.reports.plans_xlsx import RunInfo, write_plans_xlsx
from planner.scenario.data import Scenario

#: Seconds writing the outputs takes per option of the scenario: measured 2.4-3.4 s
#: for a 9,458-option plan of a 50,000-option scenario (0.5-0.9 s at 10,000), with
#: room kept (at 6e-5, two of six XL runs ended 0.18 s past a 60 s limit).
WRITE_SECONDS_PER_OPTION = 8e-5


def expected_write_seconds(scenario: Scenario) -> float:
    """How long `write_outputs` will take, so that a run's time limit can include it."""
    return 0.02 + WRITE_SECONDS_PER_OPTION * len(scenario.options)


def write_outputs(
    out_dir: Path,
    scenario: Scenario,
    planset: PlanSet,
    screened: Sequence[Screened],
    run: RunInfo,
) -> list[Path]:
    """Write every result file of the run into `out_dir`; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_dir))
    try:
        doc = plans_document(scenario, planset, tuple(screened))
        doc["run"] = {"workbook": run.workbook, "sha256": run.sha256, "versions": run.versions}
        files = {"plans.json": json.dumps(doc, indent=2, ensure_ascii=False) + "\n"}
        (staging / "plans.json").write_text(files["plans.json"], encoding="utf-8")
        write_plans_xlsx(staging / "plans.xlsx", scenario, planset, screened, run)
        names = ["plans.json", "plans.xlsx"]
        if planset.diagnosis:
            (staging / "diagnosis.txt").write_text(planset.diagnosis + "\n", encoding="utf-8")
            names.append("diagnosis.txt")
        else:
            (out_dir / "diagnosis.txt").unlink(missing_ok=True)  # stale from an earlier run
        for name in names:
            os.replace(staging / name, out_dir / name)
        return [out_dir / name for name in names]
    finally:
        for leftover in staging.iterdir():
            leftover.unlink()
        staging.rmdir()
