"""The planner as plain function calls (SPEC §9): load a scenario, change it, solve it.

Why a layer of its own: the command line, notebooks, the what-if engine and the
web service all need the same thing, *solve this scenario with these changes*,
as one call that is cheap to make, keeps no global state and gives the same
answer in any process. Everything a call depends on (settings, time limit,
cores, progress) is an argument; the environment only says where the second
solver's binary is (`PLANNER_CBC`), never what a call computes.

    import planner
    sc = planner.load("inputs/example.xlsx", scenario="high_budget", settings={"budget": 150})
    variant = sc.with_settings(min_average_trust=75).with_decisions(must=["APP-02"])
    result = planner.solve(variant, plans=3, time_limit=30, threads=1)
    result.plans[0].weighted_reach, result.status
    result.to_dict()    # the plans.json document of SPEC §5
    result.frame()      # one row per plan

Heavy modules (the reader, the solver) are imported inside the calls, so
`import planner` stays light for commands that need neither.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planner.checks.screening import Screened
from planner.errors import InputError, Problem
from planner.plan import Plan, PlanSet, Progress, RunStatus
from planner.plan import ProgressEvent as ProgressEvent  # the library's, for `progress`
from planner.plan import ProgressStage as ProgressStage
from planner.scenario.changes import changed_settings
from planner.scenario.data import Scenario, Source
from planner.workbook.fingerprint import file_sha256 as file_sha256  # shared with Workbook

if TYPE_CHECKING:
    import pandas as pd

    from planner.checks.precheck import Precheck
    from planner.reports.plans_xlsx import RunInfo
    from planner.solving.bound_chain import ReachChain
    from planner.solving.budget_chain import BudgetChain

#: Where problems with `solve`'s own arguments are located in messages.
SOLVE_CALL = "solve()"

#: What `solve`, `budget_chain` and `reach_chain` import when first called (lazily, so
#: that commands and `import planner` start quickly): the `imports` of an engine task
#: that solves, which local workers then bring with them instead of importing each.
SOLVE_IMPORTS: tuple[str, ...] = (
    "planner.solving.ranking",
    "planner.solving.budget_chain",
    "planner.solving.bound_chain",
    "planner.reports.outputs",
)


def load(
    path: str | Path,
    scenario: str | None = None,
    settings: Mapping[str, object] | None = None,
    *,
    origin: str = "load()",
) -> Scenario:
    """The validated scenario of a workbook: the base, or a named scenario of its Scenarios
    sheet, with `settings` overriding both.

    Raises `InputError` listing every problem (sheet, row, column, value, what was
    expected); never exits the process. `origin` names where `settings` came from
    in those messages (the command line passes `--set`).
    """
    from planner.workbook.validation import load_scenario

    loaded = load_scenario(path, scenario, list((settings or {}).items()), origin)
    return replace(loaded, source=Source(str(path), file_sha256(Path(path))))


def check(scenario: Scenario) -> Precheck:
    """What is known before any solve: screened options, warnings, and contradictions
    among decisions, rules and limits that make every plan impossible."""
    from planner.checks.precheck import check_before_solve

    return check_before_solve(scenario)


def solve(
    scenario: Scenario,
    plans: int | None = None,
    time_limit: float | None = None,
    threads: int | None = None,
    progress: Progress | None = None,
    *,
    started: float | None = None,
    precheck: Precheck | None = None,
    start: Sequence[str] | None = None,
) -> Result:
    """Ranked, verified plans for `scenario` (SPEC §3-§4).

    `plans` and `time_limit` override the scenario's `plans` and `time_limit_s`
    settings for this call. `threads` is how many cores the call may use: 1 is
    one core (HiGHS alone, no second solver), None every core of the process.
    `progress` (see `Progress`) hears how the run stands while it runs.
    `started` (a `time.monotonic()` instant) lets a caller count the time limit
    from an earlier moment, as the command line does from its own start;
    `precheck` reuses a `check(scenario)` the caller already made.

    `start` names options of a related plan (say, the previous point of a
    frontier): rank 1's search starts from the best feasible plan made of them
    (options dropped, least weighted reach lost per unit of spend saved first,
    until every limit holds). Only a hint: proven plans are the same without
    it, and a solve cut short by the time limit answers at least as well.

    Infeasible scenarios and runs out of time are results (see `Result.status`),
    not exceptions; only bad arguments raise `InputError`.
    """
    begun = time.monotonic() if started is None else started
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    hint: list[str] = []
    start_problems: list[Problem] = []
    if isinstance(start, str):  # one id would otherwise be read as its letters
        start_problems.append(Problem(SOLVE_CALL, None, "start", start, "a list of option ids"))
    elif start is not None:
        from planner.scenario.values import BadValue, to_id

        option_ids = {o.option_id for o in scenario.options}
        for raw in start:
            try:
                key = to_id(raw)
            except BadValue:
                key = ""
            if key in option_ids:
                hint.append(key)
            else:
                expected = "the id of an option (Options option_id)"
                start_problems.append(Problem(SOLVE_CALL, None, "start", raw, expected))
    try:
        scenario = _with_call_settings(scenario, plans, time_limit, threads)
    except InputError as exc:
        raise InputError([*exc.problems, *start_problems]) from None
    if start_problems:
        raise InputError(start_problems)

    from planner.reports.outputs import expected_write_seconds
    from planner.solving.ranking import rank_plans

    found = precheck if precheck is not None else check(scenario)
    planset = rank_plans(
        scenario,
        progress=progress,
        started=begun,
        after=expected_write_seconds(scenario),
        threads=threads,
        start=hint,
    )
    return Result(
        scenario=scenario,
        planset=planset,
        screened=found.screened,
        warnings=found.warnings,
        versions=versions(),
        started=stamp,
    )


def budget_chain(scenario: Scenario) -> BudgetChain:
    """Plan 1 of `scenario` at many budgets, one after another, on one model and one HiGHS
    instance (`BudgetChain.solve_at`, `BudgetChain.walk`): what the reach–budget frontier
    needs (SPEC §8). Each point is the plan `solve(scenario.with_settings(budget=b),
    plans=1, threads=1)` would return, verified the same way; keeping the model saves the
    rebuild and HiGHS's restart of each solve (`planner.solving.budget_chain`)."""
    from planner.solving.budget_chain import BudgetChain

    return BudgetChain(scenario)


