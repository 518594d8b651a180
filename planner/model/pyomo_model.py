"""The Pyomo model of SPEC §3, built from a validated `Scenario`.

Every block of constraints has its own builder, `add_<name>_constraints`, whose
name is the Pyomo component's name, the name in SPEC §3 and the name of the
numbered equation in `models/formulation.md`; infeasibility reports and LP files
therefore speak the same language as the documentation.

Speed matters here (SOLVER-NOTES: idiomatic Params and rules cost 2.5-3x), so
variables are indexed by plain integer ranges and every row is a
`LinearExpression` assembled from Python lists; no Pyomo Params are used.

`build_model` is a plain function of picklable inputs (the scenario, optional
replacement `Settings`, optional forced decisions), so what-if studies
(marginal value of a partnership, sweeps over a budget, parallel processes) are
one cheap call each and share no global state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from planner.checks.screening import screen_options
from planner.model.common import (
    CHECK_EVERY,
    canonical_order,
    check_deadline,
)
from planner.scenario.data import (
    Decision,
    Scenario,
    Settings,
    canonical_name,
    eligible_pairs,
)


@dataclass
class PlanModel:
    """A built model and the maps from its integer indices back to scenario ids.

    `weighted_reach`, `net_spend` and `option_count` are the three lexicographic
    objectives (SPEC §3: reach, then lower net spend, then fewer options) as
    linear expressions, so the ranking code can optimise and fix them in turn.
    """

    model: pyo.ConcreteModel
    scenario: Scenario
    settings: Settings
    option_ids: tuple[str, ...]
    offer_ids: tuple[str, ...]
    market_ids: tuple[str, ...]
    pairs: tuple[tuple[str, str], ...]
    """(offer_id, option_id) of every z variable, in the order of `model.z`."""
    weighted_reach: LinearExpression
    net_spend: LinearExpression
    option_count: LinearExpression
    screened: dict[str, str] = field(default_factory=dict)
    """Options held at x = 0 by rule 9 or `never`, with the reason."""
    option_decisions: dict[str, Decision] = field(default_factory=dict)
    offer_decisions: dict[str, Decision] = field(default_factory=dict)

    def option_index(self) -> dict[str, int]:
        return {o: i for i, o in enumerate(self.option_ids)}


def _linear(coefs: Iterable[float], variables: Iterable[pyo.Var], constant: float = 0.0):
    """A `LinearExpression` without Pyomo's operator overloading (the fast path)."""
    coef_list: list[float] = []
    var_list: list = []
    for c, v in zip(coefs, variables, strict=True):
        if c != 0:
            coef_list.append(float(c))
            var_list.append(v)
    return LinearExpression(constant=constant, linear_coefs=coef_list, linear_vars=var_list)


def _add_block(model: pyo.ConcreteModel, name: str, rows: dict, doc: str) -> None:
    """Attach `rows` (index -> relational expression) as one indexed Constraint."""
    keys = list(rows)
    component = pyo.Constraint(keys, rule=lambda _m, *k: rows[k[0] if len(k) == 1 else k], doc=doc)
    model.add_component(name, component)


class _Data:
    """Scenario data arranged by integer index, computed once per build."""

    def __init__(
        self, scenario: Scenario, settings: Settings, deadline: float | None = None
    ) -> None:
        self.deadline = deadline
        self.options = scenario.options
        self.offers = scenario.offers
        self.markets = scenario.markets
        self.option_pos = {o.option_id: i for i, o in enumerate(self.options)}
        self.offer_pos = {c.offer_id: i for i, c in enumerate(self.offers)}
        self.market_pos = {m.market_id: i for i, m in enumerate(self.markets)}
        partners = scenario.partner_of()
        self.trust = [partners[o.partner_id].trust for o in self.options]
        self.foreign = [scenario.is_foreign(partners[o.partner_id]) for o in self.options]
        self.country = [canonical_name(partners[o.partner_id].country) for o in self.options]
        self.cost = [o.cost for o in self.options]
        self.pairs = eligible_pairs(scenario)
        self.layer_limits = scenario.layer_limits()

    def tick(self, i: int) -> None:
        """In per-row loops: check the deadline once every `CHECK_EVERY` rows."""
        if i % CHECK_EVERY == 0:
            check_deadline(self.deadline)


