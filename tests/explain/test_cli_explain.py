"""`planner solve` explains plan 1 after the plans (SPEC §6): plans.json, plans.xlsx and the
terminal's priority list; `--no-explain` skips it; `--explain-step` is checked."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from planner.cli import cli

EXAMPLE = Path(__file__).resolve().parents[2] / "inputs" / "example.xlsx"


def run(args: list[object]) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert isinstance(result.exception, SystemExit | None), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_solve_explains_plan_1(tmp_path: Path) -> None:
    args = ["solve", EXAMPLE, "--plans", "2", "--workers", "2", "--explain-step", "0.2"]
    code, stdout, stderr = run([*args, "--set", "explain_time_s=20", "--out", tmp_path])
    assert code == 0, stderr
    doc = json.loads((tmp_path / "plans.json").read_text(encoding="utf-8"))
    explain = doc["plans"][0]["explain"]
    assert explain["step_share"] == 0.2
    assert set(explain["marginal_value"]) <= set(doc["plans"][0]["options"])
    assert set(explain["exclusive_reach"]) == set(doc["plans"][0]["options"])
    assert explain["limits"][0]["limit"] == "budget"
    assert set(doc["core_index"]) == {o for p in doc["plans"] for o in p["options"]}
    assert "Explain" in openpyxl.load_workbook(tmp_path / "plans.xlsx").sheetnames
    assert "Plan 1 as a priority list" in stdout
    assert stdout.index("Plan 1 as a priority list") > stdout.index("rank")


def test_no_explain_skips_them(tmp_path: Path) -> None:
    code, stdout, stderr = run(
        ["solve", EXAMPLE, "--plans", "1", "--no-explain", "--out", tmp_path]
    )
    assert code == 0, stderr
    doc = json.loads((tmp_path / "plans.json").read_text(encoding="utf-8"))
    assert "explain" not in doc["plans"][0]
    assert "Explain" not in openpyxl.load_workbook(tmp_path / "plans.xlsx").sheetnames
    assert "priority list" not in stdout


def test_explain_step_is_checked(tmp_path: Path) -> None:
    code, _, stderr = run(["solve", EXAMPLE, "--explain-step", "0", "--out", tmp_path])
    assert code == 2
    assert "command line --explain-step: found '0'" in stderr
    assert "a number greater than 0" in stderr


def test_ctrl_c_during_explanations_keeps_the_plans(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import planner.explain

    def interrupted(*args: object, **kwargs: object) -> dict:
        raise KeyboardInterrupt

    monkeypatch.setattr(planner.explain, "explain_plan", interrupted)
    code, stdout, stderr = run(["solve", EXAMPLE, "--plans", "1", "--out", tmp_path])
    assert code == 0, stderr
    assert "Explanations interrupted; the plans are written without them." in stderr
    doc = json.loads((tmp_path / "plans.json").read_text(encoding="utf-8"))
    assert doc["plans"] and "explain" not in doc["plans"][0]
    assert "priority list" not in stdout
