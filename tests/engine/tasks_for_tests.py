"""Task functions for the engine tests, importable by worker processes.

Workers import this module by name when they unpickle a task: local workers inherit
the parent's `sys.path` (pytest puts tests/engine on it), the Dask workers of
tests/dask_cluster.py get tests/engine on their PYTHONPATH.

Each function takes the seconds it may take first (bound with `functools.partial`
for the rest), as a `Task.run` does. `marks` is a folder where each run leaves a file,
so a test counts how often a task really ran.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any


def mark(marks: str | None, name: str) -> int:
    """Record one run of `name` in the folder `marks`; how many runs so far."""
    if marks is None:
        return 0
    Path(marks, f"{name}.{uuid.uuid4().hex}").touch()
    return runs(marks, name)


def runs(marks: str, name: str) -> int:
    """How often `name` ran."""
    return len(list(Path(marks).glob(f"{name}.*")))


def square(seconds: float, x: int, marks: str | None = None) -> dict[str, Any]:
    """A deterministic value of plain JSON types, nested."""
    mark(marks, f"square{x}")
    return {"x": x, "square": x * x, "half": x / 2, "tags": [f"t{x}", None, True]}


def fail(seconds: float, message: str) -> dict[str, Any]:
    raise RuntimeError(f"{message}\nsecond line")


def sleep_then(seconds: float, pause: float, x: int, marks: str | None = None) -> dict[str, Any]:
    """Takes `pause` seconds (a slow solve), then gives `x`."""
    mark(marks, f"sleep{x}")
    time.sleep(pause)
    return {"x": x}


def use_share(seconds: float, x: int) -> dict[str, Any]:
    """Takes the whole time it is given (a solve that runs into its limit)."""
    time.sleep(seconds)
    return {"x": x, "seconds": seconds}


def given(seconds: float, x: int) -> dict[str, Any]:
    """Says the time it was given."""
    return {"x": x, "seconds": seconds}


def die(seconds: float, how: str, marks: str | None = None, name: str = "die") -> dict[str, Any]:
    """Kills its own worker process: `exit` (os._exit), `kill` (SIGKILL, as the OOM
    killer does) or `segfault`."""
    mark(marks, name)
    if how == "exit":
        os._exit(3)
    if how == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if how == "segfault":
        import ctypes

        ctypes.string_at(0)
    raise ValueError(how)


def die_once(seconds: float, marks: str, name: str) -> dict[str, Any]:
    """Kills its worker the first time only (a one-off crash), then gives a value."""
    if mark(marks, name) == 1:
        os._exit(3)
    return {"name": name}


def not_a_dict(seconds: float) -> Any:
    return [1, 2, 3]


def not_json(seconds: float) -> dict[str, Any]:
    return {"when": object()}


def pid(seconds: float, x: int) -> dict[str, Any]:
    return {"x": x, "pid": os.getpid()}


def sleep_pid(seconds: float, pause: float, marks: str, name: str) -> dict[str, Any]:
    """Writes its process id to `marks/name.pid`, then takes `pause` seconds."""
    Path(marks, f"{name}.pid").write_text(str(os.getpid()))
    time.sleep(pause)
    return {"name": name}


def wait_for(marks: str, name: str, timeout: float = 20.0) -> None:
    """Wait until `name` has run (or started) at least once."""
    ends = time.monotonic() + timeout
    while runs(marks, name) == 0 and time.monotonic() < ends:
        time.sleep(0.01)


def beside(seconds: float, marks: str, name: str, other: str, pause: float) -> dict[str, Any]:
    """Runs at the same time as `other` (waits for it to start), then `pause` seconds more."""
    mark(marks, name)
    wait_for(marks, other)
    time.sleep(pause)
    return {"name": name}


def die_beside(seconds: float, marks: str, name: str, other: str) -> dict[str, Any]:
    """Kills its worker each time, once `other` is surely running."""
    mark(marks, name)
    wait_for(marks, other)
    os._exit(3)


def fail_once(seconds: float, marks: str, name: str) -> dict[str, Any]:
    """Fails on its first run only (a solve that ran out of memory once, say)."""
    if mark(marks, name) == 1:
        raise MemoryError("first run")
    return {"name": name}


def modules_present(seconds: float, names: list[str]) -> dict[str, Any]:
    """Which of `names` the worker had imported before this task ran."""
    import sys

    return {name: name in sys.modules for name in names}
