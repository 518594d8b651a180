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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import highspy
import numpy as np
import numpy.typing as npt

from planner.model.matrix_model import MatrixModel, eligible_pair_indices
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


@dataclass(frozen=True)
class EligiblePairs:
    """Every eligible (offer, option) pair of a scenario, as positions in its offers and
    options (offer-major, both in the scenario's order).

    Why: a model already holds its pairs (`EligiblePairs.of_model`); deriving them again
    for each plan, with the plan's options as a scenario of their own, took 0.06 s of
    the 0.2 s each plan's amounts cost at 50,000 options.
    """

    scenario: Scenario
    offer_at: npt.NDArray[np.int64]
    option_at: npt.NDArray[np.int64]

    @classmethod
    def of(cls, scenario: Scenario) -> EligiblePairs:
        """The pairs of `scenario`, derived from its rows (`eligible_pair_indices`)."""
        option_pos = {o.option_id: i for i, o in enumerate(scenario.options)}
        market_pos = {m.market_id: i for i, m in enumerate(scenario.markets)}
        n = len(scenario.coverage)
        cov_option = np.fromiter((option_pos[r.option_id] for r in scenario.coverage), np.int64, n)
        cov_market = np.fromiter((market_pos[r.market_id] for r in scenario.coverage), np.int64, n)
        return cls(scenario, *eligible_pair_indices(scenario, cov_option, cov_market))

    @classmethod
    def of_model(cls, mm: MatrixModel) -> EligiblePairs:
        """The pairs of a model's z columns, by position in its scenario's rows."""
        assert len(mm.option_ids) == len(mm.scenario.options)  # its columns are its rows
        return cls(mm.scenario, mm.pair_offer, mm.pair_option)


def max_cofinancing(
    scenario: Scenario,
    options: Sequence[str],
    offers: Sequence[str],
    *,
    deadline: float,
    found: Iterable[Amount] = (),
    eligible: EligiblePairs | None = None,
) -> CoFinancingAmounts:
    """The most co-financing the chosen options and taken offers allow (rules 3-5).

    The LP stops at `deadline` (a `time.monotonic()` instant), though never
    before `MIN_LP_SECONDS`. If it has not ended optimal by then, the amounts
    are `found` (the solve's own, for the same options and offers) cut back to
    rules 3-5, and `most` is False. `eligible`: the scenario's pairs when the
    caller holds them (a model's); else those of the plan's options are derived.
    """
    if eligible is None:
        eligible = EligiblePairs.of(_narrowed(scenario, options, offers))
    pairs = _PlanPairs(eligible, options, offers)
    if not pairs.n:
        return CoFinancingAmounts((), most=True)
    values = _solve_lp(pairs.ub, pairs.rows(), deadline)
    least = LEAST_AMOUNT * _unit(pairs.ub)
    if values is None:
        return CoFinancingAmounts(pairs.amounts(pairs.within_rules(found), least), most=False)
    return CoFinancingAmounts(
        pairs.amounts(np.minimum(np.maximum(values, 0.0), pairs.ub), least), most=True
    )


def _narrowed(scenario: Scenario, options: Sequence[str], offers: Sequence[str]) -> Scenario:
    """`scenario` with only the chosen options that cost something and the taken offers:
    their pairs are all a plan's (at 50,000 options the whole scenario's take a second)."""
    chosen, taken = set(options), set(offers)
    paid = {o.option_id for o in scenario.options if o.option_id in chosen and o.cost > 0}
    return replace(
        scenario,
        options=tuple(o for o in scenario.options if o.option_id in paid),
        offers=tuple(c for c in scenario.offers if c.offer_id in taken),
        coverage=tuple(row for row in scenario.coverage if row.option_id in paid),
    )


