"""What greedy constructions read of one model, laid out once per model.

Why: each later rank of a large model builds its start from the last plan
(`planner.solving.start_hint`: repaired, refilled), and laying the rows out
column by column, per option and per market took about a second of each rank
(XL, 10 plans: 0.6 s for the greedy's layout, 0.3 s for the reach-loss index,
of a later rank's 2-3 s), although between ranks only the no-good cuts appended
change. The model's own rows are laid out once (`GreedyLayout`, kept by the
solver that holds the model); each construction adds the few rows appended
since (`GreedyLayout.with_rows`), by the same code that laid out the first.

The per-option entries are tuples, not lists: held for the whole run (at XL,
265,000 of them with 2.5 million values), as lists they were walked again by every
full collection of Python's cycle collector (10 plans: 1.6 s of them, freeing
nothing); tuples of numbers drop out of its sight once it has looked at them.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from planner.model.matrix_model import BoolArray, IntArray, MatrixModel
from planner.solving.model_rows import (
    ROW_TOL,
    ExtraRow,
    FloatArray,
    Rows,
    appended_rows,
    model_rows,
)

#: Rows that only set reach u (formulation eqs. 1 and 2): u follows x, not checked per step.
REACH_BLOCKS = ("reach", "full_stack")

#: (rows, coefficients) of one column in the checked rows, row order.
Entries = tuple[tuple[int, ...], tuple[float, ...]]
#: (row, coefficient) entries of a market's or an option's rows in the reach-loss index.
RowEntries = tuple[tuple[int, float], ...]


@dataclass(frozen=True)
class RowsLayout:
    """The rows a construction checks, laid out for it: the model's and those appended.

    `u_rows` are the rows over reach u (the reach blocks and any appended row over u):
    u follows x at the end, so they are not checked step by step. The checked rows are
    also kept column-wise (`c_row`, `c_val` from `c_start[c]` to `c_start[c + 1]` for
    column c) and, per option, as plain tuples (`x_entries`): the greedy loop touches a
    handful of entries at a time. Capacity rows are ≤ rows with a positive limit and no
    negative coefficient on any option (budget, resources): options are priced by their
    use of them. Relief rows are those an amount of co-financing lowers (the budget).
    The reach-loss index maps the rows (1) and (2) that bound a single market's reach
    from above to that market (`row_market`), each market to them with u's coefficient
    (`market_rows`), each option to its entries in them (`option_rows`).
    """

    rows: Rows
    u_rows: BoolArray
    c_col: npt.NDArray[np.int32]
    c_row: IntArray
    c_val: FloatArray
    c_start: IntArray
    x_entries: list[Entries]
    up_tol: list[float]
    lo_tol: list[float]
    capacity_rows: IntArray
    cap_option: npt.NDArray[np.int32]
    cap_slot: IntArray
    cap_use: FloatArray
    relief_rows: frozenset[int]
    market_rows: dict[int, RowEntries] = field(repr=False)
    row_market: dict[int, int] = field(repr=False)
    option_rows: dict[int, RowEntries] = field(repr=False)


class GreedyLayout:
    """One model's rows laid out for greedy constructions, and what depends on the model
    alone: each option's reach by market, the offers' co-financing columns, the options
    free to choose."""

    def __init__(self, mm: MatrixModel) -> None:
        self.mm = mm
        u_start, n_x = mm.u_start, mm.y_start
        reach_rows = np.zeros(mm.n_rows, dtype=bool)
        for name in REACH_BLOCKS:
            block = mm.block(name)
            reach_rows[block.start : block.stop] = True
        self.own = _laid_out(mm, None, model_rows(mm), reach_rows)
        rows = self.own.rows

        # Reach per option from rows (1): u_m - Σ reach_om x_o ≤ 0, as (market, reach, weight).
        reach = mm.block("reach")
        lo, hi = int(mm.row_start[reach.start]), int(mm.row_start[reach.stop])
        r_row, r_col, r_val = rows.row_of[lo:hi], rows.col[lo:hi], rows.val[lo:hi]
        market_of_row = np.full(rows.n_rows, -1, dtype=np.int64)
        is_u = r_col >= u_start
        market_of_row[r_row[is_u]] = r_col[is_u] - u_start
        opt = r_col < n_x
        o_col, o_market, o_reach = r_col[opt], market_of_row[r_row[opt]], -r_val[opt]
        order = np.argsort(o_col, kind="stable")
        weight = mm.objectives["weighted_reach"][u_start:]
        o_col, o_market, o_reach = o_col[order], o_market[order], o_reach[order]
        starts = np.searchsorted(o_col, np.arange(n_x + 1)).tolist()
        markets, reaches, weights = o_market.tolist(), o_reach.tolist(), weight[o_market].tolist()
        self.x_reach = [
            tuple(zip(markets[a:b], reaches[a:b], weights[a:b], strict=True))
            for a, b in itertools.pairwise(starts)
        ]
        # The same entries as flat arrays, to price every candidate at once.
        self.r_option, self.r_market = o_col, o_market
        self.r_reach, self.r_weight = o_reach, weight[o_market]

        self.pair_option = mm.pair_option
        pair_offer = mm.pair_offer
        self.offer_pairs = [
            mm.z_start + np.flatnonzero(pair_offer == k) for k in range(len(mm.offer_ids))
        ]
        self.pair_y = (mm.y_start + pair_offer).tolist()
        """The y column of every z column's offer, by z column - z_start."""
        option_pairs: list[list[int]] = [[] for _ in range(n_x)]
        for p, o in enumerate(self.pair_option.tolist()):
            option_pairs[o].append(mm.z_start + p)
        self.option_pairs = [tuple(pairs) for pairs in option_pairs]
        self.candidates = np.flatnonzero(
            (mm.col_upper[:n_x] > 0.5) & (mm.col_lower[:n_x] < 0.5)
        ).tolist()

    def with_rows(self, extra: Sequence[ExtraRow]) -> RowsLayout:
        """The model's rows and `extra` (stage rows, no-good cuts) laid out together."""
        if not extra:
            return self.own
        appended = appended_rows(extra, self.mm.n_rows)
        return _laid_out(self.mm, self.own, appended, np.zeros(len(extra), dtype=bool))


