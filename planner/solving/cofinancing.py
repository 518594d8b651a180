"""The co-financing amounts reported for a plan: the most its options and offers allow.

Why afresh: with x and y fixed, net spend is lowest when Σ z is largest, which
is a small LP (a transportation problem). Solving it for the reported plan
means a tolerance used in the staged MIP solves (net spend held within 1e-6
of its optimum) can never leak into reported amounts (SPEC §3).

Why a fallback: the LP runs after the solves, in the time kept back for
verification, and must not outlast the run. When it does not end optimal in
time, the solve's own amounts stand, cut back to rules 3-5 where HiGHS's
tolerances left them a hair over: a valid plan, whose net spend may be
slightly above the least possible (`CoFinancingAmounts.most` is then False
and the caller says so).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

import highspy
import numpy as np

from planner.model.matrix_model import eligible_pair_indices
from planner.scenario.data import Scenario
from planner.solving.highs_instance import HIGHS_THREADS, quiet_highs

#: Seconds the LP may always take, even when the run's deadline has passed (a small
#: plan's LP takes milliseconds; a plan verified at the deadline still gets its amounts).
MIN_LP_SECONDS = 0.1

#: Amounts at or below this share of the largest amount a pair may get are left out of a
#: plan: below what the LP tells apart in its units (`_unit`), whatever the money's units
#: (an absolute 1e-9 dropped real amounts of a scenario in billions, money × 1e-9).
LEAST_AMOUNT = 1e-9

Amount = tuple[str, str, float]
"""(offer_id, option_id, amount)."""


@dataclass(frozen=True)
class CoFinancingAmounts:
    """The amounts to report for one plan, and whether they are proven the most possible."""

    amounts: tuple[Amount, ...]
    """(offer_id, option_id, amount) with amounts above `LEAST_AMOUNT` of the largest a
    pair may get, in id order."""
    most: bool
    """True when the LP proved them the most co-financing the plan allows (so its net spend
    is the least possible for its options and offers); False when the LP did not end in
    time and the solve's own amounts stand."""


def max_cofinancing(
    scenario: Scenario,
    options: Sequence[str],
    offers: Sequence[str],
    *,
    deadline: float,
    found: Iterable[Amount] = (),
) -> CoFinancingAmounts:
    """The most co-financing the chosen options and taken offers allow (rules 3-5).

    The LP stops at `deadline` (a `time.monotonic()` instant), though never
    before `MIN_LP_SECONDS`. If it has not ended optimal by then, the amounts
    are `found` (the solve's own, for the same options and offers) cut back to
    rules 3-5, and `most` is False.
    """
    chosen, taken = set(options), set(offers)
    cost = {o.option_id: o.cost for o in scenario.options}
    offer_of = {c.offer_id: c for c in scenario.offers}
    mcs = scenario.settings.max_cofinance_share
    # Eligibility of the chosen options for the taken offers only (at 50,000
    # options the whole scenario's pairs take a second).
    paid = {o for o in chosen if cost[o] > 0}
    pairs = _eligible_pairs(
        replace(
            scenario,
            options=tuple(o for o in scenario.options if o.option_id in paid),
            offers=tuple(c for c in scenario.offers if c.offer_id in taken),
            coverage=tuple(row for row in scenario.coverage if row.option_id in paid),
        )
    )
    if not pairs:
        return CoFinancingAmounts((), most=True)
    ub = [min(offer_of[c].share, mcs) * cost[o] for c, o in pairs]
    limits: tuple[tuple[int, Callable[[str], float]], ...] = (
        (0, lambda c: offer_of[c].cap),
        (1, lambda o: mcs * cost[o]),
    )
    values = _solve_lp(pairs, ub, limits, deadline)
    least = LEAST_AMOUNT * _unit(ub)
    if values is None:
        return CoFinancingAmounts(_within_rules(pairs, ub, limits, found, least), most=False)
    out = []
    for (c, o), v, bound in zip(pairs, values, ub, strict=True):
        amount = min(max(0.0, float(v)), bound)
        if amount > least:
            out.append((c, o, amount))
    return CoFinancingAmounts(tuple(sorted(out)), most=True)


