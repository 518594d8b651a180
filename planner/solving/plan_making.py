"""A kept rank's plan, in two halves: what the solve decided (`PlanOrder`, read off the
model), and the verified `Plan` made of it (`make_ordered`, from the scenario alone).

Why two halves: making a plan (the co-financing LP, every figure recomputed) and its
independent check cost 0.11-0.13 s a plan at 50,000 options, while the order is read
off the solution in 0.02 s. The order holds nothing of the model, so the plan can be
made where the model is not: in a second process while the next rank is solved
(`planner.solving.plan_maker`). Both halves are the same code wherever the plan is made,
so a plan made there is the plan made here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from planner.checks.verify import PlanVerificationError, ScenarioIndex, check_plan, make_plan
from planner.model.common import extract_decisions
from planner.model.matrix_model import MatrixModel
from planner.plan import CoFinancing, Plan, reach_gap, spend_gap
from planner.scenario.data import Scenario
from planner.solving.cofinancing import Amount, EligiblePairs, max_cofinancing
from planner.solving.result import SolveResult
from planner.solving.stages import Stages, user_amounts, user_reach

if TYPE_CHECKING:
    from planner.model.pyomo_model import PlanModel


@dataclass(frozen=True, slots=True)
class PlanOrder:
    """What one kept rank's solve decided, in the scenario's terms: enough to make and
    check its plan without the model."""

    rank: int
    options: tuple[str, ...]
    offers: tuple[str, ...]
    found: tuple[Amount, ...]
    """The solve's own co-financing amounts: the answer when the LP finds none in time."""
    deadline: float
    """When the co-financing LP must stop (`time.monotonic()`, shared by processes)."""
    bound: float
    """The plan's bound before the earlier rank's (`-inf`: proven to SPEC's tolerance,
    the plan's own reach)."""
    proven: bool
    earlier_bound: float | None
    """The previous rank's bound, when the order says whose (a replacement's); else the
    last plan made before it (`after_last`)."""
    after_last: bool
    """Whether the previous plan made is this one's earlier rank (its bound bounds this)."""
    spend_proven: bool
    least_spend: float | None
    """The least net spend the tie-break proved possible, in the scenario's units."""
    model_reach: float
    """The solution's weighted reach by the model's own objective (scenario's units): what
    the ranking reads before the plan is made (`_Ranking._start_options`)."""


def order_of(
    pm: PlanModel | MatrixModel,
    rank: int,
    stages: Stages,
    *,
    deadline: float,
    earlier_bound: float | None = None,
    after_last: bool = False,
    columns: np.ndarray | None = None,
) -> PlanOrder:
    """The order of rank `rank`'s plan from its stages' last solution (`pm`'s units turned
    into the scenario's); `columns`, that solution as one vector when the caller has it."""
    options, offers, found = extract_decisions(pm, *_decisions(pm, stages.best, columns))
    # The reach stage's bound in the scenario's units (the model's may be scaled).
    reach_bound = user_reach(pm, stages.reach.bound)
    # Without a proven bound the ceiling Σ weight·addressable is still a valid one.
    ceiling = sum(m.weight * m.addressable for m in pm.scenario.markets)
    bound = min(reach_bound, ceiling) if reach_bound is not None else ceiling
    if stages.proven and pm.scenario.settings.mip_gap == 0:
        # Proven to SPEC's tolerance: the bound is the plan's own reach (make_plan takes
        # the larger). HiGHS's dual bound then exceeds it only by its own tolerance, by
        # an amount that depends on the search's path (1593.0000001 or 1593.0 for the
        # same proven plan), which would make equal runs write different bounds.
        bound = -math.inf
    least = stages.spend_floor
    if least is not None and isinstance(pm, MatrixModel) and pm.scaling is not None:
        least = pm.scaling.user_objective("net_spend", least)
    return PlanOrder(
        rank=rank,
        options=options,
        offers=offers,
        found=found,
        deadline=deadline,
        bound=bound,
        proven=stages.proven,
        earlier_bound=earlier_bound,
        after_last=after_last,
        spend_proven=stages.spend_proven,
        least_spend=least,
        model_reach=_model_reach(pm, stages, columns),
    )


