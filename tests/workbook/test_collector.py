"""Reading leaves the process's garbage collector alone; pausing it is the caller's choice.

`gc.disable` is process-wide: a library switching it would change the behaviour
of its caller's other threads. `without_cyclic_gc` stays available for the
process's owner (the command line, a benchmark) to wrap a load in.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from workbooks import minimal_tables, write_workbook

import planner.workbook.validation as validation
from planner.workbook.validation import load_scenario, without_cyclic_gc


@pytest.fixture
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_load_scenario_leaves_the_collector_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, collector_on: None
) -> None:
    seen: list[bool] = []
    real = validation.check_workbook

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(gc.isenabled())
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(validation, "check_workbook", spy)
    load_scenario(write_workbook(tmp_path / "s.xlsx", minimal_tables()))
    assert seen == [True]
    assert gc.isenabled()


def test_without_cyclic_gc_pauses_and_restores(collector_on: None) -> None:
    with without_cyclic_gc():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), without_cyclic_gc():
        raise ValueError
    assert gc.isenabled()


def test_without_cyclic_gc_leaves_a_paused_collector_paused(collector_on: None) -> None:
    gc.disable()
    with without_cyclic_gc():
        pass
    assert not gc.isenabled()
