"""The greedy's layout of a model, kept across ranks with rows appended each time.

A later rank's start reads the model's rows laid out once plus its own cuts
(`GreedyLayout.with_rows`). Each field must be what laying out every row at once
gives: checked here against a reference written directly over all the rows
(`all_rows`), for appended cuts, stage rows over reach u and over co-financing,
and layouts reused across several sets of appended rows.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest
from scenario_builders import random_scenario

from planner.model.matrix_model import MatrixModel, build_matrix_model
from planner.solving.greedy_layout import REACH_BLOCKS, GreedyLayout, RowsLayout, layout_for
from planner.solving.model_rows import ExtraRow, all_rows
from planner.solving.ranking import rank_plans
from planner.solving.start_hint import hinted_start
from planner.solving.start_plan import greedy_start


def _extra_rows(mm: MatrixModel, seed: int) -> list[ExtraRow]:
    """A no-good cut, a stage row over reach u and one over net spend (z entries too)."""
    rng = np.random.default_rng(seed)
    n_x = mm.y_start
    chosen = np.sort(rng.choice(n_x, size=max(1, n_x // 2), replace=False)).astype(np.int32)
    cut = ExtraRow(chosen, np.ones(len(chosen)), -np.inf, float(len(chosen) - 1))
    reach = mm.objectives["weighted_reach"]
    on_u = np.flatnonzero(reach).astype(np.int32)
    held_reach = ExtraRow(on_u, reach[on_u], 1.0, np.inf)
    spend = mm.objectives["net_spend"]
    on_spend = np.flatnonzero(spend).astype(np.int32)
    held_spend = ExtraRow(on_spend, spend[on_spend], -np.inf, float(np.abs(spend).sum()))
    return [cut, held_reach, held_spend]


def _reference(mm: MatrixModel, extra: list[ExtraRow]) -> dict[str, object]:
    """Every field of the layout, computed over all rows at once."""
    rows = all_rows(mm, extra)
    u_rows = np.zeros(rows.n_rows, dtype=bool)
    for name in REACH_BLOCKS:
        block = mm.block(name)
        u_rows[block.start : block.stop] = True
    u_rows[np.unique(rows.row_of[rows.col >= mm.u_start])] = True
    checked = ~u_rows[rows.row_of]
    order = np.argsort(rows.col[checked], kind="stable")
    c_row, c_val = rows.row_of[checked][order], rows.val[checked][order]
    c_start = np.searchsorted(rows.col[checked][order], np.arange(mm.n_cols + 1))
    x_entries = [
        (
            tuple(c_row[c_start[o] : c_start[o + 1]].tolist()),
            tuple(c_val[c_start[o] : c_start[o + 1]].tolist()),
        )
        for o in range(mm.y_start)
    ]
    x_entry = rows.col < mm.y_start
    negative = np.zeros(rows.n_rows, dtype=bool)
    negative[rows.row_of[x_entry & (rows.val < 0)]] = True
    positive = np.zeros(rows.n_rows, dtype=bool)
    positive[rows.row_of[x_entry & (rows.val > 0)]] = True
    capacity_rows = np.flatnonzero(
        positive & ~negative & ~u_rows & np.isfinite(rows.upper) & (rows.upper > 0)
    )
    cap_entry = x_entry & np.isin(rows.row_of, capacity_rows)
    z_entry = (rows.col >= mm.z_start) & (rows.col < mm.u_start) & (rows.val < 0)
    market_rows: dict[int, list[tuple[int, float]]] = {}
    row_market: dict[int, int] = {}
    option_rows: dict[int, list[tuple[int, float]]] = {}
    for r in np.flatnonzero(u_rows).tolist():
        at = rows.row_of == r
        cols, vals = rows.col[at], rows.val[at]
        on_u = cols >= mm.u_start
        if on_u.sum() != 1 or vals[on_u][0] <= 0 or not np.isfinite(rows.upper[r]):
            continue
        market = int(cols[on_u][0]) - mm.u_start
        market_rows.setdefault(market, []).append((r, float(vals[on_u][0])))
        row_market[r] = market
        for c, v in zip(cols.tolist(), vals.tolist(), strict=True):
            if c < mm.y_start:
                option_rows.setdefault(c, []).append((r, v))
    return {
        "u_rows": u_rows,
        "c_row": c_row,
        "c_val": c_val,
        "c_start": c_start,
        "x_entries": x_entries,
        "up_tol": (rows.upper + 1e-9).tolist(),
        "lo_tol": (rows.lower - 1e-9).tolist(),
        "capacity_rows": capacity_rows,
        "cap_option": rows.col[cap_entry],
        "cap_slot": np.searchsorted(capacity_rows, rows.row_of[cap_entry]),
        "cap_use": rows.val[cap_entry] / rows.upper[rows.row_of[cap_entry]],
        "relief_rows": frozenset(np.unique(rows.row_of[z_entry]).tolist()),
        "market_rows": {m: tuple(entries) for m, entries in market_rows.items()},
        "row_market": row_market,
        "option_rows": {o: tuple(entries) for o, entries in option_rows.items()},
    }


def _assert_laid_out_as(laid: RowsLayout, expected: dict[str, object]) -> None:
    for name, value in expected.items():
        got = getattr(laid, name)
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(np.asarray(got), value, err_msg=name)
        else:
            assert got == value, name


@pytest.mark.parametrize("seed", range(8))
def test_rows_appended_to_a_held_layout_are_laid_out_as_all_rows_at_once(seed: int) -> None:
    sc = random_scenario(7100 + seed, n_options=14, n_markets=5, n_offers=3, plans=1)
    mm = build_matrix_model(sc)
    layout = GreedyLayout(mm)
    _assert_laid_out_as(layout.with_rows([]), _reference(mm, []))
    extra = _extra_rows(mm, seed)
    for count in (1, 2, 3, 1):  # the held layout is reused, never changed by an earlier call
        _assert_laid_out_as(layout.with_rows(extra[:count]), _reference(mm, extra[:count]))


def test_a_layout_is_reused_only_for_its_own_model() -> None:
    sc = random_scenario(7200, n_options=8, n_markets=4, n_offers=1, plans=1)
    first, second = build_matrix_model(sc), build_matrix_model(sc)
    held = GreedyLayout(first)
    assert layout_for(first, held) is held
    assert layout_for(second, held) is not held
    assert layout_for(second, held).mm is second


@pytest.mark.parametrize("seed", range(6))
def test_starts_from_a_held_layout_equal_starts_laid_out_afresh(seed: int) -> None:
    sc = random_scenario(7300 + seed, n_options=12, n_markets=5, n_offers=2, plans=1)
    mm = build_matrix_model(sc)
    held = GreedyLayout(mm)
    extra = _extra_rows(mm, seed)[:1]
    for rows in ([], extra):
        fresh, reused = greedy_start(mm, rows), greedy_start(mm, rows, layout=held)
        assert (fresh is None) == (reused is None)
        if fresh is not None and reused is not None:
            np.testing.assert_array_equal(fresh, reused)
        hint = [o.option_id for o in sc.options[::2]]
        fresh = hinted_start(mm, rows, hint, refill=True)
        reused = hinted_start(mm, rows, hint, refill=True, layout=held)
        assert (fresh is None) == (reused is None)
        if fresh is not None and reused is not None:
            np.testing.assert_array_equal(fresh, reused)


def test_ranking_lays_the_model_out_once() -> None:
    """Every start of a run on the direct backend reads one layout of the model."""
    sc = random_scenario(7402, n_options=12, n_markets=5, n_offers=2, plans=4)
    built: list[MatrixModel] = []
    original = GreedyLayout.__init__

    def counting(self: GreedyLayout, mm: MatrixModel) -> None:
        built.append(mm)
        original(self, mm)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(GreedyLayout, "__init__", counting)
        plans = rank_plans(sc)
    assert len(plans.plans) > 1
    assert built, "no start was built"
    assert len(built) == len({id(mm) for mm in built})


def test_the_per_option_entries_drop_out_of_the_cycle_collectors_sight() -> None:
    """Held for a whole run, 50,000 options' entries as lists made every full collection
    walk 2.5 million elements again (XL, 10 plans: 1.6 s); as tuples of numbers the
    collector stops tracking them after its first looks."""
    sc = random_scenario(7400, n_options=12, n_markets=5, n_offers=2, plans=1)
    mm = build_matrix_model(sc)
    layout = GreedyLayout(mm)
    laid = layout.with_rows(_extra_rows(mm, 0)[:2])
    gc.collect()
    gc.collect()  # a tuple of tuples once its inner ones are no longer tracked
    held = [
        *layout.x_reach,
        *layout.option_pairs,
        *laid.x_entries,
        *laid.market_rows.values(),
        *laid.option_rows.values(),
    ]
    assert held and not any(gc.is_tracked(entries) for entries in held)
