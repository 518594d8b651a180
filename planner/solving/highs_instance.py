"""A `highspy.Highs` that prints nothing, and the one HiGHS thread count every solve uses.

Why a module of its own: the solvers (`planner.solving.solver`), the second
solver's model writer (`planner.solving.cbc_rival`, `planner.solving.race`) and the
co-financing LP (`planner.solving.cofinancing`) all make HiGHS instances; none of
them should need the others to do so.
"""

from __future__ import annotations

import highspy

#: HiGHS threads for every solve, in every call. HiGHS's thread pool is process-wide: the
#: first solve in a process fixes its size, and a later solve asking for another size
#: fails ("global scheduler has already been initialized", SOLVER-NOTES) unless the pool
#: is reset, which is unsafe while another thread solves. So the count cannot be a
#: call's choice; one thread is the choice for every call: HiGHS's MIP gained little from
#: more (two threads took 24 s where one took 15.5 s on the 2,000-option net-spend
#: stage), one thread keeps runs reproducible, and a call's further cores go to the
#: second solver and the tie-break lane (`rank_plans(threads=...)`) or to more processes.
HIGHS_THREADS = 1


class _QuietHighs(highspy.Highs):
    """`highspy.Highs` with its output off before HiGHS can print anything.

    highspy 1.16 prints HiGHS's banner to the process's stdout while its
    constructor enables callbacks (`enableCallbacks`), the first time in a
    process that an instance logs with output on; setting `output_flag` off
    just before keeps every instance made here silent, without touching the
    process's file descriptors (a redirect of fd 1 and 2 would hide other
    threads' output too and is unsafe while they write).
    """

    def enableCallbacks(self) -> None:
        self.setOptionValue("output_flag", False)
        super().enableCallbacks()


def quiet_highs() -> highspy.Highs:
    """A new `highspy.Highs` that prints nothing (its `output_flag` is off)."""
    highs = _QuietHighs()
    highs.setOptionValue("output_flag", False)
    return highs
