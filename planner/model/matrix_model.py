"""SPEC §3 as plain numpy arrays, ready to hand to HiGHS in one call.

Why: building the Pyomo model (`planner.model.pyomo_model.build_model`) and handing it to
HiGHS through Pyomo cost 25-33 s at 50k options, more than half the run's
time limit, for a matrix HiGHS takes in a fraction of a second
(SOLVER-NOTES: direct highspy is 60-70x faster). This module builds the same
model of `models/formulation.md` straight into arrays, vectorised over the
Coverage rows and eligible pairs, so the run's time goes to the solver.

`planner.model.pyomo_model` stays the readable reference formulation; tests check that both
builders give the same model, row for row, and the same optimum of every
stage. The choices are the same as there: redundant rows dropped, trust floor
and decisions as bounds, z bounded by min(share_c, σ)·c_o, zero coefficients
left out. One difference: the per-pair rows (3) `cofinance_option` are left out
here (the block is empty), as they are implied for binary x by the z bound and
rows (5) (formulation.md, eq. 3); the reference keeps them.

Columns are x (options), y (offers), z (eligible pairs), u (markets), in that
order, each in id order. Rows are grouped in named blocks with the names of
the Pyomo components and the formulation (`reach`, `full_stack`, …), so a row
number can always be turned back into a name (`MatrixModel.row_name`) for
infeasibility reports and LP/MPS exports. `build_matrix_model` indexes the
scenario once (`_arrays`), then runs one step per block (`_STEPS`:
`_add_reach_rows`, …), so the code can be read against the formulation
equation by equation.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from operator import attrgetter, itemgetter
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from planner.checks.screening import screen_options
from planner.model.common import canonical_order, check_deadline
from planner.scenario.data import (
    Decision,
    Layer,
    RuleKind,
    Scenario,
    Settings,
    canonical_name,
    eligible,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
_Key = TypeVar("_Key", bound=Hashable)

#: The row blocks in build order (formulation equations 1-13).
BLOCK_NAMES: tuple[str, ...] = (
    "reach",
    "full_stack",
    "cofinance_option",
    "offer_cap",
    "cofinance_share",
    "matching_spend",
    "budget",
    "resources",
    "average_trust",
    "foreign_share",
    "layer_foreign_share",
    "country_share",
    "requires",
    "excludes",
)

#: The three lexicographic objectives (SPEC §3) and whether each is maximised.
OBJECTIVES: dict[str, bool] = {"weighted_reach": True, "net_spend": False, "option_count": False}


@dataclass(frozen=True)
class Scaling:
    """Powers of two between a conditioned model and the scenario it was built from.

    A conditioned model (`planner.model.conditioning`) solves the same problem in
    other units: column j's value in the scenario's units is `columns[j]` times
    its value in the model, row i of the model is row i of the scenario's model
    times `rows[i]`, and objective `name` in the model is `objectives[name]`
    times the scenario's. Powers of two, so scaling itself never rounds.
    """

    columns: FloatArray
    rows: FloatArray
    objectives: dict[str, float]

    def user_columns(self, values: npt.ArrayLike) -> FloatArray:
        """A column vector of the model in the scenario's units."""
        return np.asarray(values, dtype=np.float64) * self.columns

    def user_objective(self, name: str, value: float) -> float:
        """A value of objective `name` in the model, in the scenario's units."""
        return value / self.objectives[name]

    def tolerance_floor(self, name: str) -> float:
        """The floor f of the tolerance 1e-6·max(f, |v|) on objective `name` in the model.

        SPEC §3's tolerance is 1e-6·max(1, |value|). In a model scaled down (factor
        k < 1) the same tolerance is 1e-6·max(k, |v|): exactly SPEC's. In a model
        scaled up (k > 1: weights, reaches or money so small that every value sits
        under SPEC's absolute floor of 1e-6) the floor stays 1 in the model's units,
        so tolerances act relative to the scenario's own scale: stricter than SPEC
        (which allows it), and the answer is that of the same scenario written in
        larger units.
        """
        return min(1.0, self.objectives[name])


@dataclass(frozen=True, slots=True)
class RowBlock:
    """Rows `start` to `stop - 1` of one named constraint block; `keys[i]` names row start+i.

    A key is a tuple of ids (market, (market, layer), (offer, option), …), the
    same index the Pyomo component uses.
    """

    name: str
    start: int
    stop: int
    keys: Sequence[tuple[str, ...]]

    def __len__(self) -> int:
        return self.stop - self.start


