"""Infeasible scenarios explained (SPEC §3-§5): hand-checkable elastic diagnoses.

Each scenario is small enough to check by hand; each test asserts the numbers
suggested and that applying the suggested change (`apply_changes`) gives a
scenario for which `rank_plans` returns a plan.
"""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from scenario_builders import tiny_scenario

import planner.solving.diagnose as diagnose
from planner.checks.precheck import check_before_solve
from planner.plan import RunStatus
from planner.scenario.data import Offer, Resource, Rule, Scenario, Usage
from planner.solving.diagnose import (
    NO_REACH_LEAD,
    NOTHING_REACHED,
    Change,
    apply_changes,
    diagnose_infeasibility,
    plan_exists,
)
from planner.solving.ranking import rank_plans


def _decide(sc: Scenario, **decisions: str) -> Scenario:
    return replace(
        sc, options=tuple(replace(o, decision=decisions.get(o.option_id)) for o in sc.options)
    )


def _diagnose(sc: Scenario):
    result = rank_plans(sc)
    assert result.status == RunStatus.INFEASIBLE
    diagnosis = diagnose_infeasibility(sc)
    assert diagnosis.confirmed, diagnosis.text
    fixed = rank_plans(apply_changes(sc, diagnosis.changes))
    assert fixed.plans, fixed.message
    return result, diagnosis


def _suggested(diagnosis) -> dict[str, float | None]:
    return {c.limit: c.suggested for c in diagnosis.changes}


def test_budget_too_small_for_musts() -> None:
    # O1 + O2 are must and cost 20; budget 15. Raising the budget (a 33 % change)
    # is cheaper than dropping a must (100 %).
    sc = _decide(tiny_scenario(budget=15.0), O1="must", O2="must")
    result, diagnosis = _diagnose(sc)
    assert _suggested(diagnosis) == {"budget": 20.0}
    assert "raise budget from 15 to 20" in result.diagnosis
    assert "Limits in conflict: budget." in result.diagnosis
    assert "Re-solving with this change finds a plan." in result.diagnosis


def test_min_average_trust_above_every_partner() -> None:
    # Partner trusts are 80 (O1, O3) and 60 (O2): no plan of positive cost averages
    # 85, so the best plan is empty (weighted reach 0, SPEC §4).
    sc = tiny_scenario(budget=20.0, min_average_trust=85.0)
    result, diagnosis = _diagnose(sc)
    assert _suggested(diagnosis) == {"min_average_trust": 80.0}
    assert result.diagnosis.startswith(NO_REACH_LEAD)
    assert "lower min_average_trust from 85 to 80" in result.diagnosis
    assert result.message == "Infeasible: lower min_average_trust from 85 to 80."


def test_foreign_share_too_low_for_a_must_foreign_option() -> None:
    # O2 (Canada, cost 10) is must. O1 + O2 has foreign share 0.5 (slack 1 of 20 at
    # 0.45, cost 0.11); O2 + O3 would break the budget by 5 (cost 0.25).
    sc = _decide(tiny_scenario(budget=20.0, max_foreign_share=0.45), O2="must")
    result, diagnosis = _diagnose(sc)
    assert _suggested(diagnosis) == {"max_foreign_share": 0.5}
    assert "raise max_foreign_share from 0.45 to 0.5" in result.diagnosis


def test_resource_capacity_too_small() -> None:
    sc = _decide(tiny_scenario(budget=20.0), O1="must")
    sc = replace(
        sc,
        resources=(Resource("staff", 1.5),),
        usage=(Usage("O1", "staff", 2.0), Usage("O2", "staff", 2.0), Usage("O3", "staff", 3.0)),
    )
    result, diagnosis = _diagnose(sc)
    assert _suggested(diagnosis) == {"resources[staff]": 2.0}
    assert "raise the capacity of resource staff from 1.5 to 2" in result.diagnosis
    assert "capacity of resource staff" in result.diagnosis.split("Limits in conflict: ")[1]


def test_must_offer_with_unreachable_matching_spend() -> None:
    # C1 (must) needs 30 of eligible spend. Within budget 20 the most is 25 (O3 with
    # O1 or O2: 25 gross, 5 co-financed): lowering 30 to 25 costs 1/6, raising the
    # budget to buy all three (net 30) costs 1/2, dropping the must costs 1.
    sc = replace(
        tiny_scenario(budget=20.0),
        offers=(Offer("C1", "Fund", share=0.5, cap=5.0, min_eligible_spend=30.0, decision="must"),),
    )
    result, diagnosis = _diagnose(sc)
    assert _suggested(diagnosis) == {"min_eligible_spend[C1]": 25.0}
    assert "lower min_eligible_spend of offer C1 from 30 to 25" in result.diagnosis


