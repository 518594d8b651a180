"""Where `planner solve` and `planner template` write, and what they say when they cannot.

An output location that cannot be written is a user's mistake like a bad cell:
found before any time is spent reading or solving, named with the path in the
way, exit 2, listed with every other problem of the run. "Unwritable" is made
without permission bits where possible (under a regular file, under /proc), so
the tests hold when run as root too.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from workbooks import minimal_tables, write_workbook

import planner.api
from planner.cli import cli

needs_proc = pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")


def run(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    assert isinstance(result.exception, SystemExit) or result.exception is None, result.output
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def book(tmp_path: Path) -> Path:
    return write_workbook(tmp_path / "scenario.xlsx", minimal_tables())


def test_out_under_a_file_is_named_with_every_other_problem(tmp_path: Path) -> None:
    blocker = tmp_path / "results.txt"
    blocker.write_text("not a folder", encoding="utf-8")
    out = blocker / "run1"
    result = run("solve", str(tmp_path / "gone.xlsx"), "--out", str(out), "--set", "budget")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == "Input errors (3), nothing was written:"
    assert f"command line --out: cannot write in {out}: {blocker} is a file, not a folder" in lines
    assert "command line --set: found 'budget'; expected SETTING=VALUE" in lines
    assert any("gone.xlsx was not found" in line for line in lines)
    assert blocker.read_text(encoding="utf-8") == "not a folder"


@needs_proc
@pytest.mark.parametrize("out", ["/proc", "/proc/planner-results/run1"])
def test_out_under_proc_exits_2_before_solving(book: Path, out: str) -> None:
    result = run("solve", str(book), "--out", out)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Input errors (1), nothing was written:",
        f"command line --out: cannot write in {out}: /proc does not take new files or folders",
    ]
    assert result.stdout == ""


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores modes")
def test_out_in_a_folder_without_write_permission(book: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        result = run("solve", str(book), "--out", str(locked / "run1"))
    finally:
        locked.chmod(0o755)
    assert result.exit_code == 2
    assert f"command line --out: cannot write in {locked / 'run1'}: Permission denied" in (
        result.stderr
    )


@needs_proc
def test_default_folder_in_an_unwritable_working_directory(
    book: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir("/proc")
    result = run("solve", str(book), "--scenario", "base")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[1] == (
        "the default output folder: cannot write in outputs/scenario-base: "
        "/proc does not take new files or folders; choose another with --out"
    )


def test_checking_the_folder_leaves_nothing_on_bad_input(tmp_path: Path) -> None:
    """The check creates the missing folders to be sure, and removes them again."""
    tables = minimal_tables()
    tables["Options"][1][5] = "lots"
    path = write_workbook(tmp_path / "bad.xlsx", tables)
    result = run("solve", str(path), "--out", str(tmp_path / "new" / "deeper" / "run1"))
    assert result.exit_code == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.xlsx"]


def test_a_write_failing_at_the_end_is_one_line_and_exit_2(
    book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folder is checked first, but can still go (or the disk fill) during the solve."""
    parent = tmp_path / "shared"
    out = parent / "run1"
    real_solve = planner.api.solve

    def solve_then_lose_the_folder(*args: object, **kwargs: object) -> planner.api.Result:
        result = real_solve(*args, **kwargs)  # type: ignore[arg-type]
        shutil.rmtree(parent, ignore_errors=True)
        parent.write_text("someone put a file here", encoding="utf-8")
        return result

    monkeypatch.setattr(planner.api, "solve", solve_then_lose_the_folder)
    result = run("solve", str(book), "--out", str(out))
    assert result.exit_code == 2
    assert result.stdout.startswith("Scenario base: optimal")  # the plans are still shown
    assert "Wrote" not in result.stdout
    assert result.stderr.splitlines() == [
        f"Results not written: cannot write in {out}: {parent} is a file, not a folder"
    ]


@needs_proc
def test_template_into_proc_exits_2() -> None:
    result = run("template", "/proc/planner-template.xlsx")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Input errors (1), nothing was written:",
        "/proc/planner-template.xlsx was not written: cannot write in /proc: "
        "/proc does not take new files or folders",
    ]


def test_template_under_a_file_exits_2(tmp_path: Path) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("", encoding="utf-8")
    result = run("template", str(blocker / "t.xlsx"))
    assert result.exit_code == 2
    assert f"cannot write in {blocker}: {blocker} is a file, not a folder" in result.stderr
