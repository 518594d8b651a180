"""Why a scenario has no plan, and the smallest change that gives it one.

Three steps, cheapest first:

1. `decision_conflicts` reasons over decisions and rules alone: a `must`
   option screened out by rule 9, a `must` option that (through a chain of
   `requires`) needs a `never` one, two `must` options that exclude each other.
   These need no solver and name the options involved, each contradiction
   once, in the words `planner validate` uses (`planner.checks.precheck`).
2. When the pre-solve checks prove that nothing can reach a weighted market
   (every reaching option screened out, no weights, no reach, a required layer
   nobody can supply), the diagnosis says that cause in the same words and
   the trust floor whose lowering lets options reach markets, confirmed by
   re-solving (`_unreachable`).
3. Otherwise `diagnose_infeasibility` solves an *elastic* copy of the model: every limit a
   user can change (budget, min_average_trust, max_foreign_share,
   max_country_share, layer caps, resource capacities, min_eligible_spend of
   `must` offers) may stretch at a cost proportional to the relative change, and
   every `must` may be dropped at the cost of a 100 % change. The cheapest
   stretched plan shows which limits conflict and by how much each must move,
   in the user's words ("raise budget from 100 to 123.5"). A stretched plan
   that needs no stretch at all would contradict the solver's proof of
   infeasibility; that is reported as not confirmed rather than as a diagnosis.

Nothing here prints; results are plain data and text.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from planner.checks.precheck import TrustFloor, Unreachable, contradictions
from planner.model.common import extract_decisions
from planner.model.matrix_model import FloatArray, MatrixModel, RowBlock, build_matrix_model
from planner.plan import CoFinancing
from planner.scenario.data import Scenario, canonical_name
from planner.solving.result import REL_TOL

if TYPE_CHECKING:
    from planner.solving.solver import SolveScope

NOTHING_REACHED = "nothing affordable reaches any weighted market"

#: The first sentence of every diagnosis of a best plan of weighted reach 0 (SPEC §4).
NO_REACH_LEAD = f"No plan within the limits has positive weighted reach: {NOTHING_REACHED}."

#: Cost of dropping one `must`, in the same units as a relative change of a limit.
DROP_MUST_PENALTY = 1.0


@dataclass(frozen=True, slots=True)
class Change:
    """One change of a user-facing limit or decision."""

    limit: str
    """e.g. `budget`, `min_average_trust`, `resources[staff]`, `must O12`."""
    current: float | None
    suggested: float | None
    text: str


@dataclass(frozen=True, slots=True)
class Diagnosis:
    summary: str
    """The run's message: the cause or the change, in a sentence or two, capitalised."""
    text: str
    """The full explanation for the user (plans.json `diagnosis`, diagnosis.txt): the
    same story as `summary`, told whole."""
    conflicting: tuple[str, ...] = ()
    changes: tuple[Change, ...] = ()
    confirmed: bool = True
    """True when the elastic re-solve confirmed that no plan exists and re-solving the
    real model with `changes` applied found a plan; False otherwise."""
    notes: tuple[str, ...] = field(default=())


def decision_conflicts(scenario: Scenario) -> list[str]:
    """Contradictions among `must`/`never`, rule 9 and rules, found without a solver.

    Propagates forced-in options along `requires` (A in => B in) and forced-out
    options backwards along `requires` (B out => A out) and across `excludes`
    (A in => B out), and names every option both forced in and out, each
    contradiction once. These are the pre-solve check's own words
    (`planner.checks.precheck.contradictions`), so `planner validate` and
    `planner solve` name the same cause.
    """
    return contradictions(scenario)


def _weights(scenario: Scenario) -> dict[str, float]:
    """Cost per unit of slack, so that each slack costs its relative change of the limit.

    Spend-share and trust rows are in money; a slack s in them moves the limit
    by about s / gross spend, and gross spend is about the budget.
    """
    s = scenario.settings
    money = max(1.0, s.budget)
    return {
        "budget": 1.0 / money,
        "average_trust": 1.0 / (money * max(1.0, s.min_average_trust or 1.0)),
        "foreign_share": 1.0 / (money * max(0.05, s.max_foreign_share)),
        "country_share": 1.0 / (money * max(0.05, s.max_country_share)),
        "layer_foreign_share": 1.0 / (money * 0.5),
    }


def _round_out(value: float, up: bool, digits: int = 2) -> float:
    """Round away from the infeasible side so the suggested change really suffices."""
    scale = 10**digits
    return (math.ceil if up else math.floor)(value * scale - (1e-9 if up else -1e-9)) / scale


