"""Ranked plans against brute force: every subset of options and offers, enumerated.

The enumeration here is a third, deliberately plain implementation of SPEC §3
(besides planner.model.pyomo_model and planner.checks.verify). Co-financing amounts are
continuous; for fixed options and offers the best amounts are a max-flow
(offer → eligible option, capped by cap_c, share_c·c_o and
max_cofinance_share·c_o), solved exactly below by augmenting paths.

Ties are allowed: at each rank the product's plan must be *as good as* the
best plan that leaves out enough of every plan the product returned before it.
"""

from __future__ import annotations

import itertools

import pytest
from scenario_builders import random_scenario, with_decisions_forced

from planner.plan import RunStatus
from planner.scenario.data import Scenario
from planner.solving.ranking import rank_plans

TOL = 1e-6


def _canon(text: str) -> str:
    return " ".join(text.split()).casefold()


def _max_flow(cap_offer: dict, cap_pair: dict, cap_option: dict) -> float:
    """Max flow source → offers → options → sink, by shortest augmenting paths."""
    nodes = ["s", *(("c", c) for c in cap_offer), *(("o", o) for o in cap_option), "t"]
    residual: dict = {n: {} for n in nodes}

    def edge(a, b, cap):
        residual[a][b] = residual[a].get(b, 0.0) + cap
        residual[b].setdefault(a, 0.0)

    for c, cap in cap_offer.items():
        edge("s", ("c", c), cap)
    for (c, o), cap in cap_pair.items():
        edge(("c", c), ("o", o), cap)
    for o, cap in cap_option.items():
        edge(("o", o), "t", cap)
    total = 0.0
    while True:
        parent = {"s": None}
        queue = ["s"]
        while queue and "t" not in parent:
            node = queue.pop(0)
            for nxt, cap in residual[node].items():
                if cap > 1e-12 and nxt not in parent:
                    parent[nxt] = node
                    queue.append(nxt)
        if "t" not in parent:
            return total
        path, node = [], "t"
        while parent[node] is not None:
            path.append((parent[node], node))
            node = parent[node]
        push = min(residual[a][b] for a, b in path)
        for a, b in path:
            residual[a][b] -= push
            residual[b][a] += push
        total += push


def _eligible(sc: Scenario, offer, option) -> bool:
    if offer.kinds is not None and (
        option.kind is None or _canon(option.kind) not in {_canon(k) for k in offer.kinds}
    ):
        return False
    if offer.layers is not None and option.layer not in offer.layers:
        return False
    if offer.regions is None:
        return True
    region = {m.market_id: _canon(m.region) for m in sc.markets}
    return any(
        region[c.market_id] in {_canon(r) for r in offer.regions}
        for c in sc.coverage
        if c.option_id == option.option_id
    )


def enumerate_plans(sc: Scenario) -> list[tuple[frozenset[str], float, float]]:
    """Every feasible option set with its weighted reach and least net spend."""
    s = sc.settings
    options = list(sc.options)
    partner = {p.partner_id: p for p in sc.partners}
    layer = {la.layer: la for la in sc.layers}
    foreign = {
        o.option_id: _canon(partner[o.partner_id].country) != _canon(s.home_country)
        for o in options
    }
    trust = {o.option_id: partner[o.partner_id].trust for o in options}
    cost = {o.option_id: o.cost for o in options}
    option_of = {o.option_id: o for o in options}
    elig = {(c.offer_id, o.option_id) for c in sc.offers for o in options if _eligible(sc, c, o)}
    out = []
    for bits in itertools.product((0, 1), repeat=len(options)):
        chosen = {o.option_id for o, b in zip(options, bits, strict=True) if b}
        ok = True
        for o in options:
            floor = max(s.min_partner_trust, layer[o.layer].min_trust if o.layer in layer else 0)
            if o.option_id in chosen and (trust[o.option_id] < floor or o.decision == "never"):
                ok = False
            if o.option_id not in chosen and o.decision == "must":
                ok = False
        for r in sc.rules:
            if r.rule == "requires" and r.option_id in chosen and r.other_option_id not in chosen:
                ok = False
            if r.rule == "excludes" and r.option_id in chosen and r.other_option_id in chosen:
                ok = False
        for res in sc.resources:
            used = sum(
                u.amount for u in sc.usage if u.resource == res.resource and u.option_id in chosen
            )
            if used > res.capacity + TOL:
                ok = False
        gross = sum(cost[o] for o in chosen)
        floor = s.min_average_trust
        if floor is not None and sum((trust[o] - floor) * cost[o] for o in chosen) < -TOL:
            ok = False
        if sum(cost[o] for o in chosen if foreign[o]) > s.max_foreign_share * gross + TOL:
            ok = False
        for la in sc.layers:
            mine = [o for o in chosen if option_of[o].layer == la.layer]
            if (
                sum(cost[o] for o in mine if foreign[o])
                > la.max_foreign_share * sum(cost[o] for o in mine) + TOL
            ):
                ok = False
        countries = {_canon(partner[option_of[o].partner_id].country) for o in chosen if foreign[o]}
        for k in countries:
            spend = sum(
                cost[o]
                for o in chosen
                if foreign[o] and _canon(partner[option_of[o].partner_id].country) == k
            )
            if spend > s.max_country_share * gross + TOL:
                ok = False
        if not ok:
            continue
        best_net = None
        for ybits in itertools.product((0, 1), repeat=len(sc.offers)):
            taken = [c for c, b in zip(sc.offers, ybits, strict=True) if b]
            if any(c.decision == "must" for c, b in zip(sc.offers, ybits, strict=True) if not b):
                continue
            if any(c.decision == "never" for c in taken):
                continue
            if any(
                sum(cost[o] for o in chosen if (c.offer_id, o) in elig) < c.min_eligible_spend - TOL
                for c in taken
            ):
                continue
            flow = _max_flow(
                {c.offer_id: c.cap for c in taken},
                {
                    (c.offer_id, o): min(c.share, s.max_cofinance_share) * cost[o]
                    for c in taken
                    for o in chosen
                    if (c.offer_id, o) in elig
                },
                {o: s.max_cofinance_share * cost[o] for o in chosen},
            )
            net = gross - flow + sum(c.fee for c in taken)
            if net <= s.budget + TOL and (best_net is None or net < best_net):
                best_net = net
        if best_net is None:
            continue
        raw = {m.market_id: 0.0 for m in sc.markets}
        layers_in = {m.market_id: set() for m in sc.markets}
        for c in sc.coverage:
            if c.option_id in chosen:
                raw[c.market_id] += c.reach
                layers_in[c.market_id].add(option_of[c.option_id].layer)
        reach = sum(
            m.weight * min(m.addressable, raw[m.market_id])
            for m in sc.markets
            if set(m.required_layers) <= layers_in[m.market_id]
        )
        out.append((frozenset(chosen), reach, best_net))
    return out


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= TOL * max(1.0, abs(a), abs(b))