def layout_for(mm: MatrixModel, held: GreedyLayout | None) -> GreedyLayout:
    """`held` when it is `mm`'s layout, else a new one."""
    return held if held is not None and held.mm is mm else GreedyLayout(mm)


def _laid_out(
    mm: MatrixModel, before: RowsLayout | None, new: Rows, over_u: BoolArray
) -> RowsLayout:
    """`before` (None: nothing yet) with the rows `new` after its own; `over_u` marks the
    new rows known to be over u (the reach blocks), besides those with an entry on u."""
    u_start, n_x, first = mm.u_start, mm.y_start, 0 if before is None else before.rows.n_rows
    local = new.row_of - first
    u_new = over_u.copy()
    u_new[np.unique(local[new.col >= u_start])] = True
    checked = ~u_new[local]

    # Column-wise view of the checked rows; rows appended later sort after, column by column.
    c_col = new.col[checked]
    c_row, c_val = new.row_of[checked], new.val[checked]
    if before is not None:
        c_col = np.concatenate([before.c_col, c_col])
        c_row = np.concatenate([before.c_row, c_row])
        c_val = np.concatenate([before.c_val, c_val])
    order = np.argsort(c_col, kind="stable")
    c_col, c_row, c_val = c_col[order], c_row[order], c_val[order]
    c_start = np.searchsorted(c_col, np.arange(mm.n_cols + 1))

    x_entries = _option_entries(n_x, new, checked, None if before is None else before.x_entries)

    # Capacity rows among the new rows, after those before them (row order kept).
    x_entry = new.col < n_x
    negative = np.zeros(len(u_new), dtype=bool)
    negative[local[x_entry & (new.val < 0)]] = True
    positive = np.zeros(len(u_new), dtype=bool)
    positive[local[x_entry & (new.val > 0)]] = True
    capacity = positive & ~negative & ~u_new & np.isfinite(new.upper) & (new.upper > 0)
    cap_entry = x_entry & capacity[local]
    cap_rows = first + np.flatnonzero(capacity)
    cap_slot = np.searchsorted(cap_rows, new.row_of[cap_entry])
    cap_use = new.val[cap_entry] / new.upper[local[cap_entry]]
    cap_option = new.col[cap_entry]

    z_entry = (new.col >= mm.z_start) & (new.col < u_start) & (new.val < 0)
    relief = frozenset(np.unique(new.row_of[z_entry]).tolist())
    index = _reach_index(mm, new, u_new[local], first)
    if before is None:
        rows, u_rows, up_tol, lo_tol = new, u_new, [], []
        capacity_rows = cap_rows
        market_rows, row_market, option_rows = index
    else:
        rows = before.rows.joined(new)
        u_rows = np.concatenate([before.u_rows, u_new])
        up_tol, lo_tol = before.up_tol, before.lo_tol
        cap_slot = np.concatenate([before.cap_slot, len(before.capacity_rows) + cap_slot])
        cap_use = np.concatenate([before.cap_use, cap_use])
        cap_option = np.concatenate([before.cap_option, cap_option])
        capacity_rows = np.concatenate([before.capacity_rows, cap_rows])
        relief = before.relief_rows | relief
        market_rows = _merged(before.market_rows, index[0])
        row_market = {**before.row_market, **index[1]}
        option_rows = _merged(before.option_rows, index[2])
    return RowsLayout(
        rows=rows,
        u_rows=u_rows,
        c_col=c_col,
        c_row=c_row,
        c_val=c_val,
        c_start=c_start,
        x_entries=x_entries,
        up_tol=up_tol + (new.upper + ROW_TOL).tolist(),
        lo_tol=lo_tol + (new.lower - ROW_TOL).tolist(),
        capacity_rows=capacity_rows,
        cap_option=cap_option,
        cap_slot=cap_slot,
        cap_use=cap_use,
        relief_rows=relief,
        market_rows=market_rows,
        row_market=row_market,
        option_rows=option_rows,
    )


