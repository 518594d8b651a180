"""`planner validate` and `planner template` through click's CliRunner (SPEC §5 exit codes)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from openpyxl import load_workbook
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


def _hopeless(kind: str) -> Tables:
    """A scenario no plan of positive weighted reach can come from, for a reason in the data."""
    tables = minimal_tables()
    if kind == "trust":  # partners' trusts are 80 and 70
        tables["Settings"].append(["min_partner_trust", 100])
    elif kind == "no coverage":
        tables["Coverage"] = tables["Coverage"][:1]
    elif kind == "no markets":
        tables["Markets"] = tables["Markets"][:1]
        tables["Coverage"] = tables["Coverage"][:1]
    elif kind == "weights 0":
        for row in tables["Markets"][1:]:
            row[3] = 0
    elif kind == "required layer":  # both markets need cloud; only O1 (trust 70) supplies it
        tables["Settings"].append(["min_partner_trust", 75])
        tables["Markets"][2][5] = "cloud"
        tables["Options"][1][1] = "P2"
        tables["Options"][2][1] = "P1"
    return tables


@pytest.mark.parametrize(
    ("kind", "cause"),
    [
        ("trust", "all 2 options are screened out: 2 by min_partner_trust 100 (the most trusted"),
        ("no coverage", "the Coverage sheet has no rows, so no option reaches a weighted market"),
        ("no markets", "the scenario has no markets (the Markets sheet has no rows)"),
        ("weights 0", "every market has weight 0 (2 market(s))"),
        (
            "required layer",
            "no option that can be chosen supplies there: cloud in M1 (Kenya); cloud in M2",
        ),
    ],
)
def test_validate_and_solve_agree_that_nothing_can_reach_a_weighted_market(
    book, tmp_path: Path, kind: str, cause: str
) -> None:
    path = book(_hopeless(kind))
    checked = run("validate", str(path))
    assert checked.exit_code == 3, checked.output
    assert "Valid." not in checked.stdout
    lines = checked.stderr.splitlines()
    assert lines[0] == "Infeasible before solving (1):"
    conflict = lines[1].removeprefix("  - ")
    assert cause in conflict
    out = tmp_path / "out"
    solved = run("solve", str(path), "--out", str(out))
    assert solved.exit_code == 3, solved.output
    # The same cause, in the same words, on the terminal and in the written diagnosis.
    assert conflict in solved.output
    diagnosis = (out / "diagnosis.txt").read_text(encoding="utf-8")
    assert conflict in diagnosis
    doc = json.loads((out / "plans.json").read_text(encoding="utf-8"))
    assert doc["diagnosis"] + "\n" == diagnosis
    assert doc["message"].startswith("Infeasible: nothing affordable reaches any weighted market")


def test_the_trust_floor_validate_suggests_gives_a_plan(book, tmp_path: Path) -> None:
    path = book(_hopeless("trust"))
    checked = run("validate", str(path))
    assert checked.exit_code == 3
    assert "lowering min_partner_trust to 80 lets options reach weighted markets" in (
        checked.stderr
    )
    solved = run("solve", str(path), "--out", str(tmp_path / "out"))
    assert "Re-solving with that change (lower min_partner_trust from 100 to 80) finds a plan." in (
        solved.output
    )
    assert run("validate", str(path), "--set", "min_partner_trust=80").exit_code == 0
    fixed = run("solve", str(path), "--set", "min_partner_trust=80", "--out", str(tmp_path / "o"))
    assert fixed.exit_code == 0, fixed.output


def test_a_contradiction_of_two_musts_is_stated_once_by_both_commands(book, tmp_path: Path) -> None:
    tables = minimal_tables()
    tables["Options"][1][6] = "must"
    tables["Options"][2][6] = "must"
    tables["Rules"] = [["rule", "option_id", "other_option_id"], ["excludes", "O1", "O2"]]
    path = book(tables)
    checked = run("validate", str(path))
    assert checked.exit_code == 3
    conflict = (
        "options O1 (decision is must) and O2 (decision is must) must both be in every plan, "
        "but O1 excludes O2"
    )
    assert checked.stderr.splitlines()[-2:] == ["Infeasible before solving (1):", f"  - {conflict}"]
    out = tmp_path / "out"
    solved = run("solve", str(path), "--out", str(out))
    assert solved.exit_code == 3
    diagnosis = (out / "diagnosis.txt").read_text(encoding="utf-8")
    assert diagnosis.count(conflict) == 1 and diagnosis.count("excludes") == 1


# --- validate --annotate: the team's own workbook with its problems marked ---------------


def test_annotate_writes_the_marked_copy_and_says_where(book, tmp_path: Path) -> None:
    tables = minimal_tables()
    tables["Partners"][1][3] = 120  # Partners D2
    out = tmp_path / "marked.xlsx"
    result = run("validate", str(book(tables)), "--set", "plans=0", "--annotate", str(out))
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == "Input errors (2):"
    assert "sheet Partners, row 2, column trust: found 120; expected a number from 0 to 100" in (
        lines
    )
    assert lines[-1] == (
        f"Marked 1 cell(s) of scenario.xlsx, every problem listed on its first sheet: {out}"
    )
    marked = load_workbook(out)
    comment = marked["Partners"]["D2"].comment
    assert comment is not None
    assert comment.text == "found 120; expected a number from 0 to 100"
    listed = [[c.value for c in row] for row in marked["Problems"].iter_rows()]
    assert [row[:3] for row in listed[1:]] == [["--set", None, "plans"], ["Partners", "2", "trust"]]


def test_annotate_on_a_valid_workbook_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "marked.xlsx"
    result = run("validate", str(EXAMPLE), "--annotate", str(out))
    assert result.exit_code == 0, result.output
    assert f"Nothing to mark in example.xlsx: {out} was not written." in result.stdout
    assert result.stdout.endswith("Valid.\n")
    assert not out.exists()


def test_annotate_never_overwrites_the_workbook(book) -> None:
    tables = minimal_tables()
    tables["Partners"][1][3] = 120
    path = book(tables)
    before = path.read_bytes()
    result = run("validate", str(path), "--annotate", str(path))
    assert result.exit_code == 2
    assert "command line --annotate: found" in result.stderr
    assert "expected a file other than the workbook" in result.stderr
    assert path.read_bytes() == before


def test_annotate_of_a_file_that_is_no_workbook_says_why(tmp_path: Path) -> None:
    path = tmp_path / "notes.xlsx"
    path.write_text("option_id,cost\n")
    out = tmp_path / "marked.xlsx"
    result = run("validate", str(path), "--annotate", str(out))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Not annotated: notes.xlsx is not an .xlsx workbook (expected an Excel 2007+ file)"
    )
    assert not out.exists()


def test_annotate_into_a_missing_folder_says_why(book, tmp_path: Path) -> None:
    tables = minimal_tables()
    tables["Partners"][1][3] = 120
    out = tmp_path / "missing" / "marked.xlsx"
    result = run("validate", str(book(tables)), "--annotate", str(out))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1].startswith(f"Not annotated: {out} was not written: ")
