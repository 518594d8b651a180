"""Numbers HiGHS can take: a `MatrixModel` conditioned before it is handed over.

Why: users write 1e20 for "no cap", count reach in single people, money in
units or in trillions, and weigh markets by 1e-7. HiGHS refuses a matrix entry
of 1e15 or more (its option `large_matrix_value`), treats a bound or cost of
1e20 or more as infinite (`infinite_bound`, `infinite_cost`), drops entries of
1e-9 or less (`small_matrix_value`), and judges feasibility, gaps and ties by
absolute tolerances (1e-7, 1e-8): right for numbers near 1, below the
resolution of a double near 1e12 and far too coarse near 1e-6, where SPEC §3's
tolerance is relative. `condition` hands HiGHS the same problem in numbers near
1, in two steps, each touching only what is out of scale:

1. Limits that can never bind are no limits. Exact reductions (every integer
   solution is kept) remove out-of-scale entries (above `HIGH`): a continuous
   column's bound is tightened to what its rows imply (a market's reach to the
   total reach of its options, an amount to its offer's cap); a binary that
   cannot be 1 (an option whose usage alone exceeds a capacity, whose net cost
   exceeds the budget with all the co-financing it could get, an offer whose
   matching spend exceeds all its eligible options' costs) is fixed at 0 and
   its entries dropped; a binary's coefficient in a row that can never bind
   when it is 1 is clamped to what still makes the row non-binding (a cap
   larger than everything its offer could pay); a row side that can never bind
   (a budget above every cost and fee together) is dropped.
2. What is still out of scale is rescaled by powers of two (exact in binary
   floating point): continuous columns by their bound, then rows by their
   largest entry, then each objective by its largest term. The model then
   records the factors (`Scaling`) so that values go back to the scenario's
   units, and tolerances are taken relative to the scenario's own scale
   (`Scaling.tolerance_floor`).

A model whose numbers are all in scale is returned as it is (the same arrays),
so ordinary scenarios are solved exactly as before. HiGHS's own presolve makes
reductions like step 1, but only after it has accepted the model, it cannot be
interrupted, and the product runs it only on small models (formulation choice 9).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from planner.model.matrix_model import FloatArray, IntArray, MatrixModel, Scaling

BoolArray = npt.NDArray[np.bool_]

#: Entries, bounds and objective terms above this are out of scale: reduced where
#: they can never bind, rescaled otherwise. Far below HiGHS's limits (1e15, 1e20),
#: far above anything an ordinary scenario holds (costs, reaches, trust x cost).
HIGH = 1e9

#: Continuous columns (amounts, reach) with a bound outside [LOW, COLUMN_HIGH] are
#: rescaled to a bound near 1: within it HiGHS's absolute tolerances stay far below
#: SPEC's relative one and far above a double's resolution.
LOW = 0.1
COLUMN_HIGH = 1e6

#: An objective whose largest term is outside [1, OBJECTIVE_HIGH] is rescaled: up to
#: a largest term in [1, 2), down to one in (OBJECTIVE_HIGH / 2, OBJECTIVE_HIGH].
OBJECTIVE_HIGH = 1e6

#: Rounding margin of the reductions, relative to the magnitude of the row's terms:
#: a reduction is made only when it holds with this much to spare.
MARGIN = 1e-9

#: After rescaling, every matrix entry lies within [SMALLEST, LARGEST] where the row's
#: range allows (HiGHS drops entries up to 1e-9 and refuses 1e15 and more); entries
#: below `SMALLEST` of a row whose range exceeds that are dropped, as HiGHS would.
SMALLEST = 1e-8
LARGEST = 1e13
DROPPED_BELOW = 1e-9

#: Rounding of an entry's own term, relative to it, allowed for when fixing a binary.
ROUNDING = 1e-12

#: Rounds of bound tightening and fixing (each can enable the next: an amount bounded
#: by its cap makes an option's net cost certain, which fixes the option).
ROUNDS = 3


@dataclass
class _Work:
    """The model's arrays being conditioned (copies; the model itself is never changed)."""

    lower: FloatArray
    upper: FloatArray
    binary: BoolArray
    """Per column: an integer column within [0, 1]."""
    start: IntArray
    index: npt.NDArray[np.int32]
    value: FloatArray
    row_lower: FloatArray
    row_upper: FloatArray
    objectives: dict[str, FloatArray]
    changed: bool = False

    @property
    def n_rows(self) -> int:
        return len(self.row_lower)

    @property
    def n_cols(self) -> int:
        return len(self.lower)

    def row_of(self) -> IntArray:
        return np.repeat(np.arange(self.n_rows, dtype=np.int64), np.diff(self.start))

    def keep(self, mask: BoolArray) -> None:
        """Drop the entries where `mask` is False."""
        if mask.all():
            return
        counts = np.bincount(self.row_of()[mask], minlength=self.n_rows)
        self.start = np.zeros(self.n_rows + 1, dtype=np.int64)
        np.cumsum(counts, out=self.start[1:])
        self.index, self.value = self.index[mask], self.value[mask]
        self.changed = True


