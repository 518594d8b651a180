"""`planner solve` as a real process whose standard streams are closed or abandoned.

Schedulers close stderr (`2>&-`), scripts read one line (`| head -1`), logs go
away. Progress, warnings and the table are for people; the results are files.
So none of these may end the run: it writes its files and exits with its own
status, and nothing of HiGHS's own output reaches stdout.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from workbooks import minimal_tables, write_workbook

EXAMPLE = Path(__file__).resolve().parents[1] / "inputs" / "example.xlsx"
PLANNER = [
    sys.executable,
    "-c",
    "import sys; from planner.cli import main; sys.argv[0] = 'planner'; main()",
]

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX streams and shell")


@pytest.fixture
def warned(tmp_path: Path) -> Path:
    """A valid scenario with one warning (an option with no coverage) for stderr."""
    tables = minimal_tables()
    tables["Options"].append(["O3", "P1", None, "model", None, 5, None])
    return write_workbook(tmp_path / "warned.xlsx", tables)


def wrote_plans(out: Path) -> bool:
    return json.loads((out / "plans.json").read_text(encoding="utf-8"))["status"] == "optimal"


def test_stdout_reader_gone_before_anything_is_written(warned: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [*PLANNER, "solve", str(warned), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # as `| head -0` would: every write to stdout now fails
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, stderr
    assert "Traceback" not in stderr and "Error" not in stderr
    assert "warning: option O3 has no Coverage rows" in stderr
    assert wrote_plans(out)


def test_stderr_reader_gone_before_anything_is_written(warned: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [*PLANNER, "solve", str(warned), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stderr.close()  # the warning is the first thing written, to a pipe nobody reads
    stdout = proc.stdout.read().decode()
    assert proc.wait(timeout=120) == 0, stdout
    assert stdout.startswith("Scenario base: optimal")
    assert f"Wrote {out / 'plans.json'}" in stdout
    assert wrote_plans(out)


def test_head_reads_one_line(warned: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shell = '"$@" | head -1; exit "${PIPESTATUS[0]}"'
    done = subprocess.run(
        ["bash", "-c", shell, "bash", *PLANNER, "solve", str(warned), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Scenario base: optimal")
    assert done.stdout.count("\n") == 1
    assert "Traceback" not in done.stderr
    assert wrote_plans(out)


@pytest.mark.parametrize("closing", ["2>&-", ">&-", ">&- 2>&-", "<&- >&- 2>&-"])
def test_closed_standard_streams(warned: Path, tmp_path: Path, closing: str) -> None:
    """Each closed descriptor is taken by the null device before any file could get it."""
    out = tmp_path / "out"
    done = subprocess.run(
        ["sh", "-c", f'exec "$@" {closing}', "sh", *PLANNER, "solve", str(warned), "--out", out],
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0
    assert wrote_plans(out)
    assert not list(tmp_path.glob("**/.staging-*"))


def test_infeasible_keeps_its_status_with_stdout_gone(tmp_path: Path) -> None:
    tables = minimal_tables()
    tables["Options"][1][6] = "must"
    tables["Options"][2][6] = "must"
    tables["Settings"][1][1] = 50  # both musts cost 70
    book = write_workbook(tmp_path / "tight.xlsx", tables)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [*PLANNER, "solve", str(book), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    proc.stdout.close()
    assert proc.wait(timeout=120) == 3
    assert "budget" in (out / "diagnosis.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("limit", ["0.05", "0.6", "1.5"])
def test_no_solver_output_on_stdout_at_any_time_limit(limit: str, tmp_path: Path) -> None:
    """However short the run, HiGHS's banner and log never reach the user's stdout."""
    done = subprocess.run(
        [
            *PLANNER,
            "solve",
            "--no-explain",
            str(EXAMPLE),
            "--out",
            str(tmp_path),
            "--time-limit",
            limit,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode in (0, 4), done.stderr
    assert done.stdout.startswith("Scenario base: ")
    for noise in ("HiGHS", "Running", "Copyright", "Presolv", "Coefficient"):
        assert noise not in done.stdout
        assert noise not in done.stderr
