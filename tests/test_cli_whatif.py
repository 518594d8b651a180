"""`planner sweep`, `planner frontier` and `planner solve --all-scenarios` end to end:
files written, exit statuses (0 plans, 2 bad input or engine trouble, 3 every point
infeasible, 4 none in time, 130 interrupted), bad options located as typed, and the
README naming every option."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner

from planner.cli import cli

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "inputs" / "example.xlsx"
README = (ROOT / "README.md").read_text(encoding="utf-8")
PLANNER = Path(sys.executable).parent / "planner"


def run(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert isinstance(result.exception, SystemExit | None), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_a_budget_sweep_writes_its_files_and_a_table(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    code, stdout, stderr = run(
        ["sweep", EXAMPLE, "--vary", "budget=60:120:30", "--workers", "2", "--out", out]
    )
    assert code == 0, stderr
    document = json.loads((out / "sweep.json").read_text(encoding="utf-8"))
    assert [p["settings"] for p in document["points"]] == [{"budget": b} for b in (60, 90, 120)]
    assert all(p["status"] == "optimal" for p in document["points"])
    assert openpyxl.load_workbook(out / "sweep.xlsx").sheetnames[:3] == [
        "Chart",
        "Points",
        "Changes",
    ]
    rows = [line.split() for line in stdout.splitlines()]
    assert [r[:2] for r in rows if r and r[0] in ("60", "90", "120")] == [
        ["60", "optimal"],
        ["90", "optimal"],
        ["120", "optimal"],
    ]
    assert f"Wrote {out / 'sweep.json'}" in stdout


def test_bad_vary_options_are_located_and_nothing_is_written(tmp_path: Path) -> None:
    out = tmp_path / "never"
    code, stdout, stderr = run(
        [
            "sweep",
            EXAMPLE,
            "--vary",
            "budget=1:2",
            "--vary",
            "max_foreign_share=0.5,2",
            "--vary",
            "budgt=1,2",
            "--vary",
            "plans",
            "--time-limit",
            "0",
            "--out",
            out,
        ]
    )
    assert code == 2 and not stdout
    assert "command line --vary: found 'budget=1:2'; expected NAME=VALUES" in stderr
    assert "command line --vary max_foreign_share: found '2'" in stderr
    assert "command line --vary: found 'budgt'; expected one of the settings" in stderr
    assert "command line --vary: found 'plans'" in stderr
    assert "command line --time-limit: found '0'" in stderr
    assert "Input errors (5)" in stderr
    assert not out.exists()


def test_every_point_infeasible_is_exit_3(tmp_path: Path) -> None:
    code, _, _ = run(
        ["sweep", EXAMPLE, "--vary", "budget=0,1", "--workers", "1", "--out", tmp_path]
    )
    assert code == 3
    document = json.loads((tmp_path / "sweep.json").read_text(encoding="utf-8"))
    assert [(p["status"], p["weighted_reach"], p["options"]) for p in document["points"]] == [
        ("infeasible", 0.0, []),
        ("infeasible", 0.0, []),
    ]


def test_no_point_in_time_is_exit_4(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The limit must end before the first point is dispatched on any machine: on a fast
    # one, reading the grid takes less than the millisecond asked for, so that step is
    # made to outlast it here.
    import planner.whatif.sweep as sweep_module

    checked = sweep_module.validate_points

    def slow_validate_points(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.05)
        return checked(*args, **kwargs)

    monkeypatch.setattr(sweep_module, "validate_points", slow_validate_points)
    code, _, _ = run(
        ["sweep", EXAMPLE, "--vary", "budget=80,120", "--time-limit", "0.001", "--out", tmp_path]
    )
    assert code == 4
    document = json.loads((tmp_path / "sweep.json").read_text(encoding="utf-8"))
    assert document["complete"] is False
    assert {p["status"] for p in document["points"]} == {"not_run"}


def test_engine_trouble_is_one_sentence_and_exit_2(tmp_path: Path) -> None:
    assert run(["sweep", EXAMPLE, "--vary", "budget=80", "--out", tmp_path])[0] == 0
    code, _, stderr = run(["sweep", EXAMPLE, "--vary", "budget=90", "--out", tmp_path, "--resume"])
    assert code == 2
    (line,) = stderr.strip().splitlines()
    assert line.startswith("Error: ") and "--resume" in line and "Traceback" not in stderr


def test_ctrl_c_keeps_finished_points_and_resume_continues(tmp_path: Path) -> None:
    args = [PLANNER, "sweep", EXAMPLE, "--vary", "budget=40:200:5", "--workers", "1"]
    args += ["--out", tmp_path]
    journal = tmp_path / ".sweep-journal.jsonl"
    proc = subprocess.Popen(
        [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    began = time.monotonic()
    while time.monotonic() - began < 60:  # until a point is journaled
        if journal.exists() and len(journal.read_text(encoding="utf-8").splitlines()) > 1:
            break
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert "--resume" in stderr
    assert not (tmp_path / "sweep.json").exists()
    finished = len(journal.read_text(encoding="utf-8").splitlines()) - 1
    assert 1 <= finished < 33
    code, _, stderr = run([*args[1:], "--resume", "--workers", "2", "--time-limit", "120"])
    assert code == 0, stderr
    document = json.loads((tmp_path / "sweep.json").read_text(encoding="utf-8"))
    assert len(document["points"]) == 33 and document["complete"] is True


def test_all_scenarios_writes_a_folder_each_and_scenarios_xlsx(tmp_path: Path) -> None:
    code, stdout, stderr = run(
        ["solve", EXAMPLE, "--all-scenarios", "--plans", "1", "--workers", "2", "--out", tmp_path]
    )
    assert code == 0, stderr
    names = ["base", "high_budget", "home_first", "low_budget", "no_trust_limits", "tight_trust"]
    for name in names:
        plans = json.loads((tmp_path / f"example-{name}" / "plans.json").read_text("utf-8"))
        assert plans["scenario"] == name and len(plans["plans"]) == 1
        assert (tmp_path / f"example-{name}" / "plans.xlsx").exists()
    book = openpyxl.load_workbook(tmp_path / "scenarios.xlsx")
    assert [row[0] for row in list(book["Scenarios"].values)[1:7]] == names
    table = [line.split()[0] for line in stdout.splitlines() if line.split()]
    assert all(name in table for name in names)


def test_a_run_folder_that_cannot_be_written_keeps_the_others_for_resume(
    tmp_path: Path,
) -> None:
    (tmp_path / "example-low_budget").write_text("in the way", encoding="utf-8")
    args = ["solve", EXAMPLE, "--all-scenarios", "--plans", "1", "--workers", "1"]
    code, _, stderr = run([*args, "--out", tmp_path])
    assert code == 2
    assert f"{tmp_path / 'example-low_budget'} is a file, not a folder" in stderr
    assert "--resume" in stderr and not (tmp_path / "scenarios.xlsx").exists()
    (tmp_path / "example-low_budget").unlink()
    code, _, stderr = run([*args, "--out", tmp_path, "--resume"])
    assert code == 0, stderr
    assert (tmp_path / "example-low_budget" / "plans.json").exists()
    assert (tmp_path / "scenarios.xlsx").exists()


def test_all_scenarios_with_a_scenario_is_a_usage_error(tmp_path: Path) -> None:
    code, _, stderr = run(
        ["solve", EXAMPLE, "--all-scenarios", "--scenario", "high_budget", "--out", tmp_path]
    )
    assert code == 2
    assert "command line --scenario: found 'high_budget'" in stderr
    assert not any(tmp_path.iterdir())


def test_resume_needs_all_scenarios(tmp_path: Path) -> None:
    code, _, stderr = run(["solve", EXAMPLE, "--resume", "--out", tmp_path])
    assert code == 2 and "command line --resume: only with --all-scenarios" in stderr


def test_workers_of_one_solve_are_checked(tmp_path: Path) -> None:
    """--workers runs the explanations' re-solves of one solve too, and is checked as typed."""
    code, _, stderr = run(["solve", EXAMPLE, "--workers", "0", "--out", tmp_path])
    assert code == 2 and "command line --workers: found '0'" in stderr


