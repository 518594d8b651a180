"""How the explanations' time is shared: plan 1's own questions (marginal values, offers,
limits) first, the replacement costs with what they leave (`explain.time_share`)."""

from __future__ import annotations

import math

import pytest
from scenario_builders import tiny_scenario

from planner.explain.explain import MIN_SHARE_S, time_share
from planner.explain.questions import Question


def _question(kind: str, subject: str) -> Question:
    return Question(kind, subject, tiny_scenario(), (), 0.0, 1.0)  # type: ignore[arg-type]


def test_plan_1s_questions_share_the_time_among_themselves() -> None:
    firsts = [_question("marginal", f"O{i}") for i in range(3)] + [_question("limit", "budget")]
    replacements = [_question("replacement", f"R{i}") for i in range(100)]
    q = _question("offer", "C1")
    share = time_share(q, [*firsts, *replacements], left=60.0, slots=2)
    assert share == pytest.approx(60.0 / math.ceil(5 / 2))  # 5 of the first tier: 3 rounds
    late = time_share(replacements[0], [*firsts, *replacements[1:]], left=60.0, slots=2)
    assert late == pytest.approx(60.0 / math.ceil(104 / 2))


def test_a_share_is_never_below_the_floor() -> None:
    many = [_question("marginal", f"O{i}") for i in range(1000)]
    assert time_share(many[0], many[1:], left=5.0, slots=2) == MIN_SHARE_S
