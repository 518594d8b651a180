"""What is known before solving (SPEC §3): screened options, contradictions among
`must`, `never`, rules and limits (exit 3, named), and warnings."""

from __future__ import annotations

from dataclasses import replace

import pytest

from planner.checks.precheck import check_before_solve
from planner.scenario.data import (
    Coverage,
    Layer,
    Market,
    Offer,
    Option,
    Partner,
    Resource,
    Rule,
    Scenario,
    Settings,
    Usage,
)


def scenario(
    options: list[Option],
    *,
    budget: float = 100.0,
    coverage: list[Coverage] | None = None,
    **kwargs: object,
) -> Scenario:
    """Two markets and three partners (trust 90 home, 60 and 30 foreign); options as given.

    Every option covers market M1 unless `coverage` says otherwise.
    """
    if coverage is None:
        coverage = [Coverage(o.option_id, "M1", 1.0) for o in options]
    base = Scenario(
        name="base",
        settings=Settings(budget=budget, home_country="Norland", min_partner_trust=50.0),
        markets=(
            Market("M1", "Kenya", "East Africa", 1.0, 10.0),
            Market("M2", "Peru", "Latin America", 1.0, 10.0),
        ),
        partners=(
            Partner("P1", "Home", "Norland", 90.0),
            Partner("P2", "Ally", "Canada", 60.0),
            Partner("P3", "Shaky", "Elsewhere", 30.0),
        ),
        options=tuple(options),
        coverage=tuple(sorted(coverage, key=lambda c: (c.option_id, c.market_id))),
    )
    return replace(base, **kwargs)


def opt(oid: str, cost: float = 10.0, decision: str | None = None, **kw: object) -> Option:
    fields = {"partner_id": "P1", "name": oid, "layer": "cloud", "kind": None}
    fields.update(kw)
    return Option(oid, cost=cost, decision=decision, **fields)  # type: ignore[arg-type]


def test_clean_scenario_has_no_findings() -> None:
    found = check_before_solve(scenario([opt("A"), opt("B", partner_id="P2")]))
    assert (found.screened, found.excluded, found.forced, found.warnings, found.conflicts) == (
        (),
        {},
        (),
        (),
        (),
    )


def test_must_option_screened_by_trust_is_a_conflict() -> None:
    found = check_before_solve(scenario([opt("A", decision="must", partner_id="P3"), opt("B")]))
    assert [x.option_id for x in found.screened] == ["A"]
    assert found.conflicts == (
        "option A must be in every plan (decision is must) but cannot be chosen: "
        "partner P3 trust 30 is below min_partner_trust 50",
    )


def test_must_option_screened_by_layer_trust_is_a_conflict() -> None:
    s = scenario(
        [opt("A", decision="must", partner_id="P2", layer="model")],
        layers=(Layer("model", min_trust=70.0),),
    )
    assert check_before_solve(s).conflicts == (
        "option A must be in every plan (decision is must) but cannot be chosen: "
        "partner P2 trust 60 is below the model layer's min_trust 70",
    )


def test_must_requires_never_is_a_conflict() -> None:
    s = scenario(
        [opt("A", decision="must"), opt("B", decision="never")],
        rules=(Rule("requires", "A", "B"),),
    )
    found = check_before_solve(s)
    assert found.forced == ("A", "B")
    # Stated once, where it starts: A's "requires B, which cannot be chosen" is the same
    # contradiction seen from A's side.
    assert found.conflicts == (
        "option B must be in every plan (required by A) but cannot be chosen: decision is never",
    )


def test_must_requires_is_transitive() -> None:
    s = scenario(
        [opt("A", decision="must"), opt("B"), opt("C", partner_id="P3")],
        rules=(Rule("requires", "A", "B"), Rule("requires", "B", "C")),
    )
    found = check_before_solve(s)
    assert found.forced == ("A", "B", "C")
    assert any(
        c.startswith("option C must be in every plan (required by B)") for c in found.conflicts
    )


def test_must_excludes_must_is_a_conflict() -> None:
    s = scenario(
        [opt("A", decision="must"), opt("B", decision="must")],
        rules=(Rule("excludes", "A", "B"),),
    )
    # Stated once, not once from each side.
    assert check_before_solve(s).conflicts == (
        "options A (decision is must) and B (decision is must) must both be in every plan, "
        "but A excludes B",
    )


def test_must_excludes_other_option_excludes_it_with_reason() -> None:
    s = scenario([opt("A", decision="must"), opt("B")], rules=(Rule("excludes", "B", "A"),))
    found = check_before_solve(s)
    assert found.conflicts == ()
    assert found.excluded == {"B": "excluded by A, which every plan contains"}
    assert (
        "option B can never be chosen: excluded by A, which every plan contains" in found.warnings
    )