def reach_chain(scenario: Scenario) -> ReachChain:
    """The best weighted reach of many variants of `scenario` (an option or offer left out
    or forced in, a limit loosened), one after another, on one model and one HiGHS
    instance (`ReachChain.best_reach`): what the explanations of plan 1 need (SPEC §6).
    Each variant's model is built as a cold solve builds it and handed to HiGHS as the
    bounds and coefficients that changed (`planner.solving.bound_chain`)."""
    from planner.solving.bound_chain import ReachChain

    return ReachChain(scenario)


def _with_call_settings(
    scenario: Scenario, plans: int | None, time_limit: float | None, threads: int | None
) -> Scenario:
    """The scenario with the call's `plans` and `time_limit`, all arguments checked at once."""
    problems: list[Problem] = []
    if threads is not None and (
        isinstance(threads, bool) or not isinstance(threads, int) or threads < 1
    ):
        problems.append(
            Problem(SOLVE_CALL, None, "threads", threads, "a whole number of at least 1, or None")
        )
    changes: dict[str, object] = {}
    if plans is not None:
        changes["plans"] = plans
    if time_limit is not None:
        changes["time_limit_s"] = time_limit
    try:
        settings = changed_settings(scenario.settings, changes, origin=SOLVE_CALL)
    except InputError as exc:
        problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    return replace(scenario, settings=settings) if changes else scenario