@dataclass
class MatrixModel:
    """SPEC §3 as arrays: bounds, integrality, three objectives, CSR rows in named blocks.

    Has the same id maps as `planner.model.pyomo_model.PlanModel` (`option_ids`,
    `offer_ids`, `market_ids`, `pairs`, `screened`, decisions), so code that
    turns solver values into plans works on either.
    """

    scenario: Scenario
    settings: Settings
    option_ids: tuple[str, ...]
    offer_ids: tuple[str, ...]
    market_ids: tuple[str, ...]
    pairs: tuple[tuple[str, str], ...]
    """(offer_id, option_id) of every z column, in column order."""
    pair_offer: IntArray
    """Position in `offer_ids` of every z column's offer."""
    pair_option: IntArray
    """Position in `option_ids` of every z column's option."""
    col_lower: FloatArray
    col_upper: FloatArray
    integrality: npt.NDArray[np.int32]
    """1 for the binaries x and y, 0 for z and u (HiGHS's kInteger / kContinuous)."""
    objectives: dict[str, FloatArray]
    """`weighted_reach`, `net_spend`, `option_count` as dense cost vectors over all columns."""
    row_start: IntArray
    row_index: npt.NDArray[np.int32]
    row_value: FloatArray
    row_lower: FloatArray
    row_upper: FloatArray
    blocks: tuple[RowBlock, ...]
    screened: dict[str, str] = field(default_factory=dict)
    """Options held at x = 0 by rule 9 or `never`, with the reason."""
    option_decisions: dict[str, Decision] = field(default_factory=dict)
    offer_decisions: dict[str, Decision] = field(default_factory=dict)
    scaling: Scaling | None = None
    """How this model's numbers relate to the scenario's, once
    `planner.model.conditioning.condition` has made them numbers HiGHS can take;
    None: they are the scenario's own (as `build_matrix_model` makes them)."""

    @property
    def n_cols(self) -> int:
        return len(self.col_lower)

    @property
    def n_rows(self) -> int:
        return len(self.row_lower)

    @property
    def x_start(self) -> int:
        return 0

    @property
    def y_start(self) -> int:
        return len(self.option_ids)

    @property
    def z_start(self) -> int:
        return len(self.option_ids) + len(self.offer_ids)

    @property
    def u_start(self) -> int:
        return len(self.option_ids) + len(self.offer_ids) + len(self.pairs)

    def option_index(self) -> dict[str, int]:
        return {o: i for i, o in enumerate(self.option_ids)}

    def block(self, name: str) -> RowBlock:
        """The named block (an empty one at the end when the model has no such rows)."""
        for b in self.blocks:
            if b.name == name:
                return b
        raise KeyError(name)

    def block_sizes(self) -> dict[str, int]:
        """Rows per named block, for comparison with the Pyomo model."""
        return {b.name: len(b) for b in self.blocks}

    def row_name(self, row: int) -> str:
        """`block(key,…)` for row number `row`, as in LP files (spaces become `_`)."""
        for b in self.blocks:
            if b.start <= row < b.stop:
                return _label(b.name, b.keys[row - b.start])
        raise IndexError(row)

    def row_names(self) -> list[str]:
        """Every row's name in row order (for exports; costs a string per row)."""
        return [_label(b.name, key) for b in self.blocks for key in b.keys]

    def col_names(self) -> list[str]:
        """Every column's name in column order: x(option), y(offer), z(offer,option), u(market)."""
        return (
            [_label("x", (o,)) for o in self.option_ids]
            + [_label("y", (c,)) for c in self.offer_ids]
            + [_label("z", pair) for pair in self.pairs]
            + [_label("u", (m,)) for m in self.market_ids]
        )

    def row(self, row: int) -> tuple[npt.NDArray[np.int32], FloatArray]:
        """Column indices and coefficients of one row."""
        a, b = int(self.row_start[row]), int(self.row_start[row + 1])
        return self.row_index[a:b], self.row_value[a:b]


def _label(name: str, key: tuple[str, ...]) -> str:
    text = f"{name}({','.join(key)})"
    return "_".join(text.split()) if any(ch.isspace() for ch in text) else text


class _Rows:
    """Collects rows block by block as coordinate triplets; `finish` makes CSR."""

    def __init__(self) -> None:
        self.rows: list[IntArray] = []
        self.cols: list[IntArray] = []
        self.vals: list[FloatArray] = []
        self.lower: list[FloatArray] = []
        self.upper: list[FloatArray] = []
        self.blocks: list[RowBlock] = []
        self.n = 0

    def add_block(
        self,
        name: str,
        keys: Sequence[tuple[str, ...]],
        rows: npt.ArrayLike,
        cols: npt.ArrayLike,
        vals: npt.ArrayLike,
        lower: npt.ArrayLike,
        upper: npt.ArrayLike,
    ) -> None:
        """Append a block; `rows` are block-local row numbers 0..len(keys)-1."""
        count = len(keys)
        self.rows.append(np.asarray(rows, dtype=np.int64) + self.n)
        self.cols.append(np.asarray(cols, dtype=np.int64))
        self.vals.append(np.asarray(vals, dtype=np.float64))
        self.lower.append(np.broadcast_to(np.asarray(lower, dtype=np.float64), (count,)))
        self.upper.append(np.broadcast_to(np.asarray(upper, dtype=np.float64), (count,)))
        self.blocks.append(RowBlock(name, self.n, self.n + count, keys))
        self.n += count

    def finish(self) -> tuple[IntArray, npt.NDArray[np.int32], FloatArray, FloatArray, FloatArray]:
        rows = np.concatenate(self.rows) if self.rows else np.zeros(0, np.int64)
        cols = np.concatenate(self.cols) if self.cols else np.zeros(0, np.int64)
        vals = np.concatenate(self.vals) if self.vals else np.zeros(0)
        keep = vals != 0.0  # as Pyomo's LinearExpression builder: no zero coefficients
        rows, cols, vals = rows[keep], cols[keep], vals[keep]
        order = np.argsort(rows, kind="stable")
        start = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=self.n), out=start[1:])
        lower = np.concatenate(self.lower) if self.lower else np.zeros(0)
        upper = np.concatenate(self.upper) if self.upper else np.zeros(0)
        return start, cols[order].astype(np.int32), vals[order], lower, upper


