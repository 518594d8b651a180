"""A model's rows with the rows appended to it later, as flat arrays, and the check of a
vector against them all.

Why: the start heuristics (`planner.solving.start_plan`, `start_hint`) and the
solver's fallback check plans against the matrix HiGHS holds, no-good cuts and
stage rows included, without asking HiGHS: one definition of "meets every row",
to the tolerance HiGHS accepts a start at.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from planner.model.matrix_model import MatrixModel

FloatArray = npt.NDArray[np.float64]

#: Row activity may exceed a bound by this much (absolute, as HiGHS measures it): far
#: inside HiGHS's MIP feasibility tolerance (1e-7), so HiGHS accepts the start.
ROW_TOL = 1e-9


@dataclass(frozen=True, slots=True)
class ExtraRow:
    """A row appended to the model after it was built (stage row or no-good cut)."""

    cols: npt.NDArray[np.int32]
    vals: FloatArray
    lower: float
    upper: float


def no_good_row(mm: MatrixModel, option_columns: Sequence[int], rhs: float) -> ExtraRow:
    """Formulation eq. (14) as a row: Σ_{o∈S} x_o ≤ rhs over the options at `option_columns`
    (positions in `mm.option_ids`): the solver's cuts and the rows start heuristics
    check are the same rows."""
    cols = np.asarray(option_columns, dtype=np.int32) + mm.x_start
    return ExtraRow(cols, np.ones(len(cols)), -np.inf, float(rhs))


def neighbourhood_row(mm: MatrixModel, option_columns: Sequence[int], d: int) -> ExtraRow:
    """The reverse of a plan's cut (eq. 14): Σ_{o∈S} x_o ≥ |S| − d + 1, the plans that leave
    out fewer than `d` of the options at `option_columns` (the plan itself among them).
    Why: a plan of its rank's reach and its cut's complement partition that rank's plans,
    so once every plan meeting the cut is proven to reach less, the rank's tie-break need
    only search these (`planner.solving.stages.tie_break`, `within`)."""
    cols = np.asarray(option_columns, dtype=np.int32) + mm.x_start
    return ExtraRow(cols, np.ones(len(cols)), float(len(cols) - d + 1), np.inf)


@dataclass
class Rows:
    """The model's rows plus extra rows, as flat arrays (row of every nonzero, CSR order)."""

    row_of: npt.NDArray[np.int64]
    col: npt.NDArray[np.int32]
    val: FloatArray
    lower: FloatArray
    upper: FloatArray

    @property
    def n_rows(self) -> int:
        return len(self.lower)

    def activity(self, values: FloatArray) -> FloatArray:
        """Each row's left-hand side at `values`."""
        weights = self.val * values[self.col]
        return np.bincount(self.row_of, weights=weights, minlength=self.n_rows).astype(np.float64)

    def joined(self, later: Rows) -> Rows:
        """These rows followed by `later` (numbered after them)."""
        if not len(later.lower):
            return self
        return Rows(
            np.concatenate([self.row_of, later.row_of]),
            np.concatenate([self.col, later.col]),
            np.concatenate([self.val, later.val]),
            np.concatenate([self.lower, later.lower]),
            np.concatenate([self.upper, later.upper]),
        )


def all_rows(mm: MatrixModel, extra: Sequence[ExtraRow]) -> Rows:
    """The model's rows and `extra`, gathered once to check many vectors (`feasible_under`)."""
    return model_rows(mm).joined(appended_rows(extra, mm.n_rows))


def model_rows(mm: MatrixModel) -> Rows:
    """The rows `mm` was built with."""
    counts = np.diff(mm.row_start)
    return Rows(
        np.repeat(np.arange(mm.n_rows, dtype=np.int64), counts),
        np.asarray(mm.row_index, dtype=np.int32),
        np.asarray(mm.row_value, dtype=np.float64),
        np.asarray(mm.row_lower, dtype=np.float64),
        np.asarray(mm.row_upper, dtype=np.float64),
    )


def appended_rows(extra: Sequence[ExtraRow], first: int) -> Rows:
    """`extra` alone, numbered from `first` (the model's row count) on."""
    row_of = [np.full(len(row.cols), first + k, dtype=np.int64) for k, row in enumerate(extra)]
    return Rows(
        np.concatenate([np.zeros(0, dtype=np.int64), *row_of]),
        np.concatenate([np.zeros(0, dtype=np.int32), *(row.cols for row in extra)]).astype(
            np.int32
        ),
        np.concatenate([np.zeros(0), *(row.vals for row in extra)]).astype(np.float64),
        np.asarray([r.lower for r in extra], dtype=np.float64),
        np.asarray([r.upper for r in extra], dtype=np.float64),
    )


def binaries_rounded(mm: MatrixModel, values: FloatArray) -> FloatArray:
    """A copy of `values` with its binary columns rounded to 0 or 1 (a solver's plan, whose
    binaries sit within its tolerance of them, made exact)."""
    rounded = values.copy()
    binary = mm.integrality == 1
    rounded[binary] = np.round(rounded[binary])
    return rounded


def feasible(
    mm: MatrixModel, extra: Sequence[ExtraRow], values: FloatArray, *, tol: float = ROW_TOL
) -> bool:
    """Whether `values` meets every bound, integrality and row, within `tol` (absolute)."""
    return feasible_under(mm, all_rows(mm, extra), values, tol)


def feasible_under(mm: MatrixModel, rows: Rows, values: FloatArray, tol: float = ROW_TOL) -> bool:
    """`feasible` against rows gathered by `all_rows`."""
    if values.shape != (mm.n_cols,) or not np.isfinite(values).all():
        return False
    if (values < mm.col_lower - tol).any() or (values > mm.col_upper + tol).any():
        return False
    integer = mm.integrality == 1
    if (np.abs(values[integer] - np.round(values[integer])) > tol).any():
        return False
    act = rows.activity(values)
    with np.errstate(invalid="ignore"):
        over = act > rows.upper + tol
        under = act < rows.lower - tol
    return not (over.any() or under.any())
