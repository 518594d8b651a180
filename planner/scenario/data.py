"""The validated scenario: plain, frozen data that the model is built from.

A `Scenario` is what the workbook *means* once every check has passed: ids are
text, defaults are filled in, `*` lists are expanded or kept as "all" (`None`),
and every collection is sorted by its key in code-point order, so two workbooks
that differ only in the order of their rows give equal scenarios (and so equal
plans). Nothing here knows about Excel or about the solver, which is what lets
a scenario be pickled to worker processes or altered with `dataclasses.replace`
for a re-solve.

Names follow SPEC §2. Layer and kind names are compared case-insensitively, so
they are stored in their canonical form (`canonical_name`); region and country
names are kept as written, for reports, and compared through `canonical_name`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Literal, NamedTuple

Decision = Literal["must", "never"]
RuleKind = Literal["requires", "excludes"]


@functools.lru_cache(maxsize=65536)
def canonical_name(text: str) -> str:
    """The form in which two category names (layer, kind, region, country) compare equal.

    Cached: reports of a 50,000-option plan ask for the same few names 400,000 times."""
    return " ".join(text.split()).casefold()


@dataclass(frozen=True, slots=True)
class Settings:
    """SPEC §2 Settings after Scenarios and command-line overrides."""

    budget: float
    home_country: str
    currency: str = "USD m"
    reach_unit: str = "people (m)"
    min_partner_trust: float = 0.0
    min_average_trust: float | None = None
    max_foreign_share: float = 1.0
    max_country_share: float = 1.0
    max_cofinance_share: float = 0.8
    plans: int = 5
    min_plan_difference: int = 1
    time_limit_s: float = 60.0
    mip_gap: float = 0.0
    explain_time_s: float = 60.0


@dataclass(frozen=True, slots=True)
class Market:
    market_id: str
    name: str
    region: str
    weight: float
    addressable: float
    required_layers: tuple[str, ...] = ()
    """Canonical layer names, sorted; `*` has already been expanded."""


@dataclass(frozen=True, slots=True)
class Partner:
    partner_id: str
    name: str
    country: str
    trust: float


@dataclass(frozen=True, slots=True)
class Option:
    """A candidate partnership."""

    option_id: str
    partner_id: str
    name: str
    layer: str
    kind: str | None
    cost: float
    decision: Decision | None = None


class Coverage(NamedTuple):
    """One Coverage row. A named tuple, not a dataclass: scenarios hold hundreds of
    thousands of these, and a frozen dataclass is twice as slow to build."""

    option_id: str
    market_id: str
    reach: float = 0.0


@dataclass(frozen=True, slots=True)
class Layer:
    layer: str
    min_trust: float = 0.0
    max_foreign_share: float = 1.0


@dataclass(frozen=True, slots=True)
class Offer:
    """A co-financing offer. `None` in regions/kinds/layers means `*` (all)."""

    offer_id: str
    financier: str
    share: float
    cap: float
    fee: float = 0.0
    min_eligible_spend: float = 0.0
    regions: tuple[str, ...] | None = None
    kinds: tuple[str, ...] | None = None
    layers: tuple[str, ...] | None = None
    decision: Decision | None = None


@dataclass(frozen=True, slots=True)
class Resource:
    resource: str
    capacity: float


class Usage(NamedTuple):
    """One Usage row (a named tuple for the same reason as Coverage)."""

    option_id: str
    resource: str
    amount: float


@dataclass(frozen=True, slots=True)
class Rule:
    rule: RuleKind
    option_id: str
    other_option_id: str


@dataclass(frozen=True, slots=True)
class Source:
    """The workbook a scenario was read from: for a run's audit trail, never for the model."""

    workbook: str
    sha256: str


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything the model needs, and nothing about where it came from."""

    name: str
    settings: Settings
    markets: tuple[Market, ...]
    partners: tuple[Partner, ...]
    options: tuple[Option, ...]
    coverage: tuple[Coverage, ...]
    layers: tuple[Layer, ...] = ()
    """Empty when the workbook has no Layers sheet: every layer then has no limits."""
    offers: tuple[Offer, ...] = ()
    resources: tuple[Resource, ...] = ()
    usage: tuple[Usage, ...] = ()
    rules: tuple[Rule, ...] = ()
    warnings: tuple[str, ...] = field(default=(), compare=False)
    """Things the user should know that do not stop a solve (e.g. an unreachable market)."""
    source: Source | None = field(default=None, compare=False)
    """Where it was read from (`planner.load`); None for a scenario built in code."""

    def with_settings(self, **changes: object) -> Scenario:
        """A copy with settings changed, each value checked like its Settings cell (SPEC §9).

        `None` resets a setting to its default. Raises `InputError` naming every
        bad argument; the workbook is not read again.
        """
        from planner.scenario.changes import changed_settings

        return replace(self, settings=changed_settings(self.settings, changes))

    def with_decisions(
        self,
        must: Iterable[object] = (),
        never: Iterable[object] = (),
        free: Iterable[object] = (),
    ) -> Scenario:
        """A copy with options or offers forced in (`must`), out (`never`) or freed (SPEC §9).

        Raises `InputError` for an unknown id; a contradiction with rules or trust
        floors is left for the solve, which reports it as infeasible (SPEC §3).
        """
        from planner.scenario.changes import changed_decisions

        return changed_decisions(self, must, never, free)

    def partner_of(self) -> dict[str, Partner]:
        """Partners by id: a convenience for code that walks options."""
        return {p.partner_id: p for p in self.partners}

    def layer_limits(self) -> dict[str, Layer]:
        """Limits of every layer used, defaults filled in for layers not on a Layers sheet."""
        listed = {layer.layer: layer for layer in self.layers}
        used = {o.layer for o in self.options}
        for m in self.markets:
            used.update(m.required_layers)
        return {name: listed.get(name, Layer(name)) for name in sorted(used | listed.keys())}

    def is_foreign(self, partner: Partner) -> bool:
        return canonical_name(partner.country) != canonical_name(self.settings.home_country)


def eligible(offer: Offer, option: Option, regions_of_option: set[str]) -> bool:
    """SPEC §2: is `option` eligible for `offer`?

    The rule's one definition for the model and the pre-checks:
    `eligible_pairs` asks it per pair, the matrix model
    (`eligible_pair_indices`) once per class of options with the same kind,
    layer and regions, so it must see an option through those alone.
    `planner.checks.verify` keeps its own copy on purpose, so that a mistake
    here is not shared by the check. `regions_of_option` holds the canonical
    regions of the markets in the option's Coverage rows; callers compute it
    once per option.
    """
    if offer.kinds is not None and (option.kind is None or option.kind not in offer.kinds):
        return False
    if offer.layers is not None and option.layer not in offer.layers:
        return False
    return offer.regions is None or not regions_of_option.isdisjoint(offer.regions)


def option_regions(scenario: Scenario) -> dict[str, set[str]]:
    """Canonical regions each option operates in, through its Coverage rows."""
    region_of = {m.market_id: canonical_name(m.region) for m in scenario.markets}
    out: dict[str, set[str]] = {o.option_id: set() for o in scenario.options}
    for row in scenario.coverage:
        out[row.option_id].add(region_of[row.market_id])
    return out


def eligible_pairs(scenario: Scenario) -> list[tuple[str, str]]:
    """All (offer_id, option_id) pairs with option eligible for offer, in id order."""
    regions = option_regions(scenario)
    return [
        (c.offer_id, o.option_id)
        for c in scenario.offers
        for o in scenario.options
        if eligible(c, o, regions[o.option_id])
    ]
