"""A sweep and a frontier through a real Dask cluster (a scheduler and two worker
processes on 127.0.0.1) give exactly the documents of local worker processes.

Why exactly: a point's answer is a function of its variant alone (SPEC §9), the
frontier's slices are fixed whatever runs them, and the engine carries each task's
record through JSON on both paths; so the documents must be equal, not merely close.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from planner.engine import PoolOptions
from planner.whatif.frontier import run_frontier
from planner.whatif.sweep import run_sweep
from planner.workbook.variants import Workbook, open_workbook

EXAMPLE = Path(__file__).resolve().parents[2] / "inputs" / "example.xlsx"

#: Keys that say where and when a document was made, not what it found.
PLACE = ("workbook", "sha256", "elapsed_s", "started", "seconds")


@pytest.fixture(scope="module")
def workbook() -> Workbook:
    return open_workbook(EXAMPLE)


def _answer(document: dict[str, Any]) -> dict[str, Any]:
    """The document without the keys that say where and when it was made."""
    return {key: value for key, value in document.items() if key not in PLACE}


def _sweep(workbook: Workbook, out: Path, pool: PoolOptions) -> dict[str, Any]:
    return run_sweep(
        workbook,
        scenario=None,
        sets=[("min_average_trust", "60")],
        varies=[("budget", "40:120:40"), ("max_foreign_share", "0.3,0.6")],
        time_limit=120,
        out=out,
        pool=pool,
        progress=None,
    )


def _frontier(workbook: Workbook, out: Path, pool: PoolOptions) -> dict[str, Any]:
    return run_frontier(
        workbook,
        scenario=None,
        sets=[],
        max_budget=40,
        points=None,
        time_limit=120,
        out=out,
        pool=pool,
        progress=None,
    )


def test_a_sweep_on_dask_equals_the_local_sweep(
    workbook: Workbook, dask_scheduler: str, tmp_path: Path
) -> None:
    local = _sweep(workbook, tmp_path / "local", PoolOptions(workers=2))
    remote = _sweep(workbook, tmp_path / "dask", PoolOptions(scheduler=dask_scheduler))
    assert local["complete"] and len(local["points"]) == 6
    assert all(p["status"] == "optimal" for p in local["points"])
    assert _answer(remote) == _answer(local)


def test_a_frontier_on_dask_equals_the_local_frontier(
    workbook: Workbook, dask_scheduler: str, tmp_path: Path
) -> None:
    local = _frontier(workbook, tmp_path / "local", PoolOptions(workers=2))
    remote = _frontier(workbook, tmp_path / "dask", PoolOptions(scheduler=dask_scheduler))
    assert local["complete"] and len(local["points"]) >= 2
    assert all(p["proven_optimal"] for p in local["points"])
    assert _answer(remote) == _answer(local)