def assert_matches_bruteforce(sc: Scenario) -> None:
    result = rank_plans(sc)
    candidates = enumerate_plans(sc)
    d = sc.settings.min_plan_difference
    returned: list[frozenset[str]] = []
    for plan in result.plans:
        allowed = [c for c in candidates if all(len(prev - c[0]) >= d for prev in returned)]
        assert allowed, f"plan {plan.rank} returned but brute force has none left"
        best_reach = max(c[1] for c in allowed)
        assert best_reach > TOL
        tier = [c for c in allowed if c[1] >= best_reach - TOL * max(1, best_reach)]
        best_net = min(c[2] for c in tier)
        tier = [c for c in tier if c[2] <= best_net + TOL * max(1, abs(best_net))]
        best_count = min(len(c[0]) for c in tier)
        assert _close(plan.weighted_reach, best_reach), (plan.rank, plan, best_reach)
        assert _close(plan.net_spend, best_net), (plan.rank, plan.net_spend, best_net)
        assert len(plan.options) == best_count, (plan.rank, plan.options, best_count)
        assert plan.proven_optimal
        mine = frozenset(plan.options)
        assert any(c[0] == mine for c in allowed), "plan not among brute-force candidates"
        returned.append(mine)
    # No further plan with positive reach exists when fewer plans came back.
    if len(result.plans) < sc.settings.plans:
        allowed = [c for c in candidates if all(len(prev - c[0]) >= d for prev in returned)]
        assert all(c[1] <= TOL for c in allowed), (result.message, max(c[1] for c in allowed))
        if result.plans:
            assert "Only" in result.message
    if not result.plans:
        assert result.status == RunStatus.INFEASIBLE
    else:
        assert result.status == RunStatus.OPTIMAL


@pytest.mark.parametrize("seed", range(12))
def test_random_scenarios_d1(seed: int) -> None:
    sc = random_scenario(seed, n_options=6 + seed % 6, n_offers=2, plans=5)
    assert_matches_bruteforce(sc)


@pytest.mark.parametrize("seed", range(100, 110))
def test_random_scenarios_d2(seed: int) -> None:
    sc = random_scenario(seed, n_options=7 + seed % 5, n_offers=2, plans=4, min_plan_difference=2)
    assert_matches_bruteforce(sc)


@pytest.mark.parametrize("seed", range(200, 206))
def test_random_scenarios_with_decisions(seed: int) -> None:
    """Some options and offers forced in or out, as a user would."""
    sc = random_scenario(seed, n_options=9, n_offers=2, plans=4, min_plan_difference=1 + seed % 2)
    assert_matches_bruteforce(with_decisions_forced(sc))


def test_twelve_options() -> None:
    sc = random_scenario(7, n_options=12, n_offers=2, plans=6, min_plan_difference=2)
    assert_matches_bruteforce(sc)
