"""A start made of a related plan's options, repaired until it meets every row.

Why: successive solves of related scenarios (the reach–budget frontier: the same
scenario, each budget just below the last plan's net spend) have related
answers. The last plan, less an option or two, is usually a very good plan of
the next solve; handed to HiGHS as its first incumbent it lets the search prune
from the start, and when time runs out the solve still answers at least as well.
A start is only a hint: HiGHS proves the same optimum with or without it.

The given options (those a trust floor or `never` rules out left aside, every
`must` added) are completed into a whole vector as the greedy start plan does
(`planner.solving.start_plan.Greedy.complete`: offers taken where their
co-financing beats their fee, reach as rows (1) and (2) allow). While some row
fails, one option is dropped: among those whose leaving moves a failing row
towards its limit (a budget or resource row: options using it; a share cap:
options on its heavy side; a `requires` rule: the option requiring), the one
losing least weighted reach per unit of spend saved, fewest lost first at no
saving. Offers are then set anew. Dropping never breaks a rule that held, except
that an option another requires may leave; that `requires` row then fails and
its requiring option leaves next. The answer is None when some failing row
cannot be mended by dropping options (an unmet `must` offer's matching spend),
or when the deadline passes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import numpy as np

from planner.model.matrix_model import BoolArray, MatrixModel
from planner.solving.greedy_layout import GreedyLayout
from planner.solving.model_rows import (
    ROW_TOL,
    ExtraRow,
    FloatArray,
    binaries_rounded,
    feasible_under,
)
from planner.solving.start_plan import Greedy, Late

#: Spend saved by dropping an option below which the saving counts as none (model units).
NO_SAVING = 1e-12

#: Relative gain in weighted reach below which a swap does not count as an improvement.
IMPROVEMENT = 1e-9

#: Options tried, least reach lost first, when a related plan must lose one for a cut
#: (`_best_single_drop`).
DROPS_TRIED = 24


def hinted_start(
    mm: MatrixModel,
    extra: Sequence[ExtraRow],
    options: Collection[str],
    *,
    deadline: float | None = None,
    refill: bool = False,
    layout: GreedyLayout | None = None,
    prior: FloatArray | None = None,
    drops: int = DROPS_TRIED,
    any_row: bool = False,
) -> FloatArray | None:
    """A full column vector of `mm` made of `options` (less those dropped to meet every row of
    `mm` and `extra`), or None when dropping options cannot make it feasible or `deadline`
    (a `time.monotonic()` instant) passes first. Ids not in the model are ignored.

    `prior`, a vector of `mm` with exactly these options (the plan they come from), lends
    them its co-financing amounts (`Greedy.complete`); if no repair from there meets
    every row, the greedy's own amounts are tried.

    With `refill`, the repaired plan is then filled with other options where they fit and
    add reach (`Greedy.fill`), if that reaches more: dropping freed budget and room that
    a swap would use. For a later rank, whose cut bars the options dropped from coming
    back, the last plan repaired and refilled is the last plan with a swap (L, 10 plans:
    later ranks started 0.01–0.3 % from plan 1 with it, 24 % below without, where the
    repair alone ran out of time and the greedy plan stood). With a refill, where the
    plan fails only a cut, up to `drops` single drops are also tried (`_best_single_drop`);
    with `any_row`, whatever row it fails (the plan of a neighbouring budget: a frontier
    point's start, which fails the budget row). `layout`: `mm`'s, if held."""
    index = mm.option_index()
    n_x = mm.y_start
    lower, upper = mm.col_lower[:n_x], mm.col_upper[:n_x]
    chosen = {index[o] for o in options if o in index and upper[index[o]] > 0.5}
    chosen.update(np.flatnonzero(lower > 0.5).tolist())
    greedy = Greedy(mm, extra, deadline, layout)
    losses = _ReachLoss(mm, greedy)
    for lent in (prior, None) if prior is not None else (None,):
        values = _repaired(greedy, losses, set(chosen), lent, deadline)
        if values is not None:
            if not refill:
                return values
            chosen_now = np.flatnonzero(values[:n_x] > 0.5).tolist()
            repaired = _better(mm, values, greedy, chosen_now)
            drop = _Drops(extra, drops, any_row)
            return _best_single_drop(greedy, losses, sorted(chosen), lent, repaired, drop)
    return None


def _repaired(
    greedy: Greedy,
    losses: _ReachLoss,
    chosen: set[int],
    prior: FloatArray | None,
    deadline: float | None,
) -> FloatArray | None:
    """The options `chosen` completed (with `prior`'s amounts) and, while a row fails, less
    the option whose leaving mends it at the least loss of reach per unit of spend saved."""
    mm = greedy.mm
    n_x = mm.y_start
    lower = mm.col_lower[:n_x]
    spend = mm.objectives["net_spend"][:n_x]
    while True:
        if deadline is not None and time.monotonic() >= deadline:
            return None
        values = greedy.complete(sorted(chosen), prior)
        if feasible_under(mm, greedy.rows, values):
            return values
        helping = _helping(greedy, values, chosen, lower)
        if not helping:
            return None
        loss = losses.of(values, helping)
        chosen.remove(
            min(
                helping,
                key=lambda o: (loss[o] / max(float(spend[o]), NO_SAVING), -float(spend[o]), o),
            )
        )


@dataclass(frozen=True)
class _Drops:
    """How `_best_single_drop` searches: the rows added after the model (the cuts), how
    many options it tries at most (the greedy's deadline ends it sooner), and whether a
    plan failing the model's own rows is tried too (`any_row`), not only one failing cuts."""

    extra: Sequence[ExtraRow]
    most: int
    any_row: bool = False


def _best_single_drop(
    greedy: Greedy,
    losses: _ReachLoss,
    chosen: list[int],
    prior: FloatArray | None,
    repaired: FloatArray,
    drops: _Drops,
) -> FloatArray:
    """`repaired`, or a better plan made of `chosen` less one option, refilled without it,
    when `chosen` fails only rows added after the model (the cut of the plan it is).

    Why: a later rank's start is the last plan less what its cut asks, one option. The
    repair drops the option losing least reach per unit of spend saved, the right
    choice for a budget, not for a cut, which any option mends: M, a plan of 9,271.5
    repaired and refilled reached 9,257.7, while its best single drop, refilled, reached
    9,269.6. So the options whose leaving costs least reach are each left out in turn
    (at most `drops.most`) and the freed room refilled (`Greedy.fill`, ~27 ms at M);
    the best that meets every row is kept. Options whose drop an earlier plan already
    took (a cut's plan holds all of `chosen` but that option: the same refill would
    make that plan again) are passed over, so a plan serving many ranks gives each a
    new neighbour within the time. Trying stops at the start's deadline, not before:
    with a quarter of it (M: ~0.2 s of a 1 s window, the repair's time included) 7-15
    of the 24 were tried, and ranks whose best drops were late in the order started
    (and ended) at 9,258-9,260 instead of 9,272-9,275; all 24 take 0.3-0.5 s there.
    """
    mm = greedy.mm
    if drops.most <= 0 or not _worth_drops(greedy, greedy.complete(chosen, prior), drops):
        return repaired
    complete = greedy.values
    lower = mm.col_lower
    taken = _drops_taken(mm, drops.extra, chosen)
    droppable = [o for o in chosen if lower[o] < 0.5 and o not in taken]
    loss = losses.of(complete, droppable)
    reach = mm.objectives["weighted_reach"]
    best, most = repaired, float(reach @ repaired)
    for o in sorted(droppable, key=lambda o: (loss[o], o))[: drops.most]:
        try:
            filled = greedy.fill([c for c in chosen if c != o], leave_out=(o,), prior=prior)
        except Late:
            break
        if filled is None or not feasible_under(mm, greedy.rows, filled):
            continue
        gained = float(reach @ filled)
        if gained > most + IMPROVEMENT * max(1.0, abs(most)):
            best, most = filled, gained
    return best


def _drops_taken(mm: MatrixModel, extra: Sequence[ExtraRow], chosen: list[int]) -> set[int]:
    """Options o of `chosen` such that some cut's plan holds every other option of `chosen`
    and not o: that plan is `chosen` less o, refilled (or a plan with it)."""
    plan = set(chosen)
    taken: set[int] = set()
    for row in extra:
        if not (np.isinf(row.lower) and bool(np.all(row.vals == 1.0))):
            continue  # not a no-good cut (eq. 14)
        cut = set((np.asarray(row.cols) - mm.x_start).tolist())
        missing = plan - cut
        if len(missing) == 1:
            taken.update(missing)
    return taken


def _worth_drops(greedy: Greedy, values: FloatArray, drops: _Drops) -> bool:
    """Whether `values`, the plan as hinted, fails rows single drops are tried for: cuts
    only, or with `drops.any_row` any row. A frontier point's start is the plan of the
    budget just above, over the budget row by a hair: the repair, dropping by reach lost
    per unit of spend saved, lost co-financing and matching spend with its drops and
    left 3-8 of 11-13 options out (S: the start 77 % of the optimum, median), where the
    best single drop, refilled, reached 98 %."""
    if drops.any_row:
        over, under = _failing(greedy, values)
        return bool((over | under).any())
    return _fails_only_extra_rows(greedy, values)


def _fails_only_extra_rows(greedy: Greedy, values: FloatArray) -> bool:
    """Whether `values` fails some row, and every row it fails was added after the model
    (a no-good cut), not one of the model's own (a budget, a share cap, a rule)."""
    over, under = _failing(greedy, values)
    failing = over | under
    own = greedy.mm.n_rows
    return bool(failing[own:].any()) and not bool(failing[:own].any())


def _failing(greedy: Greedy, values: FloatArray) -> tuple[BoolArray, BoolArray]:
    """The checked rows `values` puts above their upper side, and those below their lower
    side. Rows over reach u are left out: reach is set to fit them (`Greedy`), and
    dropping options cannot mend them."""
    rows = greedy.rows
    act = rows.activity(values)
    with np.errstate(invalid="ignore"):
        over = (act > rows.upper + ROW_TOL) & ~greedy.u_rows
        under = (act < rows.lower - ROW_TOL) & ~greedy.u_rows
    return over, under


def improved_by_swaps(
    mm: MatrixModel,
    extra: Sequence[ExtraRow],
    values: FloatArray,
    *,
    deadline: float,
    layout: GreedyLayout | None = None,
    on_found: Callable[[FloatArray], None] | None = None,
    latest: Callable[[], FloatArray | None] | None = None,
) -> FloatArray:
    """`values` (a vector meeting every row), improved by swaps while one improves it and
    `deadline` (a `time.monotonic()` instant) has not passed. With a solve beside the
    search: `on_found` is called with each better plan as it is found (the solve takes
    it), and the swaps go on from `latest()` (the solve's last plan) whenever that reaches
    more (XL: HiGHS's plan after its root LP was 0.4 % above the swaps' then).

    A swap leaves one option out and fills the room it frees with the options that fit
    best (`Greedy.fill`, never the one left out); the first swap that reaches more is
    taken, and the search starts again from there. The options tried first are those
    whose leaving costs least reach per unit of spend saved, as in the repair above.
    Why: on large models the LP-guided search stops at a plan that such swaps still
    improve (L, 10 plans: each later rank, found by one such move from the last, reached
    more than plan 1 before plan 1 was improved this way).
    """
    n_x = mm.y_start
    greedy = Greedy(mm, extra, deadline, layout)
    losses = _ReachLoss(mm, greedy)
    spend = mm.objectives["net_spend"][:n_x]
    lower = mm.col_lower[:n_x]
    if time.monotonic() >= deadline:
        return values
    best = _better(mm, values, greedy, np.flatnonzero(values[:n_x] > 0.5).tolist())
    beside = _Beside(mm, greedy, latest)
    improved = True
    while improved:
        improved = False
        chosen = np.flatnonzero(best[:n_x] > 0.5).tolist()
        droppable = [o for o in chosen if lower[o] < 0.5]
        loss = losses.of(best, droppable)
        for o in sorted(
            droppable,
            key=lambda o: (loss[o] / max(float(spend[o]), NO_SAVING), -float(spend[o]), o),
        ):
            if time.monotonic() >= deadline:
                return best
            taken = beside.better_than(best)
            if taken is not None:
                best, improved = taken, True
                break
            swapped = _better(mm, best, greedy, [c for c in chosen if c != o], (o,))
            if swapped is not best:
                best, improved = swapped, True
                if on_found is not None:
                    on_found(best)
                break
    return best


class _Beside:
    """The plans of a solve running beside the swaps, read as they come (`latest`)."""

    def __init__(
        self, mm: MatrixModel, greedy: Greedy, latest: Callable[[], FloatArray | None] | None
    ) -> None:
        self.mm, self.greedy, self.latest = mm, greedy, latest
        self.seen: FloatArray | None = None

    def better_than(self, best: FloatArray) -> FloatArray | None:
        """The solve's newest plan, binaries rounded, if it is new, meets every row and
        reaches more than `best`; else None."""
        found = None if self.latest is None else self.latest()
        if found is None or found is self.seen:
            return None
        self.seen = found
        mm = self.mm
        rounded = binaries_rounded(mm, found)
        reach = mm.objectives["weighted_reach"]
        most = float(reach @ best)
        if float(reach @ rounded) <= most + IMPROVEMENT * max(1.0, abs(most)):
            return None
        return rounded if feasible_under(mm, self.greedy.rows, rounded) else None


def _better(
    mm: MatrixModel,
    values: FloatArray,
    greedy: Greedy,
    chosen: list[int],
    leave_out: tuple[int, ...] = (),
) -> FloatArray:
    """`values`, or `chosen` filled (`Greedy.fill`, with `values`' co-financing for them)
    when that meets every row and reaches more; `values` past the greedy's deadline."""
    try:
        filled = greedy.fill(chosen, leave_out=leave_out, prior=values)
    except Late:
        return values
    if filled is None or not feasible_under(mm, greedy.rows, filled):
        return values
    reach = mm.objectives["weighted_reach"]
    most = float(reach @ values)
    gained = float(reach @ filled)
    return filled if gained > most + IMPROVEMENT * max(1.0, abs(most)) else values


def _helping(greedy: Greedy, values: FloatArray, chosen: set[int], lower: FloatArray) -> list[int]:
    """Chosen options (not `must`) whose leaving moves some failing checked row towards its
    limit: a positive entry in a row above its upper side, a negative one in a row below its
    lower side. Rows over reach u are left to the final check (dropping cannot mend them)."""
    over, under = _failing(greedy, values)
    if not (over.any() or under.any()):
        return []
    out = []
    for o in sorted(chosen):
        if lower[o] > 0.5:
            continue
        entry_rows, entry_vals = greedy.x_entries[o]
        if any(
            (v > 0 and over[r]) or (v < 0 and under[r])
            for r, v in zip(entry_rows, entry_vals, strict=True)
        ):
            out.append(o)
    return out


class _ReachLoss:
    """The weighted reach each option's leaving costs, from the rows that bound reach u
    (formulation eqs. 1 and 2: u_m ≤ (side − x-part) / a over each row of market m)."""

    def __init__(self, mm: MatrixModel, greedy: Greedy) -> None:
        laid = greedy.laid
        self.rows = laid.rows
        self.u_start = u = mm.u_start
        self.weight = mm.objectives["weighted_reach"][u:]
        self.u_lower, self.u_upper = mm.col_lower[u:], mm.col_upper[u:]
        self.market_rows = laid.market_rows
        """Market (u index) → its rows over u, with u's coefficient there."""
        self.row_market = laid.row_market
        self.option_rows = laid.option_rows
        """Option → its entries (row, coefficient) in those rows."""

    def of(self, values: FloatArray, options: list[int]) -> dict[int, float]:
        """Weighted reach (model units) lost when each of `options` alone leaves `values`."""
        without_u = values.copy()
        without_u[self.u_start :] = 0.0
        act = self.rows.activity(without_u)
        out: dict[int, float] = {}
        for o in options:
            change: dict[int, float] = {}
            for r, v in self.option_rows.get(o, ()):
                change[r] = change.get(r, 0.0) + v
            lost = 0.0
            for m in sorted({self.row_market[r] for r in change}):
                before = self._reach(m, act, {})
                after = self._reach(m, act, change)
                lost += float(self.weight[m]) * (before - after)
            out[o] = max(lost, 0.0)
        return out

    def _reach(self, market: int, act: FloatArray, change: dict[int, float]) -> float:
        """u of `market` as its rows allow with the x-part of each row lowered by `change`."""
        most = float(self.u_upper[market])
        for r, a in self.market_rows[market]:
            side = float(self.rows.upper[r]) - (float(act[r]) - change.get(r, 0.0))
            most = min(most, side / a)
        return max(most, float(self.u_lower[market]))
