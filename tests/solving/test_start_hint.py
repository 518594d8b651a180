"""A start made of a related plan's options (`planner.solve(..., start=...)`).

A start is only a hint: proven plans are those of a solve without it. It must
still be used (HiGHS holds it as its incumbent from the start; a solve cut short
answers with it), be repaired when it breaks a limit (options dropped until
every row holds), and unknown ids are bad input.
"""

from __future__ import annotations

import random
import time
from dataclasses import replace

import numpy as np
import pytest
from model.test_model_bruteforce import enumerate_plans
from scenario_builders import random_scenario, sorted_scenario, tiny_scenario

import planner
from planner.checks.verify import check_plan, make_plan
from planner.errors import InputError
from planner.model.common import extract_decisions
from planner.model.matrix_model import build_matrix_model
from planner.plan import CoFinancing, RunStatus
from planner.scenario.data import Scenario
from planner.solving import solver as solver_module
from planner.solving.model_rows import ExtraRow, feasible, no_good_row
from planner.solving.ranking import rank_plans
from planner.solving.result import SolveResult, Termination
from planner.solving.start_hint import hinted_start

TOL = 1e-6


def _values(result: planner.Result) -> list[tuple[float, float, int]]:
    return [(p.weighted_reach, p.net_spend, len(p.options)) for p in result.plans]


def _assert_same_values(a: planner.Result, b: planner.Result) -> None:
    assert a.status == b.status
    assert len(a.plans) == len(b.plans)
    for (ra, sa, na), (rb, sb, nb) in zip(_values(a), _values(b), strict=True):
        assert ra == pytest.approx(rb, rel=TOL, abs=TOL)
        assert sa == pytest.approx(sb, rel=TOL, abs=TOL)
        assert na == nb


def _unique_best(sc: Scenario) -> frozenset[str] | None:
    """The options of the only best plan by brute force, or None when several tie."""
    candidates = [c for c in enumerate_plans(sc) if c[1] > TOL]
    if not candidates:
        return None
    top = max(c[1] for c in candidates)
    tier = [c for c in candidates if c[1] >= top - TOL * max(1.0, top)]
    least = min(c[2] for c in tier)
    tier = [c for c in tier if c[2] <= least + TOL * max(1.0, abs(least))]
    fewest = min(len(c[0]) for c in tier)
    tier = [c for c in tier if len(c[0]) == fewest]
    return tier[0][0] if len(tier) == 1 else None


@pytest.mark.parametrize("seed", range(24))
def test_a_start_never_changes_proven_plans(seed: int) -> None:
    """Random hints (any options, limits broken or not) and the frontier's own hint (the
    plan at a budget just above): the same proven plans, and on rank 1 the same options
    whenever brute force finds a single best plan."""
    rng = random.Random(seed)
    sc = random_scenario(3000 + seed, n_options=7 + seed % 4, n_offers=seed % 3, plans=1 + seed % 3)
    if seed % 2:  # the frontier's step: budget just below the last plan's net spend
        top = planner.solve(sc, plans=1, threads=1)
        if not top.plans:
            return
        spend = top.plans[0].net_spend
        hint = list(top.plans[0].options)
        sc = sc.with_settings(budget=max(0.0, spend - TOL * max(1.0, spend)))
    else:
        hint = sorted(o.option_id for o in sc.options if rng.random() < 0.6)
    without = planner.solve(sc, threads=1)
    with_start = planner.solve(sc, threads=1, start=hint)
    assert without.status in (RunStatus.OPTIMAL, RunStatus.INFEASIBLE)
    _assert_same_values(without, with_start)
    only = _unique_best(sc)
    if only is not None and with_start.plans:
        assert frozenset(with_start.plans[0].options) == only


def test_a_start_with_several_ranks_and_cores() -> None:
    """Ranks after the first, the tie-break lane and CBC's race beside a hinted rank 1."""
    sc = random_scenario(3101, n_options=11, n_offers=2, plans=4)
    hint = [o.option_id for o in sc.options][::2]
    _assert_same_values(planner.solve(sc, threads=2), planner.solve(sc, threads=2, start=hint))


