"""Write a run's results: plans.json, plans.xlsx, scenario.json, report.html and, when
infeasible, diagnosis.txt.

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

import errno
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from planner.checks.screening import Screened
from planner.plan import PlanSet
from planner.reports.book_process import BookInProgress
from planner.reports.plans_json import plans_document
from planner.reports.plans_xlsx import (
    RunInfo,
    sheet_names,
    summary_sheets,
    table_cells,
    table_sheets,
)
from planner.reports.report_html import write_report_html
from planner.reports.scenario_json import scenario_document
from planner.reports.segments import plans_segments
from planner.scenario.data import Scenario

#: Seconds writing the outputs takes per option of the scenario, for one plan: measured
#: 2.4-3.4 s for a 9,458-option plan of a 50,000-option scenario (0.5-0.9 s at 10,000),
#: with room kept (at 6e-5, two of six XL runs ended 0.18 s past a 60 s limit).
WRITE_SECONDS_PER_OPTION = 8e-5

#: And per option for each plan asked for after the first: every plan adds its options
#: to plans.json (with its segments), plans.xlsx and report.html. Measured at XL (50,000
#: options, plans of ~9,500), plans.json by orjson: 2.5 s for 1 plan, 6.1 s for 9 (0.45 s
#: a plan); with only the first term, a run asked for 10 plans (plans.json then by the
#: standard library, 1.6 s more) ended 0.84 s past its 60 s limit.
WRITE_SECONDS_PER_OPTION_PLAN = 9e-6


def expected_write_seconds(scenario: Scenario) -> float:
    """How long `write_outputs` will take, so that a run's time limit can include it: it
    grows with the options and with the plans asked for."""
    later = max(0, scenario.settings.plans - 1)
    per_option = WRITE_SECONDS_PER_OPTION + WRITE_SECONDS_PER_OPTION_PLAN * later
    return 0.02 + per_option * len(scenario.options)


def plans_json_document(
    scenario: Scenario,
    planset: PlanSet,
    screened: Sequence[Screened],
    run: RunInfo,
    explain: dict[str, object] | None = None,
    segments: Sequence[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """plans.json as written: the document of SPEC §5 and the run's audit facts (timings
    stay in plans.xlsx, so two runs of the same input give the same document)."""
    doc = plans_document(scenario, planset, tuple(screened), segments)
    if explain is not None and doc["plans"]:
        doc["plans"][0]["explain"] = explain  # SPEC §6: plan 1's explanations
    doc["run"] = {"workbook": run.workbook, "sha256": run.sha256, "versions": run.versions}
    return doc


def write_outputs(
    out_dir: Path,
    scenario: Scenario,
    planset: PlanSet,
    screened: Sequence[Screened],
    run: RunInfo,
    explain: dict[str, object] | None = None,
) -> list[Path]:
    """Write every result file of the run into `out_dir`; returns their paths. `explain`
    (SPEC §6, `planner.explain`) goes into plans.json's plan 1 and plans.xlsx."""
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_dir))
    try:
        # plans.xlsx's large sheets first, written by a second process when large
        # (`book_process`) while this one builds the rest and writes the other files;
        # each plan's segments go into both plans.json and plans.xlsx.
        names = sheet_names(planset, explain)
        cells = table_cells(scenario, planset, screened)
        with BookInProgress(staging / "plans.xlsx", names, expected_cells=cells) as book:
            for sheet in table_sheets(scenario, planset, screened):
                book.add(sheet)
            segments = plans_segments(scenario, planset.plans)
            for sheet in summary_sheets(scenario, planset, run, explain, segments):
                book.add(sheet)
            doc = plans_json_document(scenario, planset, screened, run, explain, segments)
            text = orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n"
            (staging / "plans.json").write_bytes(text)
            # The scenario as solved, for `planner compare` and `planner verify` (SPEC §7):
            # read by programs, so compact (orjson: 0.03 s at 50,000 options, against 0.31 s).
            scenario_text = orjson.dumps(scenario_document(scenario)) + b"\n"
            (staging / "scenario.json").write_bytes(scenario_text)
            # For people: the page of SPEC §5-§6, from the same document (no solver, no
            # network).
            write_report_html(staging / "report.html", doc, scenario, run)
            book.finish()
        names = ["plans.json", "plans.xlsx", "scenario.json", "report.html"]
        if planset.diagnosis:
            (staging / "diagnosis.txt").write_text(planset.diagnosis + "\n", encoding="utf-8")
            names.append("diagnosis.txt")
        else:
            (out_dir / "diagnosis.txt").unlink(missing_ok=True)  # stale from an earlier run
        for name in names:
            os.replace(staging / name, out_dir / name)
        return [out_dir / name for name in names]
    finally:
        # Never masks the error that got here (the folder may be gone, the disk full).
        shutil.rmtree(staging, ignore_errors=True)


def check_output_folder(folder: Path) -> None:
    """Prove that results can be written in `folder` before any work is spent on them.

    Raises `OSError` (describe it with `why_unwritable`) when they cannot. Asking
    the file system is the only test that catches everything: a path under a
    regular file, permission bits and ACLs, a read-only mount, `/proc`. So the
    missing folders are created, a file is created and removed in the last one,
    and the folders created are removed again: a run that then stops on bad input
    leaves nothing behind, and the real write creates them anew.
    """
    missing: list[Path] = []
    for path in (folder, *folder.parents):
        if os.path.lexists(path):
            break
        missing.append(path)
    created: list[Path] = []
    try:
        for path in reversed(missing):
            try:
                path.mkdir()
            except FileExistsError:  # made meanwhile by someone else: not ours to remove
                continue
            created.append(path)
        with tempfile.NamedTemporaryFile(prefix=".probe-", dir=folder):
            pass
    finally:
        for path in reversed(created):
            try:
                path.rmdir()
            except OSError:
                break  # something else was put there meanwhile: leave it, and its parents


def why_unwritable(folder: Path, exc: OSError) -> str:
    """Why results cannot be written in `folder`, in one line, from the error met doing so.

    The operating system's words alone name no path and, for a path under a
    file, say only "Not a directory"; the user needs to know which file is in
    the way.
    """
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        for path in (folder, *folder.parents):
            if os.path.lexists(path):
                if not path.is_dir():
                    return f"cannot write in {folder}: {path} is a file, not a folder"
                break
    at = Path(exc.filename) if isinstance(exc.filename, str | os.PathLike) else None
    if exc.errno == errno.ENOENT and at is not None and at.parent.is_dir():
        # An existing folder refusing a new name with "No such file" (/proc, /sys).
        refusing = os.path.abspath(at.parent)  # `.` would not say which folder
        return f"cannot write in {folder}: {refusing} does not take new files or folders"
    reason = exc.strerror or str(exc) or type(exc).__name__
    if at is not None and at != folder and at.parent != folder:
        reason += f" ({at})"
    return f"cannot write in {folder}: {reason}"