#: Pre-solve checks (`planner.checks.precheck`) cost about this per option (measured: 0.33 s
#: on 10k options on a busy machine); they run only when twice that is left.
PRECHECK_SECONDS_PER_OPTION = 4e-5

#: Share of the remaining time the elastic solve may use; the rest is for confirming.
ELASTIC_SHARE = 0.7

#: Relative gap of the elastic solve, measured against the penalty (a sum of relative
#: changes): a suggestion may differ from the exact optimum by 0.1 % of the total
#: relative change, and proving the last 1e-4 took minutes on 10k options (measured).
ELASTIC_GAP = 1e-3


def diagnose_infeasibility(
    scenario: Scenario,
    *,
    deadline: float | None = None,
    nothing_reached: bool = False,
    scope: SolveScope | None = None,
) -> Diagnosis:
    """Which limits conflict, and the smallest change (in the user's words) that helps.

    `deadline` is a `time.monotonic()` instant (by default 60 s from now) by
    which the diagnosis returns, whatever it has found: builds and solves all
    stop there. `nothing_reached` says the model was feasible but its best plan
    has weighted reach 0 (SPEC §4: also infeasible); the text then leads with that.
    `scope` is the call the solves belong to (`planner.solving.solver.SolveScope`).

    The elastic re-solve (on the matrix model, `elastic_model`) both confirms
    that no plan exists (it must need some stretch) and proposes the change.
    The change is then applied (`apply_changes`) and the real model re-solved;
    when that finds no plan, the suggested numbers are rounded further out (up
    to `CONFIRM_ATTEMPTS` times) before the diagnosis is reported.
    `Diagnosis.confirmed` is true only when both the infeasibility and the
    sufficiency of the change were shown. Contradictions among decisions and
    rules are named first, and the elastic re-solve then says which `must` to
    drop. When time runs out before the elastic solve has a stretched plan,
    the diagnosis says so and names what the exact pre-solve checks
    (`planner.checks.precheck`) found.
    """
    from planner.model.common import BuildTimeout
    from planner.solving.result import Termination
    from planner.solving.solver import MatrixSolver

    deadline = deadline if deadline is not None else time.monotonic() + 60.0
    conflicts = decision_conflicts(scenario)
    if conflicts:
        lead = "Decisions and rules contradict each other: " + "; ".join(conflicts) + "."
    elif nothing_reached:
        lead = NO_REACH_LEAD
    else:
        lead = "No plan meets every limit at once."
    # The exact pre-solve findings, computed first while there is time: they say why
    # nothing can reach a weighted market, and what is known should the elastic
    # solve not finish.
    found: tuple[str, ...] = ()
    unreachable: Unreachable | None = None
    if deadline - time.monotonic() > 2 * PRECHECK_SECONDS_PER_OPTION * len(scenario.options):
        from planner.checks.precheck import check_before_solve

        pre = check_before_solve(scenario)
        found, unreachable = pre.conflicts, pre.unreachable
    if unreachable is not None:
        return _unreachable(scenario, unreachable, found, deadline=deadline, scope=scope)
    floor = _least_positive_reach(scenario)
    if floor is None:
        text = (
            f"{NO_REACH_LEAD} No option with positive reach covers a market of positive "
            "weight, so no change of limits helps: add Coverage rows or market weights."
        )
        if conflicts:
            text = f"{lead} {text}"
        return Diagnosis(
            summary=f"Infeasible: {NOTHING_REACHED}.", text=text, conflicting=tuple(conflicts)
        )
    now = time.monotonic()
    elastic_deadline = now + ELASTIC_SHARE * max(0.0, deadline - now)
    try:
        mm = build_matrix_model(scenario, deadline=elastic_deadline)
        elastic, n_must = elastic_model(mm, min_reach=floor)
        solver = MatrixSolver(elastic, deadline=elastic_deadline, mip_gap=ELASTIC_GAP, scope=scope)
        solver.use_objective("weighted_reach")  # the elastic model's objective, see there
        # With the constant of the dropped-`must` terms the objective is −penalty,
        # so HiGHS's relative gap is measured against the penalty itself.
        solver.set_objective_offset(-n_must * DROP_MUST_PENALTY)
        outcome = solver.solve()
    except BuildTimeout:
        return _out_of_time(lead, conflicts, found)
    if outcome.termination == Termination.TIME_LIMIT and not outcome.has_solution:
        return _out_of_time(lead, conflicts, found)
    if not outcome.has_solution or outcome.incumbent is None:
        text = (
            f"{lead} No stretched plan of budget, trust, share, resource, matching-spend "
            f"limits or `must` decisions exists ({outcome.termination})."
        )
        return Diagnosis(
            summary="Infeasible: no change of budget, trust, share, resource, matching-spend "
            "limits or `must` decisions gives a plan.",
            text=text,
            conflicting=tuple(conflicts),
            confirmed=bool(conflicts),
        )
    cost = -outcome.incumbent
    changes = (
        tuple(_changes(mm, outcome.x, outcome.y, outcome.z, deadline=deadline))
        if cost > 1e-9
        else ()
    )
    start = _start(
        mm, outcome.x, outcome.y, outcome.z, outcome.u[: len(mm.market_ids)], deadline=deadline
    )
    if not changes and not conflicts:
        # The solve and the stretched model disagree: say so as one story, whether the
        # solve found no plan at all or only none of positive weighted reach.
        if nothing_reached:
            text = (
                f"The solver found no plan with positive weighted reach ({NOTHING_REACHED}), "
                "but a plan within every limit that reaches a weighted market exists: "
                "the infeasibility was not confirmed."
            )
        else:
            text = (
                "The solver reported no plan, but a plan within every limit exists: "
                "the infeasibility was not confirmed."
            )
        return Diagnosis(summary=text, text=text, confirmed=False)
    proven = outcome.termination == Termination.OPTIMAL
    changes, verdict = _confirm(scenario, changes, deadline, start=start, scope=scope)
    conflicting = tuple(c.limit for c in changes)
    body = "; ".join(c.text for c in changes)
    qualifier = "Smallest change" if proven and verdict is not False else "A change"
    if not proven:
        qualifier += " (not proven smallest within the time limit)"
    if verdict:
        check = "Re-solving with this change finds a plan."
    elif verdict is None:
        check = (
            "This change was not confirmed within the time limit: "
            "re-solving with it did not finish."
        )
    else:
        check = "Not confirmed: re-solving with this change still finds no plan."
    labels = ", ".join(_label(c.limit) for c in changes)
    in_conflict = f" Limits in conflict: {labels}." if changes else ""
    text = f"{lead}{in_conflict} {qualifier} that makes a plan possible: {body}. {check}"
    confirmed = "" if verdict else " (not confirmed)"
    return Diagnosis(
        summary=f"Infeasible: {body}{confirmed}.",
        text=text,
        conflicting=tuple(conflicts) + conflicting,
        changes=changes,
        confirmed=bool(verdict),
        notes=(check,),
    )