def condition(
    mm: MatrixModel, *, units: bool = True, reach_at_most: float | None = None
) -> MatrixModel:
    """`mm` with limits that can never bind removed and every number in scale.

    With `units` (the ranking's model), columns and objectives are rescaled too
    and the result records its `Scaling`; without (a model whose values its
    caller reads in the scenario's units, such as the diagnosis's elastic copy),
    only the exact reductions and row scaling are made, which change no value.
    A model already conditioned is returned as it is.

    `reach_at_most` (scenario units) is a bound on the weighted reach of every
    plan still wanted (the ranking learns one once the plans that reach the
    heaviest markets are returned): each market's reach is then bounded by it
    (`reach_limits`), so the model is conditioned for the plans left, not for
    those already found.
    """
    if mm.scaling is not None:
        return mm
    upper = mm.col_upper.copy()
    if reach_at_most is not None:
        upper[mm.u_start :] = reach_limits(mm, reach_at_most)
    work = _Work(
        lower=mm.col_lower.copy(),
        upper=upper,
        binary=(mm.integrality == 1) & (mm.col_lower >= 0.0) & (mm.col_upper <= 1.0),
        start=mm.row_start.astype(np.int64),
        index=mm.row_index,
        value=mm.row_value,
        row_lower=mm.row_lower.copy(),
        row_upper=mm.row_upper.copy(),
        objectives={name: cost.copy() for name, cost in mm.objectives.items()},
    )
    _reduce(work)
    columns = _scale_columns(work, mm.integrality) if units else np.ones(mm.n_cols)
    rows = _scale_rows(work)
    factors = (
        {name: _objective_factor(cost, work) for name, cost in work.objectives.items()}
        if units
        else dict.fromkeys(work.objectives, 1.0)
    )
    for name, factor in factors.items():
        if factor != 1.0:
            work.objectives[name] = work.objectives[name] * factor
            work.changed = True
    work.changed |= reach_at_most is not None
    if not work.changed and not units:
        return mm
    scaling = Scaling(columns=columns, rows=rows, objectives=factors) if units else None
    if not work.changed:
        return replace(mm, scaling=scaling)
    return replace(
        mm,
        col_lower=work.lower,
        col_upper=work.upper,
        row_start=work.start,
        row_index=work.index.astype(np.int32, copy=False),
        row_value=work.value,
        row_lower=work.row_lower,
        row_upper=work.row_upper,
        objectives=work.objectives,
        scaling=scaling,
    )


