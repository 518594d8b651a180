"""What `planner solve` says about its own options, and where an internal error's details go.

A value given on its own option is named by that option and shown as typed,
never as the `--set` it stands for nor as the number click would have made of
it; every internal error keeps its details in a log file of its own.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner, Result
from workbooks import minimal_tables, write_workbook

import planner.api
import planner.cli
from planner.cli import cli

EXAMPLE = Path(__file__).resolve().parents[1] / "inputs" / "example.xlsx"


def run(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    assert isinstance(result.exception, SystemExit) or result.exception is None, result.output
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def book(tmp_path: Path) -> Path:
    return write_workbook(tmp_path / "scenario.xlsx", minimal_tables())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--plans", "0"],
            "command line --plans: found '0'; expected a whole number of at least 1",
        ),
        (["--plans", "two"], "command line --plans: found 'two'; expected a whole number"),
        (["--time-limit", "0"], "command line --time-limit: found '0'; expected a number greater"),
        (["--time-limit", "1e400"], "command line --time-limit: found '1e400'; expected a number"),
        (["--time-limit", "nan"], "command line --time-limit: found 'nan'; expected a number"),
    ],
)
def test_plans_and_time_limit_are_named_as_typed(
    args: list[str], message: str, tmp_path: Path
) -> None:
    result = run("solve", "--no-explain", str(EXAMPLE), "--out", str(tmp_path / "out"), *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "--set" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_plans_and_time_limit_still_apply(tmp_path: Path) -> None:
    result = run(
        "solve",
        "--no-explain",
        str(EXAMPLE),
        "--out",
        str(tmp_path),
        "--plans",
        "2",
        "--time-limit",
        "60",
    )
    assert result.exit_code == 0, result.output
    assert "2 plan(s)" in result.stdout


def test_two_internal_errors_in_the_same_second_keep_two_logs(
    book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(logs))

    class FrozenClock(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> FrozenClock:
            return cls(2030, 1, 2, 3, 4, 5)

    monkeypatch.setattr(planner.cli, "dt", SimpleNamespace(datetime=FrozenClock))
    for n in (1, 2):

        def fail(*args: object, n: int = n, **kwargs: object) -> None:
            raise RuntimeError(f"failure number {n}")

        monkeypatch.setattr(planner.api, "check", fail)
        result = run("solve", str(book), "--out", str(tmp_path / "out"))
        assert result.exit_code == 1
        assert f"failure number {n} (details in {logs}" in result.stderr
    written = sorted(logs.iterdir())
    assert [p.name.startswith("planner-error-20300102-030405") for p in written] == [True, True]
    texts = sorted(p.read_text(encoding="utf-8").splitlines()[-1] for p in written)
    assert texts == ["RuntimeError: failure number 1", "RuntimeError: failure number 2"]