#: The sentence a diagnosis carries when the elastic solve did not finish in time.
OUT_OF_TIME = "The smallest change could not be computed within the time limit."


def _out_of_time(lead: str, conflicts: list[str], found: tuple[str, ...]) -> Diagnosis:
    """What is known without the elastic solve: the lead and the exact pre-solve conflicts."""
    known = f" Found before solving: {'; '.join(found)}." if found else ""
    text = f"{lead}{known} {OUT_OF_TIME}"
    summary = f"Infeasible: {OUT_OF_TIME[0].lower()}{OUT_OF_TIME[1:]}"
    return Diagnosis(
        summary=summary,
        text=text,
        conflicting=tuple(conflicts) + tuple(c for c in found if c not in conflicts),
        confirmed=False,
        notes=(OUT_OF_TIME,),
    )


def _unreachable(
    scenario: Scenario,
    unreachable: Unreachable,
    found: tuple[str, ...],
    *,
    deadline: float,
    scope: SolveScope | None,
) -> Diagnosis:
    """Nothing can reach a weighted market, known before solving: said as `planner validate`
    says it, with the trust floors to lower and whether a plan then exists.

    The cause is exact (`planner.checks.precheck`), so no elastic solve is needed
    to confirm it. When the floors found there are lowered but budget or other
    limits still leave no plan, the elastic diagnosis of the lowered scenario
    says what else must change.
    """
    known = f"{NO_REACH_LEAD} Found before solving: {'; '.join(found)}."
    summary = f"Infeasible: {NOTHING_REACHED}; {unreachable.cause}."
    changes = tuple(_floor_change(f) for f in unreachable.floors)
    if not changes:
        return Diagnosis(summary=summary, text=known, conflicting=found)
    body = "; ".join(c.text for c in changes)
    lowered = apply_changes(scenario, changes)
    verdict = plan_exists(lowered, deadline=deadline, scope=scope)
    if verdict:
        check = f"Re-solving with that change ({body}) finds a plan."
    elif verdict is None:
        check = (
            f"That change ({body}) was not confirmed within the time limit: "
            "re-solving with it did not finish."
        )
    else:
        more = diagnose_infeasibility(lowered, deadline=deadline, nothing_reached=True, scope=scope)
        further = tuple(c for c in more.changes if c.limit not in {x.limit for x in changes})
        both = "; ".join(c.text for c in changes + further)
        return Diagnosis(
            summary=f"{summary[:-1]}; {both}{'' if more.confirmed else ' (not confirmed)'}.",
            text=f"{known} With that change ({body}), re-solving still finds no plan. "
            + more.text.removeprefix(NO_REACH_LEAD).lstrip(),
            conflicting=found + tuple(c.limit for c in changes + further),
            changes=changes + further,
            confirmed=more.confirmed,
            notes=more.notes,
        )
    return Diagnosis(
        summary=f"{summary[:-1]}; {body}{'' if verdict else ' (not confirmed)'}.",
        text=f"{known} {check}",
        conflicting=found + tuple(c.limit for c in changes),
        changes=changes,
        confirmed=bool(verdict),
        notes=(check,),
    )


