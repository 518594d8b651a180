"""`planner verify RUN [WORKBOOK]`: every plan of a run folder re-checked, without a solver.

The plans are read from plans.json as they are now (edited by hand or not): their
options, offers and co-financing amounts are the plan; every other figure is
recomputed from the scenario and compared with the one written:

- each limit of SPEC §3 and each plan's figures and reach per market
  (`planner.checks.violations`);
- each plan's `segments` (weighted reach and spend by region, layer and origin,
  leverage, each offer's cap used), recomputed from the plan's decisions through
  `planner.checks.verify.make_plan` (no solver) and `planner.reports.segments`;
- plan 1's explanation figures that need no solve: each limit's `value`, `used`
  and `slack` (the budget's `used` is plan 1's net spend again), recomputed here.

The scenario is the run's scenario.json, or WORKBOOK when given, read with the
run's scenario name and the settings plans.json records.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planner.checks.verify import REL_TOL, ScenarioIndex, make_plan
from planner.checks.violations import Violation, plan_violations, reported_mismatches
from planner.compare.runs import Run, number, plan_decisions, problem
from planner.errors import InputError
from planner.plan import Plan
from planner.reports.segments import SegmentTables, plan_segments
from planner.scenario.data import Scenario, canonical_name

#: The lists of a plan's `segments` and the field naming each of their entries.
SEGMENT_LISTS = {
    "by_region": "region",
    "by_layer": "layer",
    "by_origin": "origin",
    "offers": "offer",
}


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
    tables = SegmentTables(scenario)
    index = ScenarioIndex(scenario)  # one for every plan of the run
    checks = []
    for i, plan in enumerate(run.plans["plans"]):
        decided = plan_decisions(path, i, plan)
        found = plan_violations(
            scenario, decided.options, decided.offers, decided.cofinancing, index=index
        )
        if not any(v.limit == "ids" for v in found):  # else there is nothing to recompute
            found += reported_mismatches(
                scenario, decided.options, decided.offers, decided.cofinancing, plan, index=index
            )
            recomputed = make_plan(
                scenario,
                i + 1,
                decided.options,
                decided.offers,
                decided.cofinancing,
                bound=0.0,
                proven_optimal=True,
                gap=None,
                index=index,
            )
            if "segments" in plan:  # runs made before segments existed have none
                segments = plan_segments(scenario, recomputed, tables)
                found += segment_mismatches(plan["segments"], segments)
            explain = plan.get("explain")
            if i == 0 and explain is not None:
                found += explain_mismatches(explain, limits_used(scenario, recomputed))
        checks.append(PlanCheck(i + 1, decided.rank, tuple(found)))
    return checks


def _figure(name: str, value: object, actual: float | None) -> Violation | None:
    """A reported figure against the recomputed one (equal within SPEC §3's tolerance),
    or None when they agree."""
    got = number(value)
    if value is None and actual is None:
        return None
    if got is None or actual is None:
        shown = "null" if value is None else repr(value)
        wanted = "null" if actual is None else f"{actual:.9g}"
        return Violation("reported", f"reported {name} {shown}, recomputed {wanted}")
    if abs(got - actual) <= REL_TOL * max(1.0, abs(actual)):
        return None
    return Violation(
        "reported",
        f"reported {name} {got:.9g} differs from recomputed {actual:.9g} by {got - actual:.9g}",
        got - actual,
    )


def segment_mismatches(reported: object, recomputed: Mapping[str, Any]) -> list[Violation]:
    """Each figure of a plan's reported `segments` that differs from `recomputed` (see
    `planner.reports.segments`), and each entry one has and the other lacks."""
    if not isinstance(reported, dict):
        return [Violation("reported", "reported segments: expected an object")]
    out: list[Violation] = []
    for part, key in SEGMENT_LISTS.items():
        rows = reported.get(part)
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            out.append(
                Violation("reported", f"reported segments.{part}: expected a list of objects")
            )
            continue
        theirs = {str(r.get(key)): r for r in rows}
        mine = {str(r[key]): r for r in recomputed[part]}
        for name in sorted(theirs.keys() | mine.keys()):
            where = f"segments.{part}[{name}]"
            if name not in theirs:
                out.append(Violation("reported", f"{where} is missing from the report"))
            elif name not in mine:
                out.append(Violation("reported", f"{where} is reported, but the plan has none"))
            else:
                for field, actual in mine[name].items():
                    if field != key:
                        wrong = _figure(f"{where}.{field}", theirs[name].get(field), actual)
                        out += [wrong] if wrong else []
    wrong = _figure("segments.leverage", reported.get("leverage"), recomputed["leverage"])
    return out + ([wrong] if wrong else [])


def limits_used(scenario: Scenario, plan: Plan) -> dict[str, tuple[float, float | None]]:
    """Each limit of SPEC §6 `limits` as (value, used) on `plan`, recomputed from the
    scenario and the plan's decisions: budget (net spend), each resource, the trust
    floor, the foreign share caps and the country share cap (the largest country's)."""
    s = scenario.settings
    option_of = {o.option_id: o for o in scenario.options}
    partner_of = scenario.partner_of()
    chosen = [option_of[o] for o in plan.options]
    foreign = {o.option_id for o in chosen if scenario.is_foreign(partner_of[o.partner_id])}
    gross = plan.gross_spend
    out: dict[str, tuple[float, float | None]] = {"budget": (s.budget, plan.net_spend)}
    for resource in scenario.resources:
        used = sum(
            row.amount
            for row in scenario.usage
            if row.resource == resource.resource and row.option_id in plan.options
        )
        out[f"resource[{resource.resource}]"] = (resource.capacity, used)
    if s.min_average_trust is not None:
        out["min_average_trust"] = (s.min_average_trust, plan.average_trust)
    out["max_foreign_share"] = (s.max_foreign_share, plan.foreign_share)
    for layer in scenario.layers:
        mine = [o for o in chosen if canonical_name(o.layer) == canonical_name(layer.layer)]
        spend = sum(o.cost for o in mine)
        share = sum(o.cost for o in mine if o.option_id in foreign) / spend if spend > 0 else None
        out[f"max_foreign_share[{layer.layer}]"] = (layer.max_foreign_share, share)
    by_country: dict[str, float] = defaultdict(float)
    for o in chosen:
        if o.option_id in foreign:
            by_country[canonical_name(partner_of[o.partner_id].country)] += o.cost
    top = max(by_country.values(), default=0.0) / gross if gross > 0 else None
    out["max_country_share"] = (s.max_country_share, top)
    return out


def explain_mismatches(
    explain: object, limits: Mapping[str, tuple[float, float | None]]
) -> list[Violation]:
    """Each `value`, `used` or `slack` of plan 1's `explain.limits` that differs from the
    one recomputed (`limits`), and each limit the scenario does not have. Slack is
    value − used, and used − value for the trust floor."""
    entries = explain.get("limits") if isinstance(explain, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        return [Violation("reported", "reported explain.limits: expected a list of objects")]
    out: list[Violation] = []
    for entry in entries:
        name = str(entry.get("limit"))
        where = f"explain.limits[{name}]"
        if name not in limits:
            out.append(Violation("reported", f"{where}: the scenario has no such limit"))
            continue
        value, used = limits[name]
        slack = None if used is None else value - used
        if name == "min_average_trust" and slack is not None:
            slack = -slack
        for field, actual in (("value", value), ("used", used), ("slack", slack)):
            if field in entry:
                wrong = _figure(f"{where}.{field}", entry[field], actual)
                out += [wrong] if wrong else []
    return out


def verify_lines(checks: list[PlanCheck]) -> list[str]:
    """The terminal's report: one line per problem, or one per plan that holds."""
    lines = []
    for check in checks:
        label = f"plan {check.rank}"
        if check.ok:
            lines.append(f"{label}: every limit holds and every figure matches")
        lines += [f"{label}: {v.message}" for v in check.violations]
    return lines
