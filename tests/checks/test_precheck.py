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
    assert (
        "option B must be in every plan (required by A) but cannot be chosen: decision is never"
        in found.conflicts
    )
    assert (
        "option A must be in every plan (decision is must) but cannot be chosen: "
        "requires B, which cannot be chosen (decision is never)" in found.conflicts
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
    found = check_before_solve(s)
    assert "options A and B are both forced in but A excludes B" in found.conflicts
    assert (
        "option B must be in every plan (decision is must) but cannot be chosen: "
        "excluded by A, which every plan contains" in found.conflicts
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
    assert found.conflicts == ()
    assert found.warnings == (
        "market M1 (Kenya) is unreachable: no option that can be chosen supplies its "
        "required layer(s) model there",
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
        [opt("A"), opt("B", decision="never"), opt("C")],
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
