"""Ranked plans listed best first when a later search found a better plan than an earlier one.

Why: a plan cut short by its share of the time limit (SPEC §4) is only the best plan
its search found. A later rank, started from it and searching elsewhere, may reach
more (M, 10 plans: plan 2 reached 9,276.6 where plan 1 had 9,267.6; L: plan 10 0.2 %
above plan 1). Listed as found, plan 1 would not be the best plan of the list, which
SPEC §4 says it is. So the plans are listed by weighted reach, where that keeps every
plan leaving out at least `min_plan_difference` options of each plan listed before it.

What a plan moved ahead keeps, and what it loses: the plans before it are now fewer,
so the plans it was chosen among are more. Its proof, if any, was among the fewer: it
is no longer proven, and its `spend_gap` (a least net spend proven among those) no
longer stands (None). Its bound is the least of the bounds proven for the ranks whose
earlier plans are all listed before it (plan 1's bound, over every plan, always is one).
A plan moved back keeps everything: it was chosen among more plans than it is now.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from planner.plan import Plan, reach_gap
from planner.solving.result import tolerance


def in_spec_order(plans: Sequence[Plan], min_difference: int) -> list[Plan]:
    """`plans` (ranks 1..n in the order found) listed best first, ranks renumbered.

    A plan passes an earlier-found one only when it reaches more beyond SPEC's tolerance
    and that plan, listed after it, still leaves out at least `min_difference` of its
    options; ties keep the order found. Bounds, gaps, proofs and spend gaps as the module
    says.
    """
    order = _listing(plans, min_difference)
    if order == list(range(len(plans))):
        return list(plans)
    listed: list[Plan] = []
    for position, found in enumerate(order):
        plan = plans[found]
        # Ranks 1..`whole` (as found) have every earlier plan listed before this one: their
        # bounds hold here, and this plan passed no plan found before it if it is among them.
        before = set(order[:position])
        whole = next(j for j in range(len(plans) + 1) if j not in before)
        moved_ahead = found > whole
        bound = max(plan.weighted_reach, min(p.bound for p in plans[: whole + 1]))
        if moved_ahead:
            plan = replace(
                plan,
                bound=bound,
                proven_optimal=False,
                gap=reach_gap(plan.weighted_reach, bound),
                spend_gap=None,
            )
        elif not plan.proven_optimal:
            plan = replace(plan, bound=bound, gap=reach_gap(plan.weighted_reach, bound))
        listed.append(replace(plan, rank=position + 1))
    return listed


def _listing(plans: Sequence[Plan], min_difference: int) -> list[int]:
    """Positions (in the order found) of the plans best first: each inserted, in the order
    found, as early as it may go (an insertion sort that never breaks the difference)."""
    order: list[int] = []
    for k, plan in enumerate(plans):
        at = len(order)
        while at > 0 and _may_pass(plan, plans[order[at - 1]], min_difference):
            at -= 1
        order.insert(at, k)
    return order


def _may_pass(plan: Plan, earlier: Plan, min_difference: int) -> bool:
    """Whether `plan` goes before `earlier`: it reaches more beyond SPEC's tolerance, and
    `earlier` leaves out at least `min_difference` of its options."""
    more = plan.weighted_reach > earlier.weighted_reach + tolerance(earlier.weighted_reach)
    return more and len(set(plan.options) - set(earlier.options)) >= min_difference


def with_replacement(plans: Sequence[Plan], removed: int, found: Plan) -> list[Plan]:
    """`plans` (in the order found) without the one at position `removed`, and `found`, a
    plan leaving out at least `min_plan_difference` of each plan kept, as found last;
    ranks renumbered in that order. For `in_spec_order` to list.

    Why the figures stay honest: the plans found after the removed one were chosen with
    its cut, among fewer plans than they now stand for. Their proofs and `spend_gap`s no
    longer stand; their bound, and `found`'s, is the removed plan's: its rank's plans
    (those leaving out enough of each plan found before it) include every plan leaving
    out enough of the plans kept before each of them.
    """
    widened = plans[removed].bound
    kept: list[Plan] = list(plans[:removed])
    for plan in [*plans[removed + 1 :], found]:
        bound = max(plan.weighted_reach, widened)
        kept.append(
            replace(
                plan,
                bound=bound,
                proven_optimal=False,
                gap=reach_gap(plan.weighted_reach, bound),
                spend_gap=None,
            )
        )
    return [replace(plan, rank=position + 1) for position, plan in enumerate(kept)]
