"""Plans made by a second process are the plans made here (`planner.solving.plan_maker`).

A run of several plans on a large model has its kept ranks' plans made and checked by a
second process while the next ranks are solved. Checked here on small scenarios with
that process forced on: the same plans, figure for figure, as a run that makes them
itself; and whatever happens to the process (it cannot start, it is killed, a plan
fails its check there), the run gets the same plans, or the same error.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import replace
from typing import Any

import pytest
from scenario_builders import random_scenario

import planner.solving.ranking as ranking
from planner.checks.verify import PlanVerificationError
from planner.model.common import canonical_order
from planner.plan import Plan, ProgressEvent, ProgressStage
from planner.scenario.data import Scenario
from planner.solving.plan_maker import ANSWER_WAIT_S, PlanMaker, PlanMakingProcess
from planner.solving.plan_making import PlanOrder


def _scenario(seed: int, plans: int = 6) -> Scenario:
    sc = random_scenario(seed, n_options=14, n_markets=5, plans=plans)
    return replace(sc, settings=replace(sc.settings, time_limit_s=60.0))


def _figures(plan: Plan) -> tuple[object, ...]:
    return (
        plan.rank,
        plan.options,
        plan.offers,
        plan.cofinancing,
        plan.weighted_reach,
        plan.net_spend,
        plan.bound,
        plan.gap,
        plan.spend_gap,
        plan.proven_optimal,
    )


@pytest.mark.parametrize("seed", [3, 8])
def test_a_run_with_its_plans_made_by_a_second_process_returns_the_same_plans(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    sc = _scenario(seed)
    here = ranking.rank_plans(sc, threads=2)
    submitted: list[int] = []
    submit = PlanMakingProcess.submit

    def counted(self: PlanMakingProcess, order: PlanOrder) -> None:
        submitted.append(order.rank)
        submit(self, order)

    monkeypatch.setattr(ranking, "PROCESS_OPTIONS", 0)
    monkeypatch.setattr(PlanMakingProcess, "submit", counted)
    answered = _answers_counted(monkeypatch)
    kept: list[int] = []

    def progress(event: ProgressEvent) -> None:
        if event.stage == ProgressStage.KEPT:
            kept.append(event.rank)

    beside = ranking.rank_plans(sc, threads=2, progress=progress)
    assert len(here.plans) >= 2
    assert submitted[: len(here.plans)] == list(range(1, len(here.plans) + 1))
    assert answered == submitted  # every plan made by the second process
    assert [_figures(p) for p in beside.plans] == [_figures(p) for p in here.plans]
    assert (beside.status, beside.message) == (here.status, here.message)
    assert sorted(kept) == kept and len(kept) == len(submitted)  # each reported once, in order


def _answers_counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The ranks of the plans the second process itself answered (a plan made here after
    a fault would be the same plan: only this tells the two apart)."""
    answered: list[int] = []
    outcome = PlanMakingProcess._outcome

    def counted(self: PlanMakingProcess, answer: tuple[str, Any]) -> tuple[Plan, bool]:
        made = outcome(self, answer)
        answered.append(made[0].rank)
        return made

    monkeypatch.setattr(PlanMakingProcess, "_outcome", counted)
    return answered


def _orders(sc: Scenario) -> list[PlanOrder]:
    """The orders a run of `sc` kept, read back from its plans (the solve's own amounts)."""
    planset = ranking.rank_plans(sc, threads=1)
    assert len(planset.plans) >= 3
    return [
        PlanOrder(
            rank=p.rank,
            options=p.options,
            offers=p.offers,
            found=tuple((c.offer_id, c.option_id, c.amount) for c in p.cofinancing),
            deadline=time.monotonic() + 30.0,
            bound=p.bound,
            proven=False,
            earlier_bound=None,
            after_last=True,
            spend_proven=False,
            least_spend=None,
            model_reach=p.weighted_reach,
        )
        for p in sorted(planset.plans, key=lambda p: -p.weighted_reach)
    ]


