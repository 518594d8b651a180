"""A start plan for HiGHS, built greedily and checked against every row of the model.

Why: on large scenarios HiGHS can spend the whole time limit in its root LP
and end with no plan at all (measured: 10,000 options, 60 s). A plan built in
about a second and handed to HiGHS as its first incumbent means a run always
has something verified to report, with its gap, and gives HiGHS's pruning a
floor from the start.

The heuristic works on the matrix model's rows, not on the scenario, so every
rule, offer, resource limit, no-good cut and stage row is respected by one
check. Options are added in order of weighted reach gained per unit of cost
(lazily re-evaluated, as reach saturates at `addressable`), only when no row
gets worse; then offers are taken where their co-financing exceeds their fee,
which frees budget for another round of options. Reach `u` is finally set to
the largest value rows (1) and (2) allow, and the whole vector is checked; a
vector that fails any row or bound is not returned.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Collection, Sequence

import numpy as np
import numpy.typing as npt

from planner.model.matrix_model import MatrixModel
from planner.solving.greedy_layout import GreedyLayout, layout_for
from planner.solving.model_rows import ROW_TOL, ExtraRow, FloatArray, feasible_under

#: Rounds of (options, then offers) before the heuristic stops improving.
MAX_ROUNDS = 4

#: Greedy constructions per start plan (each re-weights the limits that bound the last).
RUNS = 4


def greedy_start(
    mm: MatrixModel,
    extra: Sequence[ExtraRow] = (),
    *,
    deadline: float | None = None,
    runs: int = RUNS,
    stop_by: float | None = None,
    layout: GreedyLayout | None = None,
) -> FloatArray | None:
    """A full column vector (x, y, z, u) that satisfies every row of `mm` and `extra`, or None.

    Up to `runs` greedy constructions, each pricing the capacity rows (budget,
    resources) by weights that the previous run's binding rows raised: which
    limit binds is only known after trying. The best feasible vector by
    weighted reach is returned. None when no construction met every row (a
    `>=` rule such as average trust or a `must` offer's matching spend left
    unmet), or when `deadline` (a `time.monotonic()` instant) passed before one
    finished. Past `stop_by` (a `time.monotonic()` instant) no further run
    starts that would, at the last run's pace, end after it. `layout`: `mm`'s, if held.
    """
    greedy = Greedy(mm, extra, deadline, layout)
    weights = np.ones(len(greedy.capacity_rows))
    best: FloatArray | None = None
    best_reach = -np.inf
    reach_cost = mm.objectives["weighted_reach"]
    for _run in range(runs):
        began = time.monotonic()
        try:
            values = greedy.construct(weights)
        except Late:
            break
        if values is not None and (reach := float(reach_cost @ values)) > best_reach + 1e-9:
            best, best_reach = values, reach
        now = time.monotonic()
        if stop_by is not None and now + (now - began) > stop_by:
            break
        use = greedy.capacity_use()
        weights = np.where(use > 0.98, weights * 2.0, weights * 0.5)
    return best


class Greedy:
    """One model's data laid out for greedy constructions, and the state of the current one.

    Also completes a given set of options into a whole vector (`complete`), for
    starts made of a related plan's options (`planner.solving.start_hint`).
    """

    def __init__(
        self,
        mm: MatrixModel,
        extra: Sequence[ExtraRow],
        deadline: float | None,
        layout: GreedyLayout | None = None,
    ) -> None:
        """`layout`: `mm`'s, when one is held (built here otherwise)."""
        self.mm = mm
        self.deadline = deadline
        self.layout = layout = layout_for(mm, layout)
        self.laid = laid = layout.with_rows(extra)
        self.rows = rows = laid.rows
        self.u_rows = laid.u_rows
        self.c_row, self.c_val, self.c_start = laid.c_row, laid.c_val, laid.c_start
        self.x_entries = laid.x_entries
        self.up_tol, self.lo_tol = laid.up_tol, laid.lo_tol
        self.x_reach = layout.x_reach
        self.r_option, self.r_market = layout.r_option, layout.r_market
        self.r_reach, self.r_weight = layout.r_reach, layout.r_weight
        self.capacity_rows, self.cap_option = laid.capacity_rows, laid.cap_option
        self.cap_slot, self.cap_use = laid.cap_slot, laid.cap_use
        self.pair_option, self.offer_pairs = layout.pair_option, layout.offer_pairs
        self.relief_rows = laid.relief_rows
        self.pair_y, self.option_pairs = layout.pair_y, layout.option_pairs
        self.candidates = layout.candidates
        self.values = mm.col_lower.copy()
        self.act = rows.activity(self.values)
        self.room: list[float] = []
        self.price: list[float] = []

    # -- one construction ----------------------------------------------------------

    def construct(self, weights: FloatArray) -> FloatArray | None:
        """One greedy construction with capacity rows priced by `weights`; None if infeasible."""
        self._begin((), weights)
        return self._grow(self.candidates)

    def fill(
        self,
        chosen: Sequence[int],
        leave_out: Collection[int] = (),
        prior: FloatArray | None = None,
    ) -> FloatArray | None:
        """The options `chosen` (x indices), offers taken for them, then every other option
        that still adds reach and fits, in the greedy's order, never those in `leave_out`;
        None if the vector fails a row; raises `Late` past the deadline. `prior`: a vector
        whose co-financing the chosen options keep (`_hold`).

        Why: a related plan repaired by dropping options (`planner.solving.start_hint`)
        leaves budget and room unused; what a swap would add back is found this way
        (a drop then an add), so a later rank starts near the plan it will most likely
        be rather than below it.
        """
        taken = self._begin(chosen, np.ones(len(self.capacity_rows)), prior)
        self._take_offers()
        barred = taken.union(leave_out)
        return self._grow([o for o in self.candidates if o not in barred])

    def _begin(
        self, chosen: Sequence[int], weights: FloatArray, prior: FloatArray | None = None
    ) -> set[int]:
        """Start a construction from `chosen` and the `must` options (with `prior`'s
        co-financing, `_hold`), capacity rows priced by `weights`; the options it holds."""
        mm = self.mm
        n_x = mm.y_start
        self._hold(chosen, prior)
        self.room = mm.col_upper[mm.u_start :].tolist()
        price = np.bincount(
            self.cap_option, weights=weights[self.cap_slot] * self.cap_use, minlength=n_x
        )
        self.price = price.tolist()
        taken = set(np.flatnonzero(self.values[:n_x] > 0.5).tolist())
        for o in sorted(taken):
            self._take_reach(o)
        return taken

    def _hold(self, chosen: Sequence[int], prior: FloatArray | None) -> None:
        """Set the vector to the options `chosen` and the `must` ones; with `prior`, each
        chosen option keeps its co-financing amounts there, and an offer stays taken
        while one of its amounts does (or it is a `must`).

        Why: the greedy's own way of taking offers (`_take_offers`, best saving first,
        each amount as high as its rows allow) does not split offers among options as
        well as a solved plan does (M: plan 1's options with the greedy's amounts were
        277 over the budget of 3,082, and the repair of a later rank's start dropped 72
        options); a plan less an option keeps a solved plan's amounts, which still fit.
        """
        mm = self.mm
        self.values = values = mm.col_lower.copy()
        values[np.asarray(chosen, dtype=np.int64)] = 1.0
        if prior is not None:
            z = slice(mm.z_start, mm.u_start)
            kept = (values[self.pair_option] > 0.5) & (prior[z] > 0.0)
            values[z] = np.where(kept, prior[z], 0.0)
            y_kept = np.zeros(mm.z_start - mm.y_start, dtype=bool)
            y_kept[mm.pair_offer[kept]] = True
            y = slice(mm.y_start, mm.z_start)
            values[y] = np.maximum(values[y], y_kept & (prior[y] > 0.5))
        self.act = self.rows.activity(values)

    def _grow(self, candidates: list[int]) -> FloatArray | None:
        """Add options from `candidates` and offers while any fits; reach set; the vector
        if it meets every row."""
        for _round in range(MAX_ROUNDS):
            added, candidates = self._add_options(candidates)
            if not self._take_offers() and not added:
                break
        self._set_reach()
        return self.values.copy() if feasible_under(self.mm, self.rows, self.values) else None

    def complete(self, chosen: Sequence[int], prior: FloatArray | None = None) -> FloatArray:
        """The vector with exactly the options `chosen` (x indices) and those at a lower bound
        of 1 (`must`), with `prior`'s co-financing for them (`_hold`): offers taken as
        `construct` takes them, reach set; not checked."""
        self._hold(chosen, prior)
        self._take_offers()
        self._set_reach()
        return self.values.copy()

    def capacity_use(self) -> FloatArray:
        """Share of each capacity row's limit the last construction used."""
        rows = self.capacity_rows
        return self.act[rows] / self.rows.upper[rows]

    # -- options ---------------------------------------------------------------

    def _gain(self, o: int) -> float:
        room = self.room
        return sum(w * min(r, room[m]) for m, r, w in self.x_reach[o] if room[m] > 0)

    def _take_reach(self, o: int) -> None:
        room = self.room
        for m, r, _w in self.x_reach[o]:
            room[m] -= r

    def _ratios(self, candidates: list[int]) -> list[tuple[float, int]]:
        """(−ratio, option) of every candidate with a gain, as `_gain` and `_ratio` give
        them one at a time: one vectorised pass, since at 50,000 options pricing every
        candidate one by one took most of a construction."""
        if not candidates:
            return []
        room = np.asarray(self.room)[self.r_market]
        gained = np.where(room > 0, self.r_weight * np.minimum(self.r_reach, room), 0.0)
        gain = np.bincount(self.r_option, weights=gained, minlength=self.mm.y_start)
        cand = np.asarray(candidates, dtype=np.int64)
        gain = gain[cand]
        price = np.asarray(self.price)[cand]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(price > 1e-12, gain / price, gain * 1e12)
        keep = gain > 0
        return list(zip((-ratio[keep]).tolist(), cand[keep].tolist(), strict=True))

    def _ratio(self, o: int, gain: float) -> float:
        price = self.price[o]
        return gain / price if price > 1e-12 else gain * 1e12

    def _fits_option(self, o: int) -> bool | None:
        """Choose option `o` if that makes no checked row worse (True).

        False when a row co-financing cannot relieve would get worse; None
        when only such rows (the budget) stand in the way.
        """
        act, up_tol, lo_tol, relief = self.act, self.up_tol, self.lo_tol, self.relief_rows
        rows, vals = self.x_entries[o]
        blocked = False
        for r, v in zip(rows, vals, strict=True):
            new = act[r] + v
            if (v > 0 and new > up_tol[r]) or (v < 0 and new < lo_tol[r]):
                if r not in relief:
                    return False
                blocked = True
        if blocked:
            return None
        for r, v in zip(rows, vals, strict=True):
            act[r] += v
        self.values[o] = 1.0
        return True

    def _fits_cofinanced(self, o: int) -> bool:
        """Whether option `o` fits together with co-financing from the offers already taken.

        An option the budget cannot carry alone may fit once an offer pays part
        of it; the amounts rise as far as their rows allow with `o` chosen.
        """
        mm = self.mm
        zs = [z for z in self.option_pairs[o] if self.values[self.pair_y[z - mm.z_start]] > 0.5]
        if not zs:
            return False
        act, upper, lower = self.act, self.rows.upper, self.rows.lower
        planned = dict(zip(*self.x_entries[o], strict=True))
        cols, deltas = [o], [1.0]
        for z in zs:
            a, b = self.c_start[z], self.c_start[z + 1]
            step = float(mm.col_upper[z])
            entries = list(zip(self.c_row[a:b].tolist(), self.c_val[a:b].tolist(), strict=True))
            for r, v in entries:
                level = act[r] + planned.get(r, 0.0)
                if v > 0:
                    step = min(step, (upper[r] - level) / v)
                elif v < 0:
                    step = min(step, (level - lower[r]) / -v)
            if step > 1e-9:
                cols.append(z)
                deltas.append(step)
                for r, v in entries:
                    planned[r] = planned.get(r, 0.0) + v * step
        return len(cols) > 1 and self._fits(cols, deltas)

    def _fits(self, cols: Sequence[int], deltas: Sequence[float]) -> bool:
        """Whether moving `cols` by `deltas` makes no checked row worse; applies it if so."""
        rows_list, vals_list = [], []
        for c, d in zip(cols, deltas, strict=True):
            a, b = self.c_start[c], self.c_start[c + 1]
            rows_list.append(self.c_row[a:b])
            vals_list.append(self.c_val[a:b] * d)
        idx, inverse = np.unique(np.concatenate(rows_list), return_inverse=True)
        change = np.bincount(inverse, weights=np.concatenate(vals_list), minlength=len(idx))
        new = self.act[idx] + change
        worse_up = (change > 0) & (new > self.rows.upper[idx] + ROW_TOL)
        worse_lo = (change < 0) & (new < self.rows.lower[idx] - ROW_TOL)
        if worse_up.any() or worse_lo.any():
            return False
        self.act[idx] = new
        for c, d in zip(cols, deltas, strict=True):
            self.values[c] += d
        return True

    def _add_options(self, candidates: list[int]) -> tuple[int, list[int]]:
        """Lazy greedy over `candidates`; returns (options added, candidates that did not fit).

        Gains only fall as markets fill up, so a popped option whose fresh
        ratio still beats the best stale one is the true best.
        """
        heap = self._ratios(candidates)
        heapq.heapify(heap)
        added, blocked = 0, []
        steps = 0
        while heap:
            steps += 1
            if steps % 1024 == 0 and self._late():
                raise Late
            _, o = heapq.heappop(heap)
            gain = self._gain(o)
            if gain <= 0:
                continue  # reach only saturates: this option will never add any
            ratio = self._ratio(o, gain)
            if heap and -heap[0][0] > ratio * (1 + 1e-12):
                heapq.heappush(heap, (-ratio, o))
                continue
            fits = self._fits_option(o)
            if fits or (fits is None and self._fits_cofinanced(o)):
                self._take_reach(o)
                added += 1
            else:
                blocked.append(o)
        return added, blocked

    # -- offers ----------------------------------------------------------------

    def _entries(self, cols: npt.NDArray[np.int64]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(position in `cols`, row, coefficient) of every checked-row entry of `cols`."""
        starts, ends = self.c_start[cols], self.c_start[cols + 1]
        lengths = ends - starts
        pos = np.repeat(np.arange(len(cols)), lengths)
        offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
        at = offsets + np.arange(int(lengths.sum()))
        return pos, self.c_row[at], self.c_val[at]

    def _plan_offer(self, k: int) -> tuple[list[int], list[float], float] | None:
        """Columns and moves that take offer `k` (or top up its amounts if taken), and the saving.

        Each amount z rises as far as its own rows allow (with the offer's y
        already moved); rows shared by several amounts (the offer's cap) are
        then filled in column order. `_fits` checks the whole move again.
        """
        mm = self.mm
        y_col = mm.y_start + k
        act = self.act.copy()
        cols: list[int] = []
        deltas: list[float] = []
        saving = 0.0
        if self.values[y_col] < 0.5:
            if mm.col_upper[y_col] < 0.5:
                return None
            cols.append(y_col)
            deltas.append(1.0)
            a, b = self.c_start[y_col], self.c_start[y_col + 1]
            np.add.at(act, self.c_row[a:b], self.c_val[a:b])
            saving -= mm.objectives["net_spend"][y_col]
        zs = self.offer_pairs[k]
        chosen = self.values[self.pair_option[zs - mm.z_start]] > 0.5
        zs = zs[chosen & (self.values[zs] < mm.col_upper[zs] - 1e-9)]
        if len(zs):
            step = mm.col_upper[zs] - self.values[zs]
            pos, row, val = self._entries(zs)
            up = (val > 0) & np.isfinite(self.rows.upper[row])
            np.minimum.at(step, pos[up], (self.rows.upper[row[up]] - act[row[up]]) / val[up])
            down = (val < 0) & np.isfinite(self.rows.lower[row])
            np.minimum.at(
                step, pos[down], (act[row[down]] - self.rows.lower[row[down]]) / -val[down]
            )
            step = np.maximum(step, 0.0)
            shared, counts = np.unique(row[up], return_counts=True)
            for r in shared[counts > 1].tolist():
                at = np.flatnonzero(up & (row == r))
                room = max(0.0, float(self.rows.upper[r] - act[r]))
                used = np.minimum(np.cumsum(val[at] * step[pos[at]]), room)
                step[pos[at]] = np.diff(used, prepend=0.0) / val[at]
            keep = step > 1e-9
            cols.extend(zs[keep].tolist())
            deltas.extend(step[keep].tolist())
            saving -= float(mm.objectives["net_spend"][zs[keep]] @ step[keep])
        if not cols or saving <= 1e-9:
            return None
        return cols, deltas, saving

    def _take_offers(self) -> int:
        """Take (or top up) every offer whose co-financing beats its fee, best saving first."""
        taken = 0
        while True:
            best: tuple[float, int, list[int], list[float]] | None = None
            for k in range(len(self.mm.offer_ids)):
                found = self._plan_offer(k)
                if found is not None and (best is None or found[2] > best[0]):
                    best = (found[2], k, found[0], found[1])
            if best is None or not self._fits(best[2], best[3]):
                return taken
            taken += 1

    def _late(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def _set_reach(self) -> None:
        """u as large as rows (1) and (2) allow; extra rows over u are checked afterwards."""
        mm = self.mm
        rows = self.rows
        values = self.values
        values[mm.u_start :] = 0.0
        act = rows.activity(values)
        u = mm.col_upper[mm.u_start :].copy()
        on_u = (rows.col >= mm.u_start) & (rows.val > 0) & self.u_rows[rows.row_of]
        r, j, a = rows.row_of[on_u], rows.col[on_u] - mm.u_start, rows.val[on_u]
        np.minimum.at(u, j, (rows.upper[r] - act[r]) / a)
        values[mm.u_start :] = np.maximum(u, mm.col_lower[mm.u_start :])


class Late(Exception):
    """The deadline passed while the start plan was being built."""
