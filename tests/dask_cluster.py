"""A real Dask distributed cluster for tests: a scheduler and two single-threaded
workers, each a separate process on 127.0.0.1, started once per test session.

Started with the `dask scheduler` / `dask worker` programs, as people run a cluster,
so the tests cross the same process and network boundaries as `--scheduler
tcp://host:8786`. The scheduler picks a free port and writes its address to a
scheduler file. The workers import `planner` from this environment (installed
editable) and the test task modules from tests/engine, put on their PYTHONPATH.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
#: Bounded waits: the cluster starts in a few seconds; past these something is wrong.
START_WAIT_S = 60.0
STOP_WAIT_S = 15.0


@pytest.fixture(scope="session")
def dask_scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address (tcp://127.0.0.1:PORT) of a running scheduler with two workers."""
    folder = tmp_path_factory.mktemp("dask-cluster")
    scheduler_file = folder / "scheduler.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(TESTS / "engine"), str(TESTS), *filter(None, [env.get("PYTHONPATH")])]
    )
    # A task that kills its worker fails after one death, not Dask's default three:
    # each death costs a worker restart, and the behaviour tested is the same.
    env["DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES"] = "1"
    processes: list[subprocess.Popen[bytes]] = []
    try:
        processes.append(
            _start(
                ["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0"],
                ["--scheduler-file", str(scheduler_file), "--no-dashboard"],
                ["--idle-timeout", "900"],  # ends itself if this session is killed
                env=env,
                log=folder / "scheduler.log",
            )
        )
        address = _address(scheduler_file, processes[0])
        processes.append(
            _start(
                ["distributed.cli.dask_worker", "--scheduler-file", str(scheduler_file)],
                ["--nworkers", "2", "--nthreads", "1", "--host", "127.0.0.1"],
                ["--no-dashboard", "--death-timeout", "60", "--memory-limit", "0"],
                env=env,
                log=folder / "workers.log",
            )
        )
        wait_for_workers(address, 2)
        yield address
    finally:
        for process in reversed(processes):
            _stop(process)


def _start(*argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", *(arg for part in argv for arg in part)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C on the tests reaches the fixture, not them
        )


def _address(scheduler_file: Path, scheduler: subprocess.Popen[bytes]) -> str:
    ends = time.monotonic() + START_WAIT_S
    while time.monotonic() < ends:
        if scheduler.poll() is not None:
            raise RuntimeError(f"the Dask scheduler exited with {scheduler.returncode}")
        try:
            return str(json.loads(scheduler_file.read_text())["address"])
        except (OSError, ValueError, KeyError):
            time.sleep(0.1)
    raise RuntimeError(f"the Dask scheduler wrote no {scheduler_file} in {START_WAIT_S:g} s")


def wait_for_workers(address: str, count: int) -> None:
    from distributed import Client

    with Client(address, timeout=START_WAIT_S, set_as_default=False) as client:
        client.wait_for_workers(count, timeout=START_WAIT_S)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (the programs shut down cleanly on it), then SIGKILL to what is left of
    its process group (the workers' nannies and their children)."""
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(STOP_WAIT_S)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(STOP_WAIT_S)
