"""`--vary NAME=VALUES`: lists, ranges (float steps, descending, stop hit or not),
the cartesian product with the first option slowest, and every malformed form
reported at `--vary` as typed."""

from __future__ import annotations

import pytest

from planner.errors import InputError
from planner.whatif.grid import (
    FORM,
    MAX_POINTS,
    grid_points,
    parse_varies,
    parse_vary,
    split_varies,
    value_text,
)


def values(typed: str) -> tuple[object, ...]:
    vary, problems = parse_vary(typed)
    assert not problems, problems
    assert vary is not None
    return vary.values


def problem(typed: str) -> str:
    vary, problems = parse_vary(typed)
    assert vary is None and len(problems) == 1
    assert problems[0].sheet == "--vary" and problems[0].value == typed
    return str(problems[0])


def test_a_list_of_numbers_and_text_keeps_its_order() -> None:
    assert values("budget=120,80, 100") == (120, 80, 100)
    assert values("max_foreign_share=0.2,0.35") == (0.2, 0.35)
    assert values("CoFinancing[C-EU].decision=must,never,") == ("must", "never", None)


def test_whole_numbers_are_int_so_documents_show_120_not_120_0() -> None:
    (v,) = values("budget=120.0")
    assert v == 120 and isinstance(v, int)
    assert value_text(v) == "120"


def test_a_blank_item_is_the_default() -> None:
    assert values("min_average_trust=,70") == (None, 70)
    assert value_text(None) == ""


def test_a_range_includes_stop_when_hit() -> None:
    assert values("budget=40:200:40") == (40, 80, 120, 160, 200)
    assert values("budget=40:190:40") == (40, 80, 120, 160)


def test_float_steps_have_no_float_noise() -> None:
    got = values("max_foreign_share=0.1:0.5:0.1")
    assert got == (0.1, 0.2, 0.3, 0.4, 0.5)
    assert [value_text(v) for v in got] == ["0.1", "0.2", "0.3", "0.4", "0.5"]
    assert values("x=0.05:0.3:0.1") == (0.05, 0.15, 0.25)
    assert values("x=0:1:0.25") == (0, 0.25, 0.5, 0.75, 1)


def test_stop_is_hit_within_a_relative_tolerance() -> None:
    # 0.3 / 0.1 is 2.9999999999999996 in floats: stop still counts as hit.
    assert values("x=0:0.3:0.1") == (0, 0.1, 0.2, 0.3)
    assert values("x=0:0.7:0.1")[-1] == 0.7


def test_descending_ranges_take_negative_steps() -> None:
    assert values("budget=200:100:-50") == (200, 150, 100)
    assert values("x=1:0:-0.25") == (1, 0.75, 0.5, 0.25, 0)


def test_a_range_of_one_value() -> None:
    assert values("budget=5:5:1") == (5,)


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("budget", "NAME=VALUES"),
        ("=1,2", "NAME=VALUES"),
        ("budget=", "NAME=VALUES"),
        ("budget=1:2", "three numbers"),
        ("budget=a:b:1", "three numbers"),
        ("budget=1:2:0", "not 0"),
        ("budget=1:2:-1", "same sign"),
        ("budget=2:1:1", "same sign"),
        ("budget=0:1e9:1", "at most 10,000"),
        ("budget=0:1:1e-300", "at most 10,000"),
        ("budget=1,1.0", "each value once"),
    ],
)
def test_malformed_options_are_located_at_vary_with_the_text_typed(typed: str, words: str) -> None:
    message = problem(typed)
    assert message.startswith(f"command line --vary: found {typed!r}"), message
    assert words in message


def test_the_product_varies_the_first_option_slowest() -> None:
    varies = parse_varies(["budget=80,120", "max_foreign_share=0.3:0.5:0.1"])
    points = list(grid_points(varies))
    assert [p.settings for p in points] == [
        (("budget", 80), ("max_foreign_share", 0.3)),
        (("budget", 80), ("max_foreign_share", 0.4)),
        (("budget", 80), ("max_foreign_share", 0.5)),
        (("budget", 120), ("max_foreign_share", 0.3)),
        (("budget", 120), ("max_foreign_share", 0.4)),
        (("budget", 120), ("max_foreign_share", 0.5)),
    ]
    assert points[1].label == "budget=80, max_foreign_share=0.4"
    assert points[1].overrides() == [("budget", "80"), ("max_foreign_share", "0.4")]


def test_every_problem_of_every_option_is_reported_at_once() -> None:
    with pytest.raises(InputError) as caught:
        parse_varies(["budget=1:2", "max_foreign_share=0.3", "Budget=4,5", "plans"])
    found = [str(p) for p in caught.value.problems]
    assert len(found) == 3, found
    assert any("'budget=1:2'" in p for p in found)
    assert any("'Budget=4,5'" in p and "varied once" in p for p in found)
    assert any("'plans'" in p for p in found)


def test_a_grid_too_large_is_refused_with_its_size() -> None:
    with pytest.raises(InputError, match="problem") as caught:
        parse_varies(["budget=1:200:1", "min_average_trust=0:100:1"])
    (only,) = caught.value.problems
    assert f"at most {MAX_POINTS:,} points" in str(only)
    assert "20,200" in str(only)


def test_at_least_one_vary_is_needed() -> None:
    with pytest.raises(InputError) as caught:
        parse_varies([])
    assert "--vary" in str(caught.value.problems[0])


def test_split_keeps_equals_signs_in_values() -> None:
    assert split_varies(["Options[A=1].name=x=y"]) == ([("Options[A=1].name", "x=y")], [])
    assert split_varies(["budget = 1,2"]) == ([("budget", " 1,2")], [])
    pairs, problems = split_varies(["budget", "plans=1"])
    assert pairs == [("plans", "1")]
    assert [str(p) for p in problems] == [f"command line --vary: found 'budget'; expected {FORM}"]
