"""Nothing can reach a weighted market: what the pre-solve check proves, the solve
confirms and the diagnosis explains in the same words (SPEC §4, issue 13).

The pre-solve conflict must be exact in one direction: claimed only when no plan
exists. Random scenarios with trust floors pushed up test that against HiGHS;
hand-made ones pin the diagnosis's words and the change it suggests.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from scenario_builders import random_scenario, tiny_scenario

from planner.checks.precheck import check_before_solve
from planner.plan import RunStatus
from planner.scenario.data import Layer, Rule, Scenario
from planner.solving.diagnose import (
    NO_REACH_LEAD,
    NOTHING_REACHED,
    apply_changes,
    diagnose_infeasibility,
)
from planner.solving.ranking import rank_plans


def _floor(sc: Scenario, value: float) -> Scenario:
    return replace(sc, settings=replace(sc.settings, min_partner_trust=value))


@pytest.mark.parametrize("seed", range(24))
def test_the_presolve_claim_holds_and_the_solve_says_the_same(seed: int) -> None:
    base = random_scenario(seed, n_options=8, n_markets=3)
    base = replace(base, settings=replace(base.settings, plans=1, time_limit_s=20.0))
    # A floor between partners' trusts screens some options out, or all of them.
    trusts = sorted({p.trust for p in base.partners})
    sc = _floor(base, trusts[seed % len(trusts)] + 0.5)
    found = check_before_solve(sc)
    result = rank_plans(sc)
    if result.plans:
        assert found.conflicts == (), found.conflicts  # never claimed where a plan exists
    if found.unreachable is not None:
        assert result.status == RunStatus.INFEASIBLE
        assert result.diagnosis is not None
        assert found.unreachable.conflict in result.diagnosis  # validate's words
        if found.unreachable.floors:
            # The floor suggested lets some option reach a weighted market.
            lowered = _floor(sc, found.unreachable.floors[0].suggested)
            assert check_before_solve(lowered).unreachable is None


def _all_screened() -> Scenario:
    # Partners' trusts are 80 (O1, O3) and 60 (O2).
    return tiny_scenario(budget=20.0, min_partner_trust=90.0)


def test_every_option_screened_is_diagnosed_with_the_floor_to_lower() -> None:
    sc = _all_screened()
    result = rank_plans(sc)
    assert result.status == RunStatus.INFEASIBLE
    conflict = (
        "all 3 options are screened out: 3 by min_partner_trust 90 (the most trusted of their "
        "partners has trust 80); lowering min_partner_trust to 80 lets options reach weighted "
        "markets"
    )
    assert check_before_solve(sc).conflicts == (conflict,)
    assert result.diagnosis == (
        f"{NO_REACH_LEAD} Found before solving: {conflict}. Re-solving with that change "
        "(lower min_partner_trust from 90 to 80) finds a plan."
    )
    assert result.message == (
        f"Infeasible: {NOTHING_REACHED}; all 3 options are screened out: 3 by min_partner_trust "
        "90 (the most trusted of their partners has trust 80); lower min_partner_trust from 90 "
        "to 80."
    )
    diagnosis = diagnose_infeasibility(sc, nothing_reached=True)
    assert diagnosis.confirmed
    assert [(c.limit, c.suggested) for c in diagnosis.changes] == [("min_partner_trust", 80.0)]
    assert rank_plans(apply_changes(sc, diagnosis.changes)).plans


def test_a_layer_floor_is_lowered_and_confirmed() -> None:
    sc = replace(tiny_scenario(budget=20.0), layers=(Layer("cloud", 90.0), Layer("model", 90.0)))
    diagnosis = diagnose_infeasibility(sc, nothing_reached=True)
    assert diagnosis.confirmed, diagnosis.text
    changes = {c.limit: c.suggested for c in diagnosis.changes}
    assert changes in ({"layer_min_trust[cloud]": 80.0}, {"layer_min_trust[model]": 80.0})
    assert rank_plans(apply_changes(sc, diagnosis.changes)).plans


def test_when_the_lowered_floor_is_not_enough_the_rest_is_diagnosed_too() -> None:
    # With the floor at 80 only O1 and O3 (cost 10 and 15) come back; budget 5 buys neither.
    sc = tiny_scenario(budget=5.0, min_partner_trust=90.0)
    result = rank_plans(sc)
    assert result.status == RunStatus.INFEASIBLE
    diagnosis = diagnose_infeasibility(sc, nothing_reached=True)
    assert diagnosis.confirmed, diagnosis.text
    assert {c.limit: c.suggested for c in diagnosis.changes} == {
        "min_partner_trust": 80.0,
        "budget": 10.0,
    }
    assert diagnosis.text.count(NO_REACH_LEAD) == 1
    assert (
        "With that change (lower min_partner_trust from 90 to 80), re-solving still finds no plan."
        in diagnosis.text
    )
    assert "raise budget from 5 to 10" in diagnosis.text
    assert rank_plans(apply_changes(sc, diagnosis.changes)).plans


def _sentences_well_formed(text: str) -> None:
    assert text[:1].isupper(), text
    assert text.endswith("."), text
    assert not re.search(r"\.[A-Za-z]", text), text  # no two sentences run together


@pytest.mark.parametrize(
    "sc",
    [
        _all_screened(),
        tiny_scenario(budget=5.0),  # nothing affordable: found by the solve
        tiny_scenario(budget=5.0, min_partner_trust=90.0),
        replace(
            tiny_scenario(),
            options=tuple(replace(o, decision="must") for o in tiny_scenario().options),
            rules=(Rule("excludes", "O1", "O2"),),
        ),
        replace(
            tiny_scenario(budget=15.0),
            options=tuple(replace(o, decision="must") for o in tiny_scenario().options),
        ),
    ],
    ids=["screened", "budget", "screened-and-budget", "must-excludes", "must-over-budget"],
)
def test_message_and_diagnosis_tell_one_story_in_sentences(sc: Scenario) -> None:
    result = rank_plans(sc)
    assert result.status == RunStatus.INFEASIBLE
    assert result.diagnosis is not None
    _sentences_well_formed(result.message)
    _sentences_well_formed(result.diagnosis)
    assert result.message.startswith("Infeasible: ")
    assert result.message != result.diagnosis  # the summary, then the explanation
    # Every change the message names is explained in the diagnosis.
    for change in result.message.removeprefix("Infeasible: ").rstrip(".").split("; "):
        if change.startswith(("raise ", "lower ", "drop ")):
            assert change in result.diagnosis


def test_a_contradiction_between_two_musts_is_stated_once() -> None:
    options = tuple(
        replace(o, decision="must") if o.option_id in ("O1", "O2") else o
        for o in tiny_scenario().options
    )
    sc = replace(tiny_scenario(), options=options, rules=(Rule("excludes", "O1", "O2"),))
    diagnosis = diagnose_infeasibility(sc)
    assert diagnosis.text.startswith(
        "Decisions and rules contradict each other: options O1 (decision is must) and O2 "
        "(decision is must) must both be in every plan, but O1 excludes O2. "
    )
    assert diagnosis.text.count("excludes") == 1


def test_reach_0_not_confirmed_is_one_story() -> None:
    # A feasible scenario said to have reach 0: the diagnosis cannot confirm that, and
    # says what the solve found and what it found instead, in one text.
    diagnosis = diagnose_infeasibility(tiny_scenario(), nothing_reached=True)
    assert not diagnosis.confirmed
    assert diagnosis.summary == diagnosis.text
    assert NOTHING_REACHED in diagnosis.text and "not confirmed" in diagnosis.text
    _sentences_well_formed(diagnosis.text)
