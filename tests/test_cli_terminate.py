"""A `planner solve` stopped by SIGTERM unwinds like Ctrl-C: no second solver left running,
no temporary folder left behind, nothing written, exit status 143."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from scenario_builders import random_scenario

from planner.solving.race import cores_available
from planner.workbook.writer import write_scenario

#: `planner` with HiGHS slowed (2 ms per interrupt check) and CBC started at once, so
#: the second solver is surely running when the signal comes.
SLOWED_PLANNER = """
import sys, time
import planner.solving.race as race
import planner.solving.solver as solver
race.RACE_AFTER = 0.0
init = solver.MatrixSolver.__init__
def slowed(self, *args, **kwargs):
    init(self, *args, **kwargs)
    self.highs.cbMipInterrupt.subscribe(lambda event: time.sleep(0.002))
solver.MatrixSolver.__init__ = slowed
from planner.cli import cli
sys.argv[0] = "planner"
cli()
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.skipif(cores_available() < 2, reason="the second solver needs a second core")
def test_sigterm_stops_the_second_solver_and_leaves_nothing(tmp_path: Path) -> None:
    scenario = random_scenario(6101, n_options=400, n_markets=80, n_offers=6, plans=3)
    scenario = replace(scenario, settings=replace(scenario.settings, time_limit_s=120.0))
    workbook = tmp_path / "hard.xlsx"
    write_scenario(workbook, scenario)
    started = tmp_path / "cbc-started"
    # Stands in for CBC: notes where it runs, then waits to be stopped.
    fake_cbc = tmp_path / "cbc"
    fake_cbc.write_text(f'#!/bin/sh\necho "$$ $1" > "{started}"\nexec sleep 120\n')
    fake_cbc.chmod(0o755)
    temp = tmp_path / "tmp"
    temp.mkdir()
    out = tmp_path / "out"
    env = dict(os.environ, PLANNER_CBC=str(fake_cbc), TMPDIR=str(temp))
    run = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SLOWED_PLANNER,
            "solve",
            "--no-explain",
            str(workbook),
            "--out",
            out,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        waited = time.monotonic() + 60
        while not started.exists() and run.poll() is None and time.monotonic() < waited:
            time.sleep(0.02)
        if not started.exists():
            pytest.skip("every solve ended before the second solver was started")
        time.sleep(0.05)
        run.send_signal(signal.SIGTERM)
        _, err = run.communicate(timeout=30)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 128 + signal.SIGTERM, err
    assert "Terminated; nothing was written." in err
    assert "Traceback" not in err
    pid = int(started.read_text().split()[0])
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid), "the second solver was left running"
    assert list(temp.glob("planner-cbc-*")) == []
    assert not out.exists() or list(out.iterdir()) == []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (ended, not yet reaped by its parent) counts as ended.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")
