"""Local workers start with the modules their tasks name already imported: the
forkserver imports them once, before the first worker, instead of each worker on its
first task. Run in a fresh interpreter: the forkserver is one per process, and the
first pool of a pytest process decides what it preloads."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

import tasks_for_tests as tt

from planner.engine import Task
from planner.engine.local import task_modules

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

# Neither is imported by the engine or by the test task's own module.
DECLARED = "planner.reports.svg_charts"
UNDECLARED = "planner.reports.report_html"

_SCRIPT = f"""
import functools, json, sys
sys.path[:0] = [{str(HERE)!r}, {str(ROOT)!r}]
import tasks_for_tests as tt
from planner.engine import Task, run_tasks

def main():
    names = [{DECLARED!r}, {UNDECLARED!r}]
    first = Task("a", "a", functools.partial(tt.modules_present, names=names),
                 imports=({DECLARED!r},))
    again = Task("b", "b", functools.partial(tt.modules_present, names=names))
    seen = [o.value for o in run_tasks([first], workers=2)]
    seen += [o.value for o in run_tasks([again], workers=1)]
    print(json.dumps(seen))

if __name__ == "__main__":
    main()
"""


def test_workers_start_with_the_modules_the_first_task_names(tmp_path: Path) -> None:
    script = tmp_path / "preload_probe.py"
    script.write_text(_SCRIPT, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=True
    )
    first, again = json.loads(done.stdout)
    assert first == {DECLARED: True, UNDECLARED: False}
    # A later pool of the same process forks from the same, already loaded, server.
    assert again == {DECLARED: True, UNDECLARED: False}


def test_the_modules_of_a_task_are_its_imports_and_its_own_package_module() -> None:
    ours = Task("k", "k", functools.partial(task_modules), imports=("planner.api",))
    assert task_modules(ours) == ["planner.engine.local", "planner.api"]
    theirs = Task("k", "k", functools.partial(tt.square, x=1), imports=("planner.api",))
    assert task_modules(theirs) == ["planner.api"]  # a test's module is left to the worker
