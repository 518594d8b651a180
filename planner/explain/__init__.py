"""Explanations of plan 1 (SPEC §6): why each option is in the plan, what each left-out
option and each limit is worth, as intervals that always hold the true value.

Integer models have no useful dual prices, so a plan is explained by re-solving
changed scenarios, through `planner.engine`, within `explain_time_s`.
"""

from planner.explain.explain import STEP_SHARE, explain_plan

__all__ = ["STEP_SHARE", "explain_plan"]