@dataclass(frozen=True)
class Result:
    """What one `solve` call found: the ranked plans and everything reports need.

    Plain, picklable data: it crosses process boundaries (worker pools, Dask)
    unchanged, and `to_dict()` is the same document `planner solve` writes.
    """

    scenario: Scenario
    planset: PlanSet
    screened: tuple[Screened, ...] = ()
    warnings: tuple[str, ...] = ()
    versions: dict[str, str] = field(default_factory=dict, compare=False)
    started: str = field(default="", compare=False)
    """When the solve began (UTC, ISO 8601)."""

    @property
    def status(self) -> RunStatus:
        """SPEC §5: optimal, feasible, infeasible or no_solution (a `str`)."""
        return self.planset.status

    @property
    def plans(self) -> tuple[Plan, ...]:
        """The ranked plans, best first; every figure recomputed from the scenario."""
        return self.planset.plans

    @property
    def message(self) -> str:
        """What the user should know (fewer plans than asked, proofs unfinished)."""
        return self.planset.message

    @property
    def diagnosis(self) -> str | None:
        """For an infeasible scenario: which limits conflict and what would help."""
        return self.planset.diagnosis

    def run_info(self, command: str = "", timings: Mapping[str, float] | None = None) -> RunInfo:
        """The audit facts of this run, as the Run sheet of plans.xlsx shows them; `timings`
        adds the caller's own stages (the command line's reading) to the solve's."""
        from planner.reports.plans_xlsx import RunInfo

        source = self.scenario.source
        return RunInfo(
            workbook=source.workbook if source else "",
            sha256=source.sha256 if source else "",
            scenario=self.scenario.name,
            status=str(self.status),
            versions=self.versions,
            started=self.started,
            timings={**(timings or {}), **self.planset.timings},
            command=command,
        )

    def to_dict(self, explain: dict[str, Any] | None = None) -> dict[str, Any]:
        """The plans.json document of SPEC §5, exactly as `planner solve` writes it; with
        `explain` (`planner.explain.explain_plan`) in plan 1, as SPEC §6 has it."""
        from planner.reports.outputs import plans_json_document

        return plans_json_document(
            self.scenario, self.planset, self.screened, self.run_info(), explain
        )

    def frame(self) -> pd.DataFrame:
        """One row per plan, indexed by rank: the figures analysts compare, ids as tuples."""
        import pandas as pd

        columns = [
            "weighted_reach",
            "bound",
            "gap",
            "spend_gap",
            "proven_optimal",
            "net_spend",
            "gross_spend",
            "cofinanced",
            "fees",
            "average_trust",
            "foreign_share",
            "n_options",
            "options",
            "offers",
        ]
        rows = [
            {
                "rank": p.rank,
                **{c: getattr(p, c) for c in columns[:11]},
                "n_options": len(p.options),
                "options": tuple(sorted(p.options)),
                "offers": tuple(sorted(p.offers)),
            }
            for p in self.plans
        ]
        return pd.DataFrame(rows, columns=["rank", *columns]).set_index("rank")

    def write(
        self,
        out_dir: str | Path,
        command: str = "",
        timings: Mapping[str, float] | None = None,
        explain: dict[str, Any] | None = None,
    ) -> list[Path]:
        """Write plans.json, plans.xlsx, scenario.json, report.html (and diagnosis.txt when
        infeasible) into `out_dir`, whole or not at all; returns the paths written. `command`
        and `timings` go to the Run sheet of plans.xlsx and report.html's run details;
        `explain` (SPEC §6) to plans.json, plans.xlsx and report.html."""
        from planner.reports.outputs import write_outputs

        return write_outputs(
            Path(out_dir),
            self.scenario,
            self.planset,
            self.screened,
            self.run_info(command, timings),
            explain,
        )


def versions() -> dict[str, str]:
    """Versions of the planner and the libraries that decide its answers."""
    return dict(_installed_versions())


@functools.cache
def _installed_versions() -> tuple[tuple[str, str], ...]:
    """Looked up once: they are fixed for the life of a process."""
    from importlib.metadata import PackageNotFoundError, version

    import highspy

    out = []
    for name, dist in (
        ("planner", "partnership-planner"),
        ("pyomo", "pyomo"),
        ("highspy", "highspy"),
        ("python-calamine", "python-calamine"),
    ):
        try:
            out.append((name, version(dist)))
        except PackageNotFoundError:
            out.append((name, "unknown"))
    major, minor, patch = (
        highspy.HIGHS_VERSION_MAJOR,
        highspy.HIGHS_VERSION_MINOR,
        highspy.HIGHS_VERSION_PATCH,
    )
    out.append(("HiGHS", f"{major}.{minor}.{patch}"))
    return tuple(out)