def _made_here(sc: Scenario, orders: list[PlanOrder]) -> list[tuple[object, ...]]:
    maker = PlanMaker(sc)
    for order in orders:
        maker.submit(order)
    return [(_figures(plan), most) for plan, most in maker.take_all()]


def test_the_process_makes_the_plans_made_here_and_each_bounds_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sc = canonical_order(_scenario(5))
    orders = _orders(sc)
    answered = _answers_counted(monkeypatch)
    with PlanMakingProcess(sc) as maker:
        for order in orders:
            maker.submit(order)
        made = [(_figures(plan), most) for plan, most in maker.take_all()]
    assert answered == [order.rank for order in orders]  # the process did the work
    assert made == _made_here(sc, orders)
    bounds = [figures[6] for figures, _most in made]
    assert all(b <= a or math.isclose(a, b) for a, b in itertools.pairwise(bounds))


def test_plans_a_killed_process_did_not_answer_are_made_here() -> None:
    sc = canonical_order(_scenario(5))
    orders = _orders(sc)
    with PlanMakingProcess(sc) as maker:
        maker.submit(orders[0])
        first = maker.take_all()
        assert maker.process is not None
        maker.process.kill()
        maker.process.wait()
        for order in orders[1:]:
            maker.submit(order)
        made = first + maker.take_all()
    assert [(_figures(plan), most) for plan, most in made] == _made_here(sc, orders)


def test_plans_are_made_here_when_the_process_cannot_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sc = canonical_order(_scenario(5))
    orders = _orders(sc)
    monkeypatch.setattr(PlanMakingProcess, "_start", lambda self: None)
    with PlanMakingProcess(sc) as maker:
        for order in orders:
            maker.submit(order)
        made = maker.take_all()
    assert [(_figures(plan), most) for plan, most in made] == _made_here(sc, orders)


def test_a_plan_failing_its_check_in_the_process_is_an_error_here() -> None:
    sc = canonical_order(_scenario(5))
    order = _orders(sc)[0]
    everything = tuple(sorted(o.option_id for o in sc.options))
    broken = replace(order, options=everything)  # over the budget, at least
    with pytest.raises(PlanVerificationError, match="failed independent verification"):
        _made_here(sc, [broken])
    with PlanMakingProcess(sc) as maker:
        maker.submit(broken)
        with pytest.raises(PlanVerificationError, match="failed independent verification"):
            maker.take_all()


def test_a_fault_in_the_process_is_the_same_error_here_and_ends_its_work() -> None:
    """An order the process cannot make (here: an option the scenario lacks) is made here,
    raising what making it here raises; the process's later answers, which may rest on
    that plan's bound, are not used."""
    sc = canonical_order(_scenario(5))
    first, *rest = _orders(sc)
    unknown = replace(rest[0], options=(*rest[0].options, "NOT-AN-OPTION"))
    with pytest.raises(KeyError):
        _made_here(sc, [first, unknown])
    with PlanMakingProcess(sc) as maker:
        for order in (first, unknown, *rest[1:]):
            maker.submit(order)
        with pytest.raises(KeyError):
            maker.take_all()
        assert maker.process is not None and maker.process.poll() is not None  # ended


def test_plans_a_silent_process_holds_past_their_deadline_are_made_here(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A process that never answers (here: never sent anything) costs the run at most
    `ANSWER_WAIT_S` past an order's deadline; the plans are then made here."""
    sc = canonical_order(_scenario(5))
    orders = [replace(o, deadline=time.monotonic()) for o in _orders(sc)]
    monkeypatch.setattr(PlanMakingProcess, "_write", lambda self, payload: None)
    with PlanMakingProcess(sc) as maker:
        for order in orders:
            maker.submit(order)
        began = time.monotonic()
        made = maker.take_all()
        waited = time.monotonic() - began
    assert [(_figures(plan), most) for plan, most in made] == _made_here(sc, orders)
    assert waited < ANSWER_WAIT_S + 2.0