def test_must_options_over_budget_is_a_conflict_with_the_numbers() -> None:
    s = scenario(
        [
            opt("A", 60.0, "must"),
            opt("B", 50.0, "must", kind="capacity building"),
            opt("C", 500.0),
        ],
        budget=80.0,
        offers=(
            Offer("C1", "Fund", share=0.5, cap=20.0, kinds=("capacity building",)),
            Offer("C2", "Pledge", share=0.3, cap=100.0, fee=3.0, decision="must"),
        ),
    )
    # A: 60 x min(0.8, 0.3) = 18; B: 50 x min(0.8, 0.5 + 0.3) = 40; caps 20 + 100 allow 58.
    # Net at least 110 - 58 + 3 (fee of the must offer) = 55 <= 80: no conflict.
    assert check_before_solve(s).conflicts == ()
    tight = replace(s, settings=replace(s.settings, budget=54.0))
    assert check_before_solve(tight).conflicts == (
        "the options every plan must contain (A, B) cost 110 gross; co-financing could cover "
        "at most 58 and must-offer fees add 3, so net spend is at least 55, above the budget "
        "of 54 (raise budget to 55 or drop a must)",
    )


def test_offer_caps_limit_the_co_financing_counted_against_the_budget() -> None:
    s = scenario(
        [opt("A", 100.0, "must")],
        budget=85.0,
        offers=(Offer("C1", "Fund", share=0.5, cap=10.0),),
    )
    # 100 x 0.5 = 50 per option, but the offer pays at most 10: net at least 90.
    (conflict,) = check_before_solve(s).conflicts
    assert "co-financing could cover at most 10" in conflict
    assert "net spend is at least 90, above the budget of 85" in conflict


def test_must_options_exactly_at_budget_are_fine() -> None:
    s = scenario([opt("A", 60.0, "must"), opt("B", 40.0, "must")], budget=100.0)
    assert check_before_solve(s).conflicts == ()
    s = replace(s, settings=replace(s.settings, budget=100.0 - 1e-9))
    assert check_before_solve(s).conflicts == ()  # within the tolerance of SPEC §3


def test_must_offer_fees_alone_over_budget() -> None:
    s = scenario(
        [opt("A")],
        budget=5.0,
        offers=(Offer("C1", "Fund", share=0.5, cap=10.0, fee=6.0, decision="must"),),
    )
    assert check_before_solve(s).conflicts == (
        "the fees of the must offers (C1) add up to 6, above the budget of 5",
    )


def test_must_offer_whose_min_eligible_spend_cannot_be_met() -> None:
    s = scenario(
        [opt("A", 30.0), opt("B", 20.0, layer="model"), opt("C", 90.0, partner_id="P3")],
        offers=(
            Offer(
                "C1",
                "Fund",
                share=0.5,
                cap=100.0,
                min_eligible_spend=40.0,
                layers=("cloud",),
                decision="must",
            ),
        ),
    )
    # Eligible: A (30) and C (90), but C is screened by trust: 30 < 40.
    assert check_before_solve(s).conflicts == (
        "offer C1 is must but needs 40 of spend on eligible options, and all eligible "
        "options that can be chosen cost 30 together",
    )


def test_forced_options_over_a_resource_capacity() -> None:
    s = scenario(
        [opt("A", decision="must"), opt("B"), opt("C")],
        rules=(Rule("requires", "A", "B"),),
        resources=(Resource("staff", 5.0), Resource("legal", 1.0)),
        usage=(
            Usage("A", "staff", 3.0),
            Usage("B", "staff", 2.5),
            Usage("C", "legal", 9.0),
        ),
    )
    assert check_before_solve(s).conflicts == (
        "the options every plan must contain use 5.5 of resource staff, above its capacity of 5",
    )


def test_market_whose_required_layer_no_option_can_supply() -> None:
    s = scenario(
        [opt("A"), opt("B", layer="model", partner_id="P3")],
        markets=(Market("M1", "Kenya", "East Africa", 1.0, 10.0, ("cloud", "model")),),
    )
    found = check_before_solve(s)
    assert found.warnings == (
        "market M1 (Kenya) is unreachable: no option that can be chosen supplies its "
        "required layer(s) model there",
    )
    # M1 is the only market: no plan can reach a weighted market (SPEC §4).
    assert found.conflicts == (
        "every market of positive weight that an option that can be chosen reaches lacks a "
        "required layer that no option that can be chosen supplies there: model in M1 (Kenya); "
        "lowering min_partner_trust to 30 lets options reach weighted markets",
    )


