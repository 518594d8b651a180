"""The frontier's waiting solves (`planner.whatif.frontier_queue`): the pool gets only as
many as it runs at once, the most urgent first, each with the time share it would have
had queued in the pool; and the order never changes the document, the solves made or
their journal keys (so a journal written in any order resumes in any other).
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from scenario_builders import random_scenario

import planner.whatif.frontier_queue as queue
from planner.engine import BatchStatus, PoolOptions, Task
from planner.engine.timeshare import time_share
from planner.scenario.data import Scenario
from planner.whatif.frontier import JOURNAL, frontier_of
from planner.whatif.frontier_queue import Step, Waiting


class _Pool:
    """The part of the engine's pool `Waiting` uses: slots, and the tasks submitted."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.tasks: list[Task] = []

    def submit(self, task: Task) -> None:
        self.tasks.append(task)


def _never(seconds: float) -> dict[str, object]:
    raise AssertionError("a task of these tests is never run")


def _make(step: Step, cap: float) -> Task:
    return Task(f"slice {step.slice}: budget={step.budget!r}", "", functools.partial(_never))


def _budgets(pool: _Pool) -> list[float]:
    return [float(t.key.split("=", 1)[1]) for t in pool.tasks]


def test_the_pool_gets_its_slots_each_chain_start_first_then_the_highest_budget() -> None:
    pool = _Pool(slots=2)
    waiting = Waiting(pool, None, _make)
    waiting.add([Step(0, 10.0, ()), Step(1, 20.0, ()), Step(2, 5.0, (), first=True)])
    assert _budgets(pool) == [5.0, 20.0] and len(waiting) == 1 and waiting.in_flight == 2
    waiting.add([Step(3, 30.0, ()), Step(4, 1.0, (), first=True)])
    assert _budgets(pool) == [5.0, 20.0]  # no free slot: nothing more goes out
    waiting.landed()
    waiting.add([])
    assert _budgets(pool) == [5.0, 20.0, 1.0]  # a chain's first solve before any other
    waiting.landed()
    waiting.add([Step(5, 12.0, ())])
    waiting.landed()
    waiting.add([])
    assert _budgets(pool) == [5.0, 20.0, 1.0, 30.0, 12.0] and len(waiting) == 1


def test_a_solve_gets_the_time_share_it_would_have_had_queued_in_the_pool() -> None:
    made: list[float] = []

    def make(step: Step, cap: float) -> Task:
        made.append(cap)
        return _make(step, cap)

    deadline = time.time() + 100.0
    waiting = Waiting(_Pool(slots=2), deadline, make)
    waiting.add([Step(i, float(i), (), first=True) for i in range(6)])
    # Six waiting on two slots: three rounds, a third of the time each (as the pool's own
    # share would be with all six queued), not all of it.
    expected = time_share(deadline, time.time(), 6, 2)
    assert expected is not None
    assert made[0] == pytest.approx(expected, abs=0.5) and made[0] < 40.0
    assert made[1] == pytest.approx(expected, abs=0.5)
    late = Waiting(_Pool(slots=2), time.time() - 1.0, make)
    late.add([Step(0, 1.0, ())])
    assert made[-1] == 0.0  # the deadline passed: the pool reports it not run
    unlimited = Waiting(_Pool(slots=2), None, make)
    unlimited.add([Step(0, 1.0, ())])
    assert made[-1] == float("inf")


# -- the order changes nothing but the time --------------------------------------

ORDERS: dict[str, Callable[[Step], tuple[float, ...]]] = {
    "urgency": queue.urgency,
    "as asked": lambda step: (0.0,),  # the order the chains ask in, as a plain queue runs
    "lowest budget first": lambda step: (step.budget,),
}


def _run_in_order(
    monkeypatch: pytest.MonkeyPatch,
    order: str,
    sc: Scenario,
    journal: Path,
    workers: int = 1,
    resume: bool = False,
) -> dict:
    monkeypatch.setattr(queue, "urgency", ORDERS[order])
    top = sum(o.cost for o in sc.options)
    return frontier_of(
        sc,
        max_budget=top,
        pool=PoolOptions(workers=workers, resume=resume),
        journal=journal,
        fingerprint="test",
    )


def _keys(journal: Path) -> set[str]:
    lines = journal.read_text(encoding="utf-8").splitlines()[1:]
    return {json.loads(line)["key"] for line in lines}


@pytest.mark.parametrize(("seed", "n_options", "n_offers"), [(57, 10, 3), (34, 12, 3), (59, 12, 0)])
def test_any_order_gives_the_same_document_and_the_same_solve_keys(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, seed: int, n_options: int, n_offers: int
) -> None:
    sc = random_scenario(seed, n_options=n_options, n_offers=n_offers, plans=1)
    documents, keys = {}, {}
    for order in ORDERS:
        journal = tmp_path / f"{order}.jsonl"
        documents[order] = _run_in_order(monkeypatch, order, sc, journal)
        keys[order] = _keys(journal)
    reference = documents["as asked"]
    assert reference["complete"] and len(reference["points"]) > 3
    assert all(document == reference for document in documents.values())
    assert all(k == keys["as asked"] for k in keys.values())


def test_two_workers_make_the_solves_one_makes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sc = random_scenario(57, n_options=10, n_offers=3, plans=1)
    one = _run_in_order(monkeypatch, "urgency", sc, tmp_path / "one.jsonl")
    two = _run_in_order(monkeypatch, "urgency", sc, tmp_path / "two.jsonl", workers=2)
    assert one == two and one["complete"]
    assert _keys(tmp_path / "one.jsonl") == _keys(tmp_path / "two.jsonl")


def test_a_journal_written_in_one_order_resumes_whole_in_another(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The keys name the same solves whatever the order: a journal written by chains
    run as they asked (the frontier's order before it had a queue of its own) replays
    every solve of a rerun in the queue's order."""
    sc = random_scenario(14, n_options=9, n_offers=2, plans=1)
    journal = tmp_path / JOURNAL
    first = _run_in_order(monkeypatch, "as asked", sc, journal)
    seen: list[BatchStatus] = []
    monkeypatch.setattr(queue, "urgency", ORDERS["urgency"])
    again = frontier_of(
        sc,
        max_budget=sum(o.cost for o in sc.options),
        pool=PoolOptions(workers=1, resume=True),
        journal=journal,
        fingerprint="test",
        progress=seen.append,
    )
    assert again == first
    assert seen[-1].done == seen[-1].resumed > 0
