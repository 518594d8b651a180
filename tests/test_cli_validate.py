"""`planner validate` and `planner template` through click's CliRunner (SPEC §5 exit codes)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from workbooks import Tables, minimal_tables, write_workbook

from planner.cli import cli

EXAMPLE = Path(__file__).resolve().parents[1] / "inputs" / "example.xlsx"


def run(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    # Every outcome leaves through sys.exit with a status, never through an exception.
    assert isinstance(result.exception, SystemExit) or result.exception is None, result.output
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def book(tmp_path: Path):
    def write(tables: Tables) -> Path:
        return write_workbook(tmp_path / "scenario.xlsx", tables)

    return write


def test_example_validates_with_a_summary() -> None:
    result = run("validate", str(EXAMPLE))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Scenario base of example.xlsx"
    assert lines[1].startswith("  budget 120 USD m; home country Norland; 5 plan(s)")
    assert lines[2].startswith("  Markets   12 in 6 regions (")
    assert lines[3].startswith("  Partners  25: 10 domestic, 15 foreign (")
    assert lines[4].startswith("  Options   61 (")
    assert "  Coverage  103 rows" in lines
    assert lines[-1] == "Valid."
    assert any(line.startswith("  Screened  ") for line in lines)
    assert result.stderr == ""


def test_example_scenario_and_set() -> None:
    result = run("validate", str(EXAMPLE), "--scenario", "high_budget")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Scenario high_budget of example.xlsx\n  budget 200 USD m;")
    result = run(
        "validate",
        str(EXAMPLE),
        "--scenario",
        "high_budget",
        "--set",
        "budget=150",
        "--set",
        "plans=2",
    )
    assert result.exit_code == 0, result.output
    assert re.search(r"^  budget 150 USD m; .*; 2 plan\(s\)", result.stdout, re.M)


def test_every_example_scenario_validates() -> None:
    for name in ("tight_trust", "low_budget", "home_first", "no_trust_limits"):
        result = run("validate", str(EXAMPLE), "--scenario", name)
        assert result.exit_code == 0, (name, result.output)
        assert result.stdout.startswith(f"Scenario {name} of example.xlsx")


def test_bad_input_exits_2_with_every_message_on_stderr(book) -> None:
    tables = minimal_tables()
    tables["Partners"][1][3] = 120
    tables["Coverage"][2][1] = "M9"
    result = run("validate", str(book(tables)))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "Input errors (2), nothing was written:",
        "sheet Coverage, row 3, column market_id: found 'M9'; "
        "expected the id of a market in the Markets sheet",
        "sheet Partners, row 2, column trust: found 120; expected a number from 0 to 100",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scenario", "nope"], "command line --scenario: found 'nope'"),
        (["--set", "budget"], "command line --set: found 'budget'; expected SETTING=VALUE"),
        (["--set", "budget=-1"], "command line --set budget: found '-1'; expected a number"),
        (
            ["--set", "colour=red"],
            "command line --set: found 'colour'; expected one of the settings",
        ),
    ],
)
def test_bad_command_line_values_exit_2(args: list[str], message: str) -> None:
    result = run("validate", str(EXAMPLE), *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_missing_workbook_exits_2(tmp_path: Path) -> None:
    result = run("validate", str(tmp_path / "gone.xlsx"))
    assert result.exit_code == 2
    assert "gone.xlsx was not found" in result.stderr


def test_not_a_workbook_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "data.xlsx"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    result = run("validate", str(path))
    assert result.exit_code == 2
    assert "data.xlsx is not an .xlsx workbook" in result.stderr


def test_precheck_conflict_exits_3(book) -> None:
    tables = minimal_tables()
    tables["Settings"].append(["min_partner_trust", 75])
    tables["Options"][2][6] = "must"  # O2's partner P2 has trust 70
    result = run("validate", str(book(tables)))
    assert result.exit_code == 3, result.output
    assert result.stdout.startswith("Scenario base of scenario.xlsx")
    assert "Valid." not in result.stdout
    assert result.stderr.splitlines() == [
        "Infeasible before solving (1):",
        "  - option O2 must be in every plan (decision is must) but cannot be chosen: "
        "partner P2 trust 70 is below min_partner_trust 75",
    ]


def test_precheck_warnings_are_shown_and_still_valid(book) -> None:
    tables = minimal_tables()
    tables["Options"].append(["O3", "P1", None, "model", None, 5, None])
    result = run("validate", str(book(tables)))
    assert result.exit_code == 0, result.output
    assert "Warnings (1):\n  - option O3 has no Coverage rows" in result.stdout


def test_template_validates_with_two_missing_settings(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    result = run("template", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Wrote {path}\n"
    assert path.is_file()
    result = run("validate", str(path))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Input errors (2), nothing was written:",
        "sheet Settings, row 2, column value: found blank; "
        "expected budget: a number of at least 0 (it is required)",
        "sheet Settings, row 3, column value: found blank; "
        "expected home_country: a name (it is required)",
    ]


def test_template_into_a_new_folder(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "t.xlsx"
    assert run("template", str(path)).exit_code == 0
    assert path.is_file()
    assert [p.name for p in path.parent.iterdir()] == ["t.xlsx"]  # no temporary left behind


def test_solve_on_bad_input_writes_nothing(
    book, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tables = minimal_tables()
    tables["Options"][1][5] = "lots"
    path = book(tables)
    monkeypatch.chdir(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    result = run("solve", str(path), "--out", str(tmp_path / "plans"))
    assert result.exit_code == 2
    assert result.stderr.startswith("Input errors (1), nothing was written:\n")
    result = run("solve", str(path))
    assert result.exit_code == 2
    assert sorted(tmp_path.rglob("*")) == before


def test_help_shows_an_example() -> None:
    for command in ("validate", "template"):
        result = run(command, "--help")
        assert result.exit_code == 0
        assert "Example: planner " + command in result.stdout
