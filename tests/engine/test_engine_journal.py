"""The journal: every outcome recorded as it arrives, so an interrupted batch resumes
with only the tasks it has not finished (each task counts its runs in a marker folder)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest
import tasks_for_tests as tt

from planner.engine import NOT_RUN, BatchStatus, EngineError, Pool, Task, run_tasks
from planner.engine.journal import FORMAT


def squares(n: int, marks: Path) -> list[Task]:
    return [
        Task(f"sq{x}", f"x={x}", functools.partial(tt.square, x=x, marks=str(marks)))
        for x in range(n)
    ]


def runs(marks: Path, n: int) -> list[int]:
    return [tt.runs(str(marks), f"square{x}") for x in range(n)]


def lines(journal: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in journal.read_text().splitlines()]


def test_each_outcome_is_a_line_after_a_header_with_the_fingerprint(tmp_path: Path) -> None:
    journal = tmp_path / "out" / ".journal"
    tasks = [*squares(3, tmp_path), Task("bad", "bad", functools.partial(tt.fail, message="x"))]
    run_tasks(tasks, workers=2, journal=journal, fingerprint="f1")
    header, *records = lines(journal)
    assert header == {"journal": FORMAT, "fingerprint": "f1"}
    assert sorted(r["key"] for r in records) == ["bad", "sq0", "sq1", "sq2"]
    bad = next(r for r in records if r["key"] == "bad")
    assert (bad["value"], bad["error"]) == (None, "RuntimeError: x second line")
    assert next(r for r in records if r["key"] == "sq2")["value"] == tt.square(0, 2)


def test_resuming_returns_journaled_outcomes_at_once_and_runs_only_the_rest(
    tmp_path: Path,
) -> None:
    journal, marks = tmp_path / ".journal", tmp_path / "marks"
    marks.mkdir()

    def stop_after_three(status: BatchStatus) -> None:
        if status.done >= 3:
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        run_tasks(squares(8, marks), workers=2, journal=journal, fingerprint="f",
                  progress=stop_after_three)  # fmt: skip
    first = runs(marks, 8)
    journaled = {r["key"] for r in lines(journal)[1:]}
    assert 3 <= len(journaled) < 8

    outcomes = run_tasks(squares(8, marks), workers=2, journal=journal, fingerprint="f",
                         resume=True)  # fmt: skip
    assert [o.value for o in outcomes] == [tt.square(0, x) for x in range(8)]
    assert {o.key for o in outcomes if o.resumed} == journaled
    second = [now - before for now, before in zip(runs(marks, 8), first, strict=True)]
    assert second == [0 if f"sq{x}" in journaled else 1 for x in range(8)]
    assert {r["key"] for r in lines(journal)[1:]} == {f"sq{x}" for x in range(8)}


def test_a_pool_closed_midway_resumes_with_the_rest(tmp_path: Path) -> None:
    journal, marks = tmp_path / ".journal", tmp_path / "marks"
    marks.mkdir()
    with Pool(workers=1, journal=journal, fingerprint="f") as pool:
        for task in squares(6, marks):
            pool.submit(task)
        for got, _ in enumerate(pool.outcomes(), start=1):
            if got == 2:
                break
    first = runs(marks, 6)
    outcomes = run_tasks(squares(6, marks), workers=1, journal=journal, fingerprint="f",
                         resume=True)  # fmt: skip
    assert sum(o.resumed for o in outcomes) >= 2
    assert [o.value for o in outcomes] == [tt.square(0, x) for x in range(6)]
    second = [now - before for now, before in zip(runs(marks, 6), first, strict=True)]
    assert second == [0 if o.resumed else 1 for o in outcomes]  # the rest, each once


def test_failed_and_not_run_tasks_run_again_on_resume(tmp_path: Path) -> None:
    journal, marks = tmp_path / ".journal", str(tmp_path)
    tasks = [Task("flaky", "flaky", functools.partial(tt.fail_once, marks=marks, name="flaky"))]
    first = run_tasks(tasks, workers=1, journal=journal, fingerprint="f")
    assert first[0].error == "MemoryError: first run"
    again = run_tasks(tasks, workers=1, journal=journal, fingerprint="f", resume=True)
    assert (again[0].value, again[0].resumed) == ({"name": "flaky"}, False)

    late = [Task("late", "late", functools.partial(tt.square, x=1))]
    skipped = run_tasks(late, journal=journal, fingerprint="g", deadline=0.0)
    assert skipped[0].error == NOT_RUN
    resumed = run_tasks(late, workers=1, journal=journal, fingerprint="g", resume=True)
    assert (resumed[0].value, resumed[0].resumed) == (tt.square(0, 1), False)


def test_a_torn_last_line_is_dropped_and_the_journal_stays_readable(tmp_path: Path) -> None:
    journal, marks = tmp_path / ".journal", tmp_path / "marks"
    marks.mkdir()
    run_tasks(squares(2, marks), workers=1, journal=journal, fingerprint="f")
    with journal.open("a") as out:
        out.write('{"key": "sq2", "label": "x=2", "value": {"x": 2, "squ')  # killed mid-write
    outcomes = run_tasks(squares(3, marks), workers=1, journal=journal, fingerprint="f",
                         resume=True)  # fmt: skip
    assert [o.resumed for o in outcomes] == [True, True, False]
    assert runs(marks, 3) == [1, 1, 1]
    assert [r.get("key") for r in lines(journal)] == [None, "sq0", "sq1", "sq2"]


def test_a_torn_header_starts_a_new_journal(tmp_path: Path) -> None:
    journal = tmp_path / ".journal"
    journal.write_text('{"journal": "partnership-pl')
    outcomes = run_tasks(squares(1, tmp_path), journal=journal, fingerprint="f", resume=True)
    assert not outcomes[0].resumed
    assert lines(journal)[0] == {"journal": FORMAT, "fingerprint": "f"}


def test_resuming_another_commands_journal_is_an_error(tmp_path: Path) -> None:
    journal = tmp_path / ".journal"
    run_tasks(squares(1, tmp_path), journal=journal, fingerprint="sweep of a.xlsx")
    with pytest.raises(EngineError, match=r"belongs to another command .* run without --resume"):
        Pool(journal=journal, fingerprint="sweep of b.xlsx", resume=True)
    fresh = run_tasks(squares(1, tmp_path), journal=journal, fingerprint="sweep of b.xlsx")
    assert not fresh[0].resumed  # without resume a new journal replaces the old one
    assert lines(journal)[0]["fingerprint"] == "sweep of b.xlsx"


def test_a_damaged_line_before_the_last_is_an_error(tmp_path: Path) -> None:
    journal = tmp_path / ".journal"
    run_tasks(squares(2, tmp_path), journal=journal, fingerprint="f")
    text = journal.read_text().splitlines()
    journal.write_text("\n".join([text[0], "not json", *text[1:]]) + "\n")
    with pytest.raises(EngineError, match=r"Line 2 of the journal .* is not one the planner wrote"):
        Pool(journal=journal, fingerprint="f", resume=True)
    journal.write_text('{"some": "other file"}\n')
    with pytest.raises(EngineError, match="is not a journal of this planner version"):
        Pool(journal=journal, fingerprint="f", resume=True)