def _plan_of(sc: Scenario, values: np.ndarray) -> tuple[frozenset[str], float]:
    """The start as a checked plan: its options and its recomputed weighted reach."""
    mm = build_matrix_model(sc)
    options, offers, amounts = extract_decisions(
        mm,
        list(values[mm.x_start : mm.y_start]),
        list(values[mm.y_start : mm.z_start]),
        list(values[mm.z_start : mm.u_start]),
    )
    plan = make_plan(
        sc,
        1,
        options,
        offers,
        [CoFinancing(c, o, a) for c, o, a in amounts],
        bound=0.0,
        proven_optimal=False,
        gap=None,
    )
    assert check_plan(sc, plan) == []
    assert float(mm.objectives["weighted_reach"] @ values) == pytest.approx(plan.weighted_reach)
    return frozenset(options), plan.weighted_reach


@pytest.mark.parametrize("seed", range(30))
def test_a_repaired_start_is_a_verified_plan_made_of_the_hint(seed: int) -> None:
    """Whatever the hint, the start meets every SPEC §3 rule (checked by the independent
    verification), holds only hinted or `must` options, and exists whenever the hint
    itself has a feasible subset that dropping reaches, such as the empty plan."""
    rng = random.Random(seed)
    sc = random_scenario(3200 + seed, n_options=10, n_offers=2, plans=1)
    hint = [o.option_id for o in sc.options if rng.random() < 0.7]
    values = hinted_start(build_matrix_model(sc), (), hint)
    # No `must` and no `>=` row an empty plan breaks but average trust (0 ≥ 0 holds):
    # dropping every option is feasible, so a start always exists here.
    assert values is not None
    options, _reach = _plan_of(sc, values)
    assert options <= set(hint)


def test_an_over_budget_hint_loses_least_reach_per_unit_saved() -> None:
    """Tiny scenario, budget 15: of {O1, O2} (cost 10 each), O1 (reach 5) goes, not O2
    (2 × 8 = 16): 5 per 10 saved against 16 per 10."""
    sc = tiny_scenario(budget=15.0)
    values = hinted_start(build_matrix_model(sc), (), ["O1", "O2"])
    assert values is not None
    assert _plan_of(sc, values) == (frozenset({"O2"}), 16.0)


def test_a_hint_breaking_a_rule_drops_the_requiring_option() -> None:
    """O3 requires O1, which the budget cannot carry beside O2: O1 leaves first (least
    reach per unit saved), then O3, which now breaks `requires`."""
    from planner.scenario.data import Rule

    sc = replace(tiny_scenario(budget=25.0), rules=(Rule("requires", "O3", "O1"),))
    values = hinted_start(build_matrix_model(sc), (), ["O1", "O2", "O3"])
    assert values is not None
    options, reach = _plan_of(sc, values)
    assert options in ({frozenset({"O2"}), frozenset({"O1", "O3"})})
    assert reach == 16.0 or reach == pytest.approx(5.0 + 4.0 + 2 * 4.0)


def test_screened_and_never_options_leave_and_must_options_join() -> None:
    sc = tiny_scenario(budget=30.0).with_decisions(must=["O3"], never=["O2"])
    values = hinted_start(build_matrix_model(sc), (), ["O2"])
    assert values is not None
    assert _plan_of(sc, values)[0] == frozenset({"O3"})


def test_a_start_that_cannot_be_repaired_is_none() -> None:
    """A `must` option over budget: dropping hinted options can never mend it."""
    sc = tiny_scenario(budget=12.0).with_decisions(must=["O3"])
    assert hinted_start(build_matrix_model(sc), (), ["O1"]) is None


