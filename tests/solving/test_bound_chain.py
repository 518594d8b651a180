"""Variants of one scenario on one held model (`planner.solving.bound_chain`).

After each question the HiGHS instance must hold exactly the model a cold solve of that
variant builds (bounds and coefficients, nothing left of the question before), and the
best reach must be a cold solve's.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from scenario_builders import random_scenario

from planner.model.conditioning import condition
from planner.model.matrix_model import MatrixModel, build_matrix_model
from planner.scenario.data import Scenario
from planner.solving.bound_chain import ReachChain
from planner.solving.ranking import rank_plans

TOL = 1e-6


def _variants(sc: Scenario) -> list[Scenario]:
    """Options and offers left out and forced in, and every loosened setting."""
    s = sc.settings
    out = [sc.with_decisions(never=[o.option_id]) for o in sc.options[:4]]
    out += [sc.with_decisions(must=[o.option_id]) for o in sc.options[-3:]]
    out += [sc.with_decisions(never=[c.offer_id]) for c in sc.offers]
    out.append(sc.with_settings(budget=s.budget * 1.3))
    out.append(sc.with_settings(max_foreign_share=min(1.0, s.max_foreign_share + 0.2)))
    if s.min_average_trust is not None:
        out.append(sc.with_settings(min_average_trust=0.7 * s.min_average_trust))
    out.append(sc)
    return out


def _dense(n_rows: int, n_cols: int, start, index, value, rowwise: bool) -> np.ndarray:
    a = np.zeros((n_rows, n_cols))
    outer = n_rows if rowwise else n_cols
    for k in range(outer):
        for e in range(int(start[k]), int(start[k + 1])):
            if rowwise:
                a[k, int(index[e])] += value[e]
            else:
                a[int(index[e]), k] += value[e]
    return a


def _assert_holds(chain: ReachChain, model: MatrixModel) -> None:
    solver = chain.held.solver
    assert solver is not None
    lp = solver.highs.getLp()
    n = model.n_rows
    assert np.array_equal(np.asarray(lp.col_lower_), model.col_lower)
    assert np.array_equal(np.asarray(lp.col_upper_), model.col_upper)
    assert np.array_equal(np.asarray(lp.row_lower_)[:n], model.row_lower)
    assert np.array_equal(np.asarray(lp.row_upper_)[:n], model.row_upper)
    matrix = lp.a_matrix_
    rowwise = "Row" in str(matrix.format_)
    held = _dense(lp.num_row_, lp.num_col_, matrix.start_, matrix.index_, matrix.value_, rowwise)
    built = _dense(n, model.n_cols, model.row_start, model.row_index, model.row_value, True)
    assert np.array_equal(held[:n], built)


def _cold_reach(variant: Scenario) -> float | None:
    planset = rank_plans(variant.with_settings(plans=1), threads=1)
    return planset.plans[0].weighted_reach if planset.plans else None


@pytest.mark.parametrize("seed", [600, 601, 602, 603, 604, 605])
def test_the_held_model_is_each_variants_own_and_answers_as_cold(seed: int) -> None:
    sc = random_scenario(seed, n_options=8 + seed % 4, n_offers=2, plans=1)
    chain = ReachChain(sc)
    variants = _variants(sc)
    random.Random(seed).shuffle(variants)
    layouts = 0  # a new instance only where the model's rows change (a row dropped)
    last = None
    for variant in variants:
        answer = chain.best_reach(variant, time_limit=30)
        assert answer is not None
        model = condition(build_matrix_model(variant))
        layouts += model.blocks != last
        last = model.blocks
        if answer.termination != "infeasible" or not (model.col_lower > model.col_upper).any():
            _assert_holds(chain, model)
        cold = _cold_reach(variant)
        if answer.termination == "infeasible" or answer.reach is None:
            assert cold is None
            continue
        assert answer.termination == "optimal" and answer.bound is not None
        assert answer.bound - answer.reach <= TOL * max(1.0, answer.reach)
        if cold is None:  # a cold solve reports a best reach of 0 as infeasible
            assert answer.reach <= TOL
        else:
            assert abs(answer.reach - cold) <= TOL * max(1.0, cold), (variant.settings, cold)
    assert chain.rebuilt == layouts < len(variants)
