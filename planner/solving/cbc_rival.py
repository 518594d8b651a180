"""CBC as a second solver on the same model, run beside HiGHS in its own process.

Why: on knapsack-like models CBC's cuts close the bound much faster than
HiGHS's (bench/README.md: OR-Library mknapcb1 2.5-4x faster per problem; at
2,000 options CBC's bound after 60 s is 0.11 % from the best plan, HiGHS's
0.70 %). HiGHS runs single-threaded, so on a machine with two cores CBC costs
no wall time. The binary is the one PuLP ships (a tested build for Linux,
macOS and Windows), or `PLANNER_CBC` (a path, or `off`), or `cbc` on PATH.

This module only runs CBC and reads its answer; which answer a stage uses is
decided by `planner.solving.solver.MatrixSolver` (formulation: "Second solver").
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import highspy
import numpy as np

from planner.solving.highs_instance import quiet_highs

#: Environment variable: a path to a CBC binary, or `off` to never start CBC.
CBC_ENV = "PLANNER_CBC"

_BEST_POSSIBLE = re.compile(r"best possible (-?[0-9.eE+-]+|inf)")


@functools.cache
def cbc_command() -> str | None:
    """The CBC binary to run, or None when there is none (the race is then skipped)."""
    chosen = os.environ.get(CBC_ENV, "").strip()
    if chosen.lower() in ("off", "0", "no", "false"):
        return None
    if chosen:
        return chosen if os.access(chosen, os.X_OK) else None
    try:
        from pulp.apis.coin_api import pulp_cbc_path  # the binary PuLP 3 ships
    except ImportError:
        pulp_cbc_path = ""
    if pulp_cbc_path and os.access(pulp_cbc_path, os.X_OK):
        return os.path.realpath(pulp_cbc_path)
    return shutil.which("cbc")


@dataclass(frozen=True, slots=True)
class RivalAnswer:
    """What CBC reported, in the original objective sense of the model it was given."""

    proven: bool
    """CBC proved its solution optimal within the gaps it was given."""
    values: np.ndarray | None
    """CBC's best solution as a full column vector (unchecked), or None."""
    bound: float | None
    """CBC's bound on the objective (without the model's offset), or None."""
    infeasible: bool = False
    """CBC proved that no solution exists (none better than the cutoff, if one was given)."""


class CbcRival:
    """One CBC run on a copy of a HiGHS model; `stop()` always ends it and removes its files.

    The model goes to CBC as MPS written by HiGHS, minimising (a maximised
    objective is negated; the offset is left out, CBC's MPS reading of it
    differs between versions). CBC's own time limit (`-seconds`, wall clock) ends
    it before the caller's deadline so that it still writes its solution.
    """

    def __init__(
        self,
        lp: highspy.HighsLp,
        *,
        command: str,
        maximise: bool,
        seconds: float,
        rel_gap: float,
        abs_gap: float,
        cutoff: float | None = None,
    ) -> None:
        """`cutoff`: only solutions better than this objective value (the model's own
        sense, offset included) count; CBC prunes with it from the start."""
        self.maximise = maximise
        self.n_cols = int(lp.num_col_)
        self._dir = Path(tempfile.mkdtemp(prefix="planner-cbc-"))
        model, self._solution, log = (
            self._dir / "model.mps",
            self._dir / "solution.txt",
            self._dir / "log.txt",
        )
        writer = quiet_highs()
        writer.passModel(lp)  # a copy: the caller's model is left as it was
        if maximise:
            cost = -np.asarray(lp.col_cost_, dtype=np.float64)
            writer.changeColsCost(self.n_cols, np.arange(self.n_cols, dtype=np.int32), cost)
        writer.changeObjectiveSense(highspy.ObjSense.kMinimize)
        writer.changeObjectiveOffset(0.0)
        if writer.writeModel(str(model)) == highspy.HighsStatus.kError:
            shutil.rmtree(self._dir, ignore_errors=True)
            raise OSError("HiGHS could not write the model for CBC")
        self._log_path = log
        limit: list[str] = []
        if cutoff is not None:
            plain = float(cutoff) - float(lp.offset_)
            limit = ["-cutoff", repr(-plain if maximise else plain)]
        self._answer: RivalAnswer | None = None
        """What CBC reported, read once after it ended (`answer`)."""
        with open(log, "wb") as out:
            self._process = subprocess.Popen(
                [
                    command,
                    str(model),
                    "-threads",
                    "1",
                    "-ratioGap",
                    repr(float(rel_gap)),
                    "-allowableGap",
                    repr(float(abs_gap)),
                    "-timeMode",
                    "elapsed",
                    "-seconds",
                    repr(max(0.01, float(seconds))),
                    *limit,
                    "-solve",
                    "-solution",
                    str(self._solution),
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def done(self) -> bool:
        """Whether CBC has ended (its answer can then be read)."""
        return self._process.poll() is not None

    def answer(self) -> RivalAnswer | None:
        """CBC's answer once it has ended, None while it runs or when it wrote none.

        The files are read once; the solver asks again at every wait tick.
        """
        if self._answer is None and self.done():
            self._answer = self._read()
        return self._answer

    def _read(self) -> RivalAnswer | None:
        if not self._solution.exists():
            return None
        try:
            text = self._solution.read_text()
            log = self._log_path.read_text(errors="replace")
        except OSError:
            return None
        lines = text.splitlines()
        if not lines:
            return None
        head = lines[0].lower()
        sign = -1.0 if self.maximise else 1.0
        if head.startswith("infeasible") or "integer infeasible" in head:
            return RivalAnswer(proven=False, values=None, bound=None, infeasible=True)
        values: np.ndarray | None = np.zeros(self.n_cols)
        for line in lines[1:]:
            parts = line.replace("**", " ").split()
            if len(parts) < 3:
                continue
            try:
                index, value = int(parts[0]), float(parts[2])
            except ValueError:
                return RivalAnswer(proven=False, values=None, bound=None)
            if not 0 <= index < self.n_cols:
                return RivalAnswer(proven=False, values=None, bound=None)
            assert values is not None
            values[index] = value
        proven = head.startswith("optimal")
        if "no feasible" in head or "objective value" not in head:
            values = None
        bound = None
        found = _BEST_POSSIBLE.findall(log)
        if found and found[-1] != "inf":
            bound = sign * float(found[-1])
        return RivalAnswer(proven=proven, values=values, bound=bound)

    def stop(self, wait: float = 0.0) -> RivalAnswer | None:
        """Let CBC end within `wait` seconds, else kill it; remove its files.

        Returns CBC's answer when it ended by itself, None when it was killed.
        """
        if self._process.poll() is None and wait > 0:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(wait)
        answer = self.answer()
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        shutil.rmtree(self._dir, ignore_errors=True)
        return answer