def test_option_with_no_coverage() -> None:
    s = scenario([opt("A"), opt("B")], coverage=[Coverage("A", "M1", 1.0)])
    assert check_before_solve(s).warnings == (
        "option B has no Coverage rows: it reaches no market and supplies no layer anywhere",
    )


@pytest.mark.parametrize(
    "offer",
    [
        Offer("C1", "Fund", 0.5, 10.0, kinds=("joint development",)),
        Offer("C1", "Fund", 0.5, 10.0, layers=("model",)),
        Offer("C1", "Fund", 0.5, 10.0, regions=("latin america",)),
    ],
)
def test_offer_nobody_is_eligible_for(offer: Offer) -> None:
    s = scenario([opt("A"), opt("B", kind="capacity building")], offers=(offer,))
    assert check_before_solve(s).warnings == ("offer C1 (Fund): no option is eligible for it",)


def test_requires_never_option_is_excluded_with_reason() -> None:
    s = scenario(
        [opt("A"), opt("B", decision="never"), opt("C"), opt("D")],
        rules=(Rule("requires", "A", "B"), Rule("requires", "C", "A")),
    )
    found = check_before_solve(s)
    assert found.conflicts == ()
    assert [x.option_id for x in found.screened] == ["B"]
    assert found.excluded == {
        "A": "requires B, which cannot be chosen (decision is never)",
        "B": "decision is never",
        "C": "requires A, which cannot be chosen (requires B, which cannot be chosen "
        "(decision is never))",
    }
    assert (
        "option A can never be chosen: requires B, which cannot be chosen (decision is never)"
        in (found.warnings)
    )


def test_warnings_of_validation_are_kept_first() -> None:
    s = scenario([opt("A")], warnings=("CoFinancing row 2: a region no market has",))
    assert check_before_solve(s).warnings[0] == "CoFinancing row 2: a region no market has"


# -- nothing can reach a weighted market (SPEC §4: infeasible, known before solving) --


def test_every_option_screened_by_trust_names_the_floor_and_the_way_out() -> None:
    # Trusts are 90, 60 and 30; the floor of 95 screens every option.
    s = scenario(
        [opt("A"), opt("B", partner_id="P2"), opt("C", partner_id="P3")],
        settings=Settings(budget=100.0, home_country="Norland", min_partner_trust=95.0),
    )
    found = check_before_solve(s)
    assert found.conflicts == (
        "all 3 options are screened out: 3 by min_partner_trust 95 (the most trusted of "
        "their partners has trust 90); lowering min_partner_trust to 90 lets options reach "
        "weighted markets",
    )
    assert found.unreachable is not None
    assert [(f.layer, f.current, f.suggested) for f in found.unreachable.floors] == [
        (None, 95.0, 90.0)
    ]


def test_screened_by_trust_and_by_never_are_counted_apart() -> None:
    s = scenario(
        [opt("A", decision="never"), opt("B", partner_id="P2"), opt("C", partner_id="P3")],
        settings=Settings(budget=100.0, home_country="Norland", min_partner_trust=95.0),
    )
    (conflict,) = check_before_solve(s).conflicts
    assert conflict.startswith(
        "all 3 options are screened out: 2 by min_partner_trust 95 (the most trusted of their "
        "partners has trust 60), 1 by decision never; "
    )
    # A (trust 90) stays out by `never`: only lowering the floor to 60 lets B in.
    assert conflict.endswith("lowering min_partner_trust to 60 lets options reach weighted markets")


def test_the_floor_suggested_is_the_highest_that_lets_a_reaching_option_in() -> None:
    # Only C (trust 30) reaches M1; A and B cover M2 with reach 0.
    s = scenario(
        [opt("A"), opt("B", partner_id="P2"), opt("C", partner_id="P3")],
        coverage=[Coverage("A", "M2", 0.0), Coverage("B", "M2", 0.0), Coverage("C", "M1", 3.0)],
    )
    (conflict,) = check_before_solve(s).conflicts
    assert conflict == (
        "the only option with positive reach in a market of positive weight is screened out: "
        "1 by min_partner_trust 50 (the most trusted of their partners has trust 30); "
        "lowering min_partner_trust to 30 lets options reach weighted markets"
    )


def test_a_layer_floor_is_suggested_when_it_alone_blocks() -> None:
    s = scenario(
        [opt("A", layer="model"), opt("B", partner_id="P2", layer="model")],
        layers=(Layer("model", min_trust=95.0),),
    )
    (conflict,) = check_before_solve(s).conflicts
    assert conflict == (
        "all 2 options are screened out: 2 by the model layer's min_trust 95 (the most trusted "
        "of their partners has trust 90); lowering the model layer's min_trust to 90 lets "
        "options reach weighted markets"
    )