class _PlanPairs:
    """A plan's eligible pairs (its taken offers' and its chosen, paid options'), in the
    scenario's pair order, with each pair's bound and the LP's limits."""

    def __init__(self, eligible: EligiblePairs, options: Sequence[str], offers: Sequence[str]):
        sc = eligible.scenario
        self.scenario = sc
        self.mcs = sc.settings.max_cofinance_share
        self.cost = np.fromiter((o.cost for o in sc.options), np.float64, len(sc.options))
        chosen = _mask([o.option_id for o in sc.options], options)
        taken = _mask([c.offer_id for c in sc.offers], offers)
        at = (chosen & (self.cost > 0))[eligible.option_at] & taken[eligible.offer_at]
        self.offer, self.option = eligible.offer_at[at], eligible.option_at[at]
        self.n = len(self.offer)
        share = np.fromiter((c.share for c in sc.offers), np.float64, len(sc.offers))
        self.ub = np.minimum(share[self.offer], self.mcs) * self.cost[self.option]

    def _groups(self) -> list[tuple[npt.NDArray[np.int64], list[int], list[float]]]:
        """Per limit kind (offers' caps, then options' shares): each pair's group, the
        groups' positions in id order, and their limits."""
        sc = self.scenario
        offers = sorted(np.unique(self.offer).tolist(), key=lambda j: sc.offers[j].offer_id)
        options = sorted(np.unique(self.option).tolist(), key=lambda i: sc.options[i].option_id)
        return [
            (self.offer, offers, [sc.offers[j].cap for j in offers]),
            (self.option, options, [self.mcs * sc.options[i].cost for i in options]),
        ]

    def rows(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int32], npt.NDArray[np.int32]]:
        """The LP's rows (each offer's cap in offer id order, then each option's share in
        option id order) as their limits and CSR starts and pair indices."""
        limits, starts, index = [], [], []
        for key, order, limit in self._groups():
            group = _group_of(key, order)
            index.append(np.argsort(group, kind="stable"))
            starts.append(np.bincount(group, minlength=len(order)))
            limits.append(np.array(limit, np.float64))
        counts = np.concatenate(starts)
        return (
            np.concatenate(limits),
            (np.cumsum(counts) - counts).astype(np.int32),
            np.concatenate(index).astype(np.int32),
        )

    def within_rules(self, found: Iterable[Amount]) -> npt.NDArray[np.float64]:
        """`found` on these pairs, each within its bound, every group within its limit.

        Each amount is clipped to its pair's bound (rule 3, with the share cap of
        rule 5), then every offer's and every option's amounts are scaled down
        together where their sum exceeds the offer's cap (rule 4) or the option's
        share (rule 5). Scaling only lowers amounts, so a later limit never breaks
        an earlier one.
        """
        sc = self.scenario
        given = {(c, o): a for c, o, a in found}
        amounts = np.array(
            [
                given.get((sc.offers[j].offer_id, sc.options[i].option_id), 0.0)
                for j, i in zip(self.offer.tolist(), self.option.tolist(), strict=True)
            ],
            np.float64,
        )
        amounts = np.minimum(np.maximum(amounts, 0.0), self.ub)
        for key, order, limit in self._groups():
            group = _group_of(key, order)
            total = np.bincount(group, weights=amounts, minlength=len(order))
            cap = np.maximum(0.0, np.array(limit, np.float64))
            with np.errstate(divide="ignore", invalid="ignore"):
                scale = np.where(total > cap, cap / total, 1.0)
            amounts = amounts * scale[group]
        return amounts

    def amounts(self, values: npt.NDArray[np.float64], least: float) -> tuple[Amount, ...]:
        """(offer_id, option_id, amount) of the pairs whose amount is above `least`, in id order."""
        sc = self.scenario
        keep = np.flatnonzero(values > least).tolist()
        offer, option = self.offer.tolist(), self.option.tolist()
        return tuple(
            sorted(
                (sc.offers[offer[k]].offer_id, sc.options[option[k]].option_id, float(values[k]))
                for k in keep
            )
        )


def _mask(ids: Sequence[str], wanted: Iterable[str]) -> npt.NDArray[np.bool_]:
    """Which of `ids` are in `wanted`."""
    want = set(wanted)
    return np.fromiter((i in want for i in ids), np.bool_, len(ids))


def _group_of(key: npt.NDArray[np.int64], order: Sequence[int]) -> npt.NDArray[np.int64]:
    """Each pair's group number: the place of its `key` in `order`."""
    place = np.zeros(int(key.max()) + 1 if len(key) else 0, np.int64)
    place[np.asarray(order, np.int64)] = np.arange(len(order))
    return place[key]


def _solve_lp(
    ub: npt.NDArray[np.float64],
    rows: tuple[npt.NDArray[np.float64], npt.NDArray[np.int32], npt.NDArray[np.int32]],
    deadline: float,
) -> npt.NDArray[np.float64] | None:
    """The LP's optimal amounts per pair, or None when it did not end optimal by `deadline`.

    `rows`: each row's limit on Σ amounts, and the rows as CSR starts and pair indices.
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
    n = len(ub)
    unit = _unit(ub)
    h.addVars(n, np.zeros(n), ub / unit)
    h.changeColsCost(n, np.arange(n, dtype=np.int32), np.full(n, -1.0))
    limits, starts, index = rows
    h.addRows(
        len(limits),
        np.full(len(limits), -highspy.kHighsInf),
        limits / unit,
        len(index),
        starts,
        index,
        np.ones(len(index)),
    )
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return unit * np.asarray(h.getSolution().col_value, np.float64)


def _unit(ub: npt.NDArray[np.float64]) -> float:
    """The LP's unit of money: a power of two near the largest amount a pair may get (exact
    in binary). Why: HiGHS's feasibility tolerance is absolute, and money of 1e-8 would
    otherwise sit within it."""
    sizes = np.abs(np.asarray(ub, dtype=float))
    sizes = sizes[np.isfinite(sizes) & (sizes != 0.0)]
    return float(np.exp2(np.round(np.log2(sizes.max())))) if len(sizes) else 1.0
