"""The frontier's solves on a worker's budget chain (`planner.solving.budget_chain`).

Each point of the frontier must still be what a cold `planner.solve` at its net spend
gives; a worker keeps one chain per scenario; a chain's step into the slice below is
told that slice's proven first reach, and a solve that reaches no more ends the chain
without changing the document.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from scenario_builders import random_scenario, tiny_scenario

import planner
import planner.whatif.frontier as frontier
from planner.engine import Outcome, PoolOptions
from planner.whatif.frontier import _Frontier, frontier_of, slices_of, solve_point, task_key
from planner.whatif.frontier_queue import Step
from planner.workbook.variants import open_workbook

TOL = 1e-6
EXAMPLE = Path(__file__).resolve().parents[2] / "inputs" / "example.xlsx"


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= TOL * max(1.0, abs(a), abs(b))


def test_every_point_of_the_example_frontier_is_the_cold_solve_at_its_spend() -> None:
    base = open_workbook(EXAMPLE).load()
    document = frontier_of(base, max_budget=12.0, pool=PoolOptions(workers=1))
    assert document["complete"]
    assert len(document["points"]) >= 5
    for point in document["points"]:
        cold = planner.solve(base.with_settings(budget=point["net_spend"]), plans=1, threads=1)
        plan = cold.plans[0]
        assert _close(plan.weighted_reach, point["weighted_reach"]), point
        assert _close(plan.net_spend, point["net_spend"]), point
        assert point["proven_optimal"] and plan.proven_optimal


def test_a_worker_keeps_one_chain_per_scenario() -> None:
    frontier._CHAINS.clear()
    sc = random_scenario(57, n_options=10, n_offers=3, plans=1)
    first = solve_point(sc, 60.0, (), 30.0)
    (chain,) = frontier._CHAINS.values()
    again = solve_point(sc.with_settings(budget=1.0), 40.0, tuple(first["options"]), 30.0)
    assert frontier._CHAINS.values() == [chain]  # the budget setting is not the key
    assert chain.rebuilt == 1 and again["weighted_reach"] <= first["weighted_reach"]
    for seed in (1, 2, 3):
        solve_point(random_scenario(seed, n_options=6, plans=1), 30.0, (), 30.0)
    assert len(frontier._CHAINS) == frontier._CHAINS.kept
    frontier._CHAINS.clear()


def _outcome(part: int, budget: float, value: dict) -> Outcome:
    return Outcome(f"slice {part}: budget={budget!r}", f"budget={budget}", value, None, 0.0, False)


def _record(budget: float, spend: float, reach: float, proven: bool = True) -> dict:
    return {
        "budget": budget,
        "status": "optimal" if proven else "feasible",
        "net_spend": spend,
        "weighted_reach": reach,
        "options": ["O1"],
        "offers": [],
        "proven_optimal": proven,
    }


def _known(state: _Frontier, step: Step) -> float | None:
    run = state.task(step).run
    assert isinstance(run, functools.partial)
    known: float | None = run.keywords["reach_known"]
    return known


def test_a_solve_is_told_the_proven_first_reach_of_the_slice_below() -> None:
    state = _Frontier(tiny_scenario(), 80.0)
    parts = {p.index: p for p in slices_of(80.0)}
    tops = {step.slice: step for step in state.first_steps()}
    assert all(_known(state, step) is None for step in tops.values())  # nothing known yet
    # Slice 3 (30, 40]: its first point, proven. Slice 4 (40, 50] walks down from 50.
    state.arrived(_outcome(3, 40.0, _record(40.0, 35.0, 9.0)))
    follow = state.arrived(_outcome(4, 50.0, _record(50.0, 45.0, 12.0)))
    assert follow is not None and state.task(follow).key == task_key(parts[4], 45.0 - 45e-6)
    assert _known(state, follow) == 9.0
    assert _known(state, tops[4]) == 9.0  # decided when the solve goes out, tops too
    # A slice whose neighbour below has no proven first point is told nothing.
    state.arrived(_outcome(5, 60.0, _record(60.0, 55.0, 14.0, proven=False)))
    follow = state.arrived(_outcome(6, 70.0, _record(70.0, 65.0, 15.0)))
    assert follow is not None and _known(state, follow) is None
    # Slice 0 has no slice below.
    assert _known(state, tops[0]) is None


def test_a_slice_whose_top_repeats_passes_the_reach_below_it_on() -> None:
    """An empty slice between two others: the one above is told the reach below it."""
    state = _Frontier(tiny_scenario(), 80.0)
    state.arrived(_outcome(3, 40.0, _record(40.0, 35.0, 9.0)))
    repeated = {"budget": 50.0, "status": "optimal", "repeats": True}
    assert state.arrived(_outcome(4, 50.0, repeated)) is None
    assert state.chains[4].ended == "end" and state.found[-1].slice == 3
    follow = state.arrived(_outcome(5, 60.0, _record(60.0, 55.0, 14.0)))
    assert follow is not None and _known(state, follow) == 9.0


def test_a_repeated_point_ends_the_chain_and_leaves_the_frontier_complete() -> None:
    state = _Frontier(tiny_scenario(), 8.0)
    budget = 7.0 - 7e-6
    assert (
        state.arrived(_outcome(7, budget, {"budget": budget, "status": "optimal", "repeats": True}))
        is None
    )
    assert state.chains[7].ended == "end"
    assert state.found == [] and state.unproven == 0


def test_the_frontier_is_the_same_with_or_without_the_known_reach(tmp_path: Path) -> None:
    """Telling a step the slice below's reach only saves time: with it switched off (the
    slice below never known) the document is the same, point for point."""
    sc = random_scenario(34, n_options=12, n_offers=3, plans=1)
    top = sum(o.cost for o in sc.options)
    journal = tmp_path / "journal.jsonl"
    told = frontier_of(sc, max_budget=top, pool=PoolOptions(workers=1), journal=journal)
    records = [json.loads(line) for line in journal.read_text().splitlines()[1:]]
    assert any((r["value"] or {}).get("repeats") for r in records)  # some solve was spared
    original = _Frontier.arrived

    def forgetting(self: _Frontier, outcome: Outcome) -> object:
        follow = original(self, outcome)
        self.tops.clear()
        return follow

    _Frontier.arrived = forgetting  # type: ignore[assignment,method-assign]
    try:
        untold = frontier_of(sc, max_budget=top, pool=PoolOptions(workers=1))
    finally:
        _Frontier.arrived = original  # type: ignore[method-assign]
    assert told == untold
    assert told["complete"] and len(told["points"]) > 3