def reach_limits(mm: MatrixModel, reach_at_most: float) -> FloatArray:
    """Each market's most reach in plans of weighted reach at most `reach_at_most`.

    `mm` is in the scenario's units. Every term weight_m·u_m is at most the
    plan's weighted reach, so u_m ≤ reach_at_most / weight_m. And a market a
    plan reaches at all gets at least min(addressable, its least positive
    reach): where even that exceeds the bound, no such plan reaches the market
    (its reach is 0). Both hold for every plan of that weighted reach, so the
    model keeps all of them.
    """
    upper = mm.col_upper[mm.u_start :].copy()
    markets = mm.scenario.markets
    weight = np.array([m.weight for m in markets], dtype=np.float64)
    least = np.full(len(markets), np.inf)
    position = {market_id: i for i, market_id in enumerate(mm.market_ids)}
    for row in mm.scenario.coverage:
        if row.reach > 0:
            i = position[row.market_id]
            least[i] = min(least[i], row.reach)
    least = np.minimum(least, np.array([m.addressable for m in markets], dtype=np.float64))
    weighted = weight > 0
    with np.errstate(divide="ignore", over="ignore"):
        most = np.where(weighted, reach_at_most * (1.0 + MARGIN) / weight, np.inf)
    upper = np.minimum(upper, most)
    upper[weighted & (weight * least > reach_at_most * (1.0 + MARGIN))] = 0.0
    return upper


def out_of_scale(mm: MatrixModel) -> bool:
    """Whether `condition` would change anything HiGHS is handed (a quick check)."""
    values = np.abs(mm.row_value)
    if values.size and values.max() > HIGH:
        return True
    continuous = mm.integrality == 0
    upper = mm.col_upper[continuous]
    if np.any(np.isfinite(upper) & (upper > COLUMN_HIGH)):
        return True
    sides = np.concatenate([mm.row_lower, mm.row_upper])
    if np.any(np.isfinite(sides) & (np.abs(sides) > HIGH)):
        return True
    return any(cost.size and np.abs(cost).max() > HIGH for cost in mm.objectives.values())


# -- step 1: limits that can never bind ------------------------------------------------


def _reduce(w: _Work) -> None:
    for _round in range(ROUNDS):
        tightened = _tighten_continuous(w)
        fixed = _fix_binaries(w)
        if not (tightened or fixed):
            break
    _clamp_binaries(w)
    _drop_slack_sides(w)
    _drop_fixed_columns(w)


@dataclass
class _Rest:
    """For every entry (a_ij): the least and most the rest of row i can be, and a rounding
    margin for each; for every row, the least and most it can be."""

    least: FloatArray
    most: FloatArray
    least_margin: FloatArray
    most_margin: FloatArray
    row_least: FloatArray
    row_most: FloatArray


def _rest(w: _Work) -> _Rest:
    row_of = w.row_of()
    a = w.value
    low, high = w.lower[w.index], w.upper[w.index]
    with np.errstate(over="ignore", invalid="ignore"):
        least_term = np.where(a > 0, a * low, a * high)
        most_term = np.where(a > 0, a * high, a * low)
    least, row_least, size_low = _rest_of_rows(least_term, row_of, w.n_rows, -np.inf)
    most, row_most, size_high = _rest_of_rows(most_term, row_of, w.n_rows, np.inf)
    sides = np.maximum(_finite_abs(w.row_lower), _finite_abs(w.row_upper))[row_of]
    with np.errstate(over="ignore", invalid="ignore"):
        least_margin = MARGIN * size_low + MARGIN * sides
        most_margin = MARGIN * size_high + MARGIN * sides
    return _Rest(least, most, least_margin, most_margin, row_least, row_most)


def _finite_abs(values: FloatArray) -> FloatArray:
    return np.where(np.isfinite(values), np.abs(values), 0.0)


