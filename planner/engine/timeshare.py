"""How many seconds a task may take, decided when it is dispatched.

The command has one time limit (SPEC §8: `--time-limit` is for the whole command), so
each task gets a fair share of what is left: the tasks still queued run in rounds of
`slots` (the tasks in flight at once), and the one dispatched now must leave time for
the rounds after it. Deciding at dispatch, not up front, hands the time a quick task
leaves unused to the tasks after it.
"""

from __future__ import annotations

import math

#: No task gets less than this, however little time is left: a solve needs a moment to
#: find any plan at all, and a task given almost nothing would only fail.
MIN_SHARE_S = 1.0


def time_share(deadline: float | None, now: float, queued: int, slots: int) -> float | None:
    """The seconds a task dispatched at `now` may take, or None when the deadline has
    passed (the task is not run).

    `queued` counts the tasks not yet dispatched, this one included; `slots` how many
    run at once. Without a deadline every task may take as long as it needs (`inf`).
    """
    if deadline is None:
        return math.inf
    left = deadline - now
    if left <= 0:
        return None
    rounds = math.ceil(max(1, queued) / max(1, slots))
    return max(MIN_SHARE_S, left / rounds)
