"""Files the planner writes: the mode a plain save gives, whole or not at all,
and no process-wide switch (umask) flipped on the way.

Modes are checked in a child process with its own umask: setting one in the
test process would race with whatever else runs in it.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from planner.plan import PlanSet, RunStatus
from planner.reports.outputs import write_outputs
from planner.reports.plans_xlsx import RunInfo
from planner.scenario.data import Scenario
from planner.workbook.template import write_template
from planner.workbook.validation import load_scenario
from planner.xlsx_out import atomic_path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "inputs" / "example.xlsx"

_CHILD = """
import json, os, sys
from pathlib import Path
os.umask(int(sys.argv[2], 8))
from planner.plan import PlanSet, RunStatus
from planner.reports.outputs import write_outputs
from planner.reports.plans_xlsx import RunInfo
from planner.workbook.template import write_template
from planner.workbook.validation import load_scenario
from planner.workbook.writer import write_scenario

out = Path(sys.argv[1])
scenario = load_scenario(sys.argv[3])
write_template(out / "template.xlsx")
write_scenario(out / "scenario.xlsx", scenario)
planset = PlanSet(scenario.name, RunStatus.INFEASIBLE, 1.0, (), "none", "limits conflict")
run = RunInfo("w.xlsx", "0" * 64, scenario.name, "infeasible", {}, "now")
written = write_outputs(out / "results", scenario, planset, (), run)
names = ["template.xlsx", "scenario.xlsx"] + [str(p.relative_to(out)) for p in written]
print(json.dumps({name: os.stat(out / name).st_mode & 0o7777 for name in names}))
"""


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002, 0o077])
def test_written_files_get_the_mode_the_umask_implies(tmp_path: Path, umask: int) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tmp_path), oct(umask)[2:], str(EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    modes = json.loads(done.stdout)
    assert set(modes) == {
        "template.xlsx",
        "scenario.xlsx",
        "results/plans.json",
        "results/plans.xlsx",
        "results/scenario.json",
        "results/report.html",
        "results/diagnosis.txt",
    }
    want = 0o666 & ~umask
    assert modes == {name: want for name in modes}, {k: oct(v) for k, v in modes.items()}
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "results",
        "scenario.xlsx",
        "template.xlsx",
    ]
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == [
        "diagnosis.txt",
        "plans.json",
        "plans.xlsx",
        "report.html",
        "scenario.json",
    ]


@pytest.fixture
def no_umask(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any call that would set the process's umask (even briefly, to read it)."""

    def refuse(mask: int) -> int:
        raise AssertionError(f"os.umask({mask:o}) called: a process-wide switch")

    monkeypatch.setattr(os, "umask", refuse)


def _scenario() -> Scenario:
    return load_scenario(EXAMPLE)


def _run(scenario: Scenario) -> RunInfo:
    return RunInfo("w.xlsx", "0" * 64, scenario.name, "infeasible", {}, "now")


def test_writing_never_sets_the_umask(tmp_path: Path, no_umask: None) -> None:
    scenario = _scenario()
    write_template(tmp_path / "template.xlsx")
    planset = PlanSet(scenario.name, RunStatus.INFEASIBLE, 1.0, (), "", "limits conflict")
    written = write_outputs(tmp_path / "out", scenario, planset, (), _run(scenario))
    assert [p.name for p in written] == [
        "plans.json",
        "plans.xlsx",
        "scenario.json",
        "report.html",
        "diagnosis.txt",
    ]
    assert stat.S_ISREG(os.stat(tmp_path / "template.xlsx").st_mode)


def test_a_failed_write_leaves_the_earlier_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "book.xlsx"
    target.write_bytes(b"earlier")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.exists() and tmp != target
        tmp.write_bytes(b"half")
        raise RuntimeError("disk full")
    assert target.read_bytes() == b"earlier"
    assert [p.name for p in tmp_path.iterdir()] == ["book.xlsx"]


def test_a_successful_write_replaces_the_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "book.xlsx"
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"new")
        assert not target.exists()
    assert target.read_bytes() == b"new"
    assert [p.name for p in target.parent.iterdir()] == ["book.xlsx"]


def test_a_failed_run_leaves_the_earlier_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = _scenario()
    out = tmp_path / "out"
    planset = PlanSet(scenario.name, RunStatus.INFEASIBLE, 1.0, (), "", "limits conflict")
    write_outputs(out, scenario, planset, (), _run(scenario))
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("planner.reports.outputs.BookInProgress", broken)
    with pytest.raises(OSError, match="disk full"):
        write_outputs(out, scenario, planset, (), _run(scenario))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_the_time_kept_for_writing_grows_with_the_plans_asked_for() -> None:
    """Each plan adds its options to every file: a run asked for 10 plans keeps more
    time for writing than one asked for 1 (an XL run once ended past its limit)."""
    from planner.reports.outputs import expected_write_seconds

    scenario = load_scenario(EXAMPLE)
    one = expected_write_seconds(scenario.with_settings(plans=1))
    ten = expected_write_seconds(scenario.with_settings(plans=10))
    assert one > 0
    assert ten > one
    assert ten - one == pytest.approx(9 * 9e-6 * len(scenario.options))