def _option_entries(
    n_x: int, new: Rows, checked: BoolArray, before: list[Entries] | None
) -> list[Entries]:
    """Per option, its entries in the checked rows: `before`'s, then those of `new`."""
    on_x = checked & (new.col < n_x)
    col = new.col[on_x]
    order = np.argsort(col, kind="stable")
    col = col[order]
    row_list, val_list = new.row_of[on_x][order].tolist(), new.val[on_x][order].tolist()
    bounds = np.searchsorted(col, np.arange(n_x + 1)).tolist()
    if before is None:
        return [(tuple(row_list[a:b]), tuple(val_list[a:b])) for a, b in itertools.pairwise(bounds)]
    out = list(before)
    for o in np.unique(col).tolist():
        a, b = bounds[o], bounds[o + 1]
        rows, vals = before[o]
        out[o] = (rows + tuple(row_list[a:b]), vals + tuple(val_list[a:b]))
    return out


def _reach_index(
    mm: MatrixModel, new: Rows, over_u: BoolArray, first: int
) -> tuple[dict[int, RowEntries], dict[int, int], dict[int, RowEntries]]:
    """(market → its rows with u's coefficient, row → market, option → its (row, coefficient)
    entries) over the rows of `new` (numbered from `first`) that bound one market's reach from
    above (eqs. 1, 2); `over_u` marks the entries of rows over u."""
    u = mm.u_start
    on = over_u
    row_of, col, val = new.row_of[on].tolist(), new.col[on].tolist(), new.val[on].tolist()
    u_entries: dict[int, list[tuple[int, float]]] = {}
    x_entries: dict[int, list[tuple[int, float]]] = {}
    for r, c, v in zip(row_of, col, val, strict=True):
        if c >= u:
            u_entries.setdefault(r, []).append((c - u, v))
        elif c < mm.y_start:
            x_entries.setdefault(r, []).append((c, v))
    market_rows: dict[int, list[tuple[int, float]]] = {}
    row_market: dict[int, int] = {}
    option_rows: dict[int, list[tuple[int, float]]] = {}
    for r, entries in u_entries.items():
        if len(entries) != 1 or entries[0][1] <= 0 or not np.isfinite(new.upper[r - first]):
            continue  # not a row (1) or (2): it bounds no single market's reach from above
        market, a = entries[0]
        market_rows.setdefault(market, []).append((r, a))
        row_market[r] = market
        for o, v in x_entries.get(r, ()):
            option_rows.setdefault(o, []).append((r, v))
    return _frozen(market_rows), row_market, _frozen(option_rows)


def _merged(before: dict[int, RowEntries], new: dict[int, RowEntries]) -> dict[int, RowEntries]:
    """`before` with `new`'s entries after its own, key by key; neither is changed."""
    if not new:
        return before
    out = dict(before)
    for key, entries in new.items():
        out[key] = (*before.get(key, ()), *entries)
    return out


def _frozen(lists: dict[int, list[tuple[int, float]]]) -> dict[int, RowEntries]:
    """The same entries in tuples (the module's docstring says why)."""
    return {key: tuple(entries) for key, entries in lists.items()}