def build_model(
    scenario: Scenario,
    *,
    settings: Settings | None = None,
    option_decisions: Mapping[str, Decision] | None = None,
    offer_decisions: Mapping[str, Decision] | None = None,
    deadline: float | None = None,
) -> PlanModel:
    """Build SPEC §3 for `scenario`, with optional overrides.

    `settings` replaces `scenario.settings` (e.g. `dataclasses.replace(s, budget=120)`);
    `option_decisions` / `offer_decisions` replace the decision of the named
    options / offers (`must` or `never`; ids not named keep the workbook's).
    `deadline` (a `time.monotonic()` instant) is checked between constraint
    blocks and every `CHECK_EVERY` rows of the long loops; past it the build
    stops with `BuildTimeout`, so a run whose model cannot be built in time
    ends promptly instead of overrunning its limit. The
    objective is weighted reach (eq. 0); `PlanModel` carries the tie-break
    expressions for the ranking stages.
    """
    settings = settings or scenario.settings
    scenario = canonical_order(replace(scenario, settings=settings))
    check_deadline(deadline)
    data = _Data(scenario, settings, deadline)
    check_deadline(deadline)
    opt_dec: dict[str, Decision] = {o.option_id: o.decision for o in scenario.options if o.decision}
    opt_dec.update(option_decisions or {})
    off_dec: dict[str, Decision] = {c.offer_id: c.decision for c in scenario.offers if c.decision}
    off_dec.update(offer_decisions or {})

    m = pyo.ConcreteModel(name=f"partnership plan {scenario.name}")
    n_o, n_c, n_m, n_p = len(data.options), len(data.offers), len(data.markets), len(data.pairs)
    m.x = pyo.Var(range(n_o), within=pyo.Binary, doc="pursue option")
    m.y = pyo.Var(range(n_c), within=pyo.Binary, doc="take co-financing offer")
    m.z = pyo.Var(range(n_p), within=pyo.NonNegativeReals, doc="amount offer pays of option")
    m.u = pyo.Var(
        range(n_m),
        within=pyo.NonNegativeReals,
        bounds=lambda _m, i: (0.0, data.markets[i].addressable),
        doc="reach achieved in market",
    )
    # A z variable can never exceed its option's cost times the smaller share;
    # the bound is implied by rules 3 and 5 and only helps the LP.
    for k, (offer_id, option_id) in enumerate(data.pairs):
        data.tick(k)
        cap = min(data.offers[data.offer_pos[offer_id]].share, settings.max_cofinance_share)
        m.z[k].setub(cap * data.cost[data.option_pos[option_id]])

    add_reach_constraints(m, scenario, data)
    check_deadline(deadline)
    add_full_stack_constraints(m, scenario, data)
    check_deadline(deadline)
    add_cofinance_option_constraints(m, scenario, data, settings)
    check_deadline(deadline)
    add_offer_cap_constraints(m, scenario, data)
    check_deadline(deadline)
    add_cofinance_share_constraints(m, scenario, data, settings)
    check_deadline(deadline)
    add_matching_spend_constraints(m, scenario, data)
    check_deadline(deadline)
    add_budget_constraints(m, scenario, data, settings)
    check_deadline(deadline)
    add_resources_constraints(m, scenario, data)
    check_deadline(deadline)
    screened = add_trust_floor_bounds(m, scenario, data, settings)
    add_average_trust_constraints(m, scenario, data, settings)
    check_deadline(deadline)
    add_foreign_share_constraints(m, scenario, data, settings)
    check_deadline(deadline)
    add_layer_foreign_share_constraints(m, scenario, data)
    check_deadline(deadline)
    add_country_share_constraints(m, scenario, data, settings)
    check_deadline(deadline)
    add_requires_constraints(m, scenario, data)
    check_deadline(deadline)
    add_excludes_constraints(m, scenario, data)
    check_deadline(deadline)
    add_decision_bounds(m, data, opt_dec, off_dec)

    weighted_reach = _linear([mk.weight for mk in data.markets], [m.u[i] for i in range(n_m)])
    net_spend = net_spend_expression(m, scenario, data)
    option_count = _linear([1.0] * n_o, [m.x[i] for i in range(n_o)])
    # Eq. (0) and the two tie-breaks; exactly one objective is active at a time.
    m.weighted_reach = pyo.Objective(expr=weighted_reach, sense=pyo.maximize)
    m.net_spend = pyo.Objective(expr=net_spend, sense=pyo.minimize)
    m.option_count = pyo.Objective(expr=option_count, sense=pyo.minimize)
    m.net_spend.deactivate()
    m.option_count.deactivate()
    m.tie_break = pyo.ConstraintList(doc="earlier objectives held at their optimum (eq. 15)")
    m.no_good = pyo.ConstraintList(doc="ranked-plan cuts (formulation eq. 14)")
    return PlanModel(
        model=m,
        scenario=scenario,
        settings=settings,
        option_ids=tuple(o.option_id for o in data.options),
        offer_ids=tuple(c.offer_id for c in data.offers),
        market_ids=tuple(mk.market_id for mk in data.markets),
        pairs=tuple(data.pairs),
        weighted_reach=weighted_reach,
        net_spend=net_spend,
        option_count=option_count,
        screened=screened,
        option_decisions=opt_dec,
        offer_decisions=off_dec,
    )