def test_must_requires_never_suggests_dropping_the_must() -> None:
    sc = replace(
        _decide(tiny_scenario(), O1="must", O3="never"), rules=(Rule("requires", "O1", "O3"),)
    )
    result, diagnosis = _diagnose(sc)
    assert _suggested(diagnosis) == {"must O1": 0.0}
    assert "contradict" in result.diagnosis
    assert "drop `must` on O1" in result.diagnosis
    assert "`must` on O1" in result.diagnosis.split("Limits in conflict: ")[1]


def test_nothing_affordable_reaches_a_weighted_market() -> None:
    # Budget 5, the cheapest option costs 10.
    sc = tiny_scenario(budget=5.0)
    result = rank_plans(sc)
    assert result.status == RunStatus.INFEASIBLE
    # One story: the message sums up the diagnosis, both in capitalised sentences.
    assert result.diagnosis == (
        f"{NO_REACH_LEAD} Limits in conflict: budget. Smallest change that makes a plan "
        "possible: raise budget from 5 to 10. Re-solving with this change finds a plan."
    )
    assert result.message == "Infeasible: raise budget from 5 to 10."
    diagnosis = diagnose_infeasibility(sc, nothing_reached=True)
    assert diagnosis.confirmed and _suggested(diagnosis) == {"budget": 10.0}
    assert rank_plans(apply_changes(sc, diagnosis.changes)).plans


def test_no_reaching_option_at_all_is_said_plainly() -> None:
    sc = tiny_scenario()
    sc = replace(sc, coverage=tuple(c._replace(reach=0.0) for c in sc.coverage))
    result = rank_plans(sc)
    assert result.status == RunStatus.INFEASIBLE
    diagnosis = diagnose_infeasibility(sc, nothing_reached=True)
    assert NOTHING_REACHED in diagnosis.text and not diagnosis.changes


def test_feasible_scenario_is_not_confirmed_infeasible() -> None:
    diagnosis = diagnose_infeasibility(tiny_scenario())
    assert not diagnosis.confirmed and "not confirmed" in diagnosis.text