def _floor_change(floor: TrustFloor) -> Change:
    """A lowered trust floor as a diagnosis change, in the user's words."""
    if floor.layer is None:
        limit, words = "min_partner_trust", "min_partner_trust"
    else:
        limit, words = f"layer_min_trust[{floor.layer}]", f"min_trust of layer {floor.layer}"
    return Change(
        limit,
        floor.current,
        floor.suggested,
        f"lower {words} from {floor.current:g} to {floor.suggested:g}",
    )


#: How often a suggested change is rounded further out when re-solving finds no plan.
CONFIRM_ATTEMPTS = 3


def _confirm(
    scenario: Scenario,
    changes: tuple[Change, ...],
    deadline: float,
    start: FloatArray | None = None,
    scope: SolveScope | None = None,
) -> tuple[tuple[Change, ...], bool | None]:
    """Re-solve the real model with `changes` applied; round further out until a plan exists.

    `start` (the stretched plan, `_start`) is offered to HiGHS as a first plan.
    Returns the changes finally suggested and True (a plan exists with them),
    False (still none after every attempt) or None (a re-solve ran out of time).
    """
    verdict: bool | None = False
    for attempt in range(CONFIRM_ATTEMPTS):
        verdict = plan_exists(
            apply_changes(scenario, changes), deadline=deadline, start=start, scope=scope
        )
        if verdict is not False:
            return changes, verdict
        if attempt + 1 < CONFIRM_ATTEMPTS:
            changes = tuple(_strengthen(c, attempt + 1) for c in changes)
    return changes, verdict


def plan_exists(
    scenario: Scenario,
    *,
    deadline: float,
    start: FloatArray | None = None,
    scope: SolveScope | None = None,
) -> bool | None:
    """True when the real model has a plan of positive weighted reach (SPEC §4).

    False when proven otherwise (infeasible, or no plan reaches a weighted
    market), None when the build or solve ran out of time before deciding.

    Solved as a feasibility problem on the matrix model: the real rows and
    bounds plus weighted reach ≥ ρ (`_least_positive_reach`, which every plan of
    positive reach meets) and no objective, so HiGHS stops at the first plan
    instead of proving the best one. `start` (every column of a candidate plan,
    in the model's column order, see `_start`) is handed to HiGHS, which keeps
    it only if it meets every row and bound: a good candidate decides at once.
    (A partial start of x and y alone made HiGHS solve the completing LP
    without presolve: 16-30 s on 10k options.)
    """
    from planner.model.common import BuildTimeout
    from planner.solving.result import Termination
    from planner.solving.solver import MatrixSolver

    if decision_conflicts(scenario):
        return False
    floor = _least_positive_reach(scenario)
    if floor is None:
        return False
    try:
        mm = build_matrix_model(scenario, deadline=deadline)
        solver = MatrixSolver(
            _feasibility_model(mm, floor), deadline=deadline, mip_gap=0.0, scope=scope
        )
        solver.use_objective("weighted_reach")  # all zeros here: any plan will do
        if start is not None and len(start) == mm.n_cols:
            cols = np.arange(mm.n_cols, dtype=np.int32)
            solver.highs.setSolution(mm.n_cols, cols, np.asarray(start, dtype=np.float64))
        outcome = solver.solve()
    except BuildTimeout:
        return None
    if outcome.has_solution:
        return True
    if outcome.termination == Termination.INFEASIBLE:
        return False
    return None