def net_spend_expression(m: pyo.ConcreteModel, scenario: Scenario, data: _Data):
    """Net spend Σ c_o x_o − Σ z_co + Σ fee_c y_c (formulation eq. 7, left-hand side)."""
    coefs = list(data.cost) + [-1.0] * len(data.pairs) + [c.fee for c in data.offers]
    variables = (
        [m.x[i] for i in range(len(data.options))]
        + [m.z[k] for k in range(len(data.pairs))]
        + [m.y[j] for j in range(len(data.offers))]
    )
    return _linear(coefs, variables)


def add_reach_constraints(m: pyo.ConcreteModel, scenario: Scenario, data: _Data) -> None:
    """Rule 1, formulation eq. (1) `reach`: u_m ≤ Σ_o reach_om x_o."""
    terms: dict[int, tuple[list[float], list]] = {i: ([], []) for i in range(len(data.markets))}
    for n, row in enumerate(scenario.coverage):
        data.tick(n)
        if row.reach > 0:
            coefs, variables = terms[data.market_pos[row.market_id]]
            coefs.append(row.reach)
            variables.append(m.x[data.option_pos[row.option_id]])
    rows = {}
    for i, (coefs, variables) in terms.items():
        rhs = _linear(coefs, variables)
        if not coefs:
            m.u[i].setub(0.0)  # nothing reaches this market: u is 0, no row needed
            continue
        rows[data.markets[i].market_id] = m.u[i] <= rhs
    _add_block(m, "reach", rows, "u_m <= sum_o reach_om x_o")


def add_full_stack_constraints(m: pyo.ConcreteModel, scenario: Scenario, data: _Data) -> None:
    """Rule 2, formulation eq. (2) `full_stack`: u_m ≤ addressable_m Σ_{o∈O(l,m)} x_o."""
    operating: dict[tuple[int, str], list[int]] = {}
    for n, row in enumerate(scenario.coverage):
        data.tick(n)
        option = data.options[data.option_pos[row.option_id]]
        operating.setdefault((data.market_pos[row.market_id], option.layer), []).append(
            data.option_pos[row.option_id]
        )
    rows = {}
    for i, market in enumerate(data.markets):
        data.tick(i)
        for layer in market.required_layers:
            suppliers = sorted(operating.get((i, layer), []))
            if not suppliers:
                m.u[i].setub(0.0)  # the layer can never be supplied here
                continue
            rhs = _linear([market.addressable] * len(suppliers), [m.x[o] for o in suppliers])
            rows[(market.market_id, layer)] = m.u[i] <= rhs
    _add_block(m, "full_stack", rows, "u_m <= addressable_m * sum x over layer l in m")


