"""The reach–budget frontier (SPEC §8) against brute force, and how it stops.

The brute force enumerates every option set that meets every SPEC §3 rule but
the budget, each with its least net spend (the co-financing max-flow of
`tests/model/test_model_bruteforce.py`, over every choice of offers), and keeps
the non-dominated (net spend, weighted reach) pairs with positive reach and net
spend at most B: exactly what `planner frontier` must return, point for point.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import replace
from pathlib import Path

import pytest
from model.test_model_bruteforce import enumerate_plans
from scenario_builders import random_scenario, tiny_scenario

from planner.engine import NOT_RUN, BatchStatus, Outcome, PoolOptions
from planner.errors import InputError
from planner.reports.frontier_files import ladder, step_corners, write_frontier
from planner.scenario.data import Scenario
from planner.whatif.frontier import (
    JOURNAL,
    SCHEMA,
    SLICES,
    Found,
    _Frontier,
    frontier_of,
    merge_points,
    next_budget,
    run_frontier,
    slices_of,
    task_key,
)
from planner.workbook.variants import open_workbook

TOL = 1e-6
EXAMPLE = Path(__file__).resolve().parents[2] / "inputs" / "example.xlsx"


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= TOL * max(1.0, abs(a), abs(b))


def brute_force_frontier(sc: Scenario, max_budget: float) -> list[tuple[float, float]]:
    """Non-dominated (least net spend, weighted reach) of every option set meeting every
    rule but the budget, with reach > 0 and net spend ≤ B, ascending net spend."""
    unbudgeted = replace(sc, settings=replace(sc.settings, budget=math.inf))
    pairs = [
        (net, reach)
        for _options, reach, net in enumerate_plans(unbudgeted)
        if reach > TOL and net <= max_budget + TOL * max(1.0, max_budget)
    ]
    pairs.sort(key=lambda p: (p[0], -p[1]))
    frontier: list[tuple[float, float]] = []
    for net, reach in pairs:
        if frontier and (reach <= frontier[-1][1] or _close(reach, frontier[-1][1])):
            continue  # spends no less, reaches no more
        if frontier and _close(net, frontier[-1][0]):
            frontier.pop()  # same spend, more reach
        frontier.append((net, reach))
    return frontier


def _run(sc: Scenario, max_budget: float, workers: int = 1, **options: object) -> dict:
    return frontier_of(sc, max_budget=max_budget, pool=PoolOptions(workers=workers), **options)  # type: ignore[arg-type]


def _pairs(document: dict) -> list[tuple[float, float]]:
    return [(p["net_spend"], p["weighted_reach"]) for p in document["points"]]


def _assert_on_frontier(document: dict, sc: Scenario, expected: list[tuple[float, float]]) -> None:
    """Every point is a true frontier point, with a plan of those figures."""
    plans = {
        frozenset(options): (reach, net)
        for options, reach, net in enumerate_plans(
            replace(sc, settings=replace(sc.settings, budget=math.inf))
        )
    }
    for point in document["points"]:
        spend, reach = point["net_spend"], point["weighted_reach"]
        assert any(_close(spend, s) and _close(reach, r) for s, r in expected), point
        found = plans[frozenset(point["options"])]
        assert _close(found[0], reach) and _close(found[1], spend), (point, found)


CASES = [
    # (seed, options, offers): with and without co-financing offers, up to 12 options,
    # frontiers of 2 to 13 points.
    (59, 12, 0),
    (38, 11, 0),
    (25, 8, 0),
    (12, 10, 0),
    (37, 10, 1),
    (24, 12, 1),
    (57, 10, 2),
    (40, 8, 2),
    (16, 12, 2),
    (34, 12, 3),
    (26, 9, 3),
]


@pytest.mark.parametrize(("seed", "n_options", "n_offers"), CASES)
def test_the_frontier_is_the_brute_force_frontier(seed: int, n_options: int, n_offers: int) -> None:
    sc = random_scenario(seed, n_options=n_options, n_offers=n_offers, plans=1)
    top = sum(o.cost for o in sc.options)  # every plan's gross spend fits: the whole frontier
    document = _run(sc, top)
    expected = brute_force_frontier(sc, top)
    assert document["schema"] == SCHEMA and document["complete"] and document["message"] == ""
    got = _pairs(document)
    assert len(got) == len(expected), (got, expected)
    for (spend, reach), (want_spend, want_reach) in zip(got, expected, strict=True):
        assert _close(spend, want_spend) and _close(reach, want_reach), (got, expected)
    assert all(p["proven_optimal"] for p in document["points"])
    assert all(p["options"] == sorted(p["options"]) for p in document["points"])
    _assert_on_frontier(document, sc, expected)


def test_max_budget_below_the_budget_setting_and_decisions() -> None:
    """B cuts the frontier at B, whatever the budget setting; `must` and `never` hold."""
    sc = random_scenario(21, n_options=11, n_offers=2, plans=1)
    options = list(sc.options)
    options[0] = replace(options[0], decision="must")
    options[1] = replace(options[1], decision="never")
    sc = replace(sc, options=tuple(options))
    top = 0.6 * sum(o.cost for o in sc.options)
    document = _run(sc, top)
    expected = brute_force_frontier(sc, top)
    assert document["complete"]
    assert len(_pairs(document)) == len(expected)
    assert all(s <= top + TOL for s, _ in _pairs(document))
    _assert_on_frontier(document, sc, expected)
    assert all(options[0].option_id in p["options"] for p in document["points"])


def test_the_tiny_frontier_by_hand() -> None:
    """O2 (10, 2·8), {O1, O2} (20, 21), {O2, O3} (25, 24), all three (35, 29)."""
    document = _run(tiny_scenario(), 40.0)
    assert _pairs(document) == [(10.0, 16.0), (20.0, 21.0), (25.0, 24.0), (35.0, 29.0)]
    assert [p["options"] for p in document["points"]] == [
        ["O2"],
        ["O1", "O2"],
        ["O2", "O3"],
        ["O1", "O2", "O3"],
    ]
    assert document["max_budget"] == 40.0


def test_one_or_two_workers_give_the_same_document() -> None:
    sc = random_scenario(57, n_options=10, n_offers=3, plans=1)
    top = sum(o.cost for o in sc.options)
    one = _run(sc, top, workers=1)
    assert len(one["points"]) > SLICES  # chains of several points in several slices
    assert one == _run(sc, top, workers=2)


def test_points_stops_early_with_true_frontier_points() -> None:
    sc = random_scenario(59, n_options=12, n_offers=0, plans=1)
    top = sum(o.cost for o in sc.options)
    expected = brute_force_frontier(sc, top)
    assert len(expected) > 3
    document = _run(sc, top, points=3)
    assert not document["complete"]
    assert "--points" in document["message"]
    assert len(document["points"]) == 3
    spends = [p["net_spend"] for p in document["points"]]
    assert spends == sorted(spends)
    _assert_on_frontier(document, sc, expected)


def test_points_above_the_frontier_size_leave_it_complete() -> None:
    document = _run(tiny_scenario(), 40.0, points=4 + 6)
    assert document["complete"] and len(document["points"]) == 4


def test_a_time_limit_that_ends_first_leaves_it_incomplete() -> None:
    sc = random_scenario(13, n_options=12, n_offers=0, plans=1)
    document = _run(sc, 100.0, deadline=time.time() - 1.0)
    assert not document["complete"]
    assert document["points"] == []
    assert "time limit" in document["message"]


def test_resume_replays_every_solve_from_the_journal(tmp_path: Path) -> None:
    sc = random_scenario(14, n_options=9, n_offers=2, plans=1)
    top = sum(o.cost for o in sc.options)
    journal = tmp_path / JOURNAL
    first = _run(sc, top, journal=journal, fingerprint="test")
    seen: list[BatchStatus] = []
    again = frontier_of(
        sc,
        max_budget=top,
        pool=PoolOptions(workers=1, resume=True),
        journal=journal,
        fingerprint="test",
        progress=seen.append,
    )
    assert again == first
    assert seen[-1].done == seen[-1].resumed > 0


# -- the command's entry, on the bundled example ---------------------------------


def test_bad_options_are_input_errors_located_as_typed(tmp_path: Path) -> None:
    workbook = open_workbook(EXAMPLE)
    with pytest.raises(InputError) as caught:
        run_frontier(
            workbook,
            scenario=None,
            sets=[("min_partner_trust", "300")],
            max_budget=-5.0,
            points=0,
            time_limit=None,
            out=tmp_path / "out",
            pool=PoolOptions(workers=1),
            progress=None,
        )
    where = sorted(p.where() for p in caught.value.problems)
    assert where == [
        "command line --max-budget",
        "command line --points",
        "command line --set min_partner_trust",
    ]
    assert not (tmp_path / "out").exists()  # nothing was solved, nothing written


def test_the_example_frontier_starts_at_its_budget(tmp_path: Path) -> None:
    """The command's entry: B defaults to the budget setting; the top point is plan 1 of a
    plain solve; the journal is written in `out`."""
    import planner

    workbook = open_workbook(EXAMPLE)
    document = run_frontier(
        workbook,
        scenario=None,
        sets=[("budget", "30")],
        max_budget=None,
        points=2,
        time_limit=60.0,
        out=tmp_path,
        pool=PoolOptions(workers=1),
        progress=None,
    )
    assert document["max_budget"] == 30.0
    assert document["fixed"] == {"budget": "30"}
    assert document["sha256"] == workbook.sha256
    assert (tmp_path / JOURNAL).exists()
    best = planner.solve(workbook.load(None, [("budget", "30")]), plans=1).plans[0]
    top = document["points"][-1]
    assert _close(top["weighted_reach"], best.weighted_reach)
    assert _close(top["net_spend"], best.net_spend)


def test_the_command_time_limit_ends_a_long_frontier(tmp_path: Path) -> None:
    """The example's frontier up to 120 has over a hundred points: 3 s ends it early,
    every point returned still a verified plan, the command within its limit (each solve
    gets at least the engine's one-second share)."""
    began = time.monotonic()
    document = run_frontier(
        open_workbook(EXAMPLE),
        scenario=None,
        sets=[],
        max_budget=None,
        points=None,
        time_limit=3.0,
        out=tmp_path,
        pool=PoolOptions(workers=1),
        progress=None,
    )
    assert time.monotonic() - began < 3.0 + 6.0
    assert not document["complete"]
    assert "time limit" in document["message"]
    assert len(document["points"]) < 100


# -- the parts without solves ------------------------------------------------------


def test_slices_cover_zero_to_b_top_first() -> None:
    parts = slices_of(80.0)
    assert len(parts) == SLICES
    assert parts[0].top == 80.0 and parts[-1].bottom == 0.0
    for upper, lower in itertools.pairwise(parts):
        assert upper.bottom == lower.top  # the same float: no budget falls between
    assert [(p.bottom, p.top) for p in slices_of(0.0)] == [(0.0, 0.0)]  # B = 0: one slice


def test_next_budget_is_just_below_the_spend_and_below_the_budget() -> None:
    assert next_budget(100.0, 50.0) == 50.0 - 50.0 * 1e-6
    assert next_budget(100.0, 0.5) == 0.5 - 1e-6
    assert next_budget(40.0, 40.0 + 1e-9) == 40.0 - 40.0 * 1e-6  # spend past b by rounding
    assert next_budget(10.0, 0.0) < 0


def _found(spend: float, reach: float, proven: bool = True, part: int = 0, step: int = 0) -> Found:
    return Found(spend, reach, (f"S{spend}",), (), proven, part, step)


def test_merge_removes_duplicates_and_dominated_points() -> None:
    points = [
        _found(10.0, 5.0, part=3),
        _found(10.0 + 1e-7, 5.0, part=1),  # equal to the first: the lower slice stays
        _found(12.0, 5.0),  # same reach, more spend: dominated
        _found(15.0, 4.0),  # less reach, more spend: dominated
        _found(20.0, 9.0, proven=False, part=0),
        _found(20.0, 9.0 + 1e-8, part=5),  # equal: the proven one stays
        _found(20.0 + 1e-9, 9.5),  # same spend, more reach: dominates both
        _found(5.0, 1.0),
    ]
    merged = merge_points(points)
    assert [(p.net_spend, p.weighted_reach, p.slice) for p in merged] == [
        (5.0, 1.0, 0),
        (10.0 + 1e-7, 5.0, 1),
        (20.0 + 1e-9, 9.5, 0),
    ]
    assert merge_points(points[4:6]) == [points[5]]


def _outcome(part: int, budget: float, value: dict | None, error: str | None = None) -> Outcome:
    key = f"slice {part}: budget={budget!r}"
    return Outcome(key, f"budget={budget}", value, error, 0.0, resumed=False)


def test_a_chain_walks_down_its_slice_and_stops_at_its_bottom() -> None:
    frontier = _Frontier(tiny_scenario(), 80.0)
    (top, *_rest) = frontier.first_steps()
    assert frontier.task(top).key == task_key(slices_of(80.0)[0], 80.0)
    record = {"budget": 80.0, "status": "optimal", "net_spend": 75.0, "weighted_reach": 9.0}
    record |= {"options": ["A", "B"], "offers": [], "proven_optimal": True}
    follow = frontier.arrived(_outcome(7, 80.0, record))
    assert follow is not None and not follow.first
    assert frontier.task(follow).key == task_key(slices_of(80.0)[0], 75.0 - 75e-6)
    assert follow.start == ("A", "B")  # the warm start
    low = {**record, "budget": 75.0 - 75e-6, "net_spend": 70.0, "proven_optimal": False}
    assert frontier.arrived(_outcome(7, 75.0 - 75e-6, low)) is None  # 70 ≤ bottom 70
    assert frontier.chains[7].ended == "end"
    assert [p.proven_optimal for p in frontier.found] == [True, False]
    assert not frontier.complete  # an unproven point, and the other chains never ran


def test_infeasible_ends_a_chain_and_not_run_or_failures_leave_it_incomplete() -> None:
    frontier = _Frontier(tiny_scenario(), 8.0)
    frontier.arrived(_outcome(0, 1.0, {"budget": 1.0, "status": "infeasible"}))
    assert frontier.chains[0].ended == "end"
    frontier.arrived(_outcome(1, 2.0, None, NOT_RUN))
    assert frontier.chains[1].ended == "time"
    frontier.arrived(_outcome(2, 3.0, None, "RuntimeError: boom"))
    assert frontier.chains[2].ended == "failed"
    frontier.arrived(_outcome(3, 4.0, {"budget": 4.0, "status": "no_solution"}))
    assert frontier.chains[3].ended == "time"
    assert frontier.failures == ["budget=3.0: RuntimeError: boom"]


# -- frontier.json and frontier.xlsx ------------------------------------------------


def _document() -> dict:
    return {
        "schema": SCHEMA,
        "scenario": "base",
        "max_budget": 40.0,
        "complete": False,
        "message": "Stopped after 3 point(s), as --points asked.",
        "points": [
            {
                "net_spend": 10.0,
                "weighted_reach": 16.0,
                "options": ["=HYPERLINK(1)"],
                "offers": [],
                "proven_optimal": True,
            },
            {
                "net_spend": 20.0,
                "weighted_reach": 21.0,
                "options": ["=HYPERLINK(1)", "O1"],
                "offers": ["C1"],
                "proven_optimal": True,
            },
            {
                "net_spend": 25.0,
                "weighted_reach": 24.0,
                "options": ["O1", "O3"],
                "offers": [],
                "proven_optimal": False,
            },
        ],
        "fixed": {"budget": "40"},
        "workbook": "inputs/x.xlsx",
        "sha256": "ab" * 32,
    }


def test_step_corners_hold_each_reach_up_to_the_next_point() -> None:
    points = _document()["points"]
    assert step_corners(points, 40.0) == [
        (0.0, 0.0),
        (10.0, 0.0),
        (10.0, 16.0),
        (20.0, 16.0),
        (20.0, 21.0),
        (25.0, 21.0),
        (25.0, 24.0),
        (40.0, 24.0),
    ]
    assert step_corners([], 40.0) == []


def test_the_ladder_names_options_entering_and_leaving() -> None:
    steps = ladder(_document()["points"])
    assert [(s["from"], s["to"], s["entering"], s["leaving"]) for s in steps] == [
        (1, 2, ["O1"], []),
        (2, 3, ["O3"], ["=HYPERLINK(1)"]),
    ]
    assert steps[1]["spend_change"] == 5.0 and steps[1]["reach_change"] == 3.0


def test_frontier_files_are_written_whole(tmp_path: Path) -> None:
    import json
    import zipfile

    from openpyxl import load_workbook

    document = _document()
    paths = write_frontier(tmp_path, document)
    assert sorted(p.name for p in paths) == ["frontier.json", "frontier.xlsx"]
    assert json.loads((tmp_path / "frontier.json").read_text(encoding="utf-8")) == document
    book = load_workbook(tmp_path / "frontier.xlsx")
    assert book.sheetnames == ["Chart", "Points", "Ladder", "Run"]
    points = book["Points"]
    assert [c.value for c in points[1]][:4] == [
        "point",
        "net spend",
        "weighted reach",
        "proven optimal",
    ]
    option = points.cell(row=2, column=6)
    assert option.value == "=HYPERLINK(1)" and option.data_type == "s"  # text, not a formula
    assert [points.cell(row=r, column=2).value for r in (2, 3, 4)] == [10.0, 20.0, 25.0]
    ladder_rows = list(book["Ladder"].iter_rows(min_row=2, max_row=3, values_only=True))
    assert ladder_rows[0][6:] == ("O1", None) and ladder_rows[1][6:] == ("O3", "=HYPERLINK(1)")
    with zipfile.ZipFile(tmp_path / "frontier.xlsx") as archive:
        chart = archive.read("xl/charts/chart1.xml").decode()
    assert "<c:scatterChart>" in chart and 'c:scatterStyle val="lineMarker"' in chart
    corners = [
        (r[0], r[1])
        for r in book["Chart"].iter_rows(min_row=2, values_only=True)
        if r[0] is not None
    ]
    assert corners == step_corners(document["points"], 40.0)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".staging")]


def test_a_failed_write_leaves_the_earlier_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import planner.reports.frontier_files as files

    write_frontier(tmp_path, _document())
    before = (tmp_path / "frontier.json").read_text(encoding="utf-8")

    def broken(path: Path, document: dict) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(files, "write_frontier_xlsx", broken)
    changed = {**_document(), "complete": True}
    with pytest.raises(OSError, match="disk full"):
        write_frontier(tmp_path, changed)
    assert (tmp_path / "frontier.json").read_text(encoding="utf-8") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frontier.json", "frontier.xlsx"]


def test_an_empty_frontier_still_writes_both_files(tmp_path: Path) -> None:
    document = {**_document(), "points": [], "complete": True, "message": ""}
    write_frontier(tmp_path, document)
    from openpyxl import load_workbook

    book = load_workbook(tmp_path / "frontier.xlsx")
    assert book["Points"].max_row == 1
