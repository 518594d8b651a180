"""The independent check stays right for huge numbers.

Net spend is a difference: (gross spend) − (co-financing) + fees. With a cost of
1e14 almost wholly co-financed, a net spend of 10 carries the rounding of 1e14
(about 0.02), far above SPEC's tolerance at 10: the check allows for that
rounding, and for no more. A figure that overflows is never taken as valid.
"""

from __future__ import annotations

from dataclasses import replace

from scenario_builders import tiny_scenario

from planner.checks.verify import check_plan, make_plan
from planner.plan import CoFinancing
from planner.scenario.data import Offer

SEVENTH = 1e14 / 7


def _scenario(budget: float):
    sc = tiny_scenario(budget=budget, max_cofinance_share=1.0)
    options = tuple(replace(o, cost=1e14) if o.option_id == "O3" else o for o in sc.options)
    offers = tuple(Offer(f"C{k}", f"C{k}", 1.0, 1e14, 0.0, 0.0, None, None, None) for k in range(7))
    return replace(sc, options=options, offers=offers)


def _plan(sc, amounts: list[float]):
    cofinancing = [CoFinancing(f"C{k}", "O3", a) for k, a in enumerate(amounts)]
    offers = [cf.offer_id for cf in cofinancing]
    return make_plan(
        sc, 1, ["O1", "O3"], offers, cofinancing, bound=1e3, proven_optimal=True, gap=0.0
    )


def test_a_net_spend_at_the_budget_is_within_it_whatever_the_rounding_of_its_terms() -> None:
    sc = _scenario(budget=10.0)
    plan = _plan(sc, [SEVENTH] * 7)  # seven sevenths of 1e14, as doubles
    assert plan.net_spend != 10.0  # the rounding of 1e14 shows
    assert abs(plan.net_spend - 10.0) > 1e-6 * 10  # beyond SPEC's tolerance at 10
    assert check_plan(sc, plan) == []


def test_a_net_spend_over_the_budget_is_still_caught() -> None:
    sc = _scenario(budget=10.0)
    plan = _plan(sc, [SEVENTH] * 6 + [SEVENTH - 1000.0])
    assert any(p.startswith("budget") for p in check_plan(sc, plan))


def test_a_figure_that_overflows_is_never_valid() -> None:
    sc = tiny_scenario(budget=1.7e308)
    options = tuple(replace(o, cost=1e308) for o in sc.options)
    sc = replace(sc, options=options)
    plan = make_plan(sc, 1, ["O1", "O2"], [], [], bound=1e3, proven_optimal=True, gap=0.0)
    assert plan.net_spend == float("inf")
    assert any(p.startswith("budget") for p in check_plan(sc, plan))
