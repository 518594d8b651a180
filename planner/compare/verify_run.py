"""`planner verify RUN [WORKBOOK]`: every plan of a run folder re-checked, without a solver.

The plans are read from plans.json as they are now (edited by hand or not): their
options, offers and co-financing amounts are the plan; every other figure is
recomputed from the scenario (`planner.checks.violations`) and compared with the
one written. The scenario is the run's scenario.json, or WORKBOOK when given,
read with the run's scenario name and the settings plans.json records.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from planner.checks.violations import Violation, plan_violations, reported_mismatches
from planner.compare.runs import Run, plan_decisions, problem
from planner.errors import InputError
from planner.scenario.data import Scenario


@dataclass(frozen=True)
class PlanCheck:
    """One plan's verdict: every limit it breaks and every figure that is off."""

    index: int
    """Its place in plans.json, from 1."""
    rank: object
    violations: tuple[Violation, ...]

    @property
    def ok(self) -> bool:
        return not self.violations


def scenario_to_verify(run: Run, workbook: Path | None) -> Scenario:
    """The scenario the run's plans are checked against (see the module's docstring)."""
    if workbook is None:
        if run.scenario is None:
            raise InputError(
                [
                    problem(
                        f"{run.why_no_scenario}: give the workbook it was solved from "
                        f"(planner verify {run.folder} WORKBOOK)"
                    )
                ]
            )
        return run.scenario
    import planner.api as api

    name = run.plans.get("scenario")
    settings = run.plans.get("settings")
    if not isinstance(name, str) or not isinstance(settings, dict):
        raise InputError(
            [problem(f"{run.folder / 'plans.json'}: no scenario name or settings to read")]
        )
    return api.load(workbook, scenario=name, settings=settings, origin="plans.json settings")


def workbook_note(run: Run, scenario: Scenario) -> str | None:
    """A warning when the scenario's workbook is not the file the run was solved from."""
    recorded = run.plans.get("run")
    sha = recorded.get("sha256") if isinstance(recorded, dict) else None
    source = scenario.source
    if not sha or source is None or source.sha256 == sha:
        return None
    return (
        f"{source.workbook} is not the workbook the run was solved from "
        f"(its content differs: sha256 {source.sha256[:12]}…, the run's {str(sha)[:12]}…)"
    )


def verify_run(run: Run, scenario: Scenario) -> list[PlanCheck]:
    """Each plan of the run checked against `scenario`, in plans.json's order."""
    path = run.folder / "plans.json"
    checks = []
    for i, plan in enumerate(run.plans["plans"]):
        decided = plan_decisions(path, i, plan)
        found = plan_violations(scenario, decided.options, decided.offers, decided.cofinancing)
        found += reported_mismatches(
            scenario, decided.options, decided.offers, decided.cofinancing, plan
        )
        checks.append(PlanCheck(i + 1, decided.rank, tuple(found)))
    return checks


def verify_lines(checks: list[PlanCheck]) -> list[str]:
    """The terminal's report: one line per problem, or one per plan that holds."""
    lines = []
    for check in checks:
        label = f"plan {check.rank}"
        if check.ok:
            lines.append(f"{label}: every limit holds and every figure matches")
        lines += [f"{label}: {v.message}" for v in check.violations]
    return lines