def add_cofinance_option_constraints(
    m: pyo.ConcreteModel, scenario: Scenario, data: _Data, settings: Settings
) -> None:
    """Rule 3, formulation eq. (3) `cofinance_option`: z_co ≤ share_c c_o x_o.

    Rows with share_c ≥ max_cofinance_share are implied by eq. (5) and omitted.
    """
    rows = {}
    for k, (offer_id, option_id) in enumerate(data.pairs):
        data.tick(k)
        share = data.offers[data.offer_pos[offer_id]].share
        if share >= settings.max_cofinance_share:
            continue
        i = data.option_pos[option_id]
        rows[(offer_id, option_id)] = m.z[k] <= _linear([share * data.cost[i]], [m.x[i]])
    _add_block(m, "cofinance_option", rows, "z_co <= share_c c_o x_o")


def add_offer_cap_constraints(m: pyo.ConcreteModel, scenario: Scenario, data: _Data) -> None:
    """Rule 4, formulation eq. (4) `offer_cap`: Σ_o z_co ≤ cap_c y_c."""
    by_offer: dict[int, list[int]] = {}
    for k, (offer_id, _option_id) in enumerate(data.pairs):
        by_offer.setdefault(data.offer_pos[offer_id], []).append(k)
    rows = {}
    for j, ks in sorted(by_offer.items()):
        offer = data.offers[j]
        lhs = _linear([1.0] * len(ks) + [-offer.cap], [m.z[k] for k in ks] + [m.y[j]])
        rows[offer.offer_id] = lhs <= 0.0
    _add_block(m, "offer_cap", rows, "sum_o z_co <= cap_c y_c")


def add_cofinance_share_constraints(
    m: pyo.ConcreteModel, scenario: Scenario, data: _Data, settings: Settings
) -> None:
    """Rule 5, formulation eq. (5) `cofinance_share`: Σ_c z_co ≤ max_cofinance_share c_o x_o."""
    by_option: dict[int, list[int]] = {}
    for k, (_offer_id, option_id) in enumerate(data.pairs):
        by_option.setdefault(data.option_pos[option_id], []).append(k)
    rows = {}
    for i, ks in sorted(by_option.items()):
        data.tick(i)
        coefs = [1.0] * len(ks) + [-settings.max_cofinance_share * data.cost[i]]
        lhs = _linear(coefs, [m.z[k] for k in ks] + [m.x[i]])
        rows[data.options[i].option_id] = lhs <= 0.0
    _add_block(m, "cofinance_share", rows, "sum_c z_co <= max_cofinance_share c_o x_o")


def add_matching_spend_constraints(m: pyo.ConcreteModel, scenario: Scenario, data: _Data) -> None:
    """Rule 6, formulation eq. (6) `matching_spend`: Σ_{o elig. c} c_o x_o ≥ mes_c y_c.

    An eligible option's whole cost counts, whether or not the offer pays part of it.
    """
    eligible_of: dict[int, list[int]] = {}
    for offer_id, option_id in data.pairs:
        eligible_of.setdefault(data.offer_pos[offer_id], []).append(data.option_pos[option_id])
    rows = {}
    for j, offer in enumerate(data.offers):
        if offer.min_eligible_spend <= 0:
            continue
        opts = eligible_of.get(j, [])
        lhs = _linear(
            [data.cost[i] for i in opts] + [-offer.min_eligible_spend],
            [m.x[i] for i in opts] + [m.y[j]],
        )
        rows[offer.offer_id] = lhs >= 0.0
    _add_block(m, "matching_spend", rows, "sum eligible c_o x_o >= min_eligible_spend_c y_c")