def _codes(values: Sequence[str], names: Sequence[str]) -> IntArray:
    """Position of each value in `names` (a sorted, duplicate-free list)."""
    pos = {name: i for i, name in enumerate(names)}
    return _codes_by(values, pos, len(values))


def _codes_by(values: Iterable[_Key], pos: Mapping[_Key, int], count: int) -> IntArray:
    """`pos[value]` for each of `count` values, as an array (one C-level pass)."""
    return np.fromiter(map(pos.__getitem__, values), dtype=np.int64, count=count)


def _share_rows(
    rows: _Rows,
    name: str,
    groups: Sequence[tuple[str, BoolArray, BoolArray, float]],
    cost: FloatArray,
) -> None:
    """One row Σ_{members} c x - limit Σ_{scope} c x ≤ 0 per (key, members, scope, limit).

    Coefficients are computed as the Pyomo builder does (−limit·c, then +c for
    members), so both models hold bit-identical numbers.
    """
    rr: list[IntArray] = []
    cc: list[IntArray] = []
    vv: list[FloatArray] = []
    for r, (_key, members, scope, limit) in enumerate(groups):
        coefs = -limit * cost
        coefs[members] += cost[members]
        cols = np.flatnonzero(scope)
        rr.append(np.full(len(cols), r, dtype=np.int64))
        cc.append(cols)
        vv.append(coefs[cols])
    keys = [(key,) for key, _m, _s, _l in groups]
    if not keys:
        rows.add_block(name, [], [], [], [], -np.inf, 0.0)
        return
    rows.add_block(
        name, keys, np.concatenate(rr), np.concatenate(cc), np.concatenate(vv), -np.inf, 0.0
    )


def _group_rows(keys: IntArray, n_groups: int) -> tuple[IntArray, IntArray]:
    """For entries labelled `keys`: the groups that occur (sorted) and each entry's row in them."""
    present = np.bincount(keys, minlength=n_groups) > 0
    row_of_group = np.cumsum(present) - 1
    return np.flatnonzero(present), row_of_group[keys]


def _class_keys(codes: IntArray, n_codes: int, bits: BoolArray) -> npt.NDArray[np.generic]:
    """One key per row, equal exactly when both `codes` and the rows of `bits` are.

    An integer when code and bits fit in 63 bits (up to some 50 regions: one
    fast sort), else the row's bytes.
    """
    width = bits.shape[1]
    if width + n_codes.bit_length() <= 63:
        return (codes << width) | (bits @ (1 << np.arange(width, dtype=np.int64)))
    packed = np.concatenate(
        (codes.astype(np.int64).view(np.uint8).reshape(-1, 8), np.packbits(bits, axis=1)), axis=1
    )
    return packed.view(np.dtype((np.void, packed.shape[1]))).reshape(-1)


def eligible_pair_indices(
    scenario: Scenario, cov_option: IntArray, cov_market: IntArray
) -> tuple[IntArray, IntArray]:
    """(offer index, option index) of every eligible pair, offer-major, both in id order.

    Eligibility has one definition, `planner.scenario.data.eligible`. Asking it
    once per (offer, option) costs 600,000 Python calls at 50,000 options and
    12 offers, but it sees an option only through its kind, its layer and the
    regions it operates in, and options fall into few such classes (under a
    thousand at that size): it is asked once per offer and class, with the
    class's first option and its regions, and numpy spreads the answers over
    the options. `cov_option` / `cov_market` are the Coverage rows as positions
    in `scenario.options` / `scenario.markets`.
    """
    options, offers, markets = scenario.options, scenario.offers, scenario.markets
    n_o = len(options)
    if not offers or not n_o:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    market_regions = [canonical_name(m.region) for m in markets]
    region_names = sorted(set(market_regions))
    operates = np.zeros((n_o, len(region_names)), dtype=bool)
    operates[cov_option, _codes(market_regions, region_names)[cov_market]] = True
    kind_layer = attrgetter("kind", "layer")
    kind_layer_pos = {key: i for i, key in enumerate(dict.fromkeys(map(kind_layer, options)))}
    kind_layer_of = _codes_by(map(kind_layer, options), kind_layer_pos, n_o)
    _, first, class_of = np.unique(
        _class_keys(kind_layer_of, len(kind_layer_pos), operates),
        return_index=True,
        return_inverse=True,
    )
    members = [options[i] for i in first.tolist()]
    regions = [{region_names[r] for r in np.flatnonzero(operates[i]).tolist()} for i in first]
    offer_parts: list[IntArray] = []
    option_parts: list[IntArray] = []
    for j, offer in enumerate(offers):
        ok = np.fromiter(map(partial(eligible, offer), members, regions), bool, len(members))
        chosen = np.flatnonzero(ok[class_of]).astype(np.int64, copy=False)
        offer_parts.append(np.full(len(chosen), j, dtype=np.int64))
        option_parts.append(chosen)
    return np.concatenate(offer_parts), np.concatenate(option_parts)