def _strengthen(change: Change, step: int) -> Change:
    """The same change rounded `step` decimal places coarser, further from the old limit."""
    if change.suggested is None or change.current is None or change.limit.startswith("must "):
        return change
    up = change.suggested > change.current
    digits = 3 if "share" in change.limit else 2
    new = _round_out(change.suggested, up=up, digits=max(0, digits - step))
    if new == change.suggested:  # already round at that precision: move one unit
        unit = 10.0 ** -max(0, digits - step)
        new = change.suggested + (unit if up else -unit)
    if "share" in change.limit:
        new = min(1.0, max(0.0, new))
    if change.limit == "min_average_trust":
        new = max(0.0, new)
    verb = "raise" if up else "lower"
    old_text = change.text.split(" from ")[0].split(" ", 1)[1]
    return replace(
        change,
        suggested=new,
        text=f"{verb} {old_text} from {change.current:g} to {new:g}",
    )


def _label(limit: str) -> str:
    """A `Change.limit` key in the user's words (`must O1` -> "`must` on O1")."""
    for key, words in (
        ("resources[", "capacity of resource "),
        ("layer_foreign_share[", "max_foreign_share of layer "),
        ("layer_min_trust[", "min_trust of layer "),
        ("min_eligible_spend[", "min_eligible_spend of offer "),
    ):
        if limit.startswith(key):
            return words + limit[len(key) : -1]
    if limit.startswith("must "):
        return f"`must` on {limit[len('must ') :]}"
    return limit


def _least_positive_reach(scenario: Scenario) -> float | None:
    """Half the smallest weighted reach any single reaching option can add, or None.

    Every plan of positive weighted reach has at least this much, so requiring
    it in the elastic model excludes plans of reach 0 without excluding any
    real plan, and stays far above solver tolerances.
    """
    weight = {m.market_id: (m.weight, m.addressable) for m in scenario.markets}
    values = [
        weight[row.market_id][0] * min(row.reach, weight[row.market_id][1])
        for row in scenario.coverage
        if row.reach > 0 and weight[row.market_id][0] > 0
    ]
    return 0.5 * min(values) if values else None


#: The rows a user can stretch, by named block of the matrix model (formulation: Diagnosis).
ELASTIC_BLOCKS = (
    "budget",
    "resources",
    "average_trust",
    "foreign_share",
    "layer_foreign_share",
    "country_share",
    "matching_spend",
)


def elastic_model(mm: MatrixModel, *, min_reach: float = 0.0) -> tuple[MatrixModel, int]:
    """A copy of `mm` with a penalised slack on every stretchable row and every `must` droppable.

    Each row of `ELASTIC_BLOCKS` (of `matching_spend` only those of `must`
    offers: any other offer can simply be left) gets its own slack column
    σ ≥ 0 (≤ rows: −σ, ≥ rows: +σ) costing the relative change of its limit
    (`_weights`), and every `must` option or offer loses its lower bound 1 at a
    cost of `DROP_MUST_PENALTY` for leaving it out. With `min_reach` > 0 the
    stretched plan must also reach some weighted market (row
    `elastic_reach`: weighted reach ≥ min_reach): a plan of weighted reach 0
    is no plan (SPEC §4), so the change must buy a real one.

    `MatrixSolver` knows the three SPEC objectives by name, so the penalty is
    carried negated as this copy's `weighted_reach` (maximised); the other two
    objectives are zero. The penalty is `n_must · DROP_MUST_PENALTY −
    objective`; returns the copy and `n_must`. Slack columns follow the u
    columns (the solver reports them after u).
    """
    scenario = mm.scenario
    weights = _weights(scenario)
    capacity = {r.resource: r.capacity for r in scenario.resources}
    mes = {c.offer_id: c.min_eligible_spend for c in scenario.offers}
    must_offers = {c for c, d in mm.offer_decisions.items() if d == "must"}
    rows: list[int] = []
    slack_weight: list[float] = []
    for block in mm.blocks:
        if block.name not in ELASTIC_BLOCKS:
            continue
        for k, key in enumerate(block.keys):
            if block.name == "matching_spend" and key[0] not in must_offers:
                continue
            if block.name == "resources":
                weight = 1.0 / max(1.0, capacity[key[0]])
            elif block.name == "matching_spend":
                weight = 1.0 / max(1.0, mes[key[0]])
            else:
                weight = weights[block.name]
            rows.append(block.start + k)
            slack_weight.append(weight)
    n_s = len(rows)
    row_of = np.asarray(rows, dtype=np.int64)
    slack_cols = mm.n_cols + np.arange(n_s, dtype=np.int32)
    slack_sign = np.where(np.isfinite(mm.row_upper[row_of]), -1.0, 1.0)
    # Each slack goes at the end of its row: insert before the next row's first entry.
    at = mm.row_start[row_of + 1]
    index = np.insert(mm.row_index, at, slack_cols)
    value = np.insert(mm.row_value, at, slack_sign)
    inserted = np.zeros(mm.n_rows + 1, dtype=np.int64)
    inserted[row_of + 1] = 1
    start = mm.row_start + np.cumsum(inserted)
    reach = mm.objectives["weighted_reach"]
    extra_rows: list[tuple[str, FloatArray, float]] = []
    if min_reach > 0:
        extra_rows.append(("elastic_reach", np.concatenate([reach, np.zeros(n_s)]), min_reach))
    penalty = np.concatenate([np.zeros(mm.n_cols), np.asarray(slack_weight)])
    n_must = 0
    col_lower = np.concatenate([mm.col_lower, np.zeros(n_s)])
    for first, decisions in ((mm.x_start, mm.option_decisions), (mm.y_start, mm.offer_decisions)):
        ids = mm.option_ids if first == mm.x_start else mm.offer_ids
        pos = {name: first + i for i, name in enumerate(ids)}
        for name, decision in decisions.items():
            if decision == "must":
                col_lower[pos[name]] = 0.0
                penalty[pos[name]] -= DROP_MUST_PENALTY  # penalty: DROP · (1 − x)
                n_must += 1
    copy = replace(
        mm,
        col_lower=col_lower,
        col_upper=np.concatenate([mm.col_upper, np.full(n_s, np.inf)]),
        integrality=np.concatenate([mm.integrality, np.zeros(n_s, dtype=np.int32)]),
        objectives={
            "weighted_reach": -penalty,
            "net_spend": np.zeros(len(penalty)),
            "option_count": np.zeros(len(penalty)),
        },
        row_start=start,
        row_index=index,
        row_value=value,
    )
    return _with_rows(copy, extra_rows), n_must