def test_two_floors_together_when_neither_alone_helps() -> None:
    # A (trust 60) is below both the global floor 70 and the model layer's 80.
    s = scenario(
        [opt("A", partner_id="P2", layer="model")],
        settings=Settings(budget=100.0, home_country="Norland", min_partner_trust=70.0),
        layers=(Layer("model", min_trust=80.0),),
    )
    found = check_before_solve(s)
    assert found.unreachable is not None
    assert found.unreachable.remedy == (
        "lowering min_partner_trust and the model layer's min_trust to 60 lets options reach "
        "weighted markets"
    )


def test_options_excluded_by_rules_are_counted_and_no_floor_is_suggested() -> None:
    # M (must) reaches only M2, of weight 0; it excludes A, and B requires A.
    s = scenario(
        [opt("M", decision="must"), opt("A"), opt("B")],
        coverage=[Coverage("M", "M2", 5.0), Coverage("A", "M1", 1.0), Coverage("B", "M1", 1.0)],
        markets=(
            Market("M1", "Kenya", "East Africa", 1.0, 10.0),
            Market("M2", "Peru", "Latin America", 0.0, 10.0),
        ),
        rules=(Rule("excludes", "M", "A"), Rule("requires", "B", "A")),
    )
    found = check_before_solve(s)
    assert found.conflicts == (
        "all 2 options with positive reach in a market of positive weight are screened out or "
        "excluded by rules: 2 by rules (A, B); lowering trust floors does not change that: "
        "change the decisions or rules that exclude them",
    )
    assert found.unreachable is not None and found.unreachable.floors == ()


@pytest.mark.parametrize(
    ("change", "conflict"),
    [
        (
            {"markets": (), "coverage": ()},
            "the scenario has no markets (the Markets sheet has no rows), so no plan reaches "
            "one; add markets to the Markets sheet",
        ),
        (
            {
                "markets": (
                    Market("M1", "Kenya", "East Africa", 0.0, 10.0),
                    Market("M2", "Peru", "Latin America", 0.0, 10.0),
                )
            },
            "every market has weight 0 (2 market(s)), so no plan has positive weighted reach; "
            "give a market a positive weight",
        ),
        (
            {"coverage": ()},
            "the Coverage sheet has no rows, so no option reaches a weighted market; add "
            "Coverage rows with positive reach in a market of positive weight",
        ),
        (
            {"coverage": (Coverage("A", "M1", 0.0), Coverage("B", "M2", 0.0))},
            "no Coverage row has positive reach in a market of positive weight, so no option "
            "reaches a weighted market; add Coverage rows with positive reach in a market of "
            "positive weight",
        ),
    ],
)
def test_no_market_no_weight_or_no_reach_is_a_conflict(
    change: dict[str, object], conflict: str
) -> None:
    s = replace(scenario([opt("A"), opt("B")]), **change)  # type: ignore[arg-type]
    assert check_before_solve(s).conflicts == (conflict,)


def test_a_market_that_can_count_is_no_conflict_whatever_the_budget() -> None:
    # Whether the budget affords it is for the solve to find: no claim here.
    s = scenario([opt("A", cost=50.0)], budget=1.0)
    found = check_before_solve(s)
    assert found.conflicts == () and found.unreachable is None


def test_a_required_layer_supplied_by_a_reach_0_row_lets_the_market_count() -> None:
    s = scenario(
        [opt("A"), opt("B", layer="model")],
        coverage=[Coverage("A", "M1", 4.0), Coverage("B", "M1", 0.0)],
        markets=(Market("M1", "Kenya", "East Africa", 1.0, 10.0, ("cloud", "model")),),
    )
    assert check_before_solve(s).conflicts == ()


def test_unreachable_is_not_claimed_over_a_contradiction_of_decisions() -> None:
    # A and B must both be in and exclude each other: that contradiction is the finding.
    s = scenario(
        [opt("A", decision="must"), opt("B", decision="must")],
        rules=(Rule("excludes", "A", "B"), Rule("excludes", "B", "A")),
    )
    found = check_before_solve(s)
    assert found.unreachable is None
    assert found.conflicts == (
        "options A (decision is must) and B (decision is must) must both be in every plan, "
        "but A excludes B",
    )


def test_a_chain_through_requires_is_stated_where_it_starts() -> None:
    # A must requires B; B requires C; C is screened by trust: one contradiction, at C.
    s = scenario(
        [opt("A", decision="must"), opt("B"), opt("C", partner_id="P3"), opt("D")],
        rules=(Rule("requires", "A", "B"), Rule("requires", "B", "C")),
    )
    assert check_before_solve(s).conflicts == (
        "option C must be in every plan (required by B) but cannot be chosen: "
        "partner P3 trust 30 is below min_partner_trust 50",
    )
