"""Where an internal error's details go: a log file of its own for every run."""

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


def run(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    assert isinstance(result.exception, SystemExit) or result.exception is None, result.output
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def book(tmp_path: Path) -> Path:
    return write_workbook(tmp_path / "scenario.xlsx", minimal_tables())


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
