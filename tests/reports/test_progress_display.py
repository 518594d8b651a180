"""How `planner solve` shows a run's progress: one line rewritten in place on a terminal,
plain lines (few of them) in a log, nothing on quick runs."""

from __future__ import annotations

import io
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from scenario_builders import random_scenario

from planner.plan import ProgressEvent, ProgressStage
from planner.reports.terminal import ProgressDisplay, progress_line
from planner.workbook.writer import write_scenario

BEGIN, REACH, TIE, KEPT = (
    ProgressStage.BEGIN,
    ProgressStage.REACH,
    ProgressStage.TIE_BREAK,
    ProgressStage.KEPT,
)


def event(stage: ProgressStage, elapsed: float, rank: int = 1, **numbers: float) -> ProgressEvent:
    return ProgressEvent(rank, 10, stage, elapsed, **numbers)  # type: ignore[arg-type]


def test_each_line_says_the_plan_the_time_and_what_is_known() -> None:
    assert progress_line(event(BEGIN, 3.04, rank=2)) == "plan 2 of 10, 3.0 s elapsed"
    assert progress_line(event(REACH, 5.0)) == "plan 1 of 10, 5.0 s elapsed, searching"
    live = event(REACH, 12.25, weighted_reach=987.6, bound=1001.2, gap=0.0137)
    assert progress_line(live) == (
        "plan 1 of 10, 12.2 s elapsed, best w. reach 987.6, bound 1,001.2, gap 1.37%"
    )
    held = event(TIE, 20.0, weighted_reach=1032.0, bound=1032.0, gap=0.0)
    assert progress_line(held) == (
        "plan 1 of 10, 20.0 s elapsed, w. reach 1,032.0, gap 0.00%, now least net spend"
    )
    kept = event(KEPT, 28.7, weighted_reach=1032.0, bound=1032.0, gap=0.0)
    assert progress_line(kept) == "plan 1 of 10 found, 28.7 s elapsed, w. reach 1,032.0, gap 0.00%"
    assert all(len(progress_line(e)) < 80 for e in (live, held, kept))
    assert "0.0123" in progress_line(event(REACH, 3.0, weighted_reach=0.0123))


def test_on_a_terminal_one_line_is_rewritten_in_place_and_ended_by_close() -> None:
    out = io.StringIO()
    show = ProgressDisplay(out, tty=True, width=60)
    show(event(BEGIN, 0.1))
    show(event(REACH, 1.5, weighted_reach=5.0, bound=9.0, gap=0.8))
    assert out.getvalue() == ""  # quiet on quick runs
    show(event(REACH, 2.1, weighted_reach=7.0, bound=9.0, gap=0.29))
    show(event(KEPT, 2.4, weighted_reach=9.0, bound=9.0, gap=0.0))
    show(event(BEGIN, 2.4, rank=2))
    text = out.getvalue()
    assert "\n" not in text
    updates = text.split("\r")[1:]
    assert [u.endswith("\x1b[K") for u in updates] == [True] * 3  # each clears the old tail
    assert updates[0].startswith("plan 1 of 10, 2.1 s elapsed, best w. reach 7.0")
    assert updates[1].startswith("plan 1 of 10 found")
    assert updates[2] == "plan 2 of 10, 2.4 s elapsed\x1b[K"
    assert all(len(u) - len("\x1b[K") <= 59 for u in updates)  # never wraps
    show.close()
    assert out.getvalue().endswith("\n") and out.getvalue().count("\n") == 1
    show.close()
    assert out.getvalue().count("\n") == 1


def test_in_a_log_plain_lines_come_few_and_every_plan_found_is_said() -> None:
    out = io.StringIO()
    show = ProgressDisplay(out, tty=False, plain_every=5.0)
    for tick in range(0, 60):  # an update every half second, as the solver sends them
        show(event(REACH, tick * 0.5, weighted_reach=float(tick), bound=100.0, gap=0.5))
    show(event(KEPT, 30.0, weighted_reach=59.0, bound=59.0, gap=0.0))
    show(event(BEGIN, 30.0, rank=2))
    show.close()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()
    assert [line.split(",")[1] for line in lines] == [
        " 2.0 s elapsed",
        " 7.0 s elapsed",
        " 12.0 s elapsed",
        " 17.0 s elapsed",
        " 22.0 s elapsed",
        " 27.0 s elapsed",
        " 30.0 s elapsed",
    ]
    assert lines[-1].startswith("plan 1 of 10 found")


def test_a_quick_run_shows_nothing() -> None:
    for tty in (True, False):
        out = io.StringIO()
        show = ProgressDisplay(out, tty=tty)
        show(event(BEGIN, 0.0))
        show(event(REACH, 0.5, weighted_reach=1.0, bound=2.0, gap=1.0))
        show(event(KEPT, 1.2, weighted_reach=2.0, bound=2.0, gap=0.0))
        show.close()
        assert out.getvalue() == ""


def test_a_command_writing_to_a_log_shows_progress_within_the_rank(tmp_path: Path) -> None:
    """End to end, stderr a pipe: plan 1 takes seconds (its tie-break), and lines
    about it appear before it is found, plain, with the rank's weighted reach."""
    sc = random_scenario(5, n_options=2000, n_markets=40, n_offers=4, plans=2)
    sc = replace(sc, settings=replace(sc.settings, time_limit_s=6.0))
    workbook = tmp_path / "long.xlsx"
    write_scenario(workbook, sc)
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "from planner.cli import main; main()",
            "solve",
            "--no-explain",
            str(workbook),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "\r" not in run.stderr and "\x1b" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.startswith("plan ")]
    found = next(i for i, line in enumerate(lines) if line.startswith("plan 1 of 2 found"))
    within = [line for line in lines[:found] if "w. reach" in line]
    assert within, run.stderr
    assert all(line.startswith("plan 1 of 2, ") for line in within)