def _rest_of_rows(
    terms: FloatArray, row_of: IntArray, n_rows: int, unbounded: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per entry: the sum of the other terms of its row (`unbounded` where one of them is
    infinite or the sum overflows) and the sum of their sizes; per row: the whole sum.

    Out-of-scale terms are summed apart from the others, so that the rest of an entry
    of 1e20 among entries near 1 is their exact sum, not 1e20 + rest - 1e20 (which
    would round the rest away).
    """
    bad = ~np.isfinite(terms)
    finite = np.where(bad, 0.0, terms)
    big = np.abs(finite) > HIGH
    rest = np.zeros(len(terms))
    rest_size = np.zeros(len(terms))
    total = np.zeros(n_rows)
    with np.errstate(over="ignore", invalid="ignore"):
        for part in (big, ~big):
            own = np.where(part, finite, 0.0)
            part_total = np.bincount(row_of, weights=own, minlength=n_rows).astype(np.float64)
            part_size = np.bincount(row_of, weights=np.abs(own), minlength=n_rows)
            rest = rest + (part_total[row_of] - own)
            rest_size = rest_size + (part_size[row_of] - np.abs(own))
            total = total + part_total
        n_bad = np.bincount(row_of, weights=bad.astype(np.float64), minlength=n_rows)
    unknown = (n_bad[row_of] - bad > 0.5) | ~np.isfinite(rest) | ~np.isfinite(rest_size)
    row_total = np.where((n_bad > 0.5) | ~np.isfinite(total), unbounded, total)
    sizes: FloatArray = np.where(unknown, np.inf, rest_size).astype(np.float64)
    return np.where(unknown, unbounded, rest), row_total, sizes


def _column_has(w: _Work, entries: BoolArray) -> BoolArray:
    """Per column: whether any of its entries is marked in `entries`."""
    out = np.zeros(w.n_cols, dtype=bool)
    out[w.index[entries]] = True
    return out


def _tighten_continuous(w: _Work) -> bool:
    """Tighten an out-of-scale (or missing) bound of a continuous column to what a row
    implies: x_j ≤ (b − least rest) / a_ij for a ≤ row and a_ij > 0, likewise for ≥ rows."""
    target = ~w.binary & ((w.upper > COLUMN_HIGH) | ~np.isfinite(w.upper))
    if not target.any() or not len(w.value):
        return False
    r = _rest(w)
    a = w.value
    upper_side, lower_side = w.row_upper[w.row_of()], w.row_lower[w.row_of()]
    on = target[w.index]
    implied = np.full(len(a), np.inf)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        le = on & (a > 0) & np.isfinite(upper_side)
        room, margin = upper_side - r.least, r.least_margin
        implied[le] = np.where(room[le] <= margin[le], 0.0, (room[le] + margin[le]) / a[le])
        ge = on & (a < 0) & np.isfinite(lower_side)
        room, margin = r.most - lower_side, r.most_margin
        implied[ge] = np.where(room[ge] <= margin[ge], 0.0, (room[ge] + margin[ge]) / -a[ge])
    implied[~np.isfinite(implied)] = np.inf
    best = np.full(w.n_cols, np.inf)
    np.minimum.at(best, w.index, implied)
    better = target & (best < 0.5 * w.upper) & (best >= w.lower)
    if not better.any():
        return False
    w.upper[better] = np.maximum(best[better], w.lower[better])
    w.changed = True
    return True


def _fix_binaries(w: _Work) -> bool:
    """Fix a binary with an out-of-scale entry where a row rules one of its values out:
    at x = v the row's least value, rest included, exceeds its upper side (or its most
    value falls short of its lower side)."""
    big = np.abs(w.value) > HIGH
    target = w.binary & _column_has(w, big)
    if not target.any():
        return False
    r = _rest(w)
    a = w.value
    upper_side, lower_side = w.row_upper[w.row_of()], w.row_lower[w.row_of()]
    on = target[w.index]
    with np.errstate(over="ignore", invalid="ignore"):

        def impossible(v: float) -> BoolArray:
            own = ROUNDING * np.abs(a)
            over = np.isfinite(upper_side) & (r.least + a * v > upper_side + r.least_margin + own)
            under = np.isfinite(lower_side) & (r.most + a * v < lower_side - r.most_margin - own)
            return on & (over | under)

        one_out = _column_has(w, impossible(1.0)) & target
        zero_out = _column_has(w, impossible(0.0)) & target
    to_zero = one_out & ~zero_out & (w.upper > 0.0)
    to_one = zero_out & ~one_out & (w.lower < 1.0)
    if not (to_zero.any() or to_one.any()):
        return False
    w.upper[to_zero] = 0.0  # a `must` so fixed keeps lower 1: infeasible, as it is
    w.lower[to_one] = 1.0
    w.changed = True
    return True


def _clamp_binaries(w: _Work) -> None:
    """Shrink an out-of-scale coefficient a of a binary x in a one-sided row that can never
    bind when x = 1: to b − most rest (≤ rows, a < 0) or b − least rest (≥ rows, a > 0).

    At x = 1 the row then still never binds, at x = 0 it is unchanged: the same integer
    solutions. Example: a cap of 1e20 becomes the most its offer could ever pay.
    """
    big = (np.abs(w.value) > HIGH) & w.binary[w.index] & (w.upper[w.index] > w.lower[w.index])
    if not big.any():
        return
    r = _rest(w)
    a = w.value
    row_of = w.row_of()
    upper_side, lower_side = w.row_upper[row_of], w.row_lower[row_of]
    one_sided_le = np.isfinite(upper_side) & ~np.isfinite(lower_side)
    one_sided_ge = np.isfinite(lower_side) & ~np.isfinite(upper_side)
    new = a.copy()
    with np.errstate(over="ignore", invalid="ignore"):
        le = big & one_sided_le & (a < 0)
        clamp = upper_side - r.most - r.most_margin
        ok = le & np.isfinite(clamp) & (clamp < 0) & (clamp > a)
        new[ok] = clamp[ok]
        ge = big & one_sided_ge & (a > 0)
        clamp = lower_side - r.least + r.least_margin
        ok2 = ge & np.isfinite(clamp) & (clamp > 0) & (clamp < a)
        new[ok2] = clamp[ok2]
    if (ok | ok2).any():
        w.value = new
        w.changed = True


def _drop_slack_sides(w: _Work) -> None:
    """An out-of-scale row side that no solution within the bounds can reach is no limit."""
    sides = np.concatenate([w.row_lower, w.row_upper])
    if not (np.isfinite(sides) & (np.abs(sides) > HIGH)).any():
        return
    r = _rest(w)
    free_upper = (
        np.isfinite(w.row_upper) & (np.abs(w.row_upper) > HIGH) & (r.row_most <= w.row_upper)
    )
    free_lower = (
        np.isfinite(w.row_lower) & (np.abs(w.row_lower) > HIGH) & (r.row_least >= w.row_lower)
    )
    if free_upper.any() or free_lower.any():
        w.row_upper[free_upper] = np.inf
        w.row_lower[free_lower] = -np.inf
        w.changed = True


def _drop_fixed_columns(w: _Work) -> None:
    """Drop the entries and objective terms of columns held at 0 whose numbers are out of
    scale (they can contribute nothing; a `must` held there stays infeasible by its bounds)."""
    big = np.abs(w.value) > HIGH
    heavy = _column_has(w, big)
    for cost in w.objectives.values():
        heavy |= np.abs(cost) > HIGH
    dead = heavy & (w.upper <= 0.0) & ((w.lower >= 0.0) | (w.upper < w.lower))
    if not dead.any():
        return
    w.keep(~dead[w.index])
    for cost in w.objectives.values():
        if cost[dead].any():
            cost[dead] = 0.0
            w.changed = True
    w.changed = True


# -- step 2: rescaling by powers of two -------------------------------------------------


def _power_of_two(values: FloatArray) -> FloatArray:
    """The power of two nearest each (positive, finite) value."""
    return np.exp2(np.round(np.log2(values)))


def _scale_columns(w: _Work, integrality: npt.NDArray[np.int32]) -> FloatArray:
    """Continuous columns with a bound out of [LOW, COLUMN_HIGH] get a bound near 1.

    Returns the factors s (scenario value = s · model value)."""
    scale = np.ones(w.n_cols)
    bound = np.maximum(np.abs(w.upper), np.abs(np.where(np.isfinite(w.lower), w.lower, 0.0)))
    rescale = (
        (integrality == 0)
        & np.isfinite(w.upper)
        & (bound > 0)
        & ((bound < LOW) | (bound > COLUMN_HIGH))
    )
    if not rescale.any():
        return scale
    scale[rescale] = _power_of_two(bound[rescale])
    w.lower = w.lower / scale
    w.upper = w.upper / scale
    w.value = w.value * scale[w.index]
    for name, cost in w.objectives.items():
        w.objectives[name] = cost * scale
    w.changed = True
    return scale


def _scale_rows(w: _Work) -> FloatArray:
    """Rows whose largest entry is out of [LOW, HIGH] get a largest entry in [1, 2), or as
    close as keeps their smallest entry at `SMALLEST` (within `LARGEST`); entries still
    below `DROPPED_BELOW` are dropped, as HiGHS would drop them.

    Returns the factors r (model row = r · row)."""
    rows = np.ones(w.n_rows)
    if not len(w.value):
        return rows
    # A column held at 0 contributes nothing to a row: its entries do not set the row's
    # scale (a co-financing amount of an option that costs nothing keeps its entry 1 in
    # rows whose other entries are money of 1e-7), and are dropped from rows rescaled.
    idle = ((w.lower == 0.0) & (w.upper == 0.0))[w.index]
    size = np.where(idle, 0.0, np.abs(w.value))
    counts = np.diff(w.start)
    filled = counts > 0
    largest = np.zeros(w.n_rows)
    smallest = np.full(w.n_rows, np.inf)
    starts = w.start[:-1][filled]
    largest[filled] = np.maximum.reduceat(size, starts)
    smallest[filled] = np.minimum.reduceat(np.where(idle, np.inf, size), starts)
    rescale = (largest > 0) & ((largest < LOW) | (largest > HIGH)) & np.isfinite(largest)
    if not rescale.any():
        return rows
    # In exponents of two (np.ldexp), so that rows of 1e308 or 1e-300 scale without
    # overflow or underflow on the way.
    top, bottom = np.log2(largest[rescale]), np.log2(smallest[rescale])
    exponent = -np.floor(top)
    lift = np.ceil(np.log2(SMALLEST) - bottom)
    room = np.floor(np.log2(LARGEST) - top)
    exponent = np.maximum(exponent, np.minimum(lift, room)).astype(np.int64)
    exponents = np.zeros(w.n_rows, dtype=np.int64)
    exponents[rescale] = exponent
    rows = np.ldexp(1.0, exponents)
    w.value = np.ldexp(w.value, exponents[w.row_of()])
    w.row_lower = np.ldexp(w.row_lower, exponents)
    w.row_upper = np.ldexp(w.row_upper, exponents)
    w.changed = True
    w.keep((np.abs(w.value) >= DROPPED_BELOW) & ~(idle & rescale[w.row_of()]))
    return rows


def _objective_factor(cost: FloatArray, w: _Work) -> float:
    """The power of two that brings the objective's largest term into [1, OBJECTIVE_HIGH]."""
    bound = np.maximum(_finite_abs(w.lower), _finite_abs(w.upper))
    terms = np.abs(cost) * bound
    terms = terms[np.isfinite(terms)]
    largest = float(terms.max()) if terms.size else 0.0
    if largest == 0.0 or 1.0 <= largest <= OBJECTIVE_HIGH:
        return 1.0
    if largest < 1.0:
        return float(np.exp2(-np.floor(np.log2(largest))))
    return float(np.exp2(np.floor(np.log2(OBJECTIVE_HIGH / largest))))