def _eligible_pairs(scenario: Scenario) -> list[tuple[str, str]]:
    """`eligible_pairs`, in the same order, asked once per class of options
    (`eligible_pair_indices`, the model's way). Why: asked per pair, at 10,000 chosen
    options and 12 offers, it took 0.1 s of each plan's 0.2 s (0.03 s by class)."""
    option_pos = {o.option_id: i for i, o in enumerate(scenario.options)}
    market_pos = {m.market_id: i for i, m in enumerate(scenario.markets)}
    n = len(scenario.coverage)
    cov_option = np.fromiter((option_pos[r.option_id] for r in scenario.coverage), np.int64, n)
    cov_market = np.fromiter((market_pos[r.market_id] for r in scenario.coverage), np.int64, n)
    offer_at, option_at = eligible_pair_indices(scenario, cov_option, cov_market)
    offers, options = scenario.offers, scenario.options
    return [
        (offers[j].offer_id, options[i].option_id)
        for j, i in zip(offer_at.tolist(), option_at.tolist(), strict=True)
    ]


def _solve_lp(
    pairs: Sequence[tuple[str, str]],
    ub: Sequence[float],
    limits: Sequence[tuple[int, Callable[[str], float]]],
    deadline: float,
) -> list[float] | None:
    """The LP's optimal amounts per pair, or None when it did not end optimal by `deadline`.

    HiGHS's own time limit is backed by an interrupt at the deadline (as for
    every solve here: HiGHS does not check its limit everywhere).
    """
    stop_at = max(deadline, time.monotonic() + MIN_LP_SECONDS)
    h = quiet_highs()
    h.setOptionValue("threads", HIGHS_THREADS)
    h.setOptionValue("primal_feasibility_tolerance", 1e-9)
    h.setOptionValue("time_limit", max(1e-3, stop_at - time.monotonic()))

    def interrupt_at_deadline(event) -> None:
        event.interrupt(time.monotonic() >= stop_at)

    for event in (h.cbSimplexInterrupt, h.cbIpmInterrupt):
        event.subscribe(interrupt_at_deadline)
    n = len(pairs)
    unit = _unit(ub)
    h.addVars(n, np.zeros(n), np.array(ub, dtype=float) / unit)
    h.changeColsCost(n, np.arange(n, dtype=np.int32), np.full(n, -1.0))
    # Every offer's cap, then every option's share, as rows handed over at once.
    groups = [
        (limit(key), ks)
        for key_pos, limit in limits
        for key, ks in sorted(_groups(pairs, key_pos).items())
    ]
    starts = np.cumsum([0] + [len(ks) for _, ks in groups[:-1]], dtype=np.int32)
    index = np.fromiter((k for _, ks in groups for k in ks), np.int32)
    h.addRows(
        len(groups),
        np.full(len(groups), -highspy.kHighsInf),
        np.array([cap for cap, _ in groups], dtype=float) / unit,
        len(index),
        starts,
        index,
        np.ones(len(index)),
    )
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return [unit * v for v in h.getSolution().col_value]


def _unit(ub: Sequence[float]) -> float:
    """The LP's unit of money: a power of two near the largest amount a pair may get (exact
    in binary). Why: HiGHS's feasibility tolerance is absolute, and money of 1e-8 would
    otherwise sit within it."""
    sizes = np.abs(np.asarray(ub, dtype=float))
    sizes = sizes[np.isfinite(sizes) & (sizes != 0.0)]
    return float(np.exp2(np.round(np.log2(sizes.max())))) if len(sizes) else 1.0


def _groups(pairs: Sequence[tuple[str, str]], key_pos: int) -> dict[str, list[int]]:
    """Pair positions by offer (`key_pos` 0) or by option (1)."""
    groups: dict[str, list[int]] = {}
    for k, pair in enumerate(pairs):
        groups.setdefault(pair[key_pos], []).append(k)
    return groups


def _within_rules(
    pairs: Sequence[tuple[str, str]],
    ub: Sequence[float],
    limits: Sequence[tuple[int, Callable[[str], float]]],
    found: Iterable[Amount],
    least: float,
) -> tuple[Amount, ...]:
    """`found` on the eligible pairs, each within its bound, every group within its limit.

    Each amount is clipped to its pair's bound (rule 3, with the share cap of
    rule 5), then every offer's and every option's amounts are scaled down
    together where their sum exceeds the offer's cap (rule 4) or the option's
    share (rule 5). Scaling only lowers amounts, so a later limit never breaks
    an earlier one. Amounts at or below `least` are left out.
    """
    given = {(c, o): a for c, o, a in found}
    amounts = np.array(
        [min(max(0.0, given.get(pair, 0.0)), bound) for pair, bound in zip(pairs, ub, strict=True)]
    )
    for key_pos, limit in limits:
        for key, ks in _groups(pairs, key_pos).items():
            total = float(amounts[ks].sum())
            cap = max(0.0, limit(key))
            if total > cap:
                amounts[ks] *= cap / total
    return tuple(
        sorted((c, o, float(a)) for (c, o), a in zip(pairs, amounts, strict=True) if a > least)
    )