def _decisions(
    pm: PlanModel | MatrixModel, best: SolveResult, columns: np.ndarray | None
) -> tuple[Sequence[float] | np.ndarray, ...]:
    """The solution's option, offer and pair values (amounts in the scenario's units): as
    slices of `columns` when given (XL: 0.03 s a plan less than from the result's tuples)."""
    if columns is None or not isinstance(pm, MatrixModel):
        return list(best.x), list(best.y), user_amounts(pm, best)
    z = columns[pm.z_start : pm.u_start]
    if pm.scaling is not None:
        z = pm.scaling.columns[pm.z_start : pm.u_start] * z
    return columns[: pm.y_start], columns[pm.y_start : pm.z_start], z


def _model_reach(pm: PlanModel | MatrixModel, stages: Stages, columns: np.ndarray | None) -> float:
    """The last solution's weighted reach by the model's objective, in the scenario's units."""
    if isinstance(pm, MatrixModel):
        values = stages.best.columns() if columns is None else columns
        value = float(pm.objectives["weighted_reach"] @ values)
        reach = user_reach(pm, value)
    else:
        reach = user_reach(pm, stages.reach.incumbent)
    return -math.inf if reach is None else reach


def make_ordered(
    scenario: Scenario,
    order: PlanOrder,
    *,
    earlier_bound: float | None,
    index: ScenarioIndex,
    eligible: EligiblePairs | None = None,
) -> tuple[Plan, bool]:
    """The checked `Plan` of `order` with recomputed figures, and whether its co-financing
    amounts were proven the most possible: the LP that finds them stops at the order's
    deadline, and the solve's own amounts stand when it has not ended
    (`planner.solving.cofinancing`). `earlier_bound`, the previous rank's bound, also
    bounds this rank when unproven: its plans are among the previous rank's (one more
    cut), so where this rank's own search proved less, or nothing (a rank answered by its
    start), the earlier bound stands. A plan that fails its check is an internal error
    (`PlanVerificationError`)."""
    amounts = max_cofinancing(
        scenario,
        order.options,
        order.offers,
        deadline=order.deadline,
        found=order.found,
        eligible=eligible,
    )
    cofinancing = list(map(CoFinancing._make, amounts.amounts))
    bound = order.bound
    if earlier_bound is not None and not order.proven:
        bound = min(bound, earlier_bound)
    plan = make_plan(
        scenario,
        order.rank,
        order.options,
        order.offers,
        cofinancing,
        bound=bound,
        proven_optimal=order.proven,
        gap=None,
        index=index,
    )
    # SPEC §4's gap, of the plan's own reported reach and bound (without a dual bound
    # yet, the ceiling is the bound).
    plan = replace(
        plan,
        gap=0.0 if order.proven else reach_gap(plan.weighted_reach, bound),
        spend_gap=_spend_gap(order, plan),
    )
    problems = check_plan(scenario, plan, index=index)
    if problems:
        raise PlanVerificationError(
            f"plan {order.rank} failed independent verification: " + "; ".join(problems[:5])
        )
    return plan, amounts.most


def _spend_gap(order: PlanOrder, plan: Plan) -> float | None:
    """SPEC §4 `spend_gap` of a kept plan: 0 when its tie-break was proven, None when
    none ran (or it proved nothing), else against the least net spend it proved."""
    if order.spend_proven:
        return 0.0
    if order.least_spend is None:
        return None
    return spend_gap(plan.net_spend, order.least_spend)


def make_verified_plan(
    pm: PlanModel | MatrixModel,
    rank: int,
    stages: Stages,
    *,
    deadline: float,
    earlier_bound: float | None = None,
    index: ScenarioIndex,
) -> tuple[Plan, bool]:
    """`order_of` and `make_ordered` at once, here: a solve's plan made and checked where
    its model is (one plan of a sweep or a frontier, where nothing runs beside)."""
    order = order_of(pm, rank, stages, deadline=deadline, earlier_bound=earlier_bound)
    eligible = EligiblePairs.of_model(pm) if isinstance(pm, MatrixModel) else None
    return make_ordered(
        pm.scenario, order, earlier_bound=earlier_bound, index=index, eligible=eligible
    )
