"""A scenario's per-option facts as arrays, so a plan's check is a handful of array sums.

A run checks and evaluates every plan it keeps, and at 50,000 options a plan has
10,000 options and 16,000 co-financing pairs: walked id by id, its check took
0.2-0.3 s (0.7 s beside the solver's threads), three times the plan's own
solve at later ranks. As arrays by option position (the scenario's order), a
plan is a boolean mask and each SPEC §3 figure is a masked sum.

Like `scenario_index`, this is derived from the scenario's data and SPEC's words
alone, sharing nothing with the model. Sums run in the scenario's order, one term
after the other (`ordered_sum`, `np.bincount`), never pairwise: the same plan gives
the same bits in every process, as the dict-and-loop sums before them did.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
import numpy.typing as npt

from planner.scenario.data import Scenario

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def ordered_sum(values: FloatArray) -> float:
    """Σ values, added one after the other in their order (as Python's `sum` of 3.11).

    Why not `values.sum()`: numpy sums pairwise, in blocks whose bounds depend on
    the array's alignment in memory, so one plan could give different bits in two
    processes."""
    if not values.size:
        return 0.0
    with np.errstate(over="ignore", invalid="ignore"):  # inf is a figure the checks refuse
        return float(np.add.accumulate(values)[-1])


def codes(names: Sequence[str]) -> tuple[IntArray, list[str]]:
    """Each name's position among the distinct names (sorted), and those names."""
    distinct = sorted(set(names))
    code_of = {name: i for i, name in enumerate(distinct)}
    return np.fromiter(map(code_of.__getitem__, names), np.int64, len(names)), distinct


class ScenarioArrays:
    """Option, Coverage and Usage facts by position, built once per scenario.

    `canon` is SPEC §2's name form (case- and space-insensitive), given by the
    index that owns this, so both compare names the same way.
    """

    def __init__(self, scenario: Scenario, canon: Callable[[str], str], home: str) -> None:
        options = scenario.options
        n = len(options)
        self.n_options = n
        self.position = {o.option_id: i for i, o in enumerate(options)}
        partner_of = {p.partner_id: p for p in scenario.partners}
        partners = [partner_of[o.partner_id] for o in options]
        self.cost = np.fromiter((o.cost for o in options), np.float64, n)
        self.trust = np.fromiter((p.trust for p in partners), np.float64, n)
        self.foreign = np.fromiter((canon(p.country) != home for p in partners), np.bool_, n)
        self.layer_code, self.layer_names = codes([canon(o.layer) for o in options])
        self.layer_position = {name: i for i, name in enumerate(self.layer_names)}
        self.country_code, self.country_names = codes([canon(p.country) for p in partners])
        layer_min = {canon(la.layer): la.min_trust for la in scenario.layers}
        self.layer_min_trust = np.array(
            [layer_min.get(name, 0.0) for name in self.layer_names], np.float64
        )[self.layer_code]
        self.must = np.fromiter((o.decision == "must" for o in options), np.bool_, n)
        self.never = np.fromiter((o.decision == "never" for o in options), np.bool_, n)

        market_position = {m.market_id: i for i, m in enumerate(scenario.markets)}
        self.n_markets = len(scenario.markets)
        cov = scenario.coverage
        self.cov_option = self._positions(r.option_id for r in cov)
        self.cov_market = np.fromiter(
            (market_position[r.market_id] for r in cov), np.int64, len(cov)
        )
        self.cov_reach = np.fromiter((r.reach for r in cov), np.float64, len(cov))
        # Each market's required layers, sorted, with their layer positions (-1: a layer
        # no option belongs to); markets requiring none are left out.
        self.required = [
            (i, [(la, self.layer_position.get(canon(la), -1)) for la in sorted(m.required_layers)])
            for i, m in enumerate(scenario.markets)
            if m.required_layers
        ]

        usage = scenario.usage
        self.resource_names = sorted(
            {r.resource for r in scenario.resources} | {u.resource for u in usage}
        )
        resource_code = {name: i for i, name in enumerate(self.resource_names)}
        self.use_option = self._positions(u.option_id for u in usage)
        self.use_resource = np.fromiter(
            (resource_code[u.resource] for u in usage), np.int64, len(usage)
        )
        self.use_amount = np.fromiter((u.amount for u in usage), np.float64, len(usage))

    def _positions(self, option_ids: Iterable[str]) -> IntArray:
        return np.array([self.position[o] for o in option_ids], np.int64)

    def chosen(self, option_ids: Iterable[str]) -> BoolArray:
        """The plan's options as a mask over positions (a KeyError for an id not in it)."""
        mask = np.zeros(self.n_options, np.bool_)
        mask[self._positions(option_ids)] = True
        return mask

    def trust_spend(self, chosen: BoolArray) -> float:
        """Σ trust·cost of the chosen options (rule 10's weighted trust), in their order."""
        with np.errstate(over="ignore", invalid="ignore"):
            return ordered_sum(self.trust[chosen] * self.cost[chosen])

    def reach_by_market(self, chosen: BoolArray) -> FloatArray:
        """Σ reach of the chosen options' Coverage rows, per market, in row order."""
        rows = chosen[self.cov_option]
        return np.bincount(  # type: ignore[return-value]  # float64 when weighted
            self.cov_market[rows], weights=self.cov_reach[rows], minlength=self.n_markets
        )

    def missing_layers(self, chosen: BoolArray) -> dict[int, tuple[str, ...]]:
        """By market position, the required layers (sorted, as the workbook names them) that
        no chosen option's Coverage row there supplies; markets missing none are left out."""
        if not self.required:
            return {}
        rows = chosen[self.cov_option]
        supplied = np.zeros((self.n_markets, max(1, len(self.layer_names))), np.bool_)
        supplied[self.cov_market[rows], self.layer_code[self.cov_option[rows]]] = True
        have = supplied.tolist()
        missing = {}
        for i, layers in self.required:
            lacking = tuple(name for name, j in layers if j < 0 or not have[i][j])
            if lacking:
                missing[i] = lacking
        return missing

    def used_by_resource(self, chosen: BoolArray) -> FloatArray:
        """Σ amount of the chosen options' Usage rows, per resource name, in row order."""
        rows = chosen[self.use_option]
        return np.bincount(  # type: ignore[return-value]  # float64 when weighted
            self.use_resource[rows],
            weights=self.use_amount[rows],
            minlength=len(self.resource_names),
        )