def _feasibility_model(mm: MatrixModel, min_reach: float) -> MatrixModel:
    """`mm` with the row weighted reach ≥ `min_reach` (`elastic_reach`) and a zero objective."""
    reach = mm.objectives["weighted_reach"]
    zero = np.zeros(mm.n_cols)
    copy = replace(mm, objectives={"weighted_reach": zero, "net_spend": zero, "option_count": zero})
    return _with_rows(copy, [("elastic_reach", reach, min_reach)])


def _with_rows(mm: MatrixModel, extra: list[tuple[str, FloatArray, float]]) -> MatrixModel:
    """`mm` with one named row `dense · columns ≥ lower` appended per (name, dense, lower)."""
    if not extra:
        return mm
    starts = [mm.row_start]
    index = [mm.row_index]
    value = [mm.row_value]
    blocks = list(mm.blocks)
    end = int(mm.row_start[-1])
    for k, (name, dense, _lower) in enumerate(extra):
        cols = np.flatnonzero(dense)
        index.append(cols.astype(np.int32))
        value.append(dense[cols])
        end += len(cols)
        starts.append(np.array([end], dtype=np.int64))
        blocks.append(RowBlock(name, mm.n_rows + k, mm.n_rows + k + 1, [(name,)]))
    lower = np.array([lo for _n, _d, lo in extra], dtype=np.float64)
    return replace(
        mm,
        row_start=np.concatenate(starts),
        row_index=np.concatenate(index),
        row_value=np.concatenate(value),
        row_lower=np.concatenate([mm.row_lower, lower]),
        row_upper=np.concatenate([mm.row_upper, np.full(len(extra), np.inf)]),
        blocks=tuple(blocks),
    )


def _start(mm: MatrixModel, x, y, z, u, *, deadline: float) -> FloatArray:
    """Every column of the stretched plan: its x, y and u, and z at the most co-financing.

    With that z the plan's net spend is the one `_changes` reports, so the plan
    meets every changed limit (each rounded outward) and is a complete start
    for confirming (`plan_exists`). Should the co-financing LP not end by
    `deadline`, z is the elastic solve's own (`max_cofinancing`).
    """
    from planner.solving.cofinancing import EligiblePairs, max_cofinancing

    options, offers, found = extract_decisions(mm, list(x), list(y), list(z))
    values = np.zeros(mm.n_cols)
    values[mm.x_start : mm.y_start] = np.round(np.asarray(x))
    values[mm.y_start : mm.z_start] = np.round(np.asarray(y))
    values[mm.u_start :] = np.asarray(u)
    pair_col = {pair: mm.z_start + k for k, pair in enumerate(mm.pairs)}
    eligible = EligiblePairs.of_model(mm)
    amounts = max_cofinancing(
        mm.scenario, options, offers, deadline=deadline, found=found, eligible=eligible
    )
    for offer_id, option_id, amount in amounts.amounts:
        values[pair_col[(offer_id, option_id)]] = amount
    return values


