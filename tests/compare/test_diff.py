"""Differences between scenarios: matched by key, exact per column, and each one applied
alone to the first scenario gives the second when it is the only one."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest
from scenario_builders import random_scenario, shuffled_scenario, tiny_scenario

from planner.compare.diff import apply_difference, row_differences, setting_differences
from planner.compare.effects import Interval, chosen_for_effects, narrowed
from planner.errors import InputError


@pytest.mark.parametrize("seed", range(8))
def test_row_order_is_no_difference(seed: int) -> None:
    scenario = random_scenario(seed)
    other = shuffled_scenario(scenario, seed)
    assert setting_differences(scenario, other) == []
    assert row_differences(scenario, other) == []


@pytest.mark.parametrize("seed", range(8))
def test_one_changed_cell_is_named_and_applies_back(seed: int) -> None:
    a = random_scenario(seed)
    rng = random.Random(seed)
    i = rng.randrange(len(a.options))
    options = list(a.options)
    options[i] = replace(options[i], cost=options[i].cost + 7)
    b = replace(a, options=tuple(options))
    [diff] = row_differences(a, b)
    assert diff.record() == {
        "sheet": "Options",
        "key": options[i].option_id,
        "column": "cost",
        "a": a.options[i].cost,
        "b": a.options[i].cost + 7,
    }
    assert diff.size() == 7
    assert apply_difference(a, diff, b) == b


def test_rows_added_and_removed_and_pairs_keyed() -> None:
    a = tiny_scenario()
    removed = a.coverage[0]
    b = replace(a, coverage=a.coverage[1:])
    [diff] = row_differences(a, b)
    assert diff.record()["key"] == [removed.option_id, removed.market_id]
    assert diff.column is None and diff.b is None
    assert "removed" in diff.label()
    assert apply_difference(a, diff, b) == b
    [back] = row_differences(b, a)
    assert "added" in back.label() and apply_difference(b, back, a) == a


def test_a_change_in_the_seventh_digit_shows_in_its_label_and_the_summary() -> None:
    """Labels show every digit a workbook holds: 1234567 → 1234568 is not `1.23457e+06`
    on both sides."""
    from planner.reports.compare_files import compare_summary

    a = tiny_scenario(budget=1234567.0)
    b = a.with_settings(budget=1234568.0)
    [diff] = setting_differences(a, b)
    assert diff.label() == "budget: 1234567 → 1234568"
    document = {
        "a": {"folder": "a"},
        "b": {"folder": "b"},
        "settings": [diff.record()],
        "rows": [],
        "plan": {"a": None, "b": None, "change": {}, "added": [], "removed": []},
    }
    assert "  budget: 1234567 → 1234568" in compare_summary(document).splitlines()
    document["settings"] = [{"setting": f"s{k}", "a": k, "b": k + 1} for k in range(12)]
    shown = compare_summary(document, limit=10)
    assert "s9: 9 → 10" in shown and "s10" not in shown
    assert "... and 2 more settings (compare.json lists them)" in shown


def test_settings_including_infinite_and_blank_values() -> None:
    a = tiny_scenario(budget=20.0, min_average_trust=70.0)
    b = replace(a, settings=replace(a.settings, budget=math.inf, min_average_trust=None))
    budget, trust = setting_differences(a, b)
    assert [budget.record(), trust.record()] == [
        {"setting": "budget", "a": 20.0, "b": "inf"},
        {"setting": "min_average_trust", "a": 70.0, "b": None},
    ]
    assert budget.size() == math.inf and trust.size() is None
    assert apply_difference(a, trust, b).settings.min_average_trust is None
    with pytest.raises(InputError):  # a budget is a finite number: refused as a cell would be
        apply_difference(a, budget, b)


def test_numbers_changed_most_are_estimated_first_and_at_most_twenty() -> None:
    a = random_scenario(3, n_options=30)
    b = replace(
        a,
        options=tuple(replace(o, cost=o.cost + k + 1) for k, o in enumerate(a.options)),
        partners=tuple(replace(p, country="Elsewhere") for p in a.partners),
    )
    chosen = chosen_for_effects(row_differences(a, b))
    assert len(chosen) == 20
    sizes = [d.size() for d in chosen]
    assert None not in sizes
    assert sizes == sorted((x or 0.0 for x in sizes), reverse=True)
    assert chosen[0].size() == 30


def test_a_solve_narrows_the_interval_and_never_widens_it() -> None:
    start = Interval(3.0, 10.0)
    proven = {"status": "optimal", "weighted_reach": 7.0, "bound": 7.0, "proven_optimal": True}
    assert narrowed(start, proven) == (Interval(7.0, 7.0), "optimal")
    cut = {"status": "feasible", "weighted_reach": 2.0, "bound": 12.0, "proven_optimal": False}
    assert narrowed(start, cut) == (Interval(3.0, 10.0), "feasible")
    none = {"status": "no_solution", "weighted_reach": None, "bound": None}
    assert narrowed(start, none) == (start, "no_solution")
    assert narrowed(start, {"status": "infeasible"}) == (Interval(0.0, 0.0), "infeasible")