def test_change_that_falls_short_is_rounded_further(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pretend the first re-solve finds no plan: the budget is rounded further up
    # and the diagnosis only reports the change it confirmed.
    real = diagnose.plan_exists
    calls: list[float] = []

    def first_fails(scenario: Scenario, *, deadline: float, start=None, scope=None) -> bool | None:
        calls.append(scenario.settings.budget)
        if len(calls) == 1:
            return False
        return real(scenario, deadline=deadline, start=start, scope=scope)

    monkeypatch.setattr(diagnose, "plan_exists", first_fails)
    sc = _decide(tiny_scenario(budget=15.0), O1="must", O2="must")
    diagnosis = diagnose_infeasibility(sc)
    assert calls == [20.0, 20.1]
    assert diagnosis.confirmed and _suggested(diagnosis) == {"budget": 20.1}
    assert "raise budget from 15 to 20.1" in diagnosis.text


def test_strengthen_moves_away_from_the_old_limit() -> None:
    up = Change("budget", 100.0, 123.45, "raise budget from 100 to 123.45")
    assert diagnose._strengthen(up, 1).suggested == 123.5
    assert diagnose._strengthen(up, 2).suggested == 124.0
    down = Change("min_average_trust", 80.0, 74.21, "lower min_average_trust from 80 to 74.21")
    assert diagnose._strengthen(down, 1).text == "lower min_average_trust from 80 to 74.2"
    must = Change("must O1", 1.0, 0.0, "drop `must` on O1")
    assert diagnose._strengthen(must, 1) == must


def test_plan_exists_answers() -> None:
    soon = time.monotonic() + 30
    assert plan_exists(tiny_scenario(), deadline=soon) is True
    assert plan_exists(tiny_scenario(budget=5.0), deadline=soon) is False


def _must_over_budget(n_options: int, n_markets: int) -> Scenario:
    """A synthetic benchmark scenario whose `must` options cost 3.5 times the budget.

    The `must` options are the most expensive ones outside the rules, of
    partners that pass every trust floor, so the conflict is with the budget
    (and the limits the budget drags along), not among decisions.
    """
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from synthetic import random_scenario as bench_scenario

    sc = bench_scenario(n_options, n_markets)
    trust = {p.partner_id: p.trust for p in sc.partners}
    in_rules = {o for r in sc.rules for o in (r.option_id, r.other_option_id)}
    musts: set[str] = set()
    gross = 0.0
    for o in sorted(sc.options, key=lambda o: (-o.cost, o.option_id)):
        if o.option_id in in_rules or trust[o.partner_id] < 66:
            continue
        musts.add(o.option_id)
        gross += o.cost
        if gross > 3.5 * sc.settings.budget:
            break
    return replace(
        sc,
        options=tuple(
            replace(o, decision="must") if o.option_id in musts else o for o in sc.options
        ),
    )


def test_medium_scenario_is_diagnosed_within_seconds() -> None:
    # 2,000 options: the Pyomo-based diagnosis took 16-34 s here.
    sc = _must_over_budget(2000, 300)
    start = time.monotonic()
    diagnosis = diagnose_infeasibility(sc, deadline=start + 30.0)
    elapsed = time.monotonic() - start
    assert elapsed < 8.0, elapsed
    assert diagnosis.confirmed, diagnosis.text
    assert "raise budget from" in diagnosis.text
    assert plan_exists(apply_changes(sc, diagnosis.changes), deadline=time.monotonic() + 30)


def test_diagnosis_keeps_a_deadline_one_second_away() -> None:
    # 10,000 options: the elastic solve needs several seconds, so it cannot finish.
    sc = _must_over_budget(10_000, 1_000)
    start = time.monotonic()
    diagnosis = diagnose_infeasibility(sc, deadline=start + 1.0)
    elapsed = time.monotonic() - start
    assert elapsed <= 1.5, elapsed
    assert not diagnosis.confirmed
    assert "could not be computed within the time limit" in diagnosis.text
    assert "No plan meets every limit at once." in diagnosis.text
    assert "Found before solving: " in diagnosis.text and "above the budget" in diagnosis.text


def test_out_of_time_names_the_exact_presolve_conflicts() -> None:
    # A deadline already passed: only the cheap, exact findings can be given.
    sc = _decide(tiny_scenario(budget=15.0), O1="must", O2="must")
    diagnosis = diagnose_infeasibility(sc, deadline=time.monotonic() + 0.05)
    if diagnosis.changes:  # the tiny model may still be solved in 50 ms
        return
    assert "could not be computed within the time limit" in diagnosis.text
    assert "above the budget of 15" in diagnosis.text


def test_out_of_time_text_directly() -> None:
    sc = _decide(tiny_scenario(budget=15.0), O1="must", O2="must")
    found = check_before_solve(sc).conflicts
    diagnosis = diagnose._out_of_time("No plan meets every limit at once.", [], found)
    assert diagnosis.text.startswith("No plan meets every limit at once. Found before solving: ")
    assert diagnosis.text.endswith(diagnose.OUT_OF_TIME)
    assert not diagnosis.confirmed and not diagnosis.changes


def test_confirmation_out_of_time_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(diagnose, "plan_exists", lambda scenario, **_: None)
    sc = _decide(tiny_scenario(budget=15.0), O1="must", O2="must")
    diagnosis = diagnose_infeasibility(sc)
    assert not diagnosis.confirmed and _suggested(diagnosis) == {"budget": 20.0}
    assert "not confirmed within the time limit" in diagnosis.text


def test_elastic_matrix_model_has_one_slack_per_stretchable_row() -> None:
    from planner.model.matrix_model import build_matrix_model

    sc = _decide(tiny_scenario(budget=15.0), O1="must", O2="must")
    mm = build_matrix_model(sc)
    elastic, n_must = diagnose.elastic_model(mm, min_reach=0.5)
    stretchable = sum(
        len(b)
        for b in mm.blocks
        if b.name in diagnose.ELASTIC_BLOCKS and b.name != "matching_spend"
    )
    assert n_must == 2
    assert elastic.n_cols == mm.n_cols + stretchable
    assert elastic.n_rows == mm.n_rows + 1
    assert elastic.row_name(mm.n_rows) == "elastic_reach(elastic_reach)"
    assert (elastic.col_lower[: mm.n_cols] <= mm.col_lower).all()