@pytest.mark.parametrize("seed", [3305, 3323])
def test_highs_holds_the_start_as_its_incumbent(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given the optimum's options, HiGHS receives a feasible start and its first improving
    solution is the start itself; without the start its first one is worse (these seeds)."""
    sc = random_scenario(seed, n_options=12, n_offers=2, plans=1)
    offered: list[float] = []
    reported: list[float] = []
    set_start = solver_module.MatrixSolver.set_start
    improving = solver_module.MatrixSolver._keep_improving_solution

    def spy_start(self: solver_module.MatrixSolver, values: np.ndarray) -> None:
        assert feasible(self.model, self.extra_rows(), np.asarray(values))
        offered.append(float(self._cost @ np.asarray(values)))
        set_start(self, values)

    def spy_improving(self: solver_module.MatrixSolver, event: object) -> None:
        reported.append(float(event.data_out.objective_function_value))  # type: ignore[attr-defined]
        improving(self, event)

    monkeypatch.setattr(solver_module.MatrixSolver, "set_start", spy_start)
    monkeypatch.setattr(solver_module.MatrixSolver, "_keep_improving_solution", spy_improving)
    best = planner.solve(sc, threads=1).plans[0]
    first_without = reported[0]
    reported.clear()
    offered.clear()  # a tie-break starts from its reach stage's plan: not the hint
    result = planner.solve(sc, threads=1, start=list(best.options))
    assert result.plans[0].weighted_reach == pytest.approx(best.weighted_reach)
    assert offered, "no start was handed to HiGHS"
    assert reported[0] == pytest.approx(offered[0], rel=TOL)
    assert first_without < offered[0] - 0.5


def test_a_solve_cut_short_answers_with_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """HiGHS refused every solve (as at a deadline): without a start there is no plan, with
    the optimum's options as start the run reports that plan, unproven."""
    sc = random_scenario(3302, n_options=10, n_offers=2, plans=1)
    best = planner.solve(sc, threads=1).plans[0]

    def out_of_time(self: solver_module.MatrixSolver) -> SolveResult:
        self.interrupted = True
        return SolveResult(Termination.TIME_LIMIT, None, None, 0.0)

    monkeypatch.setattr(solver_module.MatrixSolver, "_refuse", out_of_time)
    assert not planner.solve(sc, threads=1).plans
    hinted = planner.solve(sc, threads=1, start=list(best.options))
    assert hinted.status == RunStatus.FEASIBLE
    plan = hinted.plans[0]
    assert not plan.proven_optimal
    assert plan.weighted_reach >= best.weighted_reach - TOL * max(1.0, best.weighted_reach)
    assert check_plan(sc, plan) == []


def test_unknown_ids_are_bad_input_at_the_start_argument() -> None:
    sc = tiny_scenario()
    with pytest.raises(InputError) as caught:
        planner.solve(sc, start=["O1", "NOPE", 7.5])
    problems = caught.value.problems
    assert [p.value for p in problems] == ["NOPE", 7.5]
    assert all(p.where() == "solve() argument start" for p in problems)
    assert "option" in problems[0].expected


def test_one_text_is_not_a_list_of_ids() -> None:
    with pytest.raises(InputError) as caught:
        planner.solve(tiny_scenario(), start="O1")  # type: ignore[arg-type]
    assert [str(p) for p in caught.value.problems] == [
        "solve() argument start: found 'O1'; expected a list of option ids"
    ]


def test_start_problems_come_with_the_other_argument_problems() -> None:
    with pytest.raises(InputError) as caught:
        planner.solve(tiny_scenario(), plans=0, start=["NOPE"])
    columns = sorted(p.column or "" for p in caught.value.problems)
    assert columns == ["plans", "start"]


def test_rank_plans_takes_the_hint_as_option_ids() -> None:
    """The solving layer takes ids already checked (an id it does not know is ignored)."""
    sc = tiny_scenario()
    plain = rank_plans(sc)
    hinted = rank_plans(sc, start=("O1", "O2", "unknown"))
    assert [p.options for p in hinted.plans] == [p.options for p in plain.plans]


def _shared_offers_scenario() -> Scenario:
    """Tiny scenario, budget 10, at most half of an option's cost co-financed: {O1, O2}
    (gross 20) fits only with offer A paying O2 and offer B paying O1 (5 each). A (id
    first, eligible for both) taken the greedy's way pays O1, and B, eligible for O1
    alone, then has nothing left to pay."""
    from planner.scenario.data import Offer

    sc = tiny_scenario(budget=10.0, max_cofinance_share=0.5)
    options = tuple(replace(o, layer="apps") if o.option_id == "O2" else o for o in sc.options)
    offers = (
        Offer("A", "A", 0.5, 5.0, layers=("cloud", "apps")),
        Offer("B", "B", 0.5, 5.0, layers=("cloud",)),
    )
    return replace(sc, options=options, offers=offers)


def test_a_hint_keeps_the_co_financing_of_the_plan_it_comes_from() -> None:
    """Given the solved plan's vector, the hint keeps both options (its amounts fit);
    with the greedy's own amounts the budget forces one out."""
    sc = _shared_offers_scenario()
    best = planner.solve(sc, threads=1).plans[0]
    assert set(best.options) == {"O1", "O2"} and best.weighted_reach == pytest.approx(21.0)
    mm = build_matrix_model(sc)
    solver = solver_module.MatrixSolver(mm, deadline=float("inf"))
    prior = np.asarray(solver.solve().columns(), dtype=np.float64)
    kept = hinted_start(mm, (), ["O1", "O2"], prior=prior)
    assert kept is not None
    assert _plan_of(sc, kept) == (frozenset({"O1", "O2"}), pytest.approx(21.0))
    alone = hinted_start(mm, (), ["O1", "O2"])
    assert alone is not None
    assert len(_plan_of(sc, alone)[0]) == 1


def test_a_prior_whose_amounts_cannot_be_repaired_falls_back_to_the_greedys() -> None:
    """A prior with amounts that break a row whatever is dropped (here: more co-financing
    than any option may get) is set aside, and the hint is repaired as without it."""
    sc = _shared_offers_scenario()
    mm = build_matrix_model(sc)
    solver = solver_module.MatrixSolver(mm, deadline=float("inf"))
    prior = np.asarray(solver.solve().columns(), dtype=np.float64)
    prior[mm.z_start : mm.u_start] *= 3.0
    assert hinted_start(mm, (), ["O1", "O2"], prior=prior) is not None
    np.testing.assert_array_equal(
        hinted_start(mm, (), ["O1", "O2"], prior=prior), hinted_start(mm, (), ["O1", "O2"])
    )


def _cut_of(sc: Scenario, options: list[str]) -> ExtraRow:
    """The no-good cut of a plan of `options` (formulation eq. 14), as the ranking adds it."""
    mm = build_matrix_model(sc)
    index = mm.option_index()
    return no_good_row(mm, sorted(index[o] for o in options), len(options) - 1)


def _drop_scenario() -> Scenario:
    """Budget 30, plan {A, B, C} (spend 30, reach 6 + 2 + 9 = 17), D (cost 20, reach 3)
    outside. Leaving A out saves most spend per reach lost (6 per 20), B loses least (2)."""
    from planner.scenario.data import Coverage, Market, Option

    base = tiny_scenario(budget=30.0)
    markets = tuple(Market(f"M{i}", f"M{i}", "East Africa", 1.0, 10.0) for i in range(1, 5))
    options = (
        Option("A", "P1", "A", "cloud", None, 20.0),
        Option("B", "P1", "B", "cloud", None, 5.0),
        Option("C", "P2", "C", "cloud", None, 5.0),
        Option("D", "P2", "D", "cloud", None, 20.0),
    )
    coverage = (
        Coverage("A", "M1", 6.0),
        Coverage("B", "M2", 2.0),
        Coverage("C", "M3", 9.0),
        Coverage("D", "M4", 3.0),
    )
    return sorted_scenario(replace(base, markets=markets, options=options, coverage=coverage))


def test_a_plan_cut_off_loses_the_option_whose_leaving_costs_least_after_refilling() -> None:
    """A later rank's start is the last plan less one option (its cut). Leaving A out
    (least reach per unit saved, the budget's rule) and refilling gives {B, C, D}, 14;
    leaving B out gives {A, C}, 15, the best plan without all of {A, B, C}."""
    sc = _drop_scenario()
    plan = ["A", "B", "C"]
    values = hinted_start(build_matrix_model(sc), (_cut_of(sc, plan),), plan, refill=True)
    assert values is not None
    assert _plan_of(sc, values) == (frozenset({"A", "C"}), pytest.approx(15.0))
    best_without = max(
        reach for chosen, reach, _spend in enumerate_plans(sc) if not {"A", "B", "C"} <= chosen
    )
    assert best_without == pytest.approx(15.0)


def test_a_hint_over_its_budget_is_still_repaired_by_the_budgets_rule() -> None:
    """Only a cut, which any option's leaving mends, gets the single-drop search: a hint
    failing one of the model's own rows (here the budget, 25 for a plan of 30), which
    may need several options to leave, is repaired by the budget's rule alone: A leaves
    first (6 per 20 saved), then nothing fits the refill: {B, C}, 11."""
    sc = replace(_drop_scenario(), settings=replace(_drop_scenario().settings, budget=25.0))
    values = hinted_start(build_matrix_model(sc), (), ["A", "B", "C"], refill=True)
    assert values is not None
    options, reach = _plan_of(sc, values)
    assert options == frozenset({"B", "C"}) and reach == pytest.approx(11.0)


def test_a_neighbouring_budgets_plan_gets_its_best_single_drop() -> None:
    """The same hint, as a frontier point's start (the plan of the budget just above,
    `any_row`): each option left out in turn and the room refilled, the best kept.
    Leaving B out gives {A, C}, 25 of 25, reach 15 (the best plan within 25), where the
    budget's rule gave {B, C}, 11."""
    sc = replace(_drop_scenario(), settings=replace(_drop_scenario().settings, budget=25.0))
    values = hinted_start(build_matrix_model(sc), (), ["A", "B", "C"], refill=True, any_row=True)
    assert values is not None
    assert _plan_of(sc, values) == (frozenset({"A", "C"}), pytest.approx(15.0))
    assert max(reach for _chosen, reach, spend in enumerate_plans(sc) if spend <= 25.0) == (
        pytest.approx(15.0)
    )


def test_a_drop_an_earlier_plan_already_took_is_passed_over() -> None:
    """Plans {B, C, D} (A left out of {A, B, C}, D filled in) and {A, C} (B left out) were
    returned: from {A, B, C} again, leaving A or B out would make them again (or plans
    holding them), so only C is tried; a cut not of a plan (a stage row) is ignored."""
    from planner.solving.start_hint import _drops_taken

    sc = _drop_scenario()
    mm = build_matrix_model(sc)
    index = mm.option_index()
    chosen = sorted(index[o] for o in ("A", "B", "C"))
    cuts = [_cut_of(sc, ["B", "C", "D"]), _cut_of(sc, ["A", "C"]), _cut_of(sc, ["A", "B", "C"])]
    stage = ExtraRow(np.asarray([index["C"]], dtype=np.int32), np.asarray([2.0]), 1.0, np.inf)
    taken = _drops_taken(mm, [*cuts, stage], chosen)
    assert taken == {index["A"], index["B"]}


def test_every_drop_is_tried_while_the_starts_deadline_allows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The single drops may use the start's whole window: when each refill is slow (here
    0.3 s, against a 3 s window), every option of the plan cut off is still tried (a
    quarter of the window stopped after the first at M, and later ranks started from
    the plans of 9,258 where the 24th drop gave 9,274)."""
    import planner.solving.start_hint as start_hint

    sc = _drop_scenario()
    plan = ["A", "B", "C"]
    left_out: list[tuple[int, ...]] = []
    fill = start_hint.Greedy.fill

    def slow_fill(self, chosen, leave_out=(), prior=None):  # type: ignore[no-untyped-def]
        time.sleep(0.3)
        left_out.append(tuple(leave_out))
        return fill(self, chosen, leave_out=leave_out, prior=prior)

    monkeypatch.setattr(start_hint.Greedy, "fill", slow_fill)
    mm = build_matrix_model(sc)
    values = hinted_start(
        mm, (_cut_of(sc, plan),), plan, refill=True, deadline=time.monotonic() + 3.0
    )
    assert values is not None
    index = mm.option_index()
    assert sorted(o for drop in left_out for o in drop) == sorted(index[o] for o in plan)
    assert _plan_of(sc, values) == (frozenset({"A", "C"}), pytest.approx(15.0))
