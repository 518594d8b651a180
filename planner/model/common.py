"""What both model builders share: deadline checks while building, the canonical order of
a scenario's rows, and reading a plan's decisions back from solver values.

Kept apart from `planner.model.pyomo_model` so that the direct path (`planner.model.matrix_model`)
never imports Pyomo (0.55 s of every run's start-up).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from operator import attrgetter, itemgetter
from typing import Protocol

import numpy as np

from planner.scenario.data import Scenario


class BuildTimeout(RuntimeError):
    """The run's deadline passed while the model was being built or handed to HiGHS."""


#: Per-row loops check the deadline once every this many rows.
CHECK_EVERY = 2048


def check_deadline(deadline: float | None, what: str = "building the model") -> None:
    """Raise `BuildTimeout` when the `time.monotonic()` instant `deadline` has passed."""
    if deadline is not None and time.monotonic() >= deadline:
        raise BuildTimeout(f"the time limit was reached while {what}")


def canonical_order(scenario: Scenario) -> Scenario:
    """The scenario with every collection sorted by its key (code-point order).

    The reader already sorts, but the model must not depend on it: variable
    order steers HiGHS's choice among equally good plans, and SPEC promises the
    same plans for the same data whatever the order of its rows. C-level key
    functions (`attrgetter`, `itemgetter`) keep this cheap on 200k Coverage rows.
    """
    return replace(
        scenario,
        markets=tuple(sorted(scenario.markets, key=attrgetter("market_id"))),
        partners=tuple(sorted(scenario.partners, key=attrgetter("partner_id"))),
        options=tuple(sorted(scenario.options, key=attrgetter("option_id"))),
        coverage=tuple(sorted(scenario.coverage, key=itemgetter(0, 1))),  # option, market
        layers=tuple(sorted(scenario.layers, key=attrgetter("layer"))),
        offers=tuple(sorted(scenario.offers, key=attrgetter("offer_id"))),
        resources=tuple(sorted(scenario.resources, key=attrgetter("resource"))),
        usage=tuple(sorted(scenario.usage, key=itemgetter(0, 1))),  # option, resource
        rules=tuple(sorted(scenario.rules, key=lambda r: (r.rule, r.option_id, r.other_option_id))),
    )


def _above(values: Sequence[float] | np.ndarray, level: float) -> list[int]:
    """Positions of the values above `level` (a model's 600,000 pair values read at once)."""
    return np.flatnonzero(np.asarray(values, dtype=np.float64) > level).tolist()


class ModelIds(Protocol):
    """The id maps both model builders share (`PlanModel`, `matrix_model.MatrixModel`)."""

    option_ids: tuple[str, ...]
    offer_ids: tuple[str, ...]
    pairs: tuple[tuple[str, str], ...]


def extract_decisions(
    pm: ModelIds,
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    z: Sequence[float] | np.ndarray,
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[tuple[str, str, float], ...]]:
    """Chosen options, taken offers and co-financing amounts from solver values.

    Binaries are rounded at 0.5; amounts below 1e-9 or on options or offers
    not chosen are dropped, so the reported plan is exactly what `verify` checks.
    """
    options = tuple(sorted(pm.option_ids[i] for i in _above(x, 0.5)))
    offers = tuple(sorted(pm.offer_ids[j] for j in _above(y, 0.5)))
    chosen, taken = set(options), set(offers)
    amounts = tuple(
        (offer_id, option_id, max(0.0, float(z[k])))
        for k in _above(z, 1e-9)
        for offer_id, option_id in (pm.pairs[k],)
        if option_id in chosen and offer_id in taken
    )
    return options, offers, tuple(sorted(amounts))
