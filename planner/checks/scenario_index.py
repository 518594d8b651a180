"""A scenario's facts looked up once, for checking and evaluating many plans of it.

A run checks every plan it keeps, and a 50,000-option scenario re-indexed for
each plan (options by id, every Coverage row scanned, each option's regions,
each offer's eligibility) cost 0.6 s a plan, most of a later rank's time. Built
once, a plan's check is a few masked sums over the scenario's facts as arrays
(`arrays`, `planner.checks.scenario_arrays`). Like `verify`, this is
derived from the scenario's data and SPEC's words alone, sharing nothing with
the model, so the check stays independent of what it checks.

Sums over a plan's options follow the scenario's order (its Coverage and Usage
rows, its options), never a set's: the same plan gives the same bits in every
process.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from functools import cached_property

import numpy as np

from planner.checks.scenario_arrays import ScenarioArrays
from planner.scenario.data import Layer, Offer, Option, Partner, Scenario


@functools.lru_cache(maxsize=65536)
def canon(text: str) -> str:
    """SPEC §2's case- and space-insensitive form of a name (re-derived, not imported).

    Cached: a 50,000-option plan canonicalises the same few names 500,000 times."""
    return " ".join(text.split()).casefold()


def regions_by_option(scenario: Scenario) -> dict[str, set[str]]:
    """Each option's markets' regions (canonical), from its Coverage rows."""
    region_of = {m.market_id: canon(m.region) for m in scenario.markets}
    out: dict[str, set[str]] = {}
    for row in scenario.coverage:
        out.setdefault(row.option_id, set()).add(region_of[row.market_id])
    return out


def eligibility_test(
    offer: Offer, regions: Callable[[], dict[str, set[str]]]
) -> Callable[[Option], bool]:
    """SPEC §2 eligibility for one offer, re-derived from the text, as a test of an option.

    Kind in `kinds` (a blank kind only when `kinds` is `*`), layer in `layers`,
    and unless `regions` is `*`, some market of the option's Coverage rows lies
    in one of `regions`. `regions()` gives option id -> canonical regions of its
    markets, asked for only when the offer names regions.
    """
    kinds = None if offer.kinds is None else {canon(k) for k in offer.kinds}
    layers = None if offer.layers is None else {canon(x) for x in offer.layers}
    wanted = None if offer.regions is None else {canon(r) for r in offer.regions}
    where = regions() if wanted is not None else {}

    def test(option: Option) -> bool:
        if kinds is not None and (option.kind is None or canon(option.kind) not in kinds):
            return False
        if layers is not None and canon(option.layer) not in layers:
            return False
        return wanted is None or not wanted.isdisjoint(where.get(option.option_id, ()))

    return test


def is_eligible(
    scenario: Scenario,
    offer: Offer,
    option: Option,
    regions: dict[str, set[str]] | None = None,
) -> bool:
    """SPEC §2 eligibility of one pair (`eligibility_test`). `regions` (option id ->
    canonical regions of its markets) may be passed in by callers that check many pairs.
    """

    def where() -> dict[str, set[str]]:
        return regions_by_option(scenario) if regions is None else regions

    return eligibility_test(offer, where)(option)


#: The scenario's data an index is built from; of its settings only the home country.
INDEXED = (
    "markets",
    "partners",
    "options",
    "coverage",
    "layers",
    "offers",
    "resources",
    "usage",
    "rules",
)


class ScenarioIndex:
    """Lookups over one scenario, each built the first time a check needs it.

    Holds no solver state and changes nothing: one per scenario, kept for as long
    as plans of that scenario are checked (a ranking run keeps one for its ranks).
    """

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.option_of: dict[str, Option] = {o.option_id: o for o in scenario.options}
        self.offer_of: dict[str, Offer] = {c.offer_id: c for c in scenario.offers}
        self.partner_of: dict[str, Partner] = {p.partner_id: p for p in scenario.partners}
        self.layer_of: dict[str, Layer] = {canon(la.layer): la for la in scenario.layers}
        self.home = canon(scenario.settings.home_country)
        self._eligible: dict[str, frozenset[str]] = {}
        self._eligible_masks: dict[str, np.ndarray] = {}

    def serves(self, scenario: Scenario) -> bool:
        """Whether this index holds `scenario`'s data: equal rows (compared at once when
        they are the very same, as `dataclasses.replace` of a setting keeps them) and
        home country. So one index checks the plans of every budget of a budget chain,
        whose models each hold a copy of the scenario."""
        if scenario is self.scenario:
            return True
        if canon(scenario.settings.home_country) != self.home:
            return False
        mine = self.scenario
        return all(
            getattr(scenario, name) is getattr(mine, name)
            or getattr(scenario, name) == getattr(mine, name)
            for name in INDEXED
        )

    @property
    def position(self) -> dict[str, int]:
        """Each option's place in the scenario's options."""
        return self.arrays.position

    @cached_property
    def coverage_rows(self) -> dict[str, list[int]]:
        """Each option's Coverage rows, as positions in the scenario's rows."""
        return _rows_by_option(o for o, *_ in self.scenario.coverage)

    @cached_property
    def usage_rows(self) -> dict[str, list[int]]:
        """Each option's Usage rows, as positions in the scenario's rows."""
        return _rows_by_option(o for o, *_ in self.scenario.usage)

    @cached_property
    def regions(self) -> dict[str, set[str]]:
        """Each option's markets' regions (canonical)."""
        return regions_by_option(self.scenario)

    @cached_property
    def foreign_of(self) -> dict[str, bool]:
        """Whether each option's partner is foreign (its country is not the home country)."""
        country = {p.partner_id: canon(p.country) != self.home for p in self.scenario.partners}
        return {o.option_id: country[o.partner_id] for o in self.scenario.options}

    @cached_property
    def arrays(self) -> ScenarioArrays:
        """The options', Coverage rows' and Usage rows' facts as arrays by position."""
        return ScenarioArrays(self.scenario, canon, self.home)

    @cached_property
    def _eligibility_classes(self) -> tuple[list[Option], np.ndarray]:
        """Options as eligibility sees them (kind, layer, regions): one of each class, and
        each option's class. Why: asked option by option, 12 offers' eligibility at
        50,000 options took 0.4 s of a run; there are a few hundred classes."""
        regions = self.regions
        class_of: dict[tuple[str | None, str, frozenset[str]], int] = {}
        members: list[Option] = []
        classes = np.empty(len(self.scenario.options), np.int64)
        for i, o in enumerate(self.scenario.options):
            key = (o.kind, o.layer, frozenset(regions.get(o.option_id, ())))
            k = class_of.setdefault(key, len(members))
            if k == len(members):
                members.append(o)
            classes[i] = k
        return members, classes

    def eligible_mask(self, offer_id: str) -> np.ndarray:
        """The options eligible for an offer (SPEC §2) as a mask over their positions,
        derived once per offer."""
        known = self._eligible_masks.get(offer_id)
        if known is None:
            members, classes = self._eligibility_classes
            test = eligibility_test(self.offer_of[offer_id], lambda: self.regions)
            known = np.fromiter(map(test, members), np.bool_, len(members))[classes]
            self._eligible_masks[offer_id] = known
        return known

    def in_order(self, option_ids: Iterable[str]) -> list[str]:
        """`option_ids` in the scenario's order (a KeyError for an id not in it)."""
        return sorted(option_ids, key=self.position.__getitem__)

    def rows_of(self, rows: dict[str, list[int]], option_ids: Iterable[str]) -> list[int]:
        """The rows of `option_ids` in `rows` (coverage or usage), in the scenario's order."""
        return sorted(r for o in option_ids for r in rows.get(o, ()))

    def eligible(self, offer_id: str) -> frozenset[str]:
        """The options eligible for an offer (SPEC §2), derived once per offer."""
        known = self._eligible.get(offer_id)
        if known is None:
            options = self.scenario.options
            known = frozenset(
                options[i].option_id for i in np.flatnonzero(self.eligible_mask(offer_id))
            )
            self._eligible[offer_id] = known
        return known


def kept_index(index: ScenarioIndex | None, scenario: Scenario) -> ScenarioIndex:
    """`index` while it serves `scenario`, else a new one: for callers that keep an index
    across plans whose scenario may change (a narrowed model, another budget's copy)."""
    return index if index is not None and index.serves(scenario) else ScenarioIndex(scenario)


def index_for(scenario: Scenario, index: ScenarioIndex | None) -> ScenarioIndex:
    """`index` when given (it must serve `scenario`), else a new one for a one-off check."""
    if index is None:
        return ScenarioIndex(scenario)
    if not index.serves(scenario):
        raise ValueError("the ScenarioIndex given was built for another scenario")
    return index


def _rows_by_option(option_ids: Iterable[str]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for i, option_id in enumerate(option_ids):
        out.setdefault(option_id, []).append(i)
    return out
