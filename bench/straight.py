"""SPEC §3 written out the straightforward way, solver-neutral, for the baselines.

"Straightforward" means: every row of SPEC §3 as written — a `cofinance_option`
row for every eligible pair (even when implied by rule 5), every resource row
(even when it can never bind), the average-trust row whenever the setting is
on, no bounds tightening on z (only z ≥ 0) — and nothing the product's builder
does to make the model smaller or its LP tighter. Rule 9 (trust floor) and
`never` are upper bounds 0 on x and `must` a lower bound 1, as SPEC says
("x_o = 0"); an empty right-hand side in rules 1–2 becomes u_m ≤ 0.

Eligibility uses `planner.scenario.data.eligible_pairs` (the SPEC §2 definition) so
the baselines solve exactly the product's problem.

Columns: x (n_o, binary), y (n_c, binary), z (n_pairs, ≥ 0), u (n_m, [0, addressable]).
Rows: (name, {column: coefficient}, lower, upper) with ±inf for open sides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from planner.scenario.data import Scenario, canonical_name, eligible_pairs

INF = math.inf


@dataclass
class LinearModel:
    names: list[str] = field(default_factory=list)
    lb: list[float] = field(default_factory=list)
    ub: list[float] = field(default_factory=list)
    integer: list[bool] = field(default_factory=list)
    rows: list[tuple[str, dict[int, float], float, float]] = field(default_factory=list)
    reach: dict[int, float] = field(default_factory=dict)
    """Objective 0: maximise weighted reach."""
    net_spend: dict[int, float] = field(default_factory=dict)
    """Tie-break 1: minimise net spend."""
    count: dict[int, float] = field(default_factory=dict)
    """Tie-break 2: minimise number of options."""
    n_options: int = 0
    option_ids: list[str] = field(default_factory=list)

    def add_col(self, name: str, lb: float, ub: float, integer: bool) -> int:
        self.names.append(name)
        self.lb.append(lb)
        self.ub.append(ub)
        self.integer.append(integer)
        return len(self.names) - 1


def build(scenario: Scenario) -> LinearModel:
    s = scenario
    st = s.settings
    lm = LinearModel()
    partners = s.partner_of()
    limits = s.layer_limits()
    opt_pos: dict[str, int] = {}
    for o in s.options:
        p = partners[o.partner_id]
        floor = max(st.min_partner_trust, limits[o.layer].min_trust)
        lb, ub = 0.0, 1.0
        if o.decision == "must":
            lb = 1.0
        if o.decision == "never" or p.trust < floor:
            ub = 0.0
        opt_pos[o.option_id] = lm.add_col(f"x_{o.option_id}", lb, ub, True)
    lm.n_options = len(s.options)
    lm.option_ids = [o.option_id for o in s.options]
    off_pos: dict[str, int] = {}
    for c in s.offers:
        lb = 1.0 if c.decision == "must" else 0.0
        ub = 0.0 if c.decision == "never" else 1.0
        off_pos[c.offer_id] = lm.add_col(f"y_{c.offer_id}", lb, ub, True)
    pairs = eligible_pairs(s)
    z_pos = [lm.add_col(f"z_{c}_{o}", 0.0, INF, False) for c, o in pairs]
    mk_pos: dict[str, int] = {}
    for m in s.markets:
        mk_pos[m.market_id] = lm.add_col(f"u_{m.market_id}", 0.0, m.addressable, False)

    option = {o.option_id: o for o in s.options}
    offer = {c.offer_id: c for c in s.offers}
    cost = {o.option_id: o.cost for o in s.options}

    # (1) reach and (2) full stack
    reach_terms: dict[str, dict[int, float]] = {m.market_id: {} for m in s.markets}
    operating: dict[tuple[str, str], list[int]] = {}
    for row in s.coverage:
        if row.reach > 0:
            reach_terms[row.market_id][opt_pos[row.option_id]] = row.reach
        operating.setdefault((row.market_id, option[row.option_id].layer), []).append(
            opt_pos[row.option_id]
        )
    for m in s.markets:
        u = mk_pos[m.market_id]
        terms = reach_terms[m.market_id]
        if not terms:
            lm.ub[u] = 0.0
        else:
            row = {j: -v for j, v in terms.items()}
            row[u] = 1.0
            lm.rows.append((f"reach_{m.market_id}", row, -INF, 0.0))
        for layer in m.required_layers:
            sup = operating.get((m.market_id, layer), [])
            if not sup:
                lm.ub[u] = 0.0
                continue
            row = {j: -m.addressable for j in sup}
            row[u] = 1.0
            lm.rows.append((f"stack_{m.market_id}_{layer}", row, -INF, 0.0))
    # (3) per pair, (4) cap, (5) share per option
    by_offer: dict[str, list[int]] = {}
    by_option: dict[str, list[int]] = {}
    for k, (c, o) in enumerate(pairs):
        zk = z_pos[k]
        lm.rows.append(
            (f"cofin_{c}_{o}", {zk: 1.0, opt_pos[o]: -offer[c].share * cost[o]}, -INF, 0.0)
        )
        by_offer.setdefault(c, []).append(zk)
        by_option.setdefault(o, []).append(zk)
    for c, zs in by_offer.items():
        row = dict.fromkeys(zs, 1.0)
        row[off_pos[c]] = -offer[c].cap
        lm.rows.append((f"cap_{c}", row, -INF, 0.0))
    for o, zs in by_option.items():
        row = dict.fromkeys(zs, 1.0)
        row[opt_pos[o]] = -st.max_cofinance_share * cost[o]
        lm.rows.append((f"share_{o}", row, -INF, 0.0))
    # (6) matching spend
    eligible_of: dict[str, list[str]] = {}
    for c, o in pairs:
        eligible_of.setdefault(c, []).append(o)
    for c in s.offers:
        if c.min_eligible_spend > 0:
            row = {opt_pos[o]: cost[o] for o in eligible_of.get(c.offer_id, [])}
            row[off_pos[c.offer_id]] = -c.min_eligible_spend
            lm.rows.append((f"match_{c.offer_id}", row, 0.0, INF))
    # (7) budget: net spend
    net = {opt_pos[o.option_id]: o.cost for o in s.options}
    for zk in z_pos:
        net[zk] = -1.0
    for c in s.offers:
        net[off_pos[c.offer_id]] = c.fee
    lm.rows.append(("budget", dict(net), -INF, st.budget))
    lm.net_spend = net
    # (8) resources: every row
    usage: dict[str, dict[int, float]] = {r.resource: {} for r in s.resources}
    for row in s.usage:
        usage[row.resource][opt_pos[row.option_id]] = row.amount
    for r in s.resources:
        lm.rows.append((f"res_{r.resource}", usage[r.resource], -INF, r.capacity))
    # (10) average trust
    trust = {o.option_id: partners[o.partner_id].trust for o in s.options}
    if st.min_average_trust is not None:
        row = {
            opt_pos[o.option_id]: (trust[o.option_id] - st.min_average_trust) * o.cost
            for o in s.options
        }
        lm.rows.append(("avg_trust", row, 0.0, INF))
    # (11) foreign share, (11b) per layer, (12) per country
    foreign = {o.option_id: s.is_foreign(partners[o.partner_id]) for o in s.options}

    def share_row(members: list[str], everyone: list[str], cap: float) -> dict[int, float]:
        row = {opt_pos[o]: -cap * cost[o] for o in everyone}
        for o in members:
            row[opt_pos[o]] = row.get(opt_pos[o], 0.0) + cost[o]
        return row

    everyone = [o.option_id for o in s.options]
    if st.max_foreign_share < 1:
        members = [o for o in everyone if foreign[o]]
        lm.rows.append(("foreign", share_row(members, everyone, st.max_foreign_share), -INF, 0.0))
    for name, lim in limits.items():
        if lim.max_foreign_share < 1:
            in_layer = [o for o in everyone if option[o].layer == name]
            members = [o for o in in_layer if foreign[o]]
            lm.rows.append(
                (f"foreign_{name}", share_row(members, in_layer, lim.max_foreign_share), -INF, 0.0)
            )
    if st.max_country_share < 1:
        by_country: dict[str, list[str]] = {}
        for o in everyone:
            if foreign[o]:
                country = canonical_name(partners[option[o].partner_id].country)
                by_country.setdefault(country, []).append(o)
        for country, members in sorted(by_country.items()):
            lm.rows.append(
                (
                    f"country_{country}",
                    share_row(members, everyone, st.max_country_share),
                    -INF,
                    0.0,
                )
            )
    # (13) rules
    for rule in s.rules:
        a, b = opt_pos[rule.option_id], opt_pos[rule.other_option_id]
        if rule.rule == "requires":
            if a != b:
                lm.rows.append((f"req_{a}_{b}", {a: 1.0, b: -1.0}, -INF, 0.0))
        elif a == b:
            lm.ub[a] = 0.0
        else:
            lm.rows.append((f"exc_{a}_{b}", {a: 1.0, b: 1.0}, -INF, 1.0))
    lm.reach = {mk_pos[m.market_id]: m.weight for m in s.markets if m.weight != 0}
    lm.count = {opt_pos[o.option_id]: 1.0 for o in s.options}
    return lm


def tolerance(value: float) -> float:
    return 1e-6 * max(1.0, abs(value))