def _changes(pm: MatrixModel, x, y, z, *, deadline: float) -> list[Change]:
    """Read the stretched plan and say, per stretched limit, what it would have to be."""
    from planner.checks.verify import evaluate_plan, is_eligible, regions_by_option
    from planner.solving.cofinancing import EligiblePairs, max_cofinancing

    scenario = pm.scenario
    s = scenario.settings
    options, offers, found = extract_decisions(pm, list(x), list(y), list(z))
    eligible = EligiblePairs.of_model(pm)
    amounts = max_cofinancing(
        scenario, options, offers, deadline=deadline, found=found, eligible=eligible
    ).amounts
    chosen = set(options)
    metrics = evaluate_plan(
        scenario, options, offers, [CoFinancing(c, o, a) for c, o, a in amounts]
    )
    option_of = {o.option_id: o for o in scenario.options}
    partner_of = scenario.partner_of()
    regions = regions_by_option(scenario)
    changes: list[Change] = []
    stretched = _stretched(pm, metrics, chosen, set(offers))
    gross = metrics.gross_spend

    def stretched_block(block: str) -> list:
        return sorted(index for b, index in stretched if b == block)

    if stretched_block("budget"):
        new = _round_out(metrics.net_spend, up=True)
        changes.append(
            Change("budget", s.budget, new, f"raise budget from {s.budget:g} to {new:g}")
        )
    for resource in stretched_block("resources"):
        used = sum(
            u.amount for u in scenario.usage if u.resource == resource and u.option_id in chosen
        )
        cap = next(r.capacity for r in scenario.resources if r.resource == resource)
        new = _round_out(used, up=True)
        changes.append(
            Change(
                f"resources[{resource}]",
                cap,
                new,
                f"raise the capacity of resource {resource} from {cap:g} to {new:g}",
            )
        )
    if stretched_block("average_trust") and metrics.average_trust is not None:
        new = _round_out(metrics.average_trust, up=False)
        old = s.min_average_trust or 0.0
        changes.append(
            Change(
                "min_average_trust",
                old,
                new,
                f"lower min_average_trust from {old:g} to {new:g}",
            )
        )
    if stretched_block("foreign_share") and metrics.foreign_share is not None:
        new = _round_out(metrics.foreign_share, up=True, digits=3)
        changes.append(
            Change(
                "max_foreign_share",
                s.max_foreign_share,
                new,
                f"raise max_foreign_share from {s.max_foreign_share:g} to {new:g}",
            )
        )
    for layer in stretched_block("layer_foreign_share"):
        in_layer = [o for o in chosen if option_of[o].layer == layer and option_of[o].cost > 0]
        total = sum(option_of[o].cost for o in in_layer)
        foreign = sum(
            option_of[o].cost
            for o in in_layer
            if scenario.is_foreign(partner_of[option_of[o].partner_id])
        )
        old = scenario.layer_limits()[layer].max_foreign_share
        new = _round_out(foreign / total if total else 0.0, up=True, digits=3)
        changes.append(
            Change(
                f"layer_foreign_share[{layer}]",
                old,
                new,
                f"raise max_foreign_share of layer {layer} from {old:g} to {new:g}",
            )
        )
    if stretched_block("country_share") and gross > 0:
        by_country: dict[str, float] = {}
        for o in chosen:
            partner = partner_of[option_of[o].partner_id]
            if scenario.is_foreign(partner):
                key = canonical_name(partner.country)
                by_country[key] = by_country.get(key, 0.0) + option_of[o].cost
        new = _round_out(max(by_country.values(), default=0.0) / gross, up=True, digits=3)
        changes.append(
            Change(
                "max_country_share",
                s.max_country_share,
                new,
                f"raise max_country_share from {s.max_country_share:g} to {new:g}",
            )
        )
    offer_of = {c.offer_id: c for c in scenario.offers}
    for offer_id in stretched_block("matching_spend"):
        offer = offer_of[offer_id]
        spend = sum(
            option_of[o].cost for o in chosen if is_eligible(scenario, offer, option_of[o], regions)
        )
        new = _round_out(spend, up=False)
        changes.append(
            Change(
                f"min_eligible_spend[{offer_id}]",
                offer.min_eligible_spend,
                new,
                f"lower min_eligible_spend of offer {offer_id} from "
                f"{offer.min_eligible_spend:g} to {new:g}",
            )
        )
    for option_id, decision in sorted(pm.option_decisions.items()):
        if decision == "must" and option_id not in chosen:
            changes.append(Change(f"must {option_id}", 1.0, 0.0, f"drop `must` on {option_id}"))
    for offer_id, decision in sorted(pm.offer_decisions.items()):
        if decision == "must" and offer_id not in offers:
            changes.append(Change(f"must {offer_id}", 1.0, 0.0, f"drop `must` on offer {offer_id}"))
    return changes