@dataclass(slots=True)
class _Arrays:
    """The scenario as arrays by option, market and pair, read by every block's step.

    Made once so that each step reads like its equation in formulation.md.
    The column bounds live here too: (1), (2), (9) and (13c) tighten bounds
    instead of adding rows, and the steps that do so own that choice.
    """

    scenario: Scenario
    settings: Settings
    option_ids: tuple[str, ...]
    offer_ids: tuple[str, ...]
    market_ids: tuple[str, ...]
    option_pos: dict[str, int]
    cost: FloatArray
    trust: FloatArray
    foreign: BoolArray
    countries: list[str]
    """Canonical country of every partner (options reach it through `of_partner`)."""
    of_partner: IntArray
    layer_limits: dict[str, Layer]
    layer_names: list[str]
    layer_of: IntArray
    cov_option: IntArray
    cov_market: IntArray
    cov_reach: FloatArray
    addressable: FloatArray
    pairs: tuple[tuple[str, str], ...]
    pair_offer: IntArray
    pair_option: IntArray
    x0: int
    y0: int
    z0: int
    u0: int
    col_lower: FloatArray
    col_upper: FloatArray
    net_spend: FloatArray
    """Σ c_o x_o − Σ z_co + Σ fee_c y_c as a cost vector: the budget row and an objective."""
    option_decisions: dict[str, Decision]
    offer_decisions: dict[str, Decision]
    screened: dict[str, str] = field(default_factory=dict)

    @property
    def n_cols(self) -> int:
        return len(self.col_lower)


def _arrays(
    scenario: Scenario,
    settings: Settings,
    option_decisions: dict[str, Decision],
    offer_decisions: dict[str, Decision],
    deadline: float | None,
) -> _Arrays:
    """Index the (canonically ordered) scenario and set the columns' own bounds."""
    options, offers, markets = scenario.options, scenario.offers, scenario.markets
    n_o, n_c, n_m = len(options), len(offers), len(markets)
    option_ids = tuple(o.option_id for o in options)
    offer_ids = tuple(c.offer_id for c in offers)
    market_ids = tuple(m.market_id for m in markets)

    # Partner attributes once per partner (there are 8x fewer), then per option by index.
    partners = scenario.partners
    partner_pos = {p.partner_id: k for k, p in enumerate(partners)}
    of_partner = _codes_by(map(attrgetter("partner_id"), options), partner_pos, n_o)
    countries = [canonical_name(p.country) for p in partners]
    home = canonical_name(settings.home_country)
    cost = np.fromiter(map(attrgetter("cost"), options), np.float64, count=n_o)
    trust = np.array([p.trust for p in partners], dtype=np.float64)[of_partner]
    foreign = np.array([c != home for c in countries], dtype=bool)[of_partner]
    layer_limits = scenario.layer_limits()
    layer_names = list(layer_limits)  # sorted; includes required and listed layers
    layer_of = _codes([o.layer for o in options], layer_names)

    option_pos = {o: i for i, o in enumerate(option_ids)}
    market_pos = {m: i for i, m in enumerate(market_ids)}
    cov = scenario.coverage
    n_cov = len(cov)
    cov_option = _codes_by(map(itemgetter(0), cov), option_pos, n_cov)
    cov_market = _codes_by(map(itemgetter(1), cov), market_pos, n_cov)
    cov_reach = np.fromiter(map(itemgetter(2), cov), np.float64, n_cov)
    check_deadline(deadline)
    pair_offer, pair_option = eligible_pair_indices(scenario, cov_option, cov_market)
    n_p = len(pair_offer)
    pairs = tuple(
        zip(
            map(offer_ids.__getitem__, pair_offer),
            map(option_ids.__getitem__, pair_option),
            strict=True,
        )
    )
    check_deadline(deadline)

    x0, y0, z0, u0 = 0, n_o, n_o + n_c, n_o + n_c + n_p
    n_cols = u0 + n_m
    share = np.fromiter((c.share for c in offers), np.float64, count=n_c)
    col_lower = np.zeros(n_cols)
    col_upper = np.ones(n_cols)
    # z ≤ min(share_c, σ)·c_o on every eligible pair: implied by rules 3 and 5, set
    # as a bound; with rows (5) it also makes rows (3) implied (see there).
    col_upper[z0:u0] = (
        np.minimum(share[pair_offer], settings.max_cofinance_share) * cost[pair_option]
    )
    addressable = np.fromiter((m.addressable for m in markets), np.float64, count=n_m)
    col_upper[u0:] = addressable

    net_spend = np.zeros(n_cols)
    net_spend[x0:y0] = cost
    net_spend[y0:z0] = np.fromiter((c.fee for c in offers), np.float64, count=n_c)
    net_spend[z0:u0] = -1.0
    return _Arrays(
        scenario=scenario,
        settings=settings,
        option_ids=option_ids,
        offer_ids=offer_ids,
        market_ids=market_ids,
        option_pos=option_pos,
        cost=cost,
        trust=trust,
        foreign=foreign,
        countries=countries,
        of_partner=of_partner,
        layer_limits=layer_limits,
        layer_names=layer_names,
        layer_of=layer_of,
        cov_option=cov_option,
        cov_market=cov_market,
        cov_reach=cov_reach,
        addressable=addressable,
        pairs=pairs,
        pair_offer=pair_offer,
        pair_option=pair_option,
        x0=x0,
        y0=y0,
        z0=z0,
        u0=u0,
        col_lower=col_lower,
        col_upper=col_upper,
        net_spend=net_spend,
        option_decisions=option_decisions,
        offer_decisions=offer_decisions,
    )


