"""The co-financing amounts reported for a plan (`planner.solving.cofinancing`).

The eligible pairs, asked once per class of options, are those asked pair by pair;
the LP's total is the maximum flow of the network it describes (offers' caps →
eligible pairs' bounds → options' shares), computed here by augmenting paths.
"""

from __future__ import annotations

import random
import time
from collections import deque
from dataclasses import replace

import pytest
from scenario_builders import random_scenario

from planner.model.matrix_model import build_matrix_model
from planner.scenario.data import Scenario, eligible_pairs
from planner.solving import cofinancing
from planner.solving.cofinancing import EligiblePairs, max_cofinancing

SEEDS = range(30)


def _pairs_by_class(sc: Scenario) -> list[tuple[str, str]]:
    """`EligiblePairs.of` (eligibility asked once per class of options) as id pairs."""
    pairs = EligiblePairs.of(sc)
    return [
        (sc.offers[j].offer_id, sc.options[i].option_id)
        for j, i in zip(pairs.offer_at.tolist(), pairs.option_at.tolist(), strict=True)
    ]


@pytest.mark.parametrize("seed", SEEDS)
def test_pairs_asked_by_class_are_those_asked_by_pair(seed: int) -> None:
    sc = random_scenario(seed, n_options=14, n_markets=5, n_offers=3)
    assert _pairs_by_class(sc) == eligible_pairs(sc)
    rng = random.Random(seed)
    kept = {o.option_id for o in sc.options if rng.random() < 0.5}
    part = replace(
        sc,
        options=tuple(o for o in sc.options if o.option_id in kept),
        coverage=tuple(r for r in sc.coverage if r.option_id in kept),
    )
    assert _pairs_by_class(part) == eligible_pairs(part)


def _max_flow(sc: Scenario, options: set[str], offers: set[str]) -> float:
    """The most co-financing by rules 3-5, as a maximum flow (Edmonds-Karp)."""
    cost = {o.option_id: o.cost for o in sc.options}
    offer_of = {c.offer_id: c for c in sc.offers}
    share = sc.settings.max_cofinance_share
    capacity: dict[tuple[str, str], float] = {}

    def edge(a: str, b: str, cap: float) -> None:
        capacity[(a, b)] = cap
        capacity.setdefault((b, a), 0.0)

    for c, o in eligible_pairs(sc):
        if c in offers and o in options and cost[o] > 0:
            edge("source", f"c:{c}", offer_of[c].cap)
            edge(f"c:{c}", f"o:{o}", min(offer_of[c].share, share) * cost[o])
            edge(f"o:{o}", "sink", share * cost[o])
    flow = 0.0
    while True:
        before: dict[str, str] = {"source": ""}
        queue = deque(["source"])
        while queue and "sink" not in before:
            a = queue.popleft()
            for (x, b), cap in capacity.items():
                if x == a and cap > 1e-12 and b not in before:
                    before[b] = a
                    queue.append(b)
        if "sink" not in before:
            return flow
        path, b = [], "sink"
        while b != "source":
            path.append((before[b], b))
            b = before[b]
        pushed = min(capacity[e] for e in path)
        for a, b in path:
            capacity[(a, b)] -= pushed
            capacity[(b, a)] += pushed
        flow += pushed


@pytest.mark.parametrize("seed", SEEDS)
def test_amounts_are_the_most_the_rules_allow(seed: int) -> None:
    sc = random_scenario(seed, n_options=12, n_markets=4, n_offers=3)
    rng = random.Random(1000 + seed)
    options = sorted(o.option_id for o in sc.options if rng.random() < 0.6)
    offers = sorted(c.offer_id for c in sc.offers if rng.random() < 0.8)
    amounts = max_cofinancing(sc, options, offers, deadline=time.monotonic() + 30)
    assert amounts.most
    total = sum(a for _, _, a in amounts.amounts)
    assert total == pytest.approx(_max_flow(sc, set(options), set(offers)), rel=1e-7, abs=1e-7)
    eligible = set(eligible_pairs(sc))
    assert all((c, o) in eligible and c in offers and o in options for c, o, _ in amounts.amounts)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_models_pairs_give_the_amounts_the_plans_own_pairs_give(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run hands over its model's pairs rather than derive the plan's: the same LP, the
    same amounts, and the same cut-back amounts when the LP does not end."""
    mm = build_matrix_model(random_scenario(seed, n_options=12, n_markets=4, n_offers=3))
    sc = mm.scenario
    rng = random.Random(2000 + seed)
    options = sorted(o.option_id for o in sc.options if rng.random() < 0.6)
    offers = sorted(c.offer_id for c in sc.offers if rng.random() < 0.8)
    found = [(c, o, rng.uniform(0.0, 9.0)) for c, o in eligible_pairs(sc) if rng.random() < 0.7]
    eligible = EligiblePairs.of_model(mm)
    deadline = time.monotonic() + 30
    own = max_cofinancing(sc, options, offers, deadline=deadline)
    assert max_cofinancing(sc, options, offers, deadline=deadline, eligible=eligible) == own
    monkeypatch.setattr(cofinancing, "_solve_lp", lambda *args: None)
    cut = max_cofinancing(sc, options, offers, deadline=deadline, found=found)
    assert not cut.most
    assert cut == max_cofinancing(
        sc, options, offers, deadline=deadline, found=found, eligible=eligible
    )