def _stretched(pm: MatrixModel, metrics, chosen: set[str], taken: set[str]) -> set:
    """(block, index) of every limit the stretched plan breaks, judged on its own figures.

    Judging the plan rather than the slack values keeps the report in the
    user's terms and independent of how the solver spread its slack.
    """
    from planner.checks.verify import is_eligible, regions_by_option

    scenario = pm.scenario
    s = scenario.settings
    option_of = {o.option_id: o for o in scenario.options}
    partner_of = scenario.partner_of()
    gross = metrics.gross_spend
    regions = regions_by_option(scenario)
    out: set = set()

    def over(lhs: float, rhs: float) -> bool:
        return lhs - rhs > REL_TOL * max(1.0, abs(lhs), abs(rhs))

    if over(metrics.net_spend, s.budget):
        out.add(("budget", "net_spend"))
    for r in scenario.resources:
        used = sum(
            u.amount for u in scenario.usage if u.resource == r.resource and u.option_id in chosen
        )
        if over(used, r.capacity):
            out.add(("resources", r.resource))
    average = metrics.average_trust
    floor = s.min_average_trust
    if floor is not None and average is not None and over(floor * gross, average * gross):
        out.add(("average_trust", "portfolio"))

    def foreign(o: str) -> bool:
        return scenario.is_foreign(partner_of[option_of[o].partner_id])

    if over(sum(option_of[o].cost for o in chosen if foreign(o)), s.max_foreign_share * gross):
        out.add(("foreign_share", "portfolio"))
    for name, layer in scenario.layer_limits().items():
        in_layer = [o for o in chosen if option_of[o].layer == name]
        total = sum(option_of[o].cost for o in in_layer)
        if over(
            sum(option_of[o].cost for o in in_layer if foreign(o)), layer.max_foreign_share * total
        ):
            out.add(("layer_foreign_share", name))
    by_country: dict[str, float] = {}
    for o in chosen:
        if foreign(o):
            key = canonical_name(partner_of[option_of[o].partner_id].country)
            by_country[key] = by_country.get(key, 0.0) + option_of[o].cost
    for key, spend in by_country.items():
        if over(spend, s.max_country_share * gross):
            out.add(("country_share", key))
    for offer in scenario.offers:
        if offer.offer_id in taken:
            spend = sum(
                option_of[o].cost
                for o in chosen
                if is_eligible(scenario, offer, option_of[o], regions)
            )
            if over(offer.min_eligible_spend, spend):
                out.add(("matching_spend", offer.offer_id))
    return out


def apply_changes(scenario: Scenario, changes: tuple[Change, ...]) -> Scenario:
    """The scenario with a diagnosis's changes made: used to confirm they suffice."""
    settings = scenario.settings
    options = {o.option_id: o for o in scenario.options}
    offers = {c.offer_id: c for c in scenario.offers}
    layers = {la.layer: la for la in scenario.layers}
    resources = {r.resource: r for r in scenario.resources}
    for change in changes:
        limit = change.limit
        new = 0.0 if change.suggested is None else change.suggested
        if limit in (
            "budget",
            "min_average_trust",
            "max_foreign_share",
            "max_country_share",
            "min_partner_trust",
        ):
            settings = replace(settings, **{limit: new})  # type: ignore[arg-type]
        elif limit.startswith("resources["):
            key = limit[len("resources[") : -1]
            resources[key] = replace(resources[key], capacity=new)
        elif limit.startswith("layer_foreign_share["):
            key = limit[len("layer_foreign_share[") : -1]
            layers[key] = replace(layers[key], max_foreign_share=new)
        elif limit.startswith("layer_min_trust["):
            key = limit[len("layer_min_trust[") : -1]
            layers[key] = replace(layers[key], min_trust=new)
        elif limit.startswith("min_eligible_spend["):
            key = limit[len("min_eligible_spend[") : -1]
            offers[key] = replace(offers[key], min_eligible_spend=new)
        elif limit.startswith("must "):
            key = limit[len("must ") :]
            if key in options:
                options[key] = replace(options[key], decision=None)
            else:
                offers[key] = replace(offers[key], decision=None)
    return replace(
        scenario,
        settings=settings,
        options=tuple(options.values()),
        offers=tuple(offers.values()),
        layers=tuple(layers.values()),
        resources=tuple(resources.values()),
    )
