"""What one solve answers, in terms the ranking code can act on, and the SPEC tolerance.

Why a module of its own: the HiGHS backends (`planner.solving.solver`,
`planner.solving.pyomo_solver`), the second solver's race (`planner.solving.race`) and the
stage logic (`planner.solving.stages`) all speak in `SolveResult`s; none of them
should need the others to do so.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

#: Relative tolerance at which two objective values count as equal (SPEC §3).
REL_TOL = 1e-6


def tolerance(value: float) -> float:
    """SPEC §3: values within 1e-6 × max(1, |value|) count as equal."""
    return REL_TOL * max(1.0, abs(value))


class Termination(StrEnum):
    """How one solve ended, in terms the ranking code can act on."""

    OPTIMAL = "optimal"
    """Proven optimal within mip_gap."""
    TIME_LIMIT = "time_limit"
    """Deadline reached; `incumbent` may or may not hold a solution."""
    INFEASIBLE = "infeasible"
    """Proven infeasible, confirmed by a second solve with presolve off."""
    UNBOUNDED = "unbounded"
    """Should be impossible for SPEC §3 (every variable is bounded): a model bug."""
    NUMERICAL = "numerical"
    """HiGHS reported an error or an unknown status: numerical trouble."""


@dataclass(frozen=True, slots=True)
class SolveResult:
    termination: Termination
    incumbent: float | None
    """Objective of the best solution found, or None."""
    bound: float | None
    """Best proven bound on the objective (dual bound), or None."""
    seconds: float
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()
    z: tuple[float, ...] = ()
    u: tuple[float, ...] = ()
    message: str = ""
    lexicographic: bool = False
    """Found under the one integral objective that orders plans exactly as SPEC §3 does
    (`planner.solving.stages.lexicographic_weights`): no tie-break stage follows."""
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)
    """The same solution as one vector, when the solver had it so (read-only: `columns`
    hands out copies)."""

    @property
    def has_solution(self) -> bool:
        return self.incumbent is not None

    def columns(self) -> np.ndarray:
        """The solution as one vector in the matrix model's column order (x, y, z, u), the
        caller's own: a copy of the solver's vector when it kept one (XL: 0.5 ms, against
        9 ms to rebuild 650,000 values, several times a rank)."""
        if self.vector is not None:
            return self.vector.copy()
        # Chained, not concatenated: no 650,000-value tuple on the way (XL: 20 -> 9 ms).
        n = len(self.x) + len(self.y) + len(self.z) + len(self.u)
        return np.fromiter(itertools.chain(self.x, self.y, self.z, self.u), np.float64, n)


#: Row and integrality tolerance for a solution HiGHS reported in a callback before it
#: was abandoned (HiGHS's own feasibility tolerances are 1e-7 to 1e-8 absolute).
FALLBACK_TOL = 1e-6


def finite_or_none(value: float | None) -> float | None:
    """`value` as a float, or None when it is missing or infinite (HiGHS's "no bound")."""
    return float(value) if value is not None and math.isfinite(value) else None