def add_budget_constraints(
    m: pyo.ConcreteModel, scenario: Scenario, data: _Data, settings: Settings
) -> None:
    """Rule 7, formulation eq. (7) `budget`: net spend ≤ budget (fees count here only)."""
    rows = {"net_spend": net_spend_expression(m, scenario, data) <= settings.budget}
    _add_block(m, "budget", rows, "net spend <= budget")


def add_resources_constraints(m: pyo.ConcreteModel, scenario: Scenario, data: _Data) -> None:
    """Rule 8, formulation eq. (8) `resources`: Σ_o amount_ok x_o ≤ capacity_k."""
    usage: dict[str, tuple[list[float], list]] = {r.resource: ([], []) for r in scenario.resources}
    for row in scenario.usage:
        coefs, variables = usage[row.resource]
        coefs.append(row.amount)
        variables.append(m.x[data.option_pos[row.option_id]])
    rows = {}
    for r in scenario.resources:
        coefs, variables = usage[r.resource]
        if sum(coefs) <= r.capacity:
            continue  # never binding
        rows[r.resource] = _linear(coefs, variables) <= r.capacity
    _add_block(m, "resources", rows, "sum_o amount_ok x_o <= capacity_k")


def add_trust_floor_bounds(
    m: pyo.ConcreteModel, scenario: Scenario, data: _Data, settings: Settings
) -> dict[str, str]:
    """Rule 9, formulation eq. (9) `trust_floor`: x_o = 0 below the trust floor or `never`.

    Applied as upper bounds 0 on x (the model has no rows for it); screening
    itself lives in `planner.checks.screening` so reports and model agree.
    """
    partners = scenario.partner_of()
    reasons = {s.option_id: s.reason for s in screen_options(scenario)}
    screened: dict[str, str] = {}
    for i, option in enumerate(data.options):
        floor = max(settings.min_partner_trust, data.layer_limits[option.layer].min_trust)
        if partners[option.partner_id].trust < floor:
            screened[option.option_id] = reasons.get(option.option_id, "below trust floor")
            m.x[i].setub(0.0)
    return screened


def _share_row(m: pyo.ConcreteModel, members: list[int], everyone: list[int], cap: float, data):
    """Σ_{members} c x ≤ cap Σ_{everyone} c x, written as one linear row ≤ 0."""
    coefs: dict[int, float] = {}
    for i in everyone:
        coefs[i] = coefs.get(i, 0.0) - cap * data.cost[i]
    for i in members:
        coefs[i] = coefs.get(i, 0.0) + data.cost[i]
    keys = sorted(coefs)
    return _linear([coefs[i] for i in keys], [m.x[i] for i in keys]) <= 0.0


def add_average_trust_constraints(
    m: pyo.ConcreteModel, scenario: Scenario, data: _Data, settings: Settings
) -> None:
    """Rule 10, formulation eq. (10) `average_trust`: Σ_o (τ_p(o) − t̄) c_o x_o ≥ 0.

    Cost-0 options have coefficient 0, so they carry no weight (SPEC §3).
    """
    rows = {}
    if settings.min_average_trust is not None:
        floor = settings.min_average_trust
        n = len(data.options)
        coefs = [(data.trust[i] - floor) * data.cost[i] for i in range(n)]
        if any(c < 0 for c in coefs):
            rows["portfolio"] = _linear(coefs, [m.x[i] for i in range(n)]) >= 0.0
    _add_block(m, "average_trust", rows, "spend-weighted average trust >= min_average_trust")


def add_foreign_share_constraints(
    m: pyo.ConcreteModel, scenario: Scenario, data: _Data, settings: Settings
) -> None:
    """Rule 11, formulation eq. (11) `foreign_share`: Σ_foreign c x ≤ f Σ c x."""
    rows = {}
    everyone = [i for i in range(len(data.options)) if data.cost[i] > 0]
    members = [i for i in everyone if data.foreign[i]]
    if settings.max_foreign_share < 1 and members:
        rows["portfolio"] = _share_row(m, members, everyone, settings.max_foreign_share, data)
    _add_block(m, "foreign_share", rows, "foreign gross spend <= max_foreign_share * gross")


