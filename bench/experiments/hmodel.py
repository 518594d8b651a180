"""Experimental builder: SPEC §3 straight into highspy, with formulation switches.

`build(scenario, **variant)` returns an `HModel` holding a ready `highspy.Highs`
with the reach objective set, plus the column index ranges and the three
objective vectors, so experiments can swap objectives, add stage rows,
no-good cuts and MIP starts without any Pyomo in the loop.

Default switches reproduce the product's model (`planner/model/pyomo_model.py`):
z bounded by min(share_c, σ)·c_o, `cofinance_option` rows only when share_c < σ,
resource rows only when they can bind, average trust only with a negative
coefficient, share rules over cost > 0 options.

Variant switches (all keep the integer feasible set identical):
- cofin="product" | "all" | "none": rows (3) as the product writes them, for
  every pair, or none at all (with the z upper bound they are implied for
  integer x by row (5): x_o = 0 forces Σ_c z_co = 0).
- reach_cap=True: coefficient tightening reach_om -> min(reach_om, addressable_m)
  (valid because u_m ≤ addressable_m).
- stack_in_reach=False: for markets with required layers also add
  u_m ≤ Σ_{o∈O(l,m)} min(addr, Σ_m'... ) — see `full_stack` comments.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import highspy
import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE.parent))

from planner.scenario.data import Scenario, canonical_name, eligible_pairs  # noqa: E402

INF = highspy.kHighsInf

PRODUCT_OPTIONS = {
    "presolve": "off",
    "mip_rel_gap": 0.0,
    "mip_abs_gap": 1e-7,
    "random_seed": 0,
    "threads": 1,
    "mip_feasibility_tolerance": 1e-7,
    "primal_feasibility_tolerance": 1e-8,
    "output_flag": False,
}


def load(size_or_path: str, plans: int = 1):
    from common import load_pickled_scenario

    p = Path(size_or_path)
    if not p.exists():
        p = next((ROOT / "bench" / "cache").glob(f"{size_or_path}-*.scenario.pickle"))
    return load_pickled_scenario(p, plans=plans, time_limit=60.0)


def synthetic(size: str, seed: int):
    from synthetic import SIZES, random_scenario

    n_o, n_m = SIZES[size]
    return random_scenario(n_o, n_m, seed=seed)


@dataclass
class HModel:
    h: highspy.Highs
    n_x: int
    n_y: int
    n_z: int
    n_u: int
    reach: np.ndarray  # objective vectors over all columns
    net: np.ndarray
    count: np.ndarray
    option_ids: list[str]
    cost: np.ndarray
    pairs: list = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return self.n_x + self.n_y + self.n_z + self.n_u

    def xs(self) -> slice:
        return slice(0, self.n_x)

    def set_objective(self, vec: np.ndarray, maximise: bool) -> None:
        idx = np.arange(self.n, dtype=np.int32)
        self.h.changeColsCost(self.n, idx, vec.astype(float))
        self.h.changeObjectiveSense(
            highspy.ObjSense.kMaximize if maximise else highspy.ObjSense.kMinimize
        )

    def add_row(self, coefs: dict[int, float] | tuple, lo: float, hi: float) -> int:
        if isinstance(coefs, dict):
            idx = np.array(list(coefs.keys()), dtype=np.int32)
            val = np.array(list(coefs.values()), dtype=float)
        else:
            idx, val = coefs
            idx = np.asarray(idx, dtype=np.int32)
            val = np.asarray(val, dtype=float)
        self.h.addRow(lo, hi, len(idx), idx, val)
        return self.h.getNumRow() - 1

    def objective_row(self, vec: np.ndarray):
        nz = np.nonzero(vec)[0]
        return nz.astype(np.int32), vec[nz]


def build(
    scenario: Scenario,
    cofin: str = "product",
    reach_cap: bool = False,
    all_resources: bool = False,
) -> HModel:
    s = scenario
    st = s.settings
    partners = s.partner_of()
    limits = s.layer_limits()
    opts = sorted(s.options, key=lambda o: o.option_id)
    offers = sorted(s.offers, key=lambda c: c.offer_id)
    markets = sorted(s.markets, key=lambda m: m.market_id)
    opos = {o.option_id: i for i, o in enumerate(opts)}
    cpos = {c.offer_id: j for j, c in enumerate(offers)}
    mpos = {m.market_id: i for i, m in enumerate(markets)}
    pairs = eligible_pairs(s)
    n_x, n_y, n_z, n_u = len(opts), len(offers), len(pairs), len(markets)
    X0, Y0, Z0, U0 = 0, n_x, n_x + n_y, n_x + n_y + n_z
    n = U0 + n_u
    cost = np.array([o.cost for o in opts])
    trust = np.array([partners[o.partner_id].trust for o in opts])
    foreign = [s.is_foreign(partners[o.partner_id]) for o in opts]
    sigma = st.max_cofinance_share

    lb = np.zeros(n)
    ub = np.ones(n)
    for i, o in enumerate(opts):
        floor = max(st.min_partner_trust, limits[o.layer].min_trust)
        if trust[i] < floor or o.decision == "never":
            ub[X0 + i] = 0
        if o.decision == "must":
            lb[X0 + i] = 1
    for j, c in enumerate(offers):
        if c.decision == "must":
            lb[Y0 + j] = 1
        if c.decision == "never":
            ub[Y0 + j] = 0
    for k, (c, o) in enumerate(pairs):
        ub[Z0 + k] = min(offers[cpos[c]].share, sigma) * cost[opos[o]]
    for i, m in enumerate(markets):
        ub[U0 + i] = m.addressable

    rows_lo, rows_hi, starts, index, value = [], [], [], [], []

    def row(coefs: dict[int, float], lo: float, hi: float) -> None:
        starts.append(len(index))
        for j, v in coefs.items():
            if v != 0:
                index.append(j)
                value.append(v)
        rows_lo.append(lo)
        rows_hi.append(hi)

    stats: dict[str, int] = {}

    def count(name: str) -> None:
        stats[name] = stats.get(name, 0) + 1

    # (1) reach, (2) full stack
    n_m = n_u
    reach_terms: dict[int, dict[int, float]] = {i: {} for i in range(n_m)}
    operating: dict[tuple[int, str], list[int]] = {}
    for r in s.coverage:
        mi, oi = mpos[r.market_id], opos[r.option_id]
        if r.reach > 0:
            v = min(r.reach, markets[mi].addressable) if reach_cap else r.reach
            reach_terms[mi][X0 + oi] = v
        operating.setdefault((mi, opts[oi].layer), []).append(oi)
    reach_mat = {}
    for mi in range(n_m):
        terms = reach_terms[mi]
        reach_mat[mi] = terms
        if not terms:
            ub[U0 + mi] = 0
        else:
            row({**{j: -v for j, v in terms.items()}, U0 + mi: 1.0}, -INF, 0.0)
            count("reach")
        for layer in markets[mi].required_layers:
            sup = sorted(set(operating.get((mi, layer), [])))
            if not sup:
                ub[U0 + mi] = 0
                continue
            row({**{X0 + o: -markets[mi].addressable for o in sup}, U0 + mi: 1.0}, -INF, 0.0)
            count("full_stack")
    # (3)
    by_offer: dict[int, list[int]] = {}
    by_option: dict[int, list[int]] = {}
    for k, (c, o) in enumerate(pairs):
        j, i = cpos[c], opos[o]
        share = offers[j].share
        if cofin == "all" or (cofin == "product" and share < sigma):
            row({Z0 + k: 1.0, X0 + i: -share * cost[i]}, -INF, 0.0)
            count("cofinance_option")
        by_offer.setdefault(j, []).append(Z0 + k)
        by_option.setdefault(i, []).append(Z0 + k)
    for j, zs in sorted(by_offer.items()):  # (4)
        row({**dict.fromkeys(zs, 1.0), Y0 + j: -offers[j].cap}, -INF, 0.0)
        count("offer_cap")
    for i, zs in sorted(by_option.items()):  # (5)
        row({**dict.fromkeys(zs, 1.0), X0 + i: -sigma * cost[i]}, -INF, 0.0)
        count("cofinance_share")
    eligible_of: dict[int, list[int]] = {}
    for c, o in pairs:
        eligible_of.setdefault(cpos[c], []).append(opos[o])
    for j, c in enumerate(offers):  # (6)
        if c.min_eligible_spend > 0:
            row(
                {
                    **{X0 + i: cost[i] for i in eligible_of.get(j, [])},
                    Y0 + j: -c.min_eligible_spend,
                },
                0.0,
                INF,
            )
            count("matching_spend")
    net = np.zeros(n)
    net[X0 : X0 + n_x] = cost
    net[Z0 : Z0 + n_z] = -1.0
    net[Y0 : Y0 + n_y] = [c.fee for c in offers]
    row({j: net[j] for j in np.nonzero(net)[0]}, -INF, st.budget)  # (7)
    count("budget")
    usage: dict[str, dict[int, float]] = {r.resource: {} for r in s.resources}
    for u in s.usage:
        usage[u.resource][X0 + opos[u.option_id]] = u.amount
    res_rows = []
    for r in s.resources:  # (8)
        if all_resources or sum(usage[r.resource].values()) > r.capacity:
            row(usage[r.resource], -INF, r.capacity)
            res_rows.append((usage[r.resource], r.capacity))
            count("resources")
    if st.min_average_trust is not None:  # (10)
        coefs = (trust - st.min_average_trust) * cost
        if (coefs < 0).any():
            row({X0 + i: coefs[i] for i in range(n_x)}, 0.0, INF)
            count("average_trust")
    everyone = [i for i in range(n_x) if cost[i] > 0]

    def share_row(members, pool, cap):
        coefs = {X0 + i: -cap * cost[i] for i in pool}
        for i in members:
            coefs[X0 + i] = coefs.get(X0 + i, 0.0) + cost[i]
        row(coefs, -INF, 0.0)

    if st.max_foreign_share < 1:
        members = [i for i in everyone if foreign[i]]
        if members:
            share_row(members, everyone, st.max_foreign_share)
            count("foreign_share")
    for name, lim in limits.items():
        if lim.max_foreign_share < 1:
            pool = [i for i in everyone if opts[i].layer == name]
            members = [i for i in pool if foreign[i]]
            if members:
                share_row(members, pool, lim.max_foreign_share)
                count("layer_foreign_share")
    if st.max_country_share < 1:
        by_country: dict[str, list[int]] = {}
        for i in everyone:
            if foreign[i]:
                by_country.setdefault(
                    canonical_name(partners[opts[i].partner_id].country), []
                ).append(i)
        for _k, members in sorted(by_country.items()):
            share_row(members, everyone, st.max_country_share)
            count("country_share")
    for r in s.rules:  # (13)
        a, b = opos[r.option_id], opos[r.other_option_id]
        if r.rule == "requires" and a != b:
            row({X0 + a: 1.0, X0 + b: -1.0}, -INF, 0.0)
            count("requires")
        elif r.rule == "excludes":
            if a == b:
                ub[X0 + a] = 0
            else:
                row({X0 + a: 1.0, X0 + b: 1.0}, -INF, 1.0)
                count("excludes")

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.addVars(n, lb, ub)
    ints = np.arange(0, n_x + n_y, dtype=np.int32)
    h.changeColsIntegrality(
        len(ints), ints, np.full(len(ints), highspy.HighsVarType.kInteger, dtype=np.uint8)
    )
    h.addRows(
        len(rows_lo),
        np.array(rows_lo, float),
        np.array(rows_hi, float),
        len(index),
        np.array(starts, np.int32),
        np.array(index, np.int32),
        np.array(value, float),
    )
    reach = np.zeros(n)
    reach[U0 : U0 + n_u] = [m.weight for m in markets]
    cnt = np.zeros(n)
    cnt[X0 : X0 + n_x] = 1.0
    hm = HModel(
        h, n_x, n_y, n_z, n_u, reach, net, cnt, [o.option_id for o in opts], cost, pairs, stats
    )
    hm.data = dict(
        reach_mat=reach_mat,
        markets=markets,
        offers=offers,
        opts=opts,
        lb=lb,
        ub=ub,
        operating=operating,
        res_rows=res_rows,
        trust=trust,
        foreign=foreign,
        cpos=cpos,
        opos=opos,
        by_offer=by_offer,
        by_option=by_option,
    )
    hm.set_objective(reach, True)
    return hm


def set_options(h: highspy.Highs, **extra) -> None:
    for k, v in {**PRODUCT_OPTIONS, **extra}.items():
        h.setOptionValue(k, v)


def arm_deadline(h: highspy.Highs, seconds: float):
    """Interrupt callback: stop `seconds` after the next call of the returned `start()`."""
    state = {"deadline": math.inf}

    def cb(event) -> None:
        if time.monotonic() >= state["deadline"]:
            event.interrupt()

    for ev in (h.cbSimplexInterrupt, h.cbIpmInterrupt, h.cbMipInterrupt):
        ev.subscribe(cb)

    def start(limit: float = seconds) -> None:
        state["deadline"] = time.monotonic() + limit
        h.setOptionValue("time_limit", limit)

    return start


def run(h: highspy.Highs) -> dict:
    t0 = time.perf_counter()
    h.run()
    sec = time.perf_counter() - t0
    info = h.getInfo()
    st = h.getModelStatus()
    has = info.primal_solution_status == 2
    return {
        "seconds": sec,
        "status": h.modelStatusToString(st),
        "optimal": st == highspy.HighsModelStatus.kOptimal,
        "obj": float(info.objective_function_value) if has else None,
        "bound": float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else None,
        "gap": float(info.mip_gap) if has else None,
        "nodes": int(info.mip_node_count),
    }


def x_values(hm: HModel) -> np.ndarray:
    return np.array(hm.h.getSolution().col_value[: hm.n_x])


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if xs else None