def test_frontier_writes_its_files(tmp_path: Path) -> None:
    args = ["frontier", EXAMPLE, "--max-budget", "40", "--workers", "2", "--time-limit", "30"]
    code, stdout, stderr = run([*args, "--out", tmp_path])
    assert code == 0, stderr
    document = json.loads((tmp_path / "frontier.json").read_text(encoding="utf-8"))
    assert document["points"] and (tmp_path / "frontier.xlsx").exists()
    spends = [p["net_spend"] for p in document["points"]]
    assert spends == sorted(spends) and spends[-1] <= 40 + 1e-6
    assert "frontier" in stdout.splitlines()[0].casefold()


def test_frontier_options_are_checked_as_typed(tmp_path: Path) -> None:
    code, _, stderr = run(
        ["frontier", EXAMPLE, "--max-budget", "-5", "--points", "0", "--out", tmp_path]
    )
    assert code == 2
    assert "command line --max-budget: found '-5'" in stderr
    assert "command line --points: found '0'" in stderr


@pytest.mark.parametrize("command", ["sweep", "frontier"])
def test_every_option_is_in_the_readme_and_help_has_an_example(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0 and "Example:" in result.output
    options = set(re.findall(r"(--[a-z][a-z-]+)", result.output)) - {"--help"}
    usage = next(line for line in README.splitlines() if line.startswith(f"planner {command}"))
    assert sorted(o for o in options if o not in usage) == []