def add_layer_foreign_share_constraints(
    m: pyo.ConcreteModel, scenario: Scenario, data: _Data
) -> None:
    """Rule 11 per layer, formulation eq. (11b) `layer_foreign_share`."""
    rows = {}
    for name, layer in data.layer_limits.items():
        if layer.max_foreign_share >= 1:
            continue
        everyone = [i for i, o in enumerate(data.options) if o.layer == name and data.cost[i] > 0]
        members = [i for i in everyone if data.foreign[i]]
        if members:
            rows[name] = _share_row(m, members, everyone, layer.max_foreign_share, data)
    _add_block(m, "layer_foreign_share", rows, "per-layer foreign share cap")


def add_country_share_constraints(
    m: pyo.ConcreteModel, scenario: Scenario, data: _Data, settings: Settings
) -> None:
    """Rule 12, formulation eq. (12) `country_share`: Σ_{o of k} c x ≤ s Σ c x per foreign k."""
    rows = {}
    if settings.max_country_share < 1:
        everyone = [i for i in range(len(data.options)) if data.cost[i] > 0]
        by_country: dict[str, list[int]] = {}
        for i in everyone:
            if data.foreign[i]:
                by_country.setdefault(data.country[i], []).append(i)
        for country, members in sorted(by_country.items()):
            rows[country] = _share_row(m, members, everyone, settings.max_country_share, data)
    _add_block(m, "country_share", rows, "single foreign country share cap")


def add_requires_constraints(m: pyo.ConcreteModel, scenario: Scenario, data: _Data) -> None:
    """Rule 13, formulation eq. (13a) `requires`: x_A ≤ x_B."""
    rows = {}
    for rule in scenario.rules:
        if rule.rule != "requires":
            continue
        a, b = data.option_pos[rule.option_id], data.option_pos[rule.other_option_id]
        if a != b:
            rows[(rule.option_id, rule.other_option_id)] = _linear([1, -1], [m.x[a], m.x[b]]) <= 0
    _add_block(m, "requires", rows, "x_A <= x_B")


def add_excludes_constraints(m: pyo.ConcreteModel, scenario: Scenario, data: _Data) -> None:
    """Rule 13, formulation eq. (13b) `excludes`: x_A + x_B ≤ 1 (A excludes A: x_A = 0)."""
    rows = {}
    for rule in scenario.rules:
        if rule.rule != "excludes":
            continue
        a, b = data.option_pos[rule.option_id], data.option_pos[rule.other_option_id]
        expr = _linear([1, 1], [m.x[a], m.x[b]]) if a != b else _linear([1], [m.x[a]])
        rows[(rule.option_id, rule.other_option_id)] = expr <= 1 if a != b else expr <= 0
    _add_block(m, "excludes", rows, "x_A + x_B <= 1")


def add_decision_bounds(
    m: pyo.ConcreteModel,
    data: _Data,
    option_decisions: Mapping[str, Decision],
    offer_decisions: Mapping[str, Decision],
) -> None:
    """Rule 13, formulation eq. (13c) `decisions`: must → lower bound 1, never → upper bound 0.

    Bounds rather than fixed values: a `must` option that rule 9 screens out
    keeps bounds [1, 0], which the solver reports as infeasible instead of
    one silently overriding the other.
    """
    for option_id, decision in sorted(option_decisions.items()):
        var = m.x[data.option_pos[option_id]]
        if decision == "must":
            var.setlb(1.0)
        else:
            var.setub(0.0)
    for offer_id, decision in sorted(offer_decisions.items()):
        var = m.y[data.offer_pos[offer_id]]
        if decision == "must":
            var.setlb(1.0)
        else:
            var.setub(0.0)
