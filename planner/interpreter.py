"""A fresh Python interpreter running code of this package: the second processes that
write a large book (`planner.reports.book_process`) or make plans beside the ranking
(`planner.solving.plan_maker`).

Why one place: such a process must find this package where this process did (an
installed copy or a checkout on `PYTHONPATH`), and must be a fresh interpreter, never a
fork: the run may have solver threads whose locks a fork would copy mid-use.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def start_child(code: str, *args: str, stdout: int) -> subprocess.Popen[bytes] | None:
    """`python -c code args...` with a pipe to its standard input, its standard output as
    `stdout` (`subprocess.PIPE` or `subprocess.DEVNULL`), its errors dropped; None when it
    cannot start (the caller then does the work itself)."""
    package_root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    try:
        return subprocess.Popen(
            [sys.executable, "-c", code, *args],
            stdin=subprocess.PIPE,
            stdout=stdout,
            stderr=subprocess.DEVNULL,
            env=env,
        )
    except OSError:
        return None
