"""planner.checks.verify on hand-made plans, and properties of ranked plans on random scenarios."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scenario_builders import random_scenario, shuffled_scenario, tiny_scenario

from planner.checks.verify import check_plan, evaluate_plan, make_plan
from planner.checks.violations import plan_violations
from planner.plan import CoFinancing
from planner.scenario.data import Offer, Rule
from planner.solving.ranking import rank_plans


def _plan(sc, options, offers=(), cofinancing=()):
    return make_plan(sc, 1, options, offers, cofinancing, bound=100.0, proven_optimal=True, gap=0.0)


def test_evaluate_tiny_plan() -> None:
    sc = tiny_scenario()
    metrics = evaluate_plan(sc, ["O1", "O3"], [], [])
    # M1: min(10, 5 + 4) = 9; M2: 4 (weight 2).
    assert metrics.weighted_reach == 17.0
    assert metrics.gross_spend == 25.0 and metrics.net_spend == 25.0
    assert metrics.average_trust == pytest.approx(80.0)
    assert metrics.foreign_share == 0.0
    assert [m.reach for m in metrics.markets] == [9.0, 4.0]


def test_cost_zero_options_carry_no_weight() -> None:
    sc = tiny_scenario()
    options = tuple(replace(o, cost=0.0) if o.option_id == "O2" else o for o in sc.options)
    sc = replace(sc, options=options)
    metrics = evaluate_plan(sc, ["O1", "O2"], [], [])
    assert metrics.average_trust == 80.0 and metrics.foreign_share == 0.0
    assert evaluate_plan(sc, ["O2"], [], []).average_trust is None


def test_missing_layer_reported() -> None:
    sc = tiny_scenario()
    sc = replace(sc, markets=tuple(replace(m, required_layers=("model",)) for m in sc.markets))
    metrics = evaluate_plan(sc, ["O1"], [], [])
    assert metrics.weighted_reach == 0.0
    assert metrics.markets[0].missing_layers == ("model",)


def test_valid_plan_has_no_violations() -> None:
    assert check_plan(tiny_scenario(), _plan(tiny_scenario(), ["O1", "O2"])) == []


@pytest.mark.parametrize(
    ("change", "options", "offers", "cofinancing", "expected"),
    [
        ({}, ["O1", "O3"], [], [], "budget"),
        ({"rules": (Rule("requires", "O1", "O3"),)}, ["O1"], [], [], "requires"),
        ({"rules": (Rule("excludes", "O1", "O2"),)}, ["O1", "O2"], [], [], "excludes"),
        ({"min_average_trust": 75.0}, ["O1", "O2"], [], [], "average_trust"),
        ({"max_foreign_share": 0.4}, ["O1", "O2"], [], [], "foreign_share"),
        ({"max_country_share": 0.4}, ["O1", "O2"], [], [], "country_share"),
        ({"min_partner_trust": 70.0}, ["O2"], [], [], "trust_floor"),
        ({}, ["O1"], ["C1"], [CoFinancing("C1", "O1", 6.0)], "cofinance_option"),
        ({}, ["O1"], ["C1"], [CoFinancing("C1", "O2", 1.0)], "cofinance_option"),
        ({}, ["O1"], [], [CoFinancing("C1", "O1", 1.0)], "offer_cap"),
        (
            {"offer_kinds": ("joint development",)},
            ["O1"],
            ["C1"],
            [CoFinancing("C1", "O1", 1.0)],
            "eligib",
        ),
        ({"offer_mes": 15.0}, ["O1"], ["C1"], [], "matching_spend"),
    ],
)
def test_check_plan_catches(change, options, offers, cofinancing, expected) -> None:
    sc = tiny_scenario()
    settings_change = {
        k: v
        for k, v in change.items()
        if k in ("min_average_trust", "max_foreign_share", "max_country_share", "min_partner_trust")
    }
    sc = replace(sc, settings=replace(sc.settings, **settings_change))
    if "rules" in change:
        sc = replace(sc, rules=change["rules"])
    offer = Offer(
        "C1",
        "Fund",
        share=0.5,
        cap=5.0,
        kinds=change.get("offer_kinds"),
        min_eligible_spend=change.get("offer_mes", 0.0),
    )
    sc = replace(sc, offers=(offer,))
    problems = check_plan(sc, _plan(sc, options, offers, cofinancing))
    assert any(expected in p for p in problems), problems


def test_check_plan_catches_misreported_figures() -> None:
    sc = tiny_scenario()
    plan = replace(_plan(sc, ["O1", "O2"]), weighted_reach=22.0)
    assert any("weighted_reach" in p for p in check_plan(sc, plan))


# --- properties of ranked plans ---------------------------------------------

_seeds = st.integers(min_value=0, max_value=10_000)
_fast = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _key(result):
    return [
        (p.options, p.offers, round(p.weighted_reach, 6), round(p.net_spend, 6))
        for p in result.plans
    ]


@_fast
@given(seed=_seeds, d=st.integers(min_value=1, max_value=2))
def test_ranked_plans_properties(seed: int, d: int) -> None:
    sc = random_scenario(seed, n_options=8, plans=4, min_plan_difference=d)
    result = rank_plans(sc)
    reaches = [p.weighted_reach for p in result.plans]
    assert all(a >= b - 1e-6 * max(1, abs(a)) for a, b in itertools.pairwise(reaches))
    for k, plan in enumerate(result.plans):
        assert check_plan(sc, plan) == []
        assert plan.weighted_reach > 0
        assert plan.bound >= plan.weighted_reach - 1e-6
        for earlier in result.plans[:k]:
            assert not set(earlier.options) <= set(plan.options)
            assert len(set(earlier.options) - set(plan.options)) >= d
    assert [p.rank for p in result.plans] == list(range(1, len(result.plans) + 1))


@settings(max_examples=8, deadline=None)
@given(seed=_seeds, shuffle=_seeds)
def test_same_plans_for_same_or_shuffled_input(seed: int, shuffle: int) -> None:
    sc = random_scenario(seed, n_options=8, plans=3)
    first = _key(rank_plans(sc))
    assert _key(rank_plans(sc)) == first
    assert _key(rank_plans(shuffled_scenario(sc, shuffle))) == first


# --- check_plan against plan_violations, written apart, id by id ---------------------


def _limit_of(problem: str) -> str:
    """The constraint a check_plan sentence names, as plan_violations names it."""
    if problem.startswith("co-financing"):  # a pair listed twice, a negative amount
        return "cofinancing"
    return problem.split(":", 1)[0]


@settings(max_examples=60, deadline=None)
@given(seed=_seeds, pick=_seeds)
def test_check_plan_finds_the_limits_the_id_by_id_listing_finds(seed: int, pick: int) -> None:
    """check_plan sums arrays over the scenario; plan_violations walks it id by id. Any
    decisions at all, valid or not, must break the same limits in both."""
    sc = random_scenario(seed, n_options=10, n_offers=3)
    rng = random.Random(pick)
    options = [o.option_id for o in sc.options if rng.random() < 0.5]
    offers = [c.offer_id for c in sc.offers if rng.random() < 0.6]
    pairs = [(c, o) for c in offers for o in options]
    cofinancing = [
        CoFinancing(c, o, round(rng.uniform(-1.0, 8.0), 3))
        for c, o in pairs + pairs[:2]  # the first two pairs listed twice, sometimes
        if rng.random() < 0.3
    ]
    plan = make_plan(sc, 1, options, offers, cofinancing, bound=1e9, proven_optimal=False, gap=None)
    found = sorted(_limit_of(p) for p in check_plan(sc, plan))
    listed = sorted(v.limit for v in plan_violations(sc, options, offers, cofinancing))
    assert found == listed
    # A pair of ids the scenario lacks, which plan_violations refuses outright.
    strays = [CoFinancing("C-unknown", options[0] if options else "O1", 0.0)]
    strays += [CoFinancing(offers[0], "O-unknown", 0.0)] if offers else []
    stray = replace(plan, cofinancing=plan.cofinancing + tuple(strays))
    more = sorted(_limit_of(p) for p in check_plan(sc, stray) if not p.startswith("reported"))
    assert more == sorted(found + ["offer_cap"] + (["cofinance_option"] if offers else []))