def _add_reach_rows(rows: _Rows, d: _Arrays) -> None:
    """(1) reach: u_m - Σ_o reach_om x_o ≤ 0; a market nobody reaches gets u_m ≤ 0."""
    n_m = len(d.market_ids)
    positive = d.cov_reach > 0
    r_market, r_option = d.cov_market[positive], d.cov_option[positive]
    reached, r_row = _group_rows(r_market, n_m)
    unreached = np.ones(n_m, dtype=bool)
    unreached[reached] = False
    d.col_upper[d.u0 + np.flatnonzero(unreached)] = 0.0
    rows.add_block(
        "reach",
        [(d.market_ids[i],) for i in reached],
        np.concatenate([np.arange(len(reached)), r_row]),
        np.concatenate([d.u0 + reached, d.x0 + r_option]),
        np.concatenate([np.ones(len(reached)), -d.cov_reach[positive]]),
        -np.inf,
        0.0,
    )


def _add_full_stack_rows(rows: _Rows, d: _Arrays) -> None:
    """(2) full_stack: u_m - addressable_m Σ_{o∈O(l,m)} x_o ≤ 0 for l in R_m.

    A required layer nobody supplies in m gets u_m ≤ 0 instead of a row.
    """
    markets, layer_names = d.scenario.markets, d.layer_names
    n_l = max(1, len(layer_names))
    layer_pos = {name: i for i, name in enumerate(layer_names)}
    required = np.array(
        [i * n_l + layer_pos[la] for i, m in enumerate(markets) for la in m.required_layers],
        dtype=np.int64,
    )
    cov_key = d.cov_market * n_l + d.layer_of[d.cov_option]
    supplied = np.isin(cov_key, required)
    fs_keys_all = np.unique(required)
    has_supplier = np.isin(fs_keys_all, cov_key[supplied])
    d.col_upper[d.u0 + fs_keys_all[~has_supplier] // n_l] = 0.0
    fs_keys = fs_keys_all[has_supplier]
    s_key, s_option = cov_key[supplied], d.cov_option[supplied]
    order = np.lexsort((s_option, s_key))
    s_key, s_option = s_key[order], s_option[order]
    rows.add_block(
        "full_stack",
        [(d.market_ids[k // n_l], layer_names[k % n_l]) for k in fs_keys.tolist()],
        np.concatenate([np.arange(len(fs_keys)), np.searchsorted(fs_keys, s_key)]),
        np.concatenate([d.u0 + fs_keys // n_l, d.x0 + s_option]),
        np.concatenate([np.ones(len(fs_keys)), -d.addressable[s_key // n_l]]),
        -np.inf,
        0.0,
    )


def _add_cofinance_option_rows(rows: _Rows, d: _Arrays) -> None:
    """(3) cofinance_option: no rows here (the Pyomo reference keeps them).

    For binary x, z_co ≤ share_c c_o x_o is implied by the z bound and row (5):
    x_o = 0 ⇒ Σ_c z_co ≤ 0 with z ≥ 0 ⇒ z_co = 0; x_o = 1 ⇒ z_co ≤ min(share_c,
    σ) c_o ≤ share_c c_o. This needs the z bound on every pair (set in
    `_arrays`, never loosened) and a row (5) for every option with an eligible
    pair (`_add_cofinance_share_rows`, also when σ = 1, never dropped). The
    empty block keeps the block names and order of the reference.
    """
    rows.add_block("cofinance_option", [], [], [], [], -np.inf, 0.0)


def _add_offer_cap_rows(rows: _Rows, d: _Arrays) -> None:
    """(4) offer_cap: Σ_o z_co - cap_c y_c ≤ 0 for offers with an eligible option."""
    offers = d.scenario.offers
    cap = np.fromiter((c.cap for c in offers), np.float64, count=len(offers))
    n_p = len(d.pair_offer)
    capped, cap_row = _group_rows(d.pair_offer, len(offers))
    rows.add_block(
        "offer_cap",
        [(d.offer_ids[j],) for j in capped.tolist()],
        np.concatenate([cap_row, np.arange(len(capped))]),
        np.concatenate([d.z0 + np.arange(n_p), d.y0 + capped]),
        np.concatenate([np.ones(n_p), -cap[capped]]),
        -np.inf,
        0.0,
    )


def _add_cofinance_share_rows(rows: _Rows, d: _Arrays) -> None:
    """(5) cofinance_share: Σ_c z_co - σ c_o x_o ≤ 0 for every option with an eligible offer.

    Built whatever σ is: these rows also stand in for the omitted rows (3), so
    none may be dropped as redundant (a cost-0 option keeps Σ_c z_co ≤ 0, its
    z bound 0).
    """
    sigma = d.settings.max_cofinance_share
    shared, share_row = _group_rows(d.pair_option, len(d.option_ids))
    order = np.argsort(d.pair_option, kind="stable")  # offers in id order within a row
    rows.add_block(
        "cofinance_share",
        [(d.option_ids[i],) for i in shared.tolist()],
        np.concatenate([share_row[order], np.arange(len(shared))]),
        np.concatenate([d.z0 + order, d.x0 + shared]),
        np.concatenate([np.ones(len(order)), -sigma * d.cost[shared]]),
        -np.inf,
        0.0,
    )


def _add_matching_spend_rows(rows: _Rows, d: _Arrays) -> None:
    """(6) matching_spend: Σ_{o elig. c} c_o x_o - mes_c y_c ≥ 0 for offers with mes_c > 0.

    The whole cost of an eligible option counts, whether or not c pays part of it.
    """
    offers = d.scenario.offers
    mes = np.fromiter((c.min_eligible_spend for c in offers), np.float64, count=len(offers))
    matched = np.flatnonzero(mes > 0)
    match_row = np.full(len(offers), -1, dtype=np.int64)
    match_row[matched] = np.arange(len(matched))
    in_match = match_row[d.pair_offer] >= 0
    options = d.pair_option[in_match]
    rows.add_block(
        "matching_spend",
        [(d.offer_ids[j],) for j in matched.tolist()],
        np.concatenate([match_row[d.pair_offer[in_match]], np.arange(len(matched))]),
        np.concatenate([d.x0 + options, d.y0 + matched]),
        np.concatenate([d.cost[options], -mes[matched]]),
        0.0,
        np.inf,
    )


def _add_budget_rows(rows: _Rows, d: _Arrays) -> None:
    """(7) budget: Σ c_o x_o - Σ z_co + Σ fee_c y_c ≤ B; fees count here only."""
    spend_cols = np.flatnonzero(d.net_spend[: d.u0])
    rows.add_block(
        "budget",
        [("net_spend",)],
        np.zeros(len(spend_cols), dtype=np.int64),
        spend_cols,
        d.net_spend[spend_cols],
        -np.inf,
        d.settings.budget,
    )


def _add_resources_rows(rows: _Rows, d: _Arrays) -> None:
    """(8) resources: Σ_o amount_ok x_o ≤ capacity_k, only the rows that can bind.

    A resource whose total usage fits its capacity can never bind, and its row
    would only cost the solver time (formulation choice 12).
    """
    resources, use = d.scenario.resources, d.scenario.usage
    res_names = [r.resource for r in resources]
    use_res = _codes([u.resource for u in use], res_names)
    use_opt = np.fromiter((d.option_pos[u.option_id] for u in use), np.int64, count=len(use))
    use_amount = np.fromiter((u.amount for u in use), np.float64, count=len(use))
    capacity = np.array([r.capacity for r in resources], dtype=np.float64)
    total = np.zeros(len(res_names))
    for k in range(len(res_names)):  # same summation order as the Pyomo builder
        total[k] = sum(use_amount[use_res == k].tolist())
    binding = np.flatnonzero(total > capacity)
    res_row = np.full(len(res_names), -1, dtype=np.int64)
    res_row[binding] = np.arange(len(binding))
    in_res = res_row[use_res] >= 0 if len(use) else np.zeros(0, dtype=bool)
    rows.add_block(
        "resources",
        [(res_names[k],) for k in binding.tolist()],
        res_row[use_res[in_res]],
        d.x0 + use_opt[in_res],
        use_amount[in_res],
        -np.inf,
        capacity[binding],
    )


def _set_trust_floor_bounds(rows: _Rows, d: _Arrays) -> None:
    """(9) trust_floor: x_o ≤ 0 below max(min_partner_trust, the layer's min_trust).

    A bound, no row; the reasons come from `screen_options`, so reports and
    model name the same cause.
    """
    limits = d.layer_limits
    layer_floor = np.array([limits[name].min_trust for name in d.layer_names], np.float64)
    floor = np.maximum(d.settings.min_partner_trust, layer_floor[d.layer_of])
    below = np.flatnonzero(d.trust < floor)
    if len(below):
        reasons = {s.option_id: s.reason for s in screen_options(d.scenario)}
        for i in below.tolist():
            d.screened[d.option_ids[i]] = reasons.get(d.option_ids[i], "below trust floor")
        d.col_upper[d.x0 + below] = 0.0


def _add_average_trust_rows(rows: _Rows, d: _Arrays) -> None:
    """(10) average_trust: Σ_o (τ_p(o) - t̄) c_o x_o ≥ 0, when some coefficient is negative.

    A cost-0 option's coefficient is 0, so it carries no weight (SPEC §3).
    """
    floor = d.settings.min_average_trust
    with np.errstate(over="ignore"):  # (τ − t̄)·1e308 is ±inf: `conditioning` handles it
        coefs = (d.trust - floor) * d.cost if floor is not None else np.zeros(0)
    if (coefs < 0).any():
        n_o = len(d.option_ids)
        rows.add_block(
            "average_trust", [("portfolio",)], np.zeros(n_o), np.arange(n_o), coefs, 0.0, np.inf
        )
    else:
        rows.add_block("average_trust", [], [], [], [], 0.0, np.inf)


def _add_foreign_share_rows(rows: _Rows, d: _Arrays) -> None:
    """(11) foreign_share: Σ_{o∈F} c_o x_o - f Σ_o c_o x_o ≤ 0, when f < 1.

    Only options of positive cost are in scope (in 11b and 12 too), so cost-0
    options carry no weight.
    """
    limit = d.settings.max_foreign_share
    paying = d.cost > 0
    foreign_paying = d.foreign & paying
    groups: list[tuple[str, BoolArray, BoolArray, float]] = []
    if limit < 1 and foreign_paying.any():
        groups.append(("portfolio", foreign_paying, paying, limit))
    _share_rows(rows, "foreign_share", groups, d.cost)


def _add_layer_foreign_share_rows(rows: _Rows, d: _Arrays) -> None:
    """(11b) layer_foreign_share: (11) over layer l's options with f_l, for f_l < 1."""
    paying = d.cost > 0
    groups: list[tuple[str, BoolArray, BoolArray, float]] = []
    for li, (name, layer) in enumerate(d.layer_limits.items()):
        if layer.max_foreign_share >= 1:
            continue
        scope = paying & (d.layer_of == li)
        members = scope & d.foreign
        if members.any():
            groups.append((name, members, scope, layer.max_foreign_share))
    _share_rows(rows, "layer_foreign_share", groups, d.cost)


def _add_country_share_rows(rows: _Rows, d: _Arrays) -> None:
    """(12) country_share: Σ_{o∈O_k} c_o x_o - s Σ_o c_o x_o ≤ 0 per foreign country k, s < 1."""
    limit = d.settings.max_country_share
    paying = d.cost > 0
    foreign_paying = d.foreign & paying
    groups: list[tuple[str, BoolArray, BoolArray, float]] = []
    if limit < 1:
        names = sorted(set(d.countries))
        country = _codes(d.countries, names)[d.of_partner]
        for code in np.unique(country[foreign_paying]).tolist():
            members = foreign_paying & (country == code)
            groups.append((names[code], members, paying, limit))
    _share_rows(rows, "country_share", groups, d.cost)


def _rule_rows(rows: _Rows, d: _Arrays, kind: RuleKind) -> None:
    """One row per distinct rule of `kind`, in the scenario's (sorted) rule order."""
    found: dict[tuple[str, str], tuple[int, int]] = {}
    for rule in d.scenario.rules:
        a, b = d.option_pos[rule.option_id], d.option_pos[rule.other_option_id]
        if rule.rule == kind and (a != b or kind == "excludes"):
            found[(rule.option_id, rule.other_option_id)] = (a, b)
    rr: list[int] = []
    cc: list[int] = []
    vv: list[float] = []
    upper: list[float] = []
    for r, (a, b) in enumerate(found.values()):
        if a == b:
            rr.append(r)
            cc.append(a)
            vv.append(1.0)
            upper.append(0.0)
        else:
            rr += [r, r]
            cc += [a, b]
            vv += [1.0, -1.0 if kind == "requires" else 1.0]
            upper.append(0.0 if kind == "requires" else 1.0)
    rows.add_block(kind, list(found), rr, cc, vv, -np.inf, upper)


def _add_requires_rows(rows: _Rows, d: _Arrays) -> None:
    """(13a) requires: x_A - x_B ≤ 0 (A requires A says nothing: no row)."""
    _rule_rows(rows, d, "requires")


def _add_excludes_rows(rows: _Rows, d: _Arrays) -> None:
    """(13b) excludes: x_A + x_B ≤ 1 (A excludes A: x_A ≤ 0)."""
    _rule_rows(rows, d, "excludes")


def _set_decision_bounds(rows: _Rows, d: _Arrays) -> None:
    """(13c) decisions: must → lower bound 1, never → upper bound 0.

    Bounds, so a `must` option screened by (9) keeps bounds [1, 0] and is
    infeasible rather than silently resolved.
    """
    offer_pos = {c: j for j, c in enumerate(d.offer_ids)}
    for ids, first, decisions in (
        (d.option_pos, d.x0, d.option_decisions),
        (offer_pos, d.y0, d.offer_decisions),
    ):
        for key, decision in sorted(decisions.items()):
            col = first + ids[key]
            if decision == "must":
                d.col_lower[col] = 1.0
            else:
                d.col_upper[col] = 0.0


#: The build, one step per constraint block of SPEC §3 / formulation.md, in row
#: order; (9) and (13c) set bounds only. The deadline is checked after each step.
_STEPS: tuple[Callable[[_Rows, _Arrays], None], ...] = (
    _add_reach_rows,  # (1)
    _add_full_stack_rows,  # (2)
    _add_cofinance_option_rows,  # (3)
    _add_offer_cap_rows,  # (4)
    _add_cofinance_share_rows,  # (5)
    _add_matching_spend_rows,  # (6)
    _add_budget_rows,  # (7)
    _add_resources_rows,  # (8)
    _set_trust_floor_bounds,  # (9)
    _add_average_trust_rows,  # (10)
    _add_foreign_share_rows,  # (11)
    _add_layer_foreign_share_rows,  # (11b)
    _add_country_share_rows,  # (12)
    _add_requires_rows,  # (13a)
    _add_excludes_rows,  # (13b)
    _set_decision_bounds,  # (13c)
)


def build_matrix_model(
    scenario: Scenario,
    *,
    settings: Settings | None = None,
    option_decisions: Mapping[str, Decision] | None = None,
    offer_decisions: Mapping[str, Decision] | None = None,
    deadline: float | None = None,
) -> MatrixModel:
    """Build SPEC §3 for `scenario` as arrays; the same overrides as `build_model`.

    `settings` replaces `scenario.settings`; `option_decisions` /
    `offer_decisions` replace the named options' / offers' decisions;
    `deadline` (a `time.monotonic()` instant) is checked between steps, past it
    `BuildTimeout` is raised. Every step is vectorised, so no single step
    runs long enough to need checks inside it.
    """
    settings = settings or scenario.settings
    scenario = canonical_order(replace(scenario, settings=settings))
    check_deadline(deadline)
    opt_dec: dict[str, Decision] = {o.option_id: o.decision for o in scenario.options if o.decision}
    opt_dec.update(option_decisions or {})
    off_dec: dict[str, Decision] = {c.offer_id: c.decision for c in scenario.offers if c.decision}
    off_dec.update(offer_decisions or {})
    d = _arrays(scenario, settings, opt_dec, off_dec, deadline)
    rows = _Rows()
    for step in _STEPS:
        step(rows, d)
        check_deadline(deadline)

    start, index, value, row_lower, row_upper = rows.finish()
    integrality = np.zeros(d.n_cols, dtype=np.int32)
    integrality[: d.z0] = 1
    weighted_reach = np.zeros(d.n_cols)
    weighted_reach[d.u0 :] = [m.weight for m in scenario.markets]
    option_count = np.zeros(d.n_cols)
    option_count[d.x0 : d.y0] = 1.0
    return MatrixModel(
        scenario=scenario,
        settings=settings,
        option_ids=d.option_ids,
        offer_ids=d.offer_ids,
        market_ids=d.market_ids,
        pairs=d.pairs,
        pair_offer=d.pair_offer,
        pair_option=d.pair_option,
        col_lower=d.col_lower,
        col_upper=d.col_upper,
        integrality=integrality,
        objectives={
            "weighted_reach": weighted_reach,
            "net_spend": d.net_spend,
            "option_count": option_count,
        },
        row_start=start,
        row_index=index,
        row_value=value,
        row_lower=row_lower,
        row_upper=row_upper,
        blocks=tuple(rows.blocks),
        screened=d.screened,
        option_decisions=opt_dec,
        offer_decisions=off_dec,
    )
